"""The compiled predictor's batch fast paths give exactly what the plain, string-by-string lookups give."""

from __future__ import annotations

import gc
import re

import numpy as np
import pytest

from tradeclf.compiled import Vocabulary

SENTENCES = [
    "China and the U.S. agreed to cut tariffs; tariffs on soybeans fell.",
    "",
    "a b c",  # no token of two characters
    "Tariffs tariffs tariffs tariffs",  # the same unigram and bigram counted four and three times
    "élan über naïve café",  # normalised text may hold non-ASCII word characters
    "under_score x_y 2019 9",
    "new words only: zyzzyva quux",
]


def _word_vocabulary(terms: list[str], ngram_range: tuple[int, int]) -> Vocabulary:
    return Vocabulary("word", terms, np.ones(len(terms), dtype=np.float32), ngram_range, offset=5)


def _by_strings(vocabulary: Vocabulary, texts: list[str]) -> np.ndarray:
    return vocabulary._word_counts_by_strings(texts, 5 + len(vocabulary)).toarray()


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 2), (2, 3), (1, 3)])
def test_batch_word_counts_equal_string_lookups(ngram_range):
    texts = [s.lower() for s in SENTENCES]
    grams = set()
    for text in texts:
        tokens = re.findall(r"(?u)\b\w\w+\b", text)
        for n in range(ngram_range[0], ngram_range[1] + 1):
            grams.update(" ".join(tokens[k:k + n]) for k in range(len(tokens) - n + 1))
    terms = sorted(grams)[::2] + ["never seen", "tariffs on", "tariffs", "tariffs tariffs"]  # some left out, some absent
    vocabulary = _word_vocabulary(sorted(set(terms)), ngram_range)
    batch = vocabulary.counts(texts, 5 + len(vocabulary)).toarray()
    np.testing.assert_array_equal(batch, _by_strings(vocabulary, texts))
    assert batch[3].max() >= 3  # repeated n-grams are counted, not just marked


def test_n_grams_too_long_for_integer_codes_fall_back_to_string_lookups():
    tokens = [f"w{i}" for i in range(7_000)]  # 7,000 ** 5 does not fit in an int64 code
    terms = tokens + ["w1 w2 w3 w4 w5"]
    vocabulary = _word_vocabulary(terms, (1, 5))
    texts = ["w1 w2 w3 w4 w5 w6", "w6999 w0"]
    assert vocabulary._ngram_tables() is None
    np.testing.assert_array_equal(vocabulary.counts(texts, 5 + len(vocabulary)).toarray(), _by_strings(vocabulary, texts))


def test_reporting_verbs_are_found_as_whole_words_only():
    from tradeclf.attribution import VERBS, _verbs

    plain = re.compile(r"\b(" + "|".join(VERBS) + r")\b")
    for text in ["He said so.", "unsaid said_x saying said", "é said", "saysays says", "said", "Said said, 'said'"]:
        assert [(m.start(), m.group(1)) for m in _verbs(text)] == [(m.start(), m.group(1)) for m in plain.finditer(text)]


@pytest.mark.parametrize("enabled", [True, False])
def test_predict_many_restores_the_garbage_collector(trained_model, enabled):
    from tradeclf.api import predict_many

    before = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        predict_many(["China said talks would resume.", "Tariffs rose."], trained_model)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if before else gc.disable()


def test_normalising_matches_scikit_learns_accent_stripping():
    from sklearn.feature_extraction.text import strip_accents_unicode

    from tradeclf.compiled import _normalise

    for text in ["Café ÉLAN naïve", "“Quotes” — dashes’", "ﬁ Ⅻ ＡＢＣ", "e\u0301 u\u0308", "Ελληνικά हिन्दी 中文", "plain"]:
        assert _normalise(text) == strip_accents_unicode(text.lower())
