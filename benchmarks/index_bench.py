"""How fast `tradeclf index` reads a large label output, and in how much memory.

Writes a label output of SIZE_MB (JSON Lines, and the same rows as Parquet) by repeating rows labelled by the
shipped model under new article ids and dates, then runs `negotiation_index` on each in a fresh process and
prints rows per second, wall and CPU time, peak memory of that process (VmHWM) and the machine's load.

Run: python benchmarks/index_bench.py [SIZE_MB]   (default 1024)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTICLES = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "seeds").glob("*.txt"))]


def make_output(folder: Path, size_mb: int) -> tuple[Path, int]:
    """A label output of about `size_mb` megabytes: the seed articles' rows, repeated with new ids and dates."""
    from tradeclf.labelling import label_files

    seed_in = folder / "seeds.jsonl"
    seed_in.write_text("".join(json.dumps({"id": f"s{i}", "text": t, "date": "2020-01-01"}) + "\n"
                               for i, t in enumerate(ARTICLES)), encoding="utf-8")
    labelled = folder / "seed_rows.jsonl"
    label_files([str(seed_in)], str(labelled), keep=("date",), progress=False)
    rows = [json.loads(line) for line in labelled.read_text(encoding="utf-8").splitlines()]
    out = folder / "big.jsonl"
    written, n_rows, k = 0, 0, 0
    with out.open("w", encoding="utf-8") as handle:
        while written < size_mb * 1_000_000:
            day = f"20{18 + (k // 365) % 8:02d}-{1 + (k // 28) % 12:02d}-{1 + k % 28:02d}"
            for row in rows:
                line = json.dumps({**row, "article_id": f"{row['article_id']}-{k}", "date": day}) + "\n"
                handle.write(line)
                written += len(line)
                n_rows += 1
            k += 1
    return out, n_rows


def measure(path: Path) -> dict:
    code = ("import os, resource, time\nfrom tradeclf.index import negotiation_index\n"
            f"t = time.perf_counter(); table = negotiation_index({str(path)!r}, period='quarter')\n"
            "wall = time.perf_counter() - t\nu = resource.getrusage(resource.RUSAGE_SELF)\n"
            "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
            "print(wall, u.ru_utime + u.ru_stime, int(hwm) / 1024, len(table))")
    load = os.getloadavg()[0]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    wall, cpu, peak, periods = float(out[0]), float(out[1]), float(out[2]), int(out[3])
    return {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "peak_mb": round(peak), "periods": periods, "load_before": round(load, 2)}


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        jsonl, n_rows = make_output(Path(tmp), size_mb)
        print(f"made {jsonl.stat().st_size / 1e6:.0f} MB, {n_rows:,} rows in {time.perf_counter() - started:.0f} s")
        from tradeclf.api import get_model
        from tradeclf.sinks import _write_parquet, flat_row

        schema = get_model(None).schema
        parquet = Path(tmp) / "big.parquet"  # as `tradeclf label -o x.parquet` writes it: flat columns
        with jsonl.open(encoding="utf-8") as handle:
            _write_parquet(parquet, (flat_row(json.loads(line), schema) for line in handle))
        for path in (jsonl, parquet):
            m = measure(path)
            print(f"{path.suffix[1:]:8s} {path.stat().st_size / 1e6:6.0f} MB  {n_rows / m['wall_s']:10,.0f} rows/s  "
                  f"wall {m['wall_s']} s  cpu {m['cpu_s']} s  peak {m['peak_mb']} MB  {m['periods']} periods  "
                  f"load before {m['load_before']}")


if __name__ == "__main__":
    main()
