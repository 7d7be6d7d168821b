"""Our fast metric code agrees with scikit-learn on small known cases."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import f1_score

from tradeclf.metrics import bootstrap_interval, evaluate_predictions, indicator, macro_f1
from tradeclf.schema import Schema, Task

SCHEMA = Schema("t", (Task("topics", "multi_label", ("a", "b", "c")), Task("tone", "single_label", ("x", "y", "z"))))


def test_macro_f1_matches_sklearn_single_label():
    task = SCHEMA.task("tone")
    gold = ["x", "x", "y", "z", "z", "z"]
    guess = ["x", "y", "y", "z", "x", "z"]
    ours = macro_f1(indicator(gold, task), indicator(guess, task), np.arange(3))
    assert ours == pytest.approx(f1_score(gold, guess, average="macro"))


def test_macro_f1_matches_sklearn_multi_label():
    task = SCHEMA.task("topics")
    gold = [["a"], ["a", "b"], [], ["c"], ["b"]]
    guess = [["a"], ["b"], ["c"], ["c"], []]
    G, P = indicator(gold, task), indicator(guess, task)
    assert macro_f1(G, P, np.arange(3)) == pytest.approx(f1_score(G, P, average="macro"))


def test_labels_absent_from_gold_do_not_count():
    task = SCHEMA.task("tone")
    gold, guess = ["x", "x", "y"], ["x", "y", "y"]
    result = evaluate_predictions({"tone": gold, "topics": [[]] * 3}, [{"tone": g, "topics": []} for g in guess], SCHEMA)
    expected = f1_score(gold, guess, average="macro", labels=["x", "y"])
    assert result["tasks"]["tone"]["macro_f1"] == pytest.approx(expected, abs=1e-4)
    assert result["tasks"]["tone"]["accuracy"] == pytest.approx(2 / 3, abs=1e-4)


def test_bootstrap_interval_brackets_the_estimate_and_is_seeded():
    rng = np.random.default_rng(1)
    task = SCHEMA.task("tone")
    gold = list(rng.choice(["x", "y", "z"], 200))
    guess = [g if rng.random() < 0.7 else "x" for g in gold]
    G, P = indicator(gold, task), indicator(guess, task)
    low, high = bootstrap_interval(G, P, np.arange(3), seed=5)
    point = macro_f1(G, P, np.arange(3))
    assert low < point < high
    assert bootstrap_interval(G, P, np.arange(3), seed=5) == [low, high]
