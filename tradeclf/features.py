"""The shared TF-IDF featuriser: word and character n-grams, computed once for all tasks."""

from __future__ import annotations


def make_featurizer(word_ngram_range: tuple[int, int] = (1, 2), char_ngram_range: tuple[int, int] | None = (2, 5),
                    min_df: int = 2, max_features: int | None = None):
    """A FeatureUnion of sublinear word and char_wb TF-IDF; char n-grams are skipped when the range is None."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    parts = [("word", TfidfVectorizer(ngram_range=tuple(word_ngram_range), sublinear_tf=True, min_df=min_df,
                                      max_features=max_features, lowercase=True, strip_accents="unicode",
                                      dtype=_float32()))]
    if char_ngram_range:
        parts.append(("char", TfidfVectorizer(analyzer="char_wb", ngram_range=tuple(char_ngram_range), sublinear_tf=True,
                                              min_df=min_df, max_features=max_features, lowercase=True,
                                              strip_accents="unicode", dtype=_float32())))
    return FeatureUnion(parts)


def _float32():
    import numpy as np

    return np.float32


PROCESS_STATE = ("_stop_words_id",)  # caches holding id() of objects: differ between processes


def drop_process_state(featurizer) -> None:
    """Remove per-process caches so the pickled featuriser is byte-identical across runs."""
    for _, transformer in getattr(featurizer, "transformer_list", []):
        for name in PROCESS_STATE:
            vars(transformer).pop(name, None)
