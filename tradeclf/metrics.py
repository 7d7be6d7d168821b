"""Evaluation metrics per task, with bootstrap 95% confidence intervals (test sets here are small)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from .schema import Schema, Task

BOOTSTRAP_SAMPLES = 1000


def indicator(values: list, task: Task) -> np.ndarray:
    """Labels as a 0/1 matrix (n sentences, n labels) in schema label order."""
    matrix = np.zeros((len(values), len(task.labels)), dtype=bool)
    index = {label: j for j, label in enumerate(task.labels)}
    for i, value in enumerate(values):
        for label in (value if task.multi_label else [value]):
            matrix[i, index[label]] = True
    return matrix


def f1_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """Per-label F1 from counts along the last axis; 0 where a label is neither predicted nor present."""
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros_like(tp, dtype=float), where=denominator > 0)


def macro_f1(gold: np.ndarray, guess: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Macro-F1 over the labels in `present`, for a stack of resamples (..., n, labels) or one set."""
    tp = (gold & guess).sum(axis=-2)
    fp = (~gold & guess).sum(axis=-2)
    fn = (gold & ~guess).sum(axis=-2)
    return f1_from_counts(tp, fp, fn)[..., present].mean(axis=-1)


def bootstrap_interval(gold: np.ndarray, guess: np.ndarray, present: np.ndarray, seed: int = 0,
                       samples: int = BOOTSTRAP_SAMPLES, groups: list | None = None) -> list[float]:
    """95% percentile interval of macro-F1 over resamples of articles (`groups`, one per sentence), or of
    sentences without groups. Sentences of one article are not independent, so resampling articles gives
    honest, wider intervals: a 2-article split gets a very wide one."""
    rng = np.random.default_rng(seed)
    if groups is None:
        groups = list(range(len(gold)))
    _, member = np.unique(np.asarray([str(g) for g in groups]), return_inverse=True)
    n_groups = member.max() + 1 if len(member) else 0
    per_group = np.zeros((3, n_groups, gold.shape[1]))  # tp, fp, fn counts per article and label
    for k, counts in enumerate((gold & guess, ~gold & guess, gold & ~guess)):
        np.add.at(per_group[k], member, counts)
    draws = rng.multinomial(n_groups, np.full(n_groups, 1 / n_groups), size=samples)  # times each article is drawn
    tp, fp, fn = (draws @ per_group[k] for k in range(3))
    scores = f1_from_counts(tp, fp, fn)[:, present].mean(axis=1)
    low, high = np.percentile(scores, [2.5, 97.5])
    return [round(float(low), 4), round(float(high), 4)]


def micro_interval(gold: np.ndarray, guess: np.ndarray, seed: int = 0, groups: list | None = None,
                   samples: int = BOOTSTRAP_SAMPLES) -> list[float]:
    """95% interval of micro-F1 over resampled articles (or sentences)."""
    rng = np.random.default_rng(seed)
    if groups is None:
        groups = list(range(len(gold)))
    _, member = np.unique(np.asarray([str(g) for g in groups]), return_inverse=True)
    n_groups = member.max() + 1
    counts = np.zeros((n_groups, 3))
    np.add.at(counts, member, np.column_stack([(gold & guess).sum(1), (~gold & guess).sum(1), (gold & ~guess).sum(1)]))
    tp, fp, fn = (rng.multinomial(n_groups, np.full(n_groups, 1 / n_groups), size=samples) @ counts).T
    denominator = 2 * tp + fp + fn
    scores = np.divide(2 * tp, denominator, out=np.zeros_like(tp, dtype=float), where=denominator > 0)
    low, high = np.percentile(scores, [2.5, 97.5])
    return [round(float(low), 4), round(float(high), 4)]


def evaluate_predictions(gold_rows: dict[str, list], predicted: list[dict[str, Any]], schema: Schema,
                         seed: int = 0, intervals: bool = True, groups: list | None = None) -> dict[str, Any]:
    """Per task: macro-F1 (with interval), accuracy or micro-F1, and per-label precision/recall/F1/support.

    Macro-F1 averages over the labels present in the gold data, so a label absent from a small split
    does not count as a zero.
    """
    result: dict[str, Any] = {"n": len(predicted), "tasks": {}}
    for task in schema.tasks:
        gold = indicator(gold_rows[task.name], task)
        guess = indicator([row[task.name] for row in predicted], task)
        present = np.flatnonzero(gold.sum(axis=0) > 0)
        precision, recall, f1, support = precision_recall_fscore_support(gold, guess, average=None, zero_division=0)
        m: dict[str, Any] = {"macro_f1": round(float(macro_f1(gold, guess, present)), 4) if len(present) else None}
        if task.multi_label:
            m["micro_f1"] = round(float(f1_score(gold, guess, average="micro", zero_division=0)), 4)
        else:
            m["accuracy"] = round(float(accuracy_score(gold.argmax(1), guess.argmax(1))), 4)
        if intervals and len(present) and len(gold) > 1:
            m["macro_f1_ci"] = bootstrap_interval(gold, guess, present, seed, groups=groups)
            if task.multi_label:
                m["micro_f1_ci"] = micro_interval(gold, guess, seed, groups)
        m["per_label"] = {label: {"precision": round(float(precision[j]), 4), "recall": round(float(recall[j]), 4),
                                  "f1": round(float(f1[j]), 4), "support": int(support[j])}
                          for j, label in enumerate(task.labels)}
        result["tasks"][task.name] = m
    return result


def paired_difference(gold_rows: dict[str, list], first: list[dict[str, Any]], second: list[dict[str, Any]], schema: Schema,
                      groups: list, seed: int = 0, samples: int = BOOTSTRAP_SAMPLES) -> dict[str, Any]:
    """Per task: macro-F1 of `first`, of `second`, their difference and its 95% interval, both scored on the
    same resampled articles each time (a paired bootstrap: the interval of the gain, not of either score)."""
    rng = np.random.default_rng(seed)
    _, member = np.unique(np.asarray([str(g) for g in groups]), return_inverse=True)
    n_groups = member.max() + 1
    draws = rng.multinomial(n_groups, np.full(n_groups, 1 / n_groups), size=samples)
    out: dict[str, Any] = {}
    for task in schema.tasks:
        gold = indicator(gold_rows[task.name], task)
        present = np.flatnonzero(gold.sum(axis=0) > 0)
        scores = []
        for predicted in (first, second):
            guess = indicator([row[task.name] for row in predicted], task)
            per_group = np.zeros((3, n_groups, gold.shape[1]))
            for k, counts in enumerate((gold & guess, ~gold & guess, gold & ~guess)):
                np.add.at(per_group[k], member, counts)
            point = float(macro_f1(gold, guess, present))
            resampled = f1_from_counts(*(draws @ per_group[k] for k in range(3)))[:, present].mean(axis=1)
            scores.append((point, resampled))
        difference = scores[0][1] - scores[1][1]
        low, high = np.percentile(difference, [2.5, 97.5])
        out[task.name] = {"with": round(scores[0][0], 4), "without": round(scores[1][0], 4),
                          "gain": round(scores[0][0] - scores[1][0], 4), "gain_ci": [round(float(low), 4), round(float(high), 4)]}
    return out
