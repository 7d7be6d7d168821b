"""Training on both origins: real-text weight chosen by CV on real sentences, metrics reported by origin."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tradeclf.data import load_corpus
from tradeclf.model import TradeClassifier
from tradeclf.persistence import METADATA_FILE
from tradeclf.training import REPORT_SPLITS, TRAIN_SPLITS, search_hyperparameters, sentence_weights


@pytest.fixture(scope="module")
def corpus(small_corpus):
    return load_corpus(small_corpus)


def test_real_sentences_are_weighted(corpus):
    rows = corpus.split(*TRAIN_SPLITS)
    weights = sentence_weights(rows, 3.0)
    real = np.array([r["origin"] == "real" for r in rows])
    assert real.any() and (~real).any()
    assert set(weights[real]) == {3.0} and set(weights[~real]) == {1.0}
    texts, groups = corpus.texts(rows), [r["article_id"] for r in rows]
    plain = TradeClassifier(corpus.schema).fit(texts, rows, groups=groups)
    weighted = TradeClassifier(corpus.schema).fit(texts, rows, groups=groups, sample_weight=weights)
    assert not np.allclose(plain.predict_proba(texts)["speaker"], weighted.predict_proba(texts)["speaker"])


def test_weight_search_scores_real_sentences_grouped_by_document(corpus):
    rows = corpus.split(*TRAIN_SPLITS)
    result = search_hyperparameters(corpus, rows, folds=3, grid=(4.0,), weights=(1.0, 4.0), log=lambda m: None)
    assert result["real_weight"] in (1.0, 4.0)
    assert set(result["weight_cv"]["speaker"]) == {"1.0", "4.0"}
    assert result["scored_on"].startswith("real sentences")


def test_trained_model_reports_real_text_first(trained_model):
    meta = json.loads((trained_model / METADATA_FILE).read_text())
    reported = [k for k in meta["metrics"] if k in REPORT_SPLITS]
    assert reported == ["real-test", "written-test", "seed"]
    assert meta["data"]["n_train_by_origin"]["real"] > 0 and meta["data"]["n_train_by_origin"]["written"] > 0
    low, high = meta["metrics"]["seed"]["tasks"]["speaker"]["macro_f1_ci"]
    assert high - low > 0.1  # two articles: the interval is honest about it


def test_single_label_task_with_one_label_is_refused_with_a_message(corpus, tmp_path):
    from tradeclf.data import Corpus
    from tradeclf.errors import DataError
    from tradeclf.training import train

    rows = [dict(r, stance="neutral") for r in corpus.sentences]
    with pytest.raises(DataError, match="'stance' has only the label 'neutral'"):
        train(Corpus(corpus.schema, rows, source="one-label"), tmp_path / "m", search=False, cv_report=False, log=lambda m: None)
