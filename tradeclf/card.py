"""The model card (README.md of a model folder and `tradeclf info`), rendered from metadata only."""

from __future__ import annotations

from typing import Any


NOT_TABLES = ("cv", "attribution_effect", "attribution_spans")  # metrics with their own sections


def flat_metrics(metrics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Metrics in report order: real test first, then written test, seed, and CV by origin last."""
    flat = {k: v for k, v in metrics.items() if k not in NOT_TABLES}
    cv = metrics.get("cv", {})
    if "tasks" in cv:  # a model trained before reports by origin
        flat["cv"] = cv
    else:
        ordered = sorted(cv.items(), key=lambda item: item[0] != "real")  # real text first, as everywhere
        flat.update({f"cv ({origin})": result for origin, result in ordered})
    return flat


def _metrics_table(metrics: dict[str, dict[str, Any]]) -> list[str]:
    """Rows: one per evaluated split; columns: macro-F1 per task (with a 95% interval when known)."""
    if not metrics:
        return ["(no metrics recorded)"]
    tasks = list(next(iter(metrics.values())).get("tasks", {}))
    multi = [t for t in tasks if "micro_f1" in next(iter(metrics.values()))["tasks"].get(t, {})]
    lines = ["| split | sentences | " + " | ".join(f"{t} macro-F1" for t in tasks) + "".join(f" | {t} micro-F1" for t in multi) + " |",
             "|---|---|" + "---|" * (len(tasks) + len(multi))]
    for split, result in metrics.items():
        cells = []
        for task in tasks:
            m = result["tasks"].get(task, {})
            value = m.get("macro_f1")
            ci = m.get("macro_f1_ci")
            cell = "-" if value is None else f"{value:.3f}"
            if ci:
                cell += f" ({ci[0]:.2f}-{ci[1]:.2f})"
            cells.append(cell)
        for task in multi:
            m = result["tasks"].get(task, {})
            cell = "-" if m.get("micro_f1") is None else f"{m['micro_f1']:.3f}"
            if m.get("micro_f1_ci"):
                cell += f" ({m['micro_f1_ci'][0]:.2f}-{m['micro_f1_ci'][1]:.2f})"
            cells.append(cell)
        lines.append(f"| {split} | {result.get('n', '-')} | " + " | ".join(cells) + " |")
    return lines


def render_model_card(meta: dict[str, Any]) -> str:
    """Markdown model card: use, data, labels, metrics, limits, retraining."""
    schema = meta["schema"]
    versions = meta.get("versions", {})
    data = meta.get("data", {})
    lines = [
        f"# tradeclf model: {meta.get('name', 'model')}",
        "",
        "Labels each sentence of news about trade negotiations with the tasks below. "
        "Generated from metadata.json by `tradeclf.card`; do not edit by hand.",
        "",
        "## Intended use",
        "Sentence-level coding of English-language news about trade negotiations (issues discussed, who speaks, "
        "their stance, and what is said about the progress of talks), for analysts who aggregate over many articles. "
        "Not for decisions about individual people or firms, and not for text far from trade news.",
        "",
        "## Tasks and labels",
    ]
    for task in schema["tasks"]:
        kind = "zero or more" if task["kind"] == "multi_label" else "exactly one"
        lines.append(f"- **{task['name']}** ({kind}): " + ", ".join(f"`{label}`" for label in task["labels"]))
    lines += ["", "## Training data",
              f"- Source: `{data.get('source', '?')}`; SHA-256 `{data.get('sha256', '?')}`",
              f"- Trained on splits {', '.join(data.get('train_splits', []))}: {data.get('n_train', '?')} sentences "
              f"from {data.get('n_train_articles', '?')} articles.",
              f"- By origin: {', '.join(f'{k} {v}' for k, v in data.get('n_train_by_origin', {}).items()) or '?'} sentences; "
              f"a real sentence weighs {data.get('real_weight', 1.0)} written ones (chosen by cross-validation on real text).",
              "- The shipped corpus has two origins: real text (White House, Federal Register, Beige Book, CRS and "
              "Wikinews passages, taken unchanged from redistributable sources and annotated here) and articles written "
              "by the tradeclf team to data/CODEBOOK.md; see data/README.md for sources, licences and agreement figures."]
    counts = data.get("label_counts", {})
    if counts:
        lines += ["", "Label counts in the training data:", ""]
        for task, by_label in counts.items():
            lines.append(f"- {task}: " + ", ".join(f"{k} {v}" for k, v in by_label.items()))
    lines += ["", "## Metrics", "", "Macro-F1 per task (issues: micro-F1 too), with 95% intervals from resampling "
              "articles. `real-test` is held-out real text (read this first: it is what users label); "
              "`written-test` is held-out written articles; `seed` is the two real articles in seeds/, never trained on "
              "(two articles: very wide intervals); `cv (real)` / `cv (written)` is cross-validation on the training "
              "splits grouped by source document. Rows are article mode (each sentence with its neighbours), and "
              "`(sentence alone)` as `predict` sees a lone sentence.", ""]
    lines += _metrics_table(flat_metrics(meta.get("metrics", {})))
    lines += attribution_lines(meta.get("metrics", {}))
    if meta.get("baselines"):
        lines += ["", "Baselines trained on the same sentences (macro-F1; `tradeclf evaluate` adds fastText and MiniLM):", "",
                  "| baseline | split | " + " | ".join(t["name"] for t in schema["tasks"]) + " |",
                  "|---|---|" + "---|" * len(schema["tasks"])]
        for name, by_split in meta["baselines"].items():
            for split, by_task in by_split.items():
                lines.append(f"| {name} | {split} | " + " | ".join(f"{by_task[t['name']]:.3f}" for t in schema["tasks"]) + " |")
    if meta.get("thresholds"):
        lines += ["", "## Decision thresholds (multi-label, tuned by cross-validation)", ""]
        for task, by_label in meta["thresholds"].items():
            lines.append(f"- {task}: " + ", ".join(f"{k} {v:.3f}" for k, v in by_label.items()))
    lines += ["", "## Hyper-parameters", "", "```", *(f"{k} = {v}" for k, v in sorted(meta.get("params", {}).items())), "```",
              "", "## Known limits",
              "- Real training text is US government documents, Beige Book reports, CRS reports and Wikinews; news "
              "from other outlets, other countries and other decades differs again: expect the `real-test` figures "
              "to be an upper bound for such text.",
              "- English only; events of 2017-2025; trade-negotiation news. Speaker attribution that sits far from the "
              "sentence (several sentences away) is often missed.",
              "", "## Versions", "",
              *(f"- {k} {v}" for k, v in versions.items()),
              f"- created {meta.get('created', '?')}; model SHA-256 `{meta.get('model_sha256', '?')}`",
              "", "## Retrain", "", "```", "python train.py                                   # rebuild the shipped model",
              "tradeclf train --data data/ --out models/my-model  # or from your own corpus", "```", ""]
    return "\n".join(lines)


def attribution_lines(metrics: dict[str, Any]) -> list[str]:
    """The attribution section: what the source features add (paired bootstrap), and the rules against gold spans."""
    lines: list[str] = []
    effect = metrics.get("attribution_effect")
    if effect:
        lines += ["", "## Attribution: what the source features add", "",
                  "The same model fitted without the attributed-source features, both scored on the same sentences; "
                  "the interval of the gain resamples articles (paired).", "",
                  "| split | task | with source | without | gain (95% interval) |", "|---|---|---|---|---|"]
        for split, by_task in effect.items():
            for task, m in by_task.items():
                if m["with"] != m["without"] or task == "speaker":
                    lines.append(f"| {split} | {task} | {m['with']:.3f} | {m['without']:.3f} | "
                                 f"{m['gain']:+.3f} ({m['gain_ci'][0]:+.3f} to {m['gain_ci'][1]:+.3f}) |")
    spans = metrics.get("attribution_spans")
    if spans:
        lines += ["", "## Attribution: source spans against the gold (data/sources.jsonl)", "",
                  "Found: a span in the right sentence or not; exact: the same characters; overlap: character-overlap F1; "
                  "party: the type agrees on what speaker needs (US / China government, business, other).", "",
                  "| split | sentences | gold sources | found P / R / F1 | exact F1 | overlap F1 | type | party |",
                  "|---|---|---|---|---|---|---|---|"]
        for split, m in spans.items():
            found = m["found"]
            lines.append(f"| {split} | {m['sentences']} | {m['gold_sources']} | {found['precision']:.2f} / {found['recall']:.2f} / "
                         f"{found['f1']:.2f} | {m['exact']['f1']:.2f} | {m['overlap']['f1']:.2f} | "
                         f"{m['type_agreement'] if m['type_agreement'] is not None else '-'} | "
                         f"{m['party_agreement'] if m['party_agreement'] is not None else '-'} |")
    return lines


README_START = "<!-- metrics:start (generated from models/default/metadata.json by train.py; do not edit) -->"
README_END = "<!-- metrics:end -->"


def readme_metrics_block(meta: dict[str, Any]) -> str:
    """The accuracy table the project README shows for the shipped model."""
    return "\n".join([README_START, "", *_metrics_table(flat_metrics(meta.get("metrics", {}))),
                      *attribution_lines({k: v for k, v in meta.get("metrics", {}).items() if k == "attribution_effect"}), "",
                      f"Model SHA-256 `{meta.get('model_sha256', '?')[:16]}...`, trained on data SHA-256 "
                      f"`{meta.get('data', {}).get('sha256', '?')[:16]}...` ({meta.get('data', {}).get('n_train', '?')} sentences).",
                      README_END])


def replace_block(text: str, block: str, start: str = README_START, end: str = README_END) -> str:
    """`text` with the part from `start` to `end` replaced by `block` (markers included in `block`)."""
    if start not in text or end not in text:
        raise ValueError(f"markers {start!r} ... {end!r} not found")
    before, rest = text.split(start, 1)
    return before + block + rest.split(end, 1)[1]
