"""Which engine should aggregate label output into the index? The same first step (per-article counts:
sentences, sentences per issue, advance/setback/progress sentences) by four engines on one JSON Lines label
output, each in a fresh process: wall time, CPU time, peak memory (VmHWM), and a check that all agree.

Run: python benchmarks/index_engines.py [SIZE_MB]  (needs `pip install duckdb polars`; default 300)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from index_bench import make_output  # noqa: E402

ENGINES = {
    "tradeclf.index.article_table (DuckDB)": """
from tradeclf.index import article_table
from tradeclf.api import get_model
table = article_table(PATH, get_model(None).schema)
result = (len(table), int(table['sentences'].sum()), int(table['issues_tariffs__num'].sum()), int(table['progress_score__num'].sum()))
""",
    "pandas (read_json in chunks)": """
import pandas as pd
n = s = tariffs = score = 0; ids = set()
for chunk in pd.read_json(PATH, lines=True, chunksize=100_000):
    labels = pd.json_normalize(chunk['labels'])
    ids.update(chunk['article_id']); s += len(chunk)
    tariffs += int(labels['issues'].map(lambda v: 'tariffs' in v).sum())
    score += int((labels['progress'] == 'advance').sum() - (labels['progress'] == 'setback').sum())
result = (len(ids), s, tariffs, score)
""",
    "polars (scan_ndjson, lazy)": """
import polars as pl
q = pl.scan_ndjson(PATH).select(pl.col('article_id'), pl.col('labels').struct.field('issues').list.contains('tariffs').alias('t'),
    pl.col('labels').struct.field('progress').alias('p'))
df = q.group_by('article_id').agg(pl.len().alias('n'), pl.col('t').sum(), ((pl.col('p') == 'advance').sum().cast(pl.Int64) - (pl.col('p') == 'setback').sum().cast(pl.Int64)).alias('s')).collect()
result = (df.height, int(df['n'].sum()), int(df['t'].sum()), int(df['s'].sum()))
""",
    "DuckDB (read_json)": """
import duckdb
r = duckdb.sql(f\"\"\"select count(distinct article_id), count(*), sum(list_contains(labels.issues, 'tariffs')::int),
  sum((labels.progress = 'advance')::int) - sum((labels.progress = 'setback')::int)
  from read_json('{PATH}', format='newline_delimited', columns={{'article_id': 'VARCHAR', 'labels': 'STRUCT(issues VARCHAR[], progress VARCHAR)'}})\"\"\").fetchall()[0]
result = tuple(int(x) for x in r)
""",
}


def run(code: str, path: Path) -> dict:
    script = ("import resource, time\nPATH = " + repr(str(path)) + "\nt = time.perf_counter()\n" + code +
              "\nwall = time.perf_counter() - t\nu = resource.getrusage(resource.RUSAGE_SELF)\n"
              "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
              "print(wall, u.ru_utime + u.ru_stime, int(hwm) / 1024, *result)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1]}
    wall, cpu, peak, *result = out.stdout.split()
    return {"wall": float(wall), "cpu": float(cpu), "peak": float(peak), "result": [int(x) for x in result]}


def main() -> None:
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with tempfile.TemporaryDirectory() as tmp:
        path, n_rows = make_output(Path(tmp), size_mb)
        print(f"{path.stat().st_size / 1e6:.0f} MB, {n_rows:,} rows; load average {os.getloadavg()[0]:.2f}")
        for name, code in ENGINES.items():
            m = run(code, path)
            if "error" in m:
                print(f"{name:42s} failed: {m['error']}")
                continue
            print(f"{name:42s} wall {m['wall']:6.1f} s  cpu {m['cpu']:6.1f} s  peak {m['peak']:6.0f} MB  "
                  f"{n_rows / m['wall']:9,.0f} rows/s  (articles, rows, tariff sentences, advance-setback) = {m['result']}")
        print(json.dumps({"load_average_end": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
