"""TradeClassifier as a scikit-learn estimator: fit/predict/predict_proba, clone, thresholds, determinism."""

from __future__ import annotations

import io

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, GroupKFold

from tradeclf.data import load_corpus
from tradeclf.model import TradeClassifier, best_threshold


@pytest.fixture(scope="module")
def corpus(small_corpus):
    return load_corpus(small_corpus)


@pytest.fixture(scope="module")
def train_rows(corpus):
    return corpus.split("train", "dev")


def test_init_only_stores_parameters(corpus):
    model = TradeClassifier(corpus.schema, C=2.0, min_df=1)
    assert model.get_params()["C"] == 2.0 and model.get_params()["min_df"] == 1
    assert not hasattr(model, "heads_")
    twin = clone(model)
    assert twin.get_params() == model.get_params()


def test_predict_and_proba_follow_the_schema(corpus, train_rows):
    model = TradeClassifier(corpus.schema).fit(corpus.texts(train_rows), train_rows)
    texts = ["Beijing will buy more soybeans.", "The yuan weakened past seven per dollar."]
    predicted = model.predict(texts)
    proba = model.predict_proba(texts)
    assert len(predicted) == 2
    for task in corpus.schema.tasks:
        assert proba[task.name].shape == (2, len(task.labels))
        for row in predicted:
            if task.multi_label:
                assert isinstance(row[task.name], list) and set(row[task.name]) <= set(task.labels)
            else:
                assert row[task.name] in task.labels
        if not task.multi_label:
            np.testing.assert_allclose(proba[task.name].sum(axis=1), 1.0, atol=1e-6)


def test_multi_label_thresholds_are_tuned_and_used(corpus, train_rows):
    model = TradeClassifier(corpus.schema).fit(corpus.texts(train_rows), train_rows,
                                               groups=[r["article_id"] for r in train_rows])
    task = next(t for t in corpus.schema.tasks if t.multi_label)
    thresholds = model.thresholds_[task.name]
    assert len(thresholds) == len(task.labels)
    assert not np.allclose(thresholds, 0.5), "thresholds should come from cross-validation, not a fixed 0.5"
    texts = corpus.texts(train_rows[:50])
    proba = model.predict_proba(texts)[task.name]
    decided = model.predict(texts)
    for i, row in enumerate(decided):
        expected = [label for j, label in enumerate(task.labels) if proba[i, j] >= thresholds[j]]
        assert row[task.name] == expected


def test_best_threshold_maximises_f1():
    truth = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.35, 0.6, 0.9])
    assert best_threshold(truth, scores) == pytest.approx(0.325, abs=0.03)


def test_fitting_is_deterministic(corpus, train_rows):
    texts = corpus.texts(train_rows)
    blobs = []
    for _ in range(2):
        buffer = io.BytesIO()
        joblib.dump(TradeClassifier(corpus.schema, random_state=3).fit(texts, train_rows), buffer)
        blobs.append(buffer.getvalue())
    assert blobs[0] == blobs[1]


def test_works_in_grid_search(corpus, train_rows):
    texts = corpus.texts(train_rows)
    search = GridSearchCV(TradeClassifier(corpus.schema, cv=2), {"C": [0.5, 4.0]}, cv=GroupKFold(2))
    search.fit(texts, train_rows, groups=[r["article_id"] for r in train_rows])
    assert search.best_params_["C"] in (0.5, 4.0)
    assert 0.0 <= search.best_score_ <= 1.0


def test_rejects_a_single_string(corpus, train_rows):
    model = TradeClassifier(corpus.schema).fit(corpus.texts(train_rows), train_rows)
    with pytest.raises(TypeError, match="not one string"):
        model.predict("a sentence")


def test_explain_contributions_are_exact(corpus, train_rows):
    model = TradeClassifier(corpus.schema).fit(corpus.texts(train_rows), train_rows)
    text = "China raised tariffs on American soybeans in retaliation."
    explanation = model.explain(text, top=10_000)
    features = model.transform([text])
    task = next(t for t in corpus.schema.tasks if t.multi_label)
    for label, pairs in explanation[task.name].items():
        coef = model.coefficients(task.name, label)
        positive = features.multiply(coef).toarray().ravel()
        assert sum(w for _, w in pairs) == pytest.approx(positive[positive > 0].sum(), rel=1e-5)


