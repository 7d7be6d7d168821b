"""Label a generated JSON Lines file of about 1 GB and sample the memory of the whole process tree.

    python benchmarks/stream_1gb.py [--mb 1000] [--jobs 2]

Prints the resident memory (RSS, all tradeclf processes together) every ~10% of the run, so a reader can
see that it stays flat while the input is streamed, and writes benchmarks/stream_1gb.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from tradeclf.bench import ROOT, article_texts, write_jsonl_of_size
from tradeclf.data import load_corpus


def tree_rss_mb(process: psutil.Process) -> float:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=1000.0)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    corpus = load_corpus(ROOT / "data")
    articles = article_texts(corpus, corpus.sentences)
    with tempfile.TemporaryDirectory(dir=ROOT / "benchmarks") as tmp:
        source, out = Path(tmp) / "input.jsonl", Path(tmp) / "labels.jsonl"
        records = write_jsonl_of_size(source, articles, args.mb)
        size = source.stat().st_size
        command = [sys.executable, "-m", "tradeclf.cli", "label", str(source), "-o", str(out), "--jobs", str(args.jobs)]
        started = time.perf_counter()
        process = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        checkpoint = Path(tmp) / ".labels.jsonl.checkpoint.json"
        samples, next_share = [], 0.1
        while process.poll() is None:
            time.sleep(2)
            done = json.loads(checkpoint.read_text())["records_done"] if checkpoint.exists() else 0
            rss = tree_rss_mb(process)
            samples.append({"seconds": round(time.perf_counter() - started), "records_done": done, "rss_mb": round(rss)})
            if done / records >= next_share:
                print(f"{100 * done / records:5.1f}% of {records:,} records, {samples[-1]['seconds']:>5} s, RSS {rss:,.0f} MB", flush=True)
                next_share += 0.1
        seconds = time.perf_counter() - started
        stderr = process.stderr.read()
        if process.returncode not in (0, 1):
            print(stderr, file=sys.stderr)
            return process.returncode
        sentences = sum(1 for _ in out.open(encoding="utf-8"))
        output_bytes = out.stat().st_size
    steady = [s["rss_mb"] for s in samples if 0.1 <= s["records_done"] / records <= 0.95]
    result = {"input_bytes": size, "records": records, "sentences": sentences, "output_bytes": output_bytes,
              "jobs": args.jobs, "seconds": round(seconds), "sentences_per_second": round(sentences / seconds),
              "peak_rss_mb": max(s["rss_mb"] for s in samples), "rss_mb_at_10_percent": steady[0] if steady else None,
              "rss_mb_at_95_percent": steady[-1] if steady else None, "samples": samples}
    (ROOT / "benchmarks" / "stream_1gb.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
