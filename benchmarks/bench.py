"""Speed and size benchmark: `python benchmarks/bench.py` prints a table and writes JSON.

Every figure is measured in this run on this machine, for tradeclf and for the peers a user would
otherwise pick (a plain single-task scikit-learn pipeline, fastText, MiniLM + logistic regression),
so each figure can be read as a ratio. Peak memory is the measured process's own high-water mark (VmHWM:
ru_maxrss of a child starts from its parent's), and CPU time and the load average are recorded beside
wall time, since other work on the machine changes wall time. Needs a checkout (it reads data/) and
`pip install ".[bench]"` for the optional peers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def best_of(fn: Callable[[], Any], repeat: int = 3) -> float:
    """The fastest of `repeat` runs, in seconds (the least disturbed by other work on the machine)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def peak_rss_mb(code: str, env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run `code` in a fresh Python; return (its own peak RSS in MB from VmHWM, wall seconds, its stdout).

    The child also prints its CPU seconds (user + system, its own and its children's) on the __PEAK__ line."""
    wrapper = ("import resource, sys, time\nstarted = time.perf_counter()\n" + code +
               "\nhwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM'))"
               "\nu = resource.getrusage(resource.RUSAGE_SELF); c = resource.getrusage(resource.RUSAGE_CHILDREN)"
               "\nprint('__PEAK__', hwm / 1024, time.perf_counter() - started, u.ru_utime + u.ru_stime + c.ru_utime + c.ru_stime)")
    result = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, env={**os.environ, **(env or {})})
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    line = next(line for line in result.stdout.splitlines() if line.startswith("__PEAK__"))
    _, peak, seconds, cpu = line.split()
    LAST_CPU_SECONDS[0] = float(cpu)
    return float(peak), float(seconds), result.stdout


LAST_CPU_SECONDS = [0.0]


def import_time() -> float:
    code = "import time; t = time.perf_counter(); import tradeclf; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout) for _ in range(5)]
    return min(runs)


def article_texts(corpus, rows) -> list[str]:
    by_article: dict[str, list[str]] = {}
    for r in rows:
        by_article.setdefault(r["article_id"], []).append(r["text"])
    return [" ".join(sentences) for sentences in by_article.values()]


def write_jsonl_of_size(path: Path, articles: list[str], megabytes: float) -> int:
    """A JSON Lines file of about `megabytes`, cycling through real articles; returns the record count."""
    target, written, n = megabytes * 1e6, 0, 0
    with path.open("w", encoding="utf-8") as handle:
        while written < target:
            line = json.dumps({"id": f"a{n}", "text": articles[n % len(articles)]}) + "\n"
            handle.write(line)
            written += len(line.encode())
            n += 1
    return n


def run(sizes_mb: tuple[float, ...] = (20.0, 100.0), peers: bool = True, train_times: bool = True) -> dict[str, Any]:
    from tradeclf.api import get_model, predict, predict_many
    from tradeclf.data import load_corpus
    from tradeclf.labelling import label_files
    from tradeclf.persistence import MODEL_FILE, load_model, shipped_model_path
    from tradeclf.segment import split_sentences

    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                                           "platform": platform.platform()},
                               "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    cpu_started = time.process_time()
    corpus = load_corpus(ROOT / "data")
    test = corpus.split("test")
    sentences = corpus.texts(test) * 4
    articles = article_texts(corpus, corpus.split("test", "dev"))
    n_article_sentences = sum(len(split_sentences(a)) for a in articles)
    path = shipped_model_path()

    results["import_seconds"] = round(import_time(), 4)
    results["model_load_seconds"] = round(best_of(lambda: load_model(path)), 3)
    results["model_size_mb"] = round((path / MODEL_FILE).stat().st_size / 1e6, 2)
    saved = get_model(path)
    estimator = saved.new_estimator()  # unfitted, with the shipped hyper-parameters (for the peer pipeline)

    pre_split = best_of(lambda: predict_many(sentences, saved))
    results["throughput_pre_split"] = round(len(sentences) / pre_split)
    ids = [r["article_id"] for r in test] * 4
    in_article = best_of(lambda: predict_many(sentences, saved, article_ids=ids))
    results["throughput_pre_split_article_mode"] = round(len(sentences) / in_article)
    split_only = best_of(lambda: [split_sentences(a) for a in articles])
    results["split_only_sentences_per_second"] = round(n_article_sentences / split_only)
    from tradeclf.labelling import label_chunk
    from tradeclf.sources import Record

    records = [Record(str(i), a, "bench") for i, a in enumerate(articles)]
    from_articles = best_of(lambda: label_chunk(records, saved))
    results["throughput_from_articles"] = round(n_article_sentences / from_articles)
    results["segmentation_share_of_article_time"] = round(split_only / from_articles, 3)

    latencies = []
    one = corpus.texts(test)[:300]
    predict(one[0], model=saved)
    for text in one:
        started = time.perf_counter()
        predict(text, model=saved)
        latencies.append((time.perf_counter() - started) * 1000)
    results["latency_ms_p50"] = round(float(np.percentile(latencies, 50)), 3)
    results["latency_ms_p99"] = round(float(np.percentile(latencies, 99)), 3)

    # batch labelling of files: 1 vs 2 processes vs Dask, and streaming memory at growing input sizes
    with tempfile.TemporaryDirectory() as tmp:
        results.update(engine_figures(Path(tmp), articles, path))
        memory = []
        for size in sizes_mb:
            source = Path(tmp) / f"in{size}.jsonl"
            write_jsonl_of_size(source, articles, size)
            code = (f"from tradeclf.labelling import label_files\n"
                    f"r = label_files([{str(source)!r}], {str(Path(tmp) / 'o.jsonl')!r}, model={str(path)!r}, overwrite=True, progress=False)\n"
                    f"print('__SENT__', r.sentences)")
            peak, seconds, stdout = peak_rss_mb(code)
            n = int(next(line for line in stdout.splitlines() if line.startswith("__SENT__")).split()[1])
            memory.append({"input_mb": size, "peak_rss_mb": round(peak, 1), "seconds": round(seconds, 1),
                           "sentences_per_second": round(n / seconds)})
            source.unlink()
        results["streaming_memory"] = memory

    if train_times:
        shipped_meta = saved.metadata
        results["train_recorded_build_seconds"] = shipped_meta.get("build_seconds")
        for search in (False, True):  # "with search" = the shipped configuration: its searched parameters, refitted
            code = (f"import json\nfrom tradeclf.data import load_corpus\nfrom tradeclf.training import train\n"
                    f"meta = json.load(open({str(path / 'metadata.json')!r}))\n"
                    f"train(load_corpus({str(ROOT / 'data')!r}), {tempfile.mkdtemp()!r}, search=False, cv_report=False, "
                    f"log=lambda m: None, reuse={{'search': meta['search']}} if {search} else None)")
            peak, seconds, _ = peak_rss_mb(code)
            results[f"train_{'with' if search else 'without'}_search"] = {"seconds": round(seconds, 1), "peak_rss_mb": round(peak, 1),
                                                                            "cpu_seconds": round(LAST_CPU_SECONDS[0], 1)}

    if peers:
        results["peers"] = peer_figures(corpus, estimator, sentences)
    results["cpu_seconds_benchmark_process"] = round(time.process_time() - cpu_started, 1)
    results["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def engine_figures(tmp: Path, articles: list[str], model_path: Path) -> dict[str, Any]:
    """`tradeclf label` on the same 5 MB JSON Lines file: local engine on 1 and 2 processes, Dask LocalCluster."""
    from tradeclf.labelling import label_files

    source = tmp / "small.jsonl"
    figures: dict[str, Any] = {"label_file_records": write_jsonl_of_size(source, articles, 5)}
    for name, options in (("jobs1", {"jobs": 1}), ("jobs2", {"jobs": 2}), ("dask", {"engine": "dask"})):
        try:
            report = label_files([str(source)], str(tmp / f"out-{name}.jsonl"), model=model_path, overwrite=True,
                                 progress=False, **options)
        except Exception as exc:  # dask not installed: report, do not crash the benchmark
            figures[f"label_file_sentences_per_second_{name}"] = f"skipped ({exc})"
            continue
        figures[f"label_file_sentences_per_second_{name}"] = round(report.sentences / report.seconds)
    return figures


def peer_figures(corpus, estimator, sentences: list[str]) -> dict[str, Any]:
    """Throughput and size of what a user would otherwise pick, on the same sentences."""
    import io

    import joblib
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from tradeclf.features import make_featurizer

    train = corpus.split("train", "dev")
    texts = corpus.texts(train)
    task = next(t for t in corpus.schema.tasks if not t.multi_label)
    y = [r[task.name] for r in train]
    peers: dict[str, Any] = {}

    def pipeline_figures(pipeline) -> dict[str, Any]:
        started = time.perf_counter()
        pipeline.fit(texts, y)
        fit_seconds = time.perf_counter() - started
        seconds = best_of(lambda: pipeline.predict_proba(sentences))
        buffer = io.BytesIO()
        joblib.dump(pipeline, buffer, compress=("zlib", 6))
        return {"sentences_per_second": round(len(sentences) / seconds), "fit_seconds": round(fit_seconds, 1),
                "size_mb": round(len(buffer.getvalue()) / 1e6, 2)}

    peers["sklearn_single_task_same_features"] = pipeline_figures(
        make_pipeline(make_featurizer(estimator.word_ngram_range, estimator.char_ngram_range, estimator.min_df),
                      LogisticRegression(max_iter=3000)))
    peers["sklearn_single_task_word_tfidf"] = pipeline_figures(
        make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2), LogisticRegression(max_iter=3000)))
    from tradeclf.baselines import SYSTEMS, Unavailable

    for name in ("fasttext", "minilm"):
        try:
            started = time.perf_counter()
            system = SYSTEMS[name]().fit(texts, train, corpus.schema)
            fit_seconds = time.perf_counter() - started
            sample = sentences if name == "fasttext" else sentences[:1000]
            seconds = best_of(lambda: system.predict(sample), repeat=1 if name == "minilm" else 3)
            peers[f"{name}_all_tasks"] = {"sentences_per_second": round(len(sample) / seconds), "fit_seconds": round(fit_seconds, 1)}
        except Unavailable as exc:
            peers[f"{name}_all_tasks"] = {"skipped": str(exc)}
    return peers


