"""Training from a corpus: hyper-parameter search by grouped cross-validation, final fit, held-out report.

The search and the final model use the train and dev splits; the test split is touched once, for the
report; the `seed` split (real articles) is never trained on.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .data import Corpus
from .metrics import evaluate_predictions, indicator, macro_f1
from .persistence import save_model
from .schema import Schema

TRAIN_SPLITS = ("train", "dev")
REPORT_SPLITS = ("test", "seed")
C_GRID = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
SEARCH_FOLDS = 5
CONTEXT_MARGIN = 0.005  # a task reads the neighbouring sentences only if CV gains at least this much
DEFAULT_SEED = 0


def label_counts(rows: list[dict], schema: Schema) -> dict[str, dict[str, int]]:
    out = {}
    for task in schema.tasks:
        counts = Counter(label for r in rows for label in (r[task.name] if task.multi_label else [r[task.name]]))
        out[task.name] = {label: counts[label] for label in task.labels}
    return out


def search_hyperparameters(corpus: Corpus, rows: list[dict], seed: int = DEFAULT_SEED, folds: int = SEARCH_FOLDS,
                           grid: tuple[float, ...] = C_GRID, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Choose, per task, C and whether to use the neighbouring sentences, by article-grouped CV.

    The features are fitted once per fold and shared by all tasks. Single-label tasks are scored by
    macro-F1 of the plain logistic head; the multi-label task by macro average precision (threshold-free;
    thresholds are tuned later on the chosen C). A task uses context only when that gains at least
    CONTEXT_MARGIN. Returns {"C": {task: C}, "context_tasks": [...], "cv": {task: {mode: {C: score}}}}.
    """
    from sklearn.model_selection import GroupKFold

    from .features import make_featurizer
    from .model import TradeClassifier

    schema = corpus.schema
    texts = np.array(corpus.texts(rows), dtype=object)
    groups = np.array([r["article_id"] for r in rows])
    labels = corpus.labels(rows)
    gold = {t.name: indicator(labels[t.name], t) for t in schema.tasks}
    probe = TradeClassifier(schema)
    modes = ("sentence", "context")
    scores = {t.name: {m: {c: [] for c in grid} for m in modes} for t in schema.tasks}
    for k, (train_idx, val_idx) in enumerate(GroupKFold(folds).split(texts, groups=groups)):
        featurizer = make_featurizer(probe.word_ngram_range, probe.char_ngram_range, probe.min_df)
        own_train = featurizer.fit_transform(texts[train_idx])
        own_val = featurizer.transform(texts[val_idx])
        matrices = {"sentence": (own_train, own_val),
                    "context": (probe._add_context(own_train, groups[train_idx]), probe._add_context(own_val, groups[val_idx]))}
        for task in schema.tasks:
            for mode, (X_train, X_val) in matrices.items():
                for C in grid:
                    scores[task.name][mode][C].append(_fold_score(task, gold[task.name], labels[task.name],
                                                                  X_train, X_val, train_idx, val_idx, C, seed))
        log(f"  search fold {k + 1}/{folds} done")
    cv = {task: {mode: {str(C): round(float(np.mean(v)), 4) for C, v in by_c.items()} for mode, by_c in by_mode.items()}
          for task, by_mode in scores.items()}
    best_C, context_tasks, gain = {}, [], {}
    for task, by_mode in cv.items():
        best = {mode: max(by_c, key=lambda c: (by_c[c], -float(c))) for mode, by_c in by_mode.items()}
        gain[task] = round(by_mode["context"][best["context"]] - by_mode["sentence"][best["sentence"]], 4)
        mode = "context" if gain[task] >= CONTEXT_MARGIN else "sentence"
        if mode == "context":
            context_tasks.append(task)
        best_C[task] = float(best[mode])
    return {"C": best_C, "context_tasks": context_tasks, "context_gain": gain, "cv": cv, "folds": folds,
            "grid": list(grid), "score": {t.name: ("macro average precision" if t.multi_label else "macro-F1") for t in schema.tasks}}


def _fold_score(task, gold: np.ndarray, labels: list, X_train, X_val, train_idx, val_idx, C: float, seed: int) -> float:
    """One task's validation score on one fold for one C."""
    from sklearn.metrics import average_precision_score
    from sklearn.multiclass import OneVsRestClassifier

    from .model import logistic

    if task.multi_label:
        usable = [j for j in range(gold.shape[1]) if 0 < gold[train_idx, j].sum() < len(train_idx)]
        proba = OneVsRestClassifier(logistic(C, seed)).fit(X_train, gold[train_idx][:, usable]).predict_proba(X_val)
        present = [i for i, j in enumerate(usable) if gold[val_idx, j].any()]
        return float(np.mean([average_precision_score(gold[val_idx, usable[i]], proba[:, i]) for i in present]))
    y = np.asarray(labels)
    guess = indicator(list(logistic(C, seed).fit(X_train, y[train_idx]).predict(X_val)), task)
    present = np.flatnonzero(gold[val_idx].sum(axis=0) > 0)
    return float(macro_f1(gold[val_idx], guess, present))