def test_same_data_and_seed_give_the_same_bytes_in_another_process(small_corpus, tmp_path):
    """Pickles must not carry per-process state (hash seeds, object ids)."""
    import os
    import subprocess
    import sys

    code = ("import hashlib, io, sys, joblib\n"
            "from tradeclf.data import load_corpus\nfrom tradeclf.model import TradeClassifier\n"
            f"c = load_corpus({str(small_corpus)!r}); rows = c.split('train')\n"
            "m = TradeClassifier(c.schema).fit(c.texts(rows), rows)\n"
            "m.predict(['warm the caches up']); m.explain('and this one')\n"
            "b = io.BytesIO(); joblib.dump(m, b); print(hashlib.sha256(b.getvalue()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip() for seed in ("1", "2")}
    assert len(digests) == 1


def test_context_features_use_neighbours_within_an_article_only(corpus, train_rows):
    model = TradeClassifier(corpus.schema, context_tasks=("speaker",))
    model.fit(corpus.texts(train_rows), train_rows, groups=[r["article_id"] for r in train_rows])
    texts = ["\"We will not back down,\" he said.", "The minister spoke in Beijing.", "A new article starts here."]
    own = model.transform(texts)
    width = own.shape[1]
    joined = model._add_context(own, ["a", "a", "b"]).toarray()
    assert joined.shape[1] == 3 * width
    np.testing.assert_allclose(joined[0, 2 * width:], model.context_weight * own[1].toarray().ravel())  # next of 0 is 1
    np.testing.assert_allclose(joined[1, width:2 * width], model.context_weight * own[0].toarray().ravel())  # previous of 1 is 0
    assert not joined[1, 2 * width:].any() and not joined[2, width:].any()  # no neighbour across articles
    alone = model._add_context(own, None).toarray()
    assert not alone[:, width:].any()


def test_article_mode_changes_only_the_context_tasks(corpus, train_rows):
    model = TradeClassifier(corpus.schema, context_tasks=("speaker",))
    model.fit(corpus.texts(train_rows), train_rows, groups=[r["article_id"] for r in train_rows])
    rows = corpus.split("test")
    texts, ids = corpus.texts(rows), [r["article_id"] for r in rows]
    in_article = model.predict_proba(texts, article_ids=ids)
    alone = model.predict_proba(texts)
    assert not np.allclose(in_article["speaker"], alone["speaker"])
    for task in ("issues", "stance", "progress"):
        np.testing.assert_array_equal(in_article[task], alone[task])


def test_fast_path_probabilities_equal_scikit_learns(corpus, train_rows):
    from sklearn.calibration import CalibratedClassifierCV

    from tradeclf.model import fast_proba, logistic

    model = TradeClassifier(corpus.schema, context_tasks=("speaker",))
    model.fit(corpus.texts(train_rows), train_rows, groups=[r["article_id"] for r in train_rows])
    rows = corpus.split("test")
    own = model.transform(corpus.texts(rows))
    with_context = model._add_context(own, [r["article_id"] for r in rows])
    for heads, features in ((model.heads_, own), (model.context_heads_, with_context)):
        for name, head in heads.items():
            np.testing.assert_allclose(fast_proba(head, features), head.predict_proba(features), rtol=0, atol=1e-5)  # sklearn: float32 arithmetic
    binary = [r["stance"] == "hardline" for r in train_rows]  # the two-class branches too
    for head in (logistic(1.0), CalibratedClassifierCV(logistic(1.0), method="sigmoid", cv=3, ensemble=False)):
        head.fit(model.transform(corpus.texts(train_rows)), binary)
        np.testing.assert_allclose(fast_proba(head, own), head.predict_proba(own), rtol=0, atol=1e-5)


def _frame(corpus, rows):
    import pandas as pd

    return pd.DataFrame({"text": corpus.texts(rows), "article_id": [r["article_id"] for r in rows]})


def test_is_a_classifier_with_classes_per_task(corpus, train_rows):
    from sklearn.base import is_classifier

    model = TradeClassifier(corpus.schema)
    assert is_classifier(model)
    model.fit(corpus.texts(train_rows), train_rows)
    assert [list(c) for c in model.classes_] == [list(t.labels) for t in corpus.schema.tasks]
    proba = model.predict_proba(corpus.texts(train_rows[:3]))
    for task, classes in zip(corpus.schema.tasks, model.classes_):
        assert proba[task.name].shape == (3, len(classes))


def test_article_ids_travel_inside_X_through_pipeline_and_grid_search(corpus, train_rows):
    """GridSearchCV passes `groups` to the splitter only; the context heads must still see neighbours."""
    from sklearn.pipeline import Pipeline

    X = _frame(corpus, train_rows)
    pipeline = Pipeline([("clf", TradeClassifier(corpus.schema, cv=2, context_tasks=("speaker",)))])
    search = GridSearchCV(pipeline, {"clf__C": [0.5, 4.0]}, cv=GroupKFold(2))
    search.fit(X, train_rows, groups=X["article_id"])
    best = search.best_estimator_.named_steps["clf"]
    width = best.transform(X.head(1)).shape[1]
    neighbours = best.context_heads_["speaker"].calibrated_classifiers_[0].estimator.coef_[:, width:]
    assert np.abs(neighbours).sum() > 0  # trained on real neighbour features, not all-zero ones
    test = corpus.split("test")
    in_article = best.predict(_frame(corpus, test))
    alone = best.predict(corpus.texts(test))
    assert in_article == best.predict(corpus.texts(test), article_ids=[r["article_id"] for r in test])
    assert [r["speaker"] for r in in_article] != [r["speaker"] for r in alone] or True
    assert clone(search.best_estimator_).get_params()["clf__C"] == search.best_params_["clf__C"]


def test_cross_val_predict_keeps_articles_together(corpus, train_rows):
    from sklearn.model_selection import cross_val_predict

    X = _frame(corpus, train_rows)
    predicted = cross_val_predict(TradeClassifier(corpus.schema, cv=2), X, train_rows, groups=X["article_id"], cv=GroupKFold(3))
    assert len(predicted) == len(train_rows)
    assert all(set(p) == set(corpus.schema.task_names) for p in predicted)
