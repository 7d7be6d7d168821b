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


def test_intervals_resample_articles_not_sentences():
    """Sentences of one article are not independent: resampling articles gives a wider interval."""
    from tradeclf.metrics import bootstrap_interval

    rng = np.random.default_rng(0)
    articles = np.repeat(np.arange(10), 30)  # 10 articles of 30 sentences, each article mostly right or mostly wrong
    good = np.isin(articles, [0, 1, 2, 3, 4, 5, 6])
    gold = np.zeros((300, 2), dtype=bool)
    gold[np.arange(300), rng.integers(0, 2, 300)] = True
    guess = np.where(good[:, None], gold, ~gold)
    present = np.array([0, 1])
    by_sentence = bootstrap_interval(gold, guess, present)
    by_article = bootstrap_interval(gold, guess, present, groups=list(articles))
    assert by_article[1] - by_article[0] > 2 * (by_sentence[1] - by_sentence[0])
    mixed = np.r_[np.zeros(30, dtype=int), np.full(30, 7)]  # two articles: one all right, one all wrong
    two = bootstrap_interval(gold[np.r_[0:30, 210:240]], guess[np.r_[0:30, 210:240]], present, groups=list(mixed))
    assert two == [0.0, 1.0]  # honest: two articles say almost nothing
