"""`tradeclf evaluate`: the model and baselines on the same splits, with intervals, plots, a learning
curve and the most confident errors, written as a Markdown (and optionally HTML) report."""

from __future__ import annotations

import logging

import json
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

_logger = logging.getLogger("tradeclf.evaluation")

from .baselines import LEXICON_FILE, SYSTEMS, LexiconBaseline, Unavailable
from .data import Corpus
from .errors import InputError
from .metrics import evaluate_predictions
from .persistence import SavedModel, atomic_write_bytes
from .training import REPORT_SPLITS, TRAIN_SPLITS

LEARNING_CURVE_FRACTIONS = (0.1, 0.25, 0.5, 0.75, 1.0)
ERRORS_PER_TASK = 15


def timed_predict(system: Any, texts: list[str], article_ids: list[str] | None = None) -> tuple[list[dict], float]:
    """Predictions and sentences per second (tradeclf in article mode when article ids are given)."""
    started = time.perf_counter()
    predicted = system.predict(texts, article_ids=article_ids) if article_ids is not None else system.predict(texts)
    seconds = time.perf_counter() - started
    return predicted, len(texts) / seconds if seconds > 0 else float("inf")


def compare_systems(corpus: Corpus, saved: SavedModel, splits: list[str], baselines: list[str], lexicon: Path | None,
                    log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Every system's metrics per split; baselines trained on the same train+dev rows as the model."""
    log = log or _logger.info  # library code logs; the CLI and train.py pass their own printer
    train_rows = corpus.split(*TRAIN_SPLITS)
    train_texts = corpus.texts(train_rows)
    results: dict[str, Any] = {"systems": {}, "skipped": {}}
    systems: list[tuple[str, Any]] = [("tradeclf", saved.predictor)]
    unknown = [name for name in baselines if name not in SYSTEMS]
    if unknown:  # before any baseline is trained
        raise InputError(f"--baselines: unknown baseline(s) {', '.join(map(repr, unknown))}; choose from {', '.join(SYSTEMS)}")
    for name in baselines:
        system = LexiconBaseline(lexicon) if name == "lexicon" and lexicon else SYSTEMS[name]()
        try:
            log(f"training baseline {name}")
            systems.append((name, system.fit(train_texts, train_rows, corpus.schema)))
        except Unavailable as exc:
            results["skipped"][name] = str(exc)
            log(f"  skipped {name}: {exc}")
    for name, system in systems:
        per_split = {}
        for split in splits:
            rows = corpus.subset(split)
            if not rows:
                continue
            ids = [r["article_id"] for r in rows] if name == "tradeclf" else None
            predicted, speed = timed_predict(system, corpus.texts(rows), ids)
            per_split[split] = evaluate_predictions(corpus.labels(rows), predicted, corpus.schema,
                                                    groups=[r["article_id"] for r in rows])
            per_split[split]["sentences_per_second"] = round(speed, 1)
        results["systems"][name] = per_split
    return results


def comparison_table(results: dict[str, Any], split: str, tasks: list[str]) -> list[str]:
    lines = [f"| system ({split}) | " + " | ".join(f"{t} macro-F1" for t in tasks) + " | sentences/s |",
             "|---|" + "---|" * (len(tasks) + 1)]
    for name, per_split in results["systems"].items():
        if split not in per_split:
            continue
        r = per_split[split]
        cells = []
        for task in tasks:
            m = r["tasks"][task]
            ci = m.get("macro_f1_ci")
            cells.append(f"{m['macro_f1']:.3f}" + (f" ({ci[0]:.2f}-{ci[1]:.2f})" if ci else ""))
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {r['sentences_per_second']:,.0f} |")
    return lines


def learning_curve(corpus: Corpus, saved: SavedModel, split: str = "real-test", seed: int = 0,
                   fractions: tuple[float, ...] = LEARNING_CURVE_FRACTIONS) -> dict[str, Any]:
    """Macro-F1 on `split` for models trained on growing shares of the training articles.

    With real text in the corpus, the curve is over real training articles (all written ones always kept):
    it answers whether more real annotation would still pay. Each point refits with the model's
    hyper-parameters and real-text weight.
    """
    from .training import sentence_weights

    rows = corpus.split(*TRAIN_SPLITS)
    has_real = any(r.get("origin") == "real" for r in rows)
    varied = [r for r in rows if r.get("origin") == "real"] if has_real else rows
    fixed = [r for r in rows if r.get("origin") != "real"] if has_real else []
    articles = sorted({r["article_id"] for r in varied})
    order = np.random.default_rng(seed).permutation(len(articles))
    held_out = corpus.subset(split)
    real_weight = float(saved.metadata.get("data", {}).get("real_weight", 1.0))
    curve: dict[str, Any] = {"split": split, "over": "real training articles" if has_real else "training articles",
                             "points": []}
    for fraction in fractions:
        keep = {articles[i] for i in order[: max(2, int(round(fraction * len(articles))))]}
        subset = fixed + [r for r in varied if r["article_id"] in keep]
        model = saved.new_estimator().fit(corpus.texts(subset), subset, groups=[r["article_id"] for r in subset],
                                          sample_weight=sentence_weights(subset, real_weight))
        predicted = model.predict(corpus.texts(held_out), article_ids=[r["article_id"] for r in held_out])
        result = evaluate_predictions(corpus.labels(held_out), predicted, corpus.schema, intervals=False)
        curve["points"].append({"fraction": fraction, "sentences": len(subset),
                                "varied_sentences": len(subset) - len(fixed),
                                "macro_f1": {t: m["macro_f1"] for t, m in result["tasks"].items()}})
    return curve


def confident_errors(corpus: Corpus, saved: SavedModel, split: str = "test", n: int = ERRORS_PER_TASK) -> dict[str, list[dict]]:
    """Per task, the sentences the model gets wrong with the highest probability on the wrong decision."""
    rows = corpus.subset(split)
    texts = corpus.texts(rows)
    proba = saved.predictor.predict_proba(texts, article_ids=[r["article_id"] for r in rows])
    predicted = saved.predictor.decide(proba, in_article=True)
    out: dict[str, list[dict]] = {}
    for task in corpus.schema.tasks:
        found = []
        for i, row in enumerate(rows):
            gold, guess = row[task.name], predicted[i][task.name]
            if task.multi_label:
                for j, label in enumerate(task.labels):
                    p = float(proba[task.name][i, j])
                    if (label in guess) != (label in gold):
                        kind = "false positive" if label in guess else "missed"
                        confidence = p if label in guess else 1 - p
                        found.append({"id": row["id"], "text": row[corpus.schema.text_field], "label": label,
                                      "error": kind, "confidence": round(confidence, 3)})
            elif gold != guess:
                found.append({"id": row["id"], "text": row[corpus.schema.text_field], "gold": gold, "predicted": guess,
                              "confidence": round(float(proba[task.name][i, task.labels.index(guess)]), 3)})
        out[task.name] = sorted(found, key=lambda e: -e["confidence"])[:n]
    return out


def run_evaluation(corpus: Corpus, saved: SavedModel, out: Path | None, splits: list[str] | None = None,
                   baselines: tuple[str, ...] = ("majority", "lexicon", "fasttext", "minilm"), lexicon: Path | None = None,
                   curve: bool = True, html: bool = False, log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Evaluate, compare, and (with `out`) write report.md, report.json and the plots."""
    log = log or _logger.info  # library code logs; the CLI and train.py pass their own printer
    if saved.schema.to_dict()["tasks"] != corpus.schema.to_dict()["tasks"]:
        from .errors import InputError

        raise InputError(f"{corpus.source}: its schema's tasks or labels differ from the model's; evaluate on a corpus with the model's schema")
    splits = [s for s in (splits or list(REPORT_SPLITS)) if corpus.subset(s)]
    if not splits:
        raise ValueError(f"{corpus.source}: none of the requested splits has sentences")
    if lexicon is None and corpus.source and (Path(corpus.source) / LEXICON_FILE).is_file():
        lexicon = Path(corpus.source) / LEXICON_FILE
    report: dict[str, Any] = {"model": str(saved.path), "model_sha256": saved.metadata.get("model_sha256"),
                              "data_sha256": corpus.fingerprint(), "splits": splits}
    report["comparison"] = compare_systems(corpus, saved, splits, list(baselines), lexicon, log)
    report["errors"] = confident_errors(corpus, saved, splits[0])
    if curve:
        log("computing the learning curve")
        report["learning_curve"] = learning_curve(corpus, saved, splits[0])
    if out is not None:
        write_report(report, corpus, saved, Path(out), html)
    return report


def write_report(report: dict[str, Any], corpus: Corpus, saved: SavedModel, out: Path, html: bool) -> None:
    from . import plots

    out.mkdir(parents=True, exist_ok=True)
    tasks = corpus.schema.task_names
    model_results = report["comparison"]["systems"]["tradeclf"]
    images: list[tuple[str, str]] = []
    for split in report["splits"]:
        rows = corpus.subset(split)
        predicted = saved.predictor.predict(corpus.texts(rows), article_ids=[r["article_id"] for r in rows])
        for task in corpus.schema.tasks:
            if not task.multi_label:
                name = f"confusion_{task.name}_{split}.png"
                plots.confusion_matrix([r[task.name] for r in rows], [p[task.name] for p in predicted], task.labels,
                                       f"{task.name} ({split})", out / name)
                images.append((f"Confusion matrix: {task.name}, {split}", name))
            else:
                name = f"f1_{task.name}_{split}.png"
                plots.per_label_f1(model_results[split]["tasks"][task.name]["per_label"], f"{task.name} per-label F1 ({split})", out / name)
                images.append((f"Per-label F1: {task.name}, {split}", name))
    if "learning_curve" in report:
        plots.learning_curve(report["learning_curve"], out / "learning_curve.png")
        images.append(("Learning curve", "learning_curve.png"))
    lines = ["# tradeclf evaluation", "", f"Model `{report['model']}` (SHA-256 `{str(report['model_sha256'])[:16]}...`), "
             f"data SHA-256 `{report['data_sha256'][:16]}...`. Macro-F1 with 95% bootstrap intervals; sentences/s is "
             "prediction throughput on this machine. Baselines are trained on the same train+dev sentences.", ""]
    for split in report["splits"]:
        lines += comparison_table(report["comparison"], split, tasks) + [""]
    for name, why in report["comparison"]["skipped"].items():
        lines.append(f"- {name} skipped: {why}")
    lines += ["", "## Per-label results (tradeclf)", ""]
    for split in report["splits"]:
        for task_name in tasks:
            m = model_results[split]["tasks"][task_name]
            extra = f"micro-F1 {m['micro_f1']:.3f}" if "micro_f1" in m else f"accuracy {m['accuracy']:.3f}"
            lines += [f"### {task_name} ({split}): macro-F1 {m['macro_f1']:.3f}, {extra}", "",
                      "| label | precision | recall | F1 | support |", "|---|---|---|---|---|"]
            lines += [f"| {label} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['support']} |"
                      for label, v in m["per_label"].items()]
            lines.append("")
    lines += ["## Plots", ""] + [f"![{title}]({name})" for title, name in images] + [""]
    if "learning_curve" in report:
        lc = report["learning_curve"]
        lines += ["## Learning curve", "", f"Macro-F1 on {lc['split']} as the share of {lc.get('over', 'training articles')} "
                  "grows (the rest of the training data always kept).", "",
                  "| varied sentences | all training sentences | " + " | ".join(tasks) + " |", "|---|---|" + "---|" * len(tasks)]
        for point in lc["points"]:
            lines.append(f"| {point.get('varied_sentences', point['sentences'])} | {point['sentences']} | "
                         + " | ".join(f"{point['macro_f1'][t]:.3f}" for t in tasks) + " |")
        lines.append("")
    lines += ["## Most confident errors", ""]
    for task, errors in report["errors"].items():
        lines += [f"### {task}", ""]
        for e in errors:
            what = f"{e['error']} `{e['label']}`" if "label" in e else f"gold `{e['gold']}`, predicted `{e['predicted']}`"
            lines.append(f"- ({e['confidence']:.2f}) {what}: {e['text']} [{e['id']}]")
        lines.append("")
    markdown = "\n".join(lines)
    atomic_write_bytes(out / "report.md", markdown.encode())
    atomic_write_bytes(out / "report.json", (json.dumps(report, indent=1, ensure_ascii=False) + "\n").encode())
    if html:
        atomic_write_bytes(out / "report.html", plots.markdown_to_html(markdown).encode())