def cross_validated_metrics(corpus: Corpus, rows: list[dict], params: dict[str, Any], folds: int = SEARCH_FOLDS) -> dict[str, Any]:
    """Macro-F1 etc. of the full estimator (thresholds and calibration included) by grouped CV."""
    from sklearn.model_selection import GroupKFold

    from .model import TradeClassifier

    texts = corpus.texts(rows)
    groups = [r["article_id"] for r in rows]
    predicted: list[dict | None] = [None] * len(rows)
    for train_idx, val_idx in GroupKFold(folds).split(texts, groups=groups):
        model = TradeClassifier(corpus.schema, **params).fit(
            [texts[i] for i in train_idx], [rows[i] for i in train_idx], groups=[groups[i] for i in train_idx])
        for i, p in zip(val_idx, model.predict([texts[i] for i in val_idx], article_ids=[groups[i] for i in val_idx])):
            predicted[i] = p
    return evaluate_predictions(corpus.labels(rows), predicted, corpus.schema, intervals=True)


def baseline_metrics(corpus: Corpus, rows: list[dict]) -> dict[str, Any]:
    """Macro-F1 of the dependency-free baselines (majority, and lexicon when the corpus has one) on the report splits."""
    from .baselines import LEXICON_FILE, LexiconBaseline, MajorityBaseline

    systems = [MajorityBaseline()]
    if corpus.source and (Path(corpus.source) / LEXICON_FILE).is_file():
        systems.append(LexiconBaseline(Path(corpus.source) / LEXICON_FILE))
    out: dict[str, Any] = {}
    for system in systems:
        system.fit(corpus.texts(rows), rows, corpus.schema)
        out[system.name] = {}
        for split in REPORT_SPLITS:
            held_out = corpus.split(split)
            if held_out:
                result = evaluate_predictions(corpus.labels(held_out), system.predict(corpus.texts(held_out)), corpus.schema, intervals=False)
                out[system.name][split] = {task: m["macro_f1"] for task, m in result["tasks"].items()}
    return out


def train(corpus: Corpus, out: str | Path, seed: int = DEFAULT_SEED, search: bool = True, cv_report: bool = True,
          name: str | None = None, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train on train+dev, report CV and held-out metrics, save the model folder; return its metadata."""
    from .model import TradeClassifier

    rows = corpus.split(*TRAIN_SPLITS) or corpus.split("train")
    if not rows:
        raise ValueError(f"{corpus.source}: no sentences in the train or dev splits to learn from")
    params: dict[str, Any] = {"random_state": seed}
    search_result = None
    if search and len({r["article_id"] for r in rows}) >= SEARCH_FOLDS:
        log(f"searching C per task by {SEARCH_FOLDS}-fold article-grouped CV on {len(rows)} sentences")
        search_result = search_hyperparameters(corpus, rows, seed, log=log)
        params["C"] = search_result["C"]
        params["context_tasks"] = tuple(search_result["context_tasks"])
        log(f"  chosen C: {search_result['C']}; tasks reading neighbouring sentences: "
            f"{', '.join(search_result['context_tasks']) or 'none'} (CV gain {search_result['context_gain']})")
    metrics: dict[str, Any] = {}
    if cv_report and len({r["article_id"] for r in rows}) >= SEARCH_FOLDS:
        log("cross-validating the chosen model")
        metrics["cv"] = cross_validated_metrics(corpus, rows, params)
    log(f"fitting the final model on {len(rows)} sentences")
    groups = [r["article_id"] for r in rows]
    model = TradeClassifier(corpus.schema, **params).fit(corpus.texts(rows), rows, groups=groups)
    for split in REPORT_SPLITS:
        held_out = corpus.split(split)
        if held_out:  # article mode: each sentence with its neighbours, as label_article and `label` see it
            predicted = model.predict(corpus.texts(held_out), article_ids=[r["article_id"] for r in held_out])
            metrics[split] = evaluate_predictions(corpus.labels(held_out), predicted, corpus.schema, seed=seed)
            if model.context_tasks:  # and each sentence alone, as `predict` sees it
                alone = evaluate_predictions(corpus.labels(held_out), model.predict(corpus.texts(held_out)), corpus.schema, seed=seed)
                metrics[f"{split} (sentence alone)"] = alone
    metadata = {
        "baselines": baseline_metrics(corpus, rows),
        "name": name or Path(out).name,
        "seed": seed,
        "data": {
            "source": corpus.source,
            "sha256": corpus.fingerprint(),
            "train_splits": [s for s in TRAIN_SPLITS if corpus.split(s)],
            "n_train": len(rows),
            "n_train_articles": len({r["article_id"] for r in rows}),
            "label_counts": label_counts(rows, corpus.schema),
        },
        "search": search_result,
        "metrics": metrics,
    }
    return save_model(model, out, metadata)
