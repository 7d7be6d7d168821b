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
DEFAULT_SEED = 0


def label_counts(rows: list[dict], schema: Schema) -> dict[str, dict[str, int]]:
    out = {}
    for task in schema.tasks:
        counts = Counter(label for r in rows for label in (r[task.name] if task.multi_label else [r[task.name]]))
        out[task.name] = {label: counts[label] for label in task.labels}
    return out


def search_hyperparameters(corpus: Corpus, rows: list[dict], seed: int = DEFAULT_SEED, folds: int = SEARCH_FOLDS,
                           grid: tuple[float, ...] = C_GRID, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Choose C per task by article-grouped CV; the features are fitted once per fold and shared.

    Single-label tasks are scored by macro-F1 of the plain logistic head; the multi-label task by macro
    average precision (threshold-free; thresholds are tuned later on the chosen C).
    Returns {"C": {task: best C}, "cv": {task: {C: mean score}}}.
    """
    from sklearn.metrics import average_precision_score
    from sklearn.model_selection import GroupKFold
    from sklearn.multiclass import OneVsRestClassifier

    from .features import make_featurizer
    from .model import TradeClassifier, logistic

    schema = corpus.schema
    texts = np.array(corpus.texts(rows), dtype=object)
    groups = np.array([r["article_id"] for r in rows])
    labels = corpus.labels(rows)
    defaults = TradeClassifier(schema)
    scores: dict[str, dict[float, list[float]]] = {t.name: {c: [] for c in grid} for t in schema.tasks}
    for k, (train_idx, val_idx) in enumerate(GroupKFold(folds).split(texts, groups=groups)):
        featurizer = make_featurizer(defaults.word_ngram_range, defaults.char_ngram_range, defaults.min_df)
        X_train = featurizer.fit_transform(texts[train_idx])
        X_val = featurizer.transform(texts[val_idx])
        for task in schema.tasks:
            gold = indicator(labels[task.name], task)
            for C in grid:
                base = logistic(C, seed)
                if task.multi_label:
                    usable = [j for j in range(gold.shape[1]) if 0 < gold[train_idx, j].sum() < len(train_idx)]
                    head = OneVsRestClassifier(base).fit(X_train, gold[train_idx][:, usable])
                    proba = head.predict_proba(X_val)
                    present = [i for i, j in enumerate(usable) if gold[val_idx, j].any()]
                    score = float(np.mean([average_precision_score(gold[val_idx, usable[i]], proba[:, i]) for i in present]))
                else:
                    y = np.array(labels[task.name])
                    head = base.fit(X_train, y[train_idx])
                    guess = indicator(list(head.predict(X_val)), task)
                    present = np.flatnonzero(gold[val_idx].sum(axis=0) > 0)
                    score = float(macro_f1(gold[val_idx], guess, present))
                scores[task.name][C].append(score)
        log(f"  search fold {k + 1}/{folds} done")
    cv = {task: {str(C): round(float(np.mean(v)), 4) for C, v in by_c.items()} for task, by_c in scores.items()}
    best = {task: float(max(by_c, key=lambda c: (by_c[c], -float(c)))) for task, by_c in cv.items()}
    return {"C": best, "cv": cv, "folds": folds, "grid": list(grid),
            "score": {t.name: ("macro average precision" if t.multi_label else "macro-F1") for t in schema.tasks}}


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
        for i, p in zip(val_idx, model.predict([texts[i] for i in val_idx])):
            predicted[i] = p
    return evaluate_predictions(corpus.labels(rows), predicted, corpus.schema, intervals=True)


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
        log(f"  chosen C: {search_result['C']}")
    metrics: dict[str, Any] = {}
    if cv_report and len({r["article_id"] for r in rows}) >= SEARCH_FOLDS:
        log("cross-validating the chosen model")
        metrics["cv"] = cross_validated_metrics(corpus, rows, params)
    log(f"fitting the final model on {len(rows)} sentences")
    groups = [r["article_id"] for r in rows]
    model = TradeClassifier(corpus.schema, **params).fit(corpus.texts(rows), rows, groups=groups)
    for split in REPORT_SPLITS:
        held_out = corpus.split(split)
        if held_out:
            metrics[split] = evaluate_predictions(corpus.labels(held_out), model.predict(corpus.texts(held_out)),
                                                  corpus.schema, seed=seed)
    metadata = {
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