def table(results: dict[str, Any]) -> str:
    peers = results.get("peers", {})
    same = peers.get("sklearn_single_task_same_features", {}).get("sentences_per_second")
    rows = [
        ("import tradeclf", f"{results['import_seconds'] * 1000:.0f} ms"),
        ("model load", f"{results['model_load_seconds'] * 1000:.0f} ms"),
        ("model size (npz arrays + JSON, no pickle)", f"{results['model_size_mb']} MB"),
        ("predict latency p50 / p99 (one sentence)", f"{results['latency_ms_p50']:.2f} / {results['latency_ms_p99']:.2f} ms"),
        ("throughput, pre-split sentences, 4 tasks", f"{results['throughput_pre_split']:,} sentences/s"),
        ("throughput, pre-split, 4 tasks, article mode", f"{results['throughput_pre_split_article_mode']:,} sentences/s"),
        ("throughput, raw articles (splitting included)", f"{results['throughput_from_articles']:,} sentences/s"),
        ("sentence splitting alone", f"{results['split_only_sentences_per_second']:,} sentences/s "
                                     f"({100 * results['segmentation_share_of_article_time']:.0f}% of article time)"),
        ("tradeclf label file, 1 process", f"{results['label_file_sentences_per_second_jobs1']:,} sentences/s"),
        ("tradeclf label file, 2 processes", f"{results['label_file_sentences_per_second_jobs2']:,} sentences/s"),
        ("tradeclf label file, Dask LocalCluster (2 workers)", f"{results['label_file_sentences_per_second_dask']:,} sentences/s"),
    ]
    for point in results.get("streaming_memory", []):
        rows.append((f"streaming {point['input_mb']:.0f} MB JSON Lines", f"peak RSS {point['peak_rss_mb']:.0f} MB, "
                     f"{point['sentences_per_second']:,} sentences/s"))
    names = {"train_without_search": "train, default parameters (no search)",
             "train_with_search": "train, shipped configuration (searched parameters, refit)"}
    for key, name in names.items():
        if key in results:
            rows.append((name, f"{results[key]['seconds']:.0f} s wall, {results[key].get('cpu_seconds', 0):.0f} s CPU, "
                               f"peak RSS {results[key]['peak_rss_mb']:.0f} MB"))
    if results.get("train_recorded_build_seconds"):
        rows.append(("full build recorded by train.py (search + CV + fit)",
                     ", ".join(f"{k} {v:.0f} s" for k, v in results["train_recorded_build_seconds"].items())))
    for name, figures in peers.items():
        if "skipped" in figures:
            rows.append((f"peer: {name}", f"skipped ({figures['skipped']})"))
            continue
        extra = f", {figures['size_mb']} MB" if "size_mb" in figures else ""
        rows.append((f"peer: {name}", f"{figures['sentences_per_second']:,} sentences/s{extra}"))
    if same:
        rows.append(("4 tasks in article mode / 1 plain task (same features)",
                     f"{results['throughput_pre_split_article_mode'] / same:.2f}x the plain pipeline's throughput"))
    fast = peers.get("fasttext_all_tasks", {}).get("sentences_per_second")
    if fast:
        rows.append(("predict / fastText (4 tasks each)", f"{results['throughput_pre_split'] / fast:.2f}x fastText's throughput"))
    rows.append(("load average at start / end", f"{results.get('load_average_at_start')} / {results.get('load_average_at_end')}"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/bench.py", description=__doc__)
    parser.add_argument("--json", type=Path, default=Path("bench.json"), help="where to write the figures")
    parser.add_argument("--sizes-mb", type=float, nargs="+", default=[20.0, 100.0],
                        help="input sizes for the streaming-memory check (e.g. 20 100 1000)")
    parser.add_argument("--no-peers", action="store_true", help="skip the peer systems")
    parser.add_argument("--no-train", action="store_true", help="skip the training-time figures")
    parser.add_argument("--engines-only", action="store_true", help="only the local-vs-Dask file labelling figures")
    args = parser.parse_args(argv)
    if args.engines_only:
        from tradeclf.persistence import shipped_model_path

        with tempfile.TemporaryDirectory() as tmp:
            from tradeclf.data import load_corpus

            corpus = load_corpus(ROOT / "data")
            figures = engine_figures(Path(tmp), article_texts(corpus, corpus.split("test", "dev")), shipped_model_path())
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        print("\n".join(f"{k:<45} {v:,}" if isinstance(v, int) else f"{k:<45} {v}" for k, v in figures.items()))
        return 0
    results = run(tuple(args.sizes_mb), peers=not args.no_peers, train_times=not args.no_train)
    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
