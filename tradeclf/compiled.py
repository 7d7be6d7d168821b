"""The compiled predictor: a fitted TradeClassifier reduced to plain arrays, with no scikit-learn inside.

Why: a pickle can run code when loaded and ties a model to one scikit-learn release. A compiled model is
vocabularies, idf weights, coefficients, intercepts, calibration parameters and thresholds, saved as an
.npz (loaded with allow_pickle=False) plus JSON, so a model folder from a stranger cannot run code and any
scikit-learn version can train it. It is also the fast path: char_wb n-gram ids are cached per word
(char_wb n-grams never cross a word boundary, so this is exact), all heads are one matrix product, and
article mode shifts the neighbour blocks' scores by one row instead of building a three-times-wide matrix.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, OrderedDict
from dataclasses import dataclass
from itertools import chain, compress, repeat
from typing import Any, Sequence

import numpy as np

from .errors import ModelError
from .schema import Schema

MAX_SENTENCE_CHARS = 5_000  # longer "sentences" (unsplit dumps) are featurised on their first 5,000 characters
SMALL_BATCH = 4  # up to this many sentences are scored without sparse matrices (the latency path)
WORD_CACHE_SIZE = 200_000  # words whose char n-gram ids are kept (bounded: a stream of new words cannot exhaust memory)
_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern
# the same tokens from findall (a scan reaches no position inside a run of 2+ word characters, and \w+ takes
# the whole run), a quarter faster without the boundary tests
_TOKEN_FAST = re.compile(r"\w\w+")


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _drop_combining(match: re.Match) -> str:
    return "" if unicodedata.combining(match.group()) else match.group()


def _normalise(text: str) -> str:
    """Lowercase and strip accents exactly as TfidfVectorizer(lowercase=True, strip_accents='unicode')
    (NFKD, then drop combining marks; only non-ASCII characters, a few per sentence, are tested)."""
    text = text.lower()
    if text.isascii():
        return text
    return _NON_ASCII.sub(_drop_combining, unicodedata.normalize("NFKD", text))


class Vocabulary:
    """One TF-IDF part (word or char_wb n-grams): term -> column, idf, n-gram range, column offset."""

    def __init__(self, kind: str, terms: list[str], idf: np.ndarray, ngram_range: tuple[int, int], offset: int):
        self.kind = kind
        self.terms = terms
        self.index = {term: i + offset for i, term in enumerate(terms)}
        self.idf = idf
        self.ngram_range = ngram_range
        self.offset = offset
        self._cache: OrderedDict[str, tuple[list[int], list[int]]] = OrderedDict()
        self._tables: tuple | None = None  # word n-gram lookup tables, built on first use
        self._idf_by_column: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.terms)

    def counts(self, normals: list[str], n_features: int):
        """Counts of this part's n-grams in each (normalised) text, as a CSR matrix (texts x all features)."""
        if self.kind == "word":
            return self._word_counts(normals, n_features)
        return self._char_counts(normals, n_features)

    def tfidf(self, normals: list[str], n_features: int):
        """This part's TF-IDF matrix (CSR, float32): sublinear tf x idf, each row L2-normalised, as the part's
        TfidfVectorizer gives it; the parts of a model are summed (their columns are disjoint)."""
        from scipy import sparse

        matrix, norms = self.tfidf_unscaled(normals, n_features)
        divisor = np.repeat(np.where(norms == 0, 1.0, norms), np.diff(matrix.indptr))
        data = (matrix.data / divisor).astype(np.float32)  # divided in float64, as scikit-learn's normalize does
        return sparse.csr_matrix((data, matrix.indices, matrix.indptr), shape=matrix.shape)

    def tfidf_unscaled(self, normals: list[str], n_features: int):
        """(sublinear tf x idf matrix before L2 normalisation, each row's L2 norm): scoring divides a row's
        scores by its norm instead of every stored value."""
        matrix = self.counts(normals, n_features)
        data = np.log(matrix.data.astype(np.float32, copy=False)) + np.float32(1.0)  # sublinear tf
        data *= self.idf_by_column[matrix.indices]
        matrix.data = data
        lengths = np.diff(matrix.indptr)
        squares = np.zeros(len(normals))  # float32 squares summed in float64, row by row (as scikit-learn does)
        nonempty = lengths > 0
        if data.size:
            squares[nonempty] = np.add.reduceat((data * data).astype(np.float64), matrix.indptr[:-1][nonempty])
        return matrix, np.sqrt(squares)

    @property
    def idf_by_column(self) -> np.ndarray:
        """idf (float32) indexed by global column id (zeros outside this part): gathers need no offset."""
        if self._idf_by_column is None:
            full = np.zeros(self.offset + len(self.terms), dtype=np.float32)
            full[self.offset:] = self.idf
            self._idf_by_column = full
        return self._idf_by_column

    def _word_ids(self, text: str) -> list[int]:
        tokens = _TOKEN.findall(text)
        get = self.index.get
        low, high = self.ngram_range
        out: list[int] = []
        for n in range(low, high + 1):
            grams = tokens if n == 1 else map(" ".join, zip(*(tokens[k:] for k in range(n))))
            out.extend(j for j in map(get, grams) if j is not None)
        return out

    def _word_counts(self, normals: list[str], n_features: int):
        """Word n-gram counts for a batch in a few array passes: tokens become ids (one dict lookup each), an
        n-gram becomes one integer code (its token ids in base len(tokens)), looked up in the sorted codes of
        the vocabulary's n-grams. The same counts as joining tokens and looking the strings up, 2x faster."""
        from scipy import sparse

        tables = self._ngram_tables()
        if tables is None:  # codes would overflow int64 (very long n-grams): string lookups
            return self._word_counts_by_strings(normals, n_features)
        token_ids, unigram_columns, by_length = tables
        n = len(normals)
        token_lists = list(map(_TOKEN_FAST.findall, normals))
        lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=n)
        flat = list(chain.from_iterable(token_lists))
        ids = np.fromiter(map(token_ids.get, flat, repeat(-1)), dtype=np.int64, count=len(flat))
        row_of = np.repeat(np.arange(n, dtype=np.int64), lengths)
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        low, high = self.ngram_range
        for size in range(low, high + 1):
            if size == 1:
                found = np.where(ids >= 0, unigram_columns[np.maximum(ids, 0)], -1)
                hit = found >= 0
                rows.append(row_of[hit])
                cols.append(found[hit])
                continue
            if size not in by_length or len(ids) < size:
                continue
            codes, columns = by_length[size]
            starts = len(ids) - size + 1
            valid = row_of[:starts] == row_of[size - 1:]  # the n-gram stays inside one sentence
            code = np.zeros(starts, dtype=np.int64)
            for k in range(size):
                part = ids[k:k + starts]
                valid &= part >= 0
                code = code * len(token_ids) + part
            where = np.minimum(np.searchsorted(codes, code), len(codes) - 1)
            hit = valid & (codes[where] == code)
            rows.append(row_of[:starts][hit])
            cols.append(columns[where[hit]])
        row = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        col = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
        return sparse.csr_matrix((np.ones(len(row), dtype=np.float32), (row, col)), shape=(n, n_features))

    def _ngram_tables(self) -> tuple[dict[str, int], np.ndarray, dict[int, tuple[np.ndarray, np.ndarray]]] | None:
        """token -> id, unigram column by token id, and per n-gram length (sorted codes, their columns); built
        on the first batch (not on load, which stays fast), None if codes would not fit in int64."""
        if self._tables is not None:
            return self._tables or None
        split_terms = [term.split(" ") for term in self.terms]
        token_ids = {token: i for i, token in enumerate(dict.fromkeys(chain.from_iterable(split_terms)))}
        base = max(len(token_ids), 1)
        if base ** max(self.ngram_range[1], 1) >= 2 ** 62:
            self._tables = ()
            return None
        unigram_columns = np.full(base, -1, dtype=np.int64)
        grouped: dict[int, tuple[list[int], list[int]]] = {}
        for column, parts in enumerate(split_terms, start=self.offset):
            if len(parts) == 1:
                unigram_columns[token_ids[parts[0]]] = column
                continue
            code = 0
            for token in parts:
                code = code * base + token_ids[token]
            codes, columns = grouped.setdefault(len(parts), ([], []))
            codes.append(code)
            columns.append(column)
        by_length = {}
        for size, (codes, columns) in grouped.items():
            order = np.argsort(np.asarray(codes, dtype=np.int64), kind="stable")
            by_length[size] = (np.asarray(codes, dtype=np.int64)[order], np.asarray(columns, dtype=np.int64)[order])
        self._tables = (token_ids, unigram_columns, by_length)
        return self._tables

    def _word_counts_by_strings(self, normals: list[str], n_features: int):
        from scipy import sparse

        cols: list[int] = []
        indptr = [0]
        for text in normals:
            cols.extend(self._word_ids(text))
            indptr.append(len(cols))
        matrix = sparse.csr_matrix((np.ones(len(cols), dtype=np.float32), np.asarray(cols, dtype=np.int64),
                                    np.asarray(indptr, dtype=np.int64)), shape=(len(normals), n_features))
        matrix.sum_duplicates()
        return matrix

    def _char_counts(self, normals: list[str], n_features: int):
        """char_wb n-grams never cross a word boundary, so a text's counts are the sum of its words' counts:
        (texts x words) incidence times (words x n-grams) counts, with each word's n-grams cached.
        (str.split() splits on the same characters as scikit-learn's whitespace regex, so no regex is needed.)"""
        from scipy import sparse

        n = len(normals)
        word_lists = [text.split() for text in normals]
        lengths = np.fromiter(map(len, word_lists), dtype=np.int64, count=n)
        flat = list(chain.from_iterable(word_lists))
        local = {word: i for i, word in enumerate(dict.fromkeys(flat))}
        words = np.fromiter(map(local.__getitem__, flat), dtype=np.int64, count=len(flat))
        rows = np.repeat(np.arange(n, dtype=np.int64), lengths)
        incidence = sparse.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, words)), shape=(n, len(local)))
        entries = list(map(self._word_entry, local))
        indptr = np.zeros(len(entries) + 1, dtype=np.int64)
        np.cumsum(np.fromiter((len(entry[0]) for entry in entries), dtype=np.int64, count=len(entries)), out=indptr[1:])
        cols = np.fromiter(chain.from_iterable(entry[0] for entry in entries), dtype=np.int64, count=int(indptr[-1]))
        values = np.fromiter(chain.from_iterable(entry[1] for entry in entries), dtype=np.float32, count=int(indptr[-1]))
        per_word = sparse.csr_matrix((values, cols, indptr), shape=(len(local), n_features))
        return incidence @ per_word

    def word_char_counts(self, normal: str) -> dict[int, int]:
        """Counts of this char_wb part's n-gram ids in one normalised text, from the per-word cache."""
        out: dict[int, int] = {}
        for word in normal.split():
            entry = self._word_entry(word)
            for j, c in zip(entry[0], entry[1]):
                out[j] = out.get(j, 0) + c
        return out

    def _word_entry(self, word: str) -> tuple[list[int], list[int]]:
        """(n-gram ids, counts) of one word, from the bounded cache (computed and stored on a miss)."""
        entry = self._cache.get(word)
        if entry is None:
            counted = Counter(self._word_char_ids(word))
            entry = self._cache[word] = (list(counted.keys()), list(counted.values()))
            if len(self._cache) > WORD_CACHE_SIZE:
                self._cache.popitem(last=False)
        return entry

    def _word_char_ids(self, word: str) -> list[int]:
        """scikit-learn's _char_wb_ngrams for one word, mapped to column ids."""
        padded = f" {word} "
        length = len(padded)
        low, high = self.ngram_range
        index = self.index
        out = []
        for n in range(low, high + 1):
            offset = 0
            j = index.get(padded[offset:offset + n])
            if j is not None:
                out.append(j)
            while offset + n < length:
                offset += 1
                j = index.get(padded[offset:offset + n])
                if j is not None:
                    out.append(j)
            if offset == 0:  # a word shorter than n is counted once
                break
        return out


@dataclass
class Head:
    """How one task's columns of the score matrix become probabilities in schema label order."""

    task: str
    kind: str  # "ovr" (multi-label), "softmax", "binary", "calibrated"
    columns: np.ndarray  # schema label index of each score column
    start: int  # first column in the stacked coefficient matrix
    calibration: np.ndarray | None = None  # (2, k) sigmoid a, b per column, for "calibrated"


class CompiledModel:
    """Predicts probabilities for every task from plain arrays; same numbers as the TradeClassifier it came from.

    Built by `TradeClassifier.compile()` or loaded by `tradeclf.persistence.load_model`; it has the
    prediction half of the estimator's interface (predict_proba, decide, predict, explain).
    """

    def __init__(self, schema: Schema, vocabularies: list[Vocabulary], weights: np.ndarray, intercepts: np.ndarray,
                 alone: dict[str, Head], article: dict[str, tuple[Head, Head, Head]],
                 thresholds: dict[str, np.ndarray], context_thresholds: dict[str, np.ndarray],
                 actor_table: Any = None, source_weight: float = 1.0, weight_scales: np.ndarray | None = None):
        self.schema = schema
        self._actor_table = actor_table  # an ActorTable, its text (parsed on first use: loading stays fast), or None
        self.source_weight = source_weight
        self.source_vocabulary = next((v for v in vocabularies if v.kind == "source"), None)
        self.vocabularies = vocabularies
        self.n_features = sum(len(v) for v in vocabularies)
        weights = np.asarray(weights)  # (n_features, n_columns): every head's columns, lone-sentence heads first
        self.intercepts = intercepts  # (n_columns,) float64
        self.alone = alone  # task -> head used on lone sentences
        self.article = article  # task -> (own, previous, next) heads used with neighbours (article mode)
        self.thresholds_ = thresholds
        self.context_thresholds_ = context_thresholds
        self.context_tasks = tuple(article)
        self._idf = np.concatenate([v.idf for v in vocabularies]).astype(np.float32) if vocabularies else np.zeros(0, np.float32)
        n_alone = max((h.start + len(h.columns) for h in alone.values()), default=0)
        # two blocks, each in float64 (probabilities match the estimator's to 1e-6): lone-sentence heads, and the
        # article-mode heads after them; one copy of the weights in memory, not a whole matrix plus its first block
        self._alone_weights = np.ascontiguousarray(weights[:, :n_alone], dtype=np.float64)
        self._article_weights = np.ascontiguousarray(weights[:, n_alone:], dtype=np.float64)
        if weight_scales is not None:  # int8 codes as saved: widened block by block, scaled in place
            self._alone_weights *= weight_scales[:n_alone]
            self._article_weights *= weight_scales[n_alone:]
        self.n_columns = weights.shape[1]

    @property
    def weights(self) -> np.ndarray:
        """The whole (n_features, n_columns) coefficient matrix (built on demand: saving and inspection)."""
        return np.hstack([self._alone_weights, self._article_weights])

    def _column(self, j: int) -> np.ndarray:
        n_alone = self._alone_weights.shape[1]
        return self._alone_weights[:, j] if j < n_alone else self._article_weights[:, j - n_alone]

    @property
    def actor_table(self) -> Any:
        """The ActorTable that types attributed sources (None: this model does no attribution)."""
        if isinstance(self._actor_table, str):
            from .actors import ActorTable
            from .errors import DataError

            try:
                self._actor_table = ActorTable.from_text(self._actor_table, "the model's actor table")
            except DataError as exc:
                raise ModelError(f"{exc}; the model folder is damaged, copy it again or retrain") from None
        return self._actor_table

    # -- features ------------------------------------------------------------------------------------
    def transform(self, texts: Sequence[str]):
        """The TF-IDF matrix (CSR, float32): each part sublinear-tf x idf, L2-normalised, parts side by side.

        The same matrix as the fitted TfidfVectorizers give (tested), built from n-gram counts per part.
        """
        from scipy import sparse

        normals = [_normalise(text[:MAX_SENTENCE_CHARS]) for text in texts]
        matrix = sparse.csr_matrix((len(texts), self.n_features), dtype=np.float32)
        for vocabulary in self.vocabularies:
            if vocabulary.kind != "source":  # not a function of the text alone: see predict_proba
                matrix = matrix + vocabulary.tfidf(normals, self.n_features)
        return matrix.tocsr()

    def _text_scores(self, texts: Sequence[str], blocks: list[np.ndarray]) -> np.ndarray:
        """Decision scores of the text features: per part, (unnormalised TF-IDF @ weights) / row norm;
        the sum of the parts' products equals the product of their sum (their columns are disjoint)."""
        normals = [_normalise(text[:MAX_SENTENCE_CHARS]) for text in texts]
        scores = np.zeros((len(texts), sum(block.shape[1] for block in blocks)))
        for vocabulary in self.vocabularies:
            if vocabulary.kind == "source":
                continue
            matrix, norms = vocabulary.tfidf_unscaled(normals, self.n_features)
            product = np.hstack([np.asarray(matrix @ block, dtype=np.float64) for block in blocks])
            scores += product / np.where(norms == 0, 1.0, norms)[:, None]
        return scores

    # -- probabilities ---------------------------------------------------------------------------------
    def _small_scores(self, texts: list[str], found: list | None, blocks: list[np.ndarray]) -> np.ndarray:
        """Decision scores of a few sentences from their features' weight rows directly: the same TF-IDF
        values as `transform` (each part sublinear tf x idf, L2-normalised on its own) and the same source
        features, without building sparse matrices (their set-up dominated single-sentence latency)."""
        from collections import Counter

        scores = np.zeros((len(texts), sum(b.shape[1] for b in blocks)))
        for i, text in enumerate(texts):
            normal = _normalise(text[:MAX_SENTENCE_CHARS])
            cols_parts, vals_parts = [], []
            for vocabulary in self.vocabularies:
                if vocabulary.kind == "source":
                    continue
                counts: dict[int, int] = (Counter(vocabulary._word_ids(normal)) if vocabulary.kind == "word"
                                          else vocabulary.word_char_counts(normal))
                if not counts:
                    continue
                cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
                tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
                data = (np.log(tf) + np.float32(1.0)) * self._idf[cols]
                norm = np.sqrt(np.sum((data * data).astype(np.float64)))
                cols_parts.append(cols)
                vals_parts.append((data / (norm if norm else 1.0)).astype(np.float32))
            if found is not None and self.source_vocabulary is not None:
                from .attribution import source_tokens

                index = self.source_vocabulary.index
                present = sorted({index[t] for t in source_tokens(found[i]) if t in index})
                if present:
                    cols_parts.append(np.asarray(present, dtype=np.int64))
                    vals_parts.append(np.full(len(present), self.source_weight / np.sqrt(len(present)), dtype=np.float32))
            if cols_parts:
                cols = np.concatenate(cols_parts)
                values = np.concatenate(vals_parts).astype(np.float64)
                scores[i] = np.concatenate([values @ block[cols] for block in blocks])
        return scores

    def sources(self, texts: Sequence[str], article_ids: Sequence | None = None) -> list:
        """The attributed source of each sentence (tradeclf.attribution.Source or None), resolved across the
        sentences of an article when `article_ids` are given; all None for a model without an actor table."""
        from .attribution import attribute_articles

        texts = [t[:MAX_SENTENCE_CHARS] for t in check_texts(texts)]
        if self.actor_table is None:
            return [None] * len(texts)
        return attribute_articles(texts, None if article_ids is None else list(article_ids), self.actor_table)

    def predict_proba(self, X: Sequence[str], features=None, article_ids: Sequence | None = None,
                      sources: list | None = None) -> dict[str, np.ndarray]:
        """Task name -> array (n sentences, n labels), columns in schema label order.

        With `article_ids` (one per sentence, each article's sentences consecutive and in order) the
        article-mode heads add the previous and next sentence's scores and sources are resolved across
        sentences; without, each sentence stands alone. `features` and `sources` may be passed if computed.
        """
        in_article = article_ids is not None and bool(self.article)
        texts = check_texts(X)
        found = None
        if self.source_vocabulary is not None:
            found = self.sources(texts, article_ids) if sources is None else sources
        blocks = [self._alone_weights, self._article_weights] if in_article else [self._alone_weights]
        if features is None and len(texts) <= SMALL_BATCH:
            scores = self._small_scores(texts, found, blocks)  # no sparse matrices: half a lone sentence's time
        else:
            if features is None:
                scores = self._text_scores(texts, blocks)
            else:
                scores = np.hstack([np.asarray(features @ block, dtype=np.float64) for block in blocks])
            if found is not None:  # the source columns are disjoint from the text's: add their scores
                from .attribution import source_matrix, source_tokens

                assert self.source_vocabulary is not None
                sourced = source_matrix([source_tokens(s) for s in found], self.source_vocabulary.index,
                                        self.n_features, self.source_weight)
                scores += np.hstack([np.asarray(sourced @ block, dtype=np.float64) for block in blocks])
        n = scores.shape[0]
        if in_article:
            ids = np.asarray([str(a) for a in article_ids or ()]) if n else np.zeros(0, dtype=str)
            same_as_previous = np.zeros(n, dtype=bool)
            if n > 1:
                same_as_previous[1:] = ids[1:] == ids[:-1]
        scores += self.intercepts[: scores.shape[1]]
        out = {}
        for task in self.schema.tasks:
            if in_article and task.name in self.article:
                head, previous, following = self.article[task.name]
                s = _block(scores, head).copy()
                prev_block, next_block = _block(scores, previous), _block(scores, following)
                s[1:] += np.where(same_as_previous[1:, None], prev_block[:-1], 0.0)
                s[:-1] += np.where(same_as_previous[1:, None], next_block[1:], 0.0)
            else:
                head = self.alone[task.name]
                s = _block(scores, head)
            out[task.name] = _probabilities(head, s, len(task.labels))
        return out

    def decide(self, probabilities: dict[str, np.ndarray], in_article: bool = False) -> list[dict[str, Any]]:
        """Labels from probabilities: per-label thresholds (of the head that produced them) for multi-label
        tasks, argmax otherwise."""
        return decide_labels(self.schema, probabilities, self.thresholds_, self.context_thresholds_,
                             tuple(self.article), in_article)

    def predict(self, X: Sequence[str], features=None, article_ids: Sequence | None = None,
                sources: list | None = None) -> list[dict[str, Any]]:
        """One {task: label, or list of labels for multi-label tasks} per sentence."""
        return self.decide(self.predict_proba(X, features, article_ids, sources), in_article=article_ids is not None)

    # -- explanation -----------------------------------------------------------------------------------
    @property
    def feature_names_(self) -> list[str]:
        return [f"source {term}" if v.kind == "source" else term for v in self.vocabularies for term in v.terms]

    def coefficients(self, task_name: str, label: str, head: Head | None = None) -> np.ndarray:
        """The weights behind one label's decision score: of `head`, by default the one `predict` uses on a
        lone sentence."""
        task = self.schema.task(task_name)
        head = self.alone[task_name] if head is None else head
        j = task.labels.index(label)
        where = np.flatnonzero(head.columns == j)
        if head.kind == "binary":
            sign = 1.0 if where.size else -1.0
            return sign * self._column(head.start)
        if not where.size:
            return np.zeros(self.n_features)
        return self._column(head.start + int(where[0])).copy()

    def explain(self, text: str, top: int = 8, article: Sequence[str] | None = None,
                index: int | None = None) -> dict[str, dict[str, list[tuple[str, float]]]]:
        """Per task, per predicted label: the features whose weight x value pushed the decision most (exact
        for linear heads: the decision score is their sum plus the intercept).

        With `article` (its sentences) and `index` (which one is `text`), the explanation uses the heads and
        features `label_article` uses: neighbours' n-grams (shown as "previous: ..." / "next: ...") and
        the source resolved in the article; without, those of a lone sentence, as `predict` sees it.
        Source features are shown as "source type:CHNGOV", "source verb:warned" and so on.
        """
        sentences = [text] if article is None else list(article)
        at = 0 if article is None else int(index or 0)
        ids = None if article is None else [0] * len(sentences)
        sources = self.sources(sentences, ids)
        text_features = features = self.transform(sentences)
        if self.source_vocabulary is not None:
            from .attribution import source_matrix, source_tokens

            features = (text_features + source_matrix([source_tokens(s) for s in sources], self.source_vocabulary.index,
                                                 self.n_features, self.source_weight)).tocsr()
        predicted = self.predict(sentences, text_features, ids, sources)[at]  # predict adds the source features itself
        names = self.feature_names_
        out: dict[str, dict[str, list[tuple[str, float]]]] = {}
        for task in self.schema.tasks:
            labels = predicted[task.name] if task.multi_label else [predicted[task.name]]
            in_article = ids is not None and task.name in self.article
            parts = ([(self.article[task.name][0], at, ""), (self.article[task.name][1], at - 1, "previous: "),
                      (self.article[task.name][2], at + 1, "next: ")] if in_article else [(self.alone[task.name], at, "")])
            out[task.name] = {}
            for label in labels:
                found: list[tuple[str, float]] = []
                for head, row, prefix in parts:
                    if not 0 <= row < len(sentences):
                        continue
                    contributions = features[row].multiply(self.coefficients(task.name, label, head)).tocsr()
                    found += [(prefix + names[j], float(v)) for j, v in zip(contributions.indices, contributions.data) if v > 0]
                found.sort(key=lambda pair: -pair[1])
                out[task.name][label] = found[:top]
        return out

    # -- arrays ----------------------------------------------------------------------------------------
    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Everything needed to rebuild the model: numeric arrays and a JSON-able layout."""
        # int8 times a power-of-two scale per column holds the weights exactly: TradeClassifier puts its
        # coefficients on that grid when it fits (any block of a row is then on the grid too); anything else
        # (a model built another way) is saved as float32, never rounded
        weights = self.weights
        codes, scales = int8_grid(weights, axis=0)
        arrays: dict[str, np.ndarray]
        if np.array_equal(codes * scales, weights):
            arrays = {"weights": codes, "weight_scales": scales, "intercepts": self.intercepts}
        else:
            arrays = {"weights": weights.astype(np.float32), "intercepts": self.intercepts}
        if self.actor_table is not None:
            arrays["actors"] = np.frombuffer(self.actor_table.to_text().encode("utf-8"), dtype=np.uint8)
        layout: dict[str, Any] = {"vocabularies": [], "alone": {}, "article": {}, "source_weight": self.source_weight,
                                  "thresholds": {k: v.tolist() for k, v in self.thresholds_.items()},
                                  "context_thresholds": {k: v.tolist() for k, v in self.context_thresholds_.items()}}
        for k, v in enumerate(self.vocabularies):
            arrays[f"terms_{k}"] = np.frombuffer("\n".join(v.terms).encode("utf-8"), dtype=np.uint8)
            arrays[f"idf_{k}"] = v.idf
            layout["vocabularies"].append({"kind": v.kind, "ngram_range": list(v.ngram_range), "size": len(v)})

        def head_layout(head: Head, key: str) -> dict[str, Any]:
            if head.calibration is not None:
                arrays[f"calibration_{key}"] = head.calibration
            return {"kind": head.kind, "columns": head.columns.tolist(), "start": head.start,
                    "calibrated": head.calibration is not None}

        for name, head in self.alone.items():
            layout["alone"][name] = head_layout(head, f"alone_{name}")
        for name, heads in self.article.items():
            layout["article"][name] = [head_layout(h, f"article_{name}_{part}")
                                       for h, part in zip(heads, ("own", "previous", "next"))]
        return arrays, layout

    @classmethod
    def from_arrays(cls, schema: Schema, arrays: dict[str, np.ndarray], layout: dict[str, Any], where: str = "model") -> "CompiledModel":
        """Rebuild from to_arrays() output, refusing anything inconsistent with a message naming `where`."""
        def need(key: str) -> np.ndarray:
            if key not in arrays:
                raise ModelError(f"{where}: array {key!r} is missing; the model folder is damaged, copy it again or retrain")
            return arrays[key]

        try:
            vocabularies, offset = [], 0
            for k, spec in enumerate(layout["vocabularies"]):
                raw = need(f"terms_{k}")
                terms = bytes(raw).decode("utf-8").split("\n") if raw.size else []
                idf = need(f"idf_{k}")
                if len(terms) != spec["size"] or idf.shape != (spec["size"],):
                    raise ModelError(f"{where}: vocabulary {k} has {len(terms)} terms and {idf.shape} idf values, "
                                     f"metadata says {spec['size']}; the model folder is damaged, copy it again or retrain")
                vocabularies.append(Vocabulary(spec["kind"], terms, idf, tuple(spec["ngram_range"]), offset))
                offset += len(terms)
            weights, intercepts = need("weights"), need("intercepts")
            scales = arrays.get("weight_scales")  # int8 codes times a scale per column (older models: float16 weights)
            if scales is not None and (weights.ndim != 2 or scales.shape != (weights.shape[1],) or not np.all(np.isfinite(scales))):
                raise ModelError(f"{where}: weight scales {scales.shape} do not fit the coefficient matrix {weights.shape}; "
                                 "the model folder is damaged, copy it again or retrain")
            if weights.ndim != 2 or weights.shape[0] != offset or intercepts.shape != (weights.shape[1],):
                raise ModelError(f"{where}: coefficient matrix {weights.shape} and intercepts {intercepts.shape} do not fit "
                                 f"{offset} features; the model folder is damaged, copy it again or retrain")

            def head(task: str, spec: dict[str, Any], key: str) -> Head:
                labels = schema.task(task).labels
                columns = np.asarray(spec["columns"], dtype=np.int64)
                width = 1 if spec["kind"] == "binary" else len(columns)
                if spec["start"] < 0 or spec["start"] + width > weights.shape[1] or (columns.size and (columns.min() < 0 or columns.max() >= len(labels))):
                    raise ModelError(f"{where}: head {key} points outside the coefficient matrix or the task's labels; "
                                     "the model folder is damaged, copy it again or retrain")
                calibration = need(f"calibration_{key}") if spec["calibrated"] else None
                if calibration is not None and calibration.shape != (2, width):
                    raise ModelError(f"{where}: calibration of head {key} has shape {calibration.shape}; the model folder is damaged")
                return Head(task, spec["kind"], columns, int(spec["start"]), calibration)

            alone = {name: head(name, spec, f"alone_{name}") for name, spec in layout["alone"].items()}
            article = {name: tuple(head(name, spec, f"article_{name}_{part}") for spec, part in zip(specs, ("own", "previous", "next")))
                       for name, specs in layout["article"].items()}
            if set(alone) != set(schema.task_names):
                raise ModelError(f"{where}: heads for {sorted(alone)} but the schema has tasks {schema.task_names}")
            thresholds = {k: np.asarray(v, dtype=np.float64) for k, v in layout["thresholds"].items()}
            context_thresholds = {k: np.asarray(v, dtype=np.float64) for k, v in layout["context_thresholds"].items()}
            actor_table = bytes(arrays["actors"]).decode("utf-8") if "actors" in arrays else None
            source_weight = float(layout.get("source_weight", 1.0))
        except (KeyError, TypeError, ValueError, UnicodeDecodeError) as exc:
            raise ModelError(f"{where}: inconsistent model layout ({type(exc).__name__}: {exc}); "
                             "the model folder is damaged, copy it again or retrain") from None
        return cls(schema, vocabularies, weights, intercepts, alone, article, thresholds, context_thresholds,  # type: ignore[arg-type]
                   actor_table, source_weight, None if scales is None else np.asarray(scales, dtype=np.float64))


def int8_grid(values: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Values as int8 codes times a power-of-two scale per row (axis=1) or column (axis=0), the smallest that
    fits the largest value. Why powers of two: code x scale is exact in float32 and float64, and any part of a
    row re-gridded on its own gets exactly the same values back (so the compiled columns of a context head,
    which split one fitted row into own/previous/next blocks, round-trip without loss). On the shipped
    model's test splits this grid changed macro-F1 by at most 0.002 against float16 weights, for a model file a
    third the size."""
    values = np.asarray(values, dtype=np.float64)
    peak = np.abs(values).max(axis=axis, keepdims=True) if values.size else np.ones((1, 1))
    peak = np.where(peak > 0, peak, 1.0)
    scales = np.exp2(np.ceil(np.log2(peak / 127.0)))
    codes = np.clip(np.rint(values / scales), -127, 127).astype(np.int8)
    return codes, scales.reshape(-1)


def decide_labels(schema: Schema, probabilities: dict[str, np.ndarray], thresholds: dict[str, np.ndarray],
                  context_thresholds: dict[str, np.ndarray], context_tasks: tuple, in_article: bool) -> list[dict[str, Any]]:
    """One {task: label or labels} per sentence: argmax for single-label tasks; for multi-label tasks every
    label at or over its threshold, from the article-mode thresholds when an article-mode head scored it."""
    columns: list[list[Any]] = []
    for task in schema.tasks:
        proba = probabilities[task.name]
        if task.multi_label:
            use_context = in_article and task.name in context_tasks
            chosen = (proba >= (context_thresholds if use_context else thresholds)[task.name]).tolist()
            columns.append([list(compress(task.labels, row)) for row in chosen])
        else:
            columns.append([task.labels[j] for j in proba.argmax(axis=1).tolist()])
    names = [task.name for task in schema.tasks]
    return [dict(zip(names, row)) for row in zip(*columns)]


def _block(scores: np.ndarray, head: Head) -> np.ndarray:
    width = 1 if head.kind == "binary" else len(head.columns)
    return scores[:, head.start: head.start + width]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -500, 500)))


def _probabilities(head: Head, scores: np.ndarray, n_labels: int) -> np.ndarray:
    """Probabilities in schema label order from one head's decision scores (labels never seen get 0)."""
    n = scores.shape[0]
    if head.kind == "ovr":
        return _sigmoid(scores)
    if head.kind == "binary":  # one score column, for the second of the two present labels
        if head.calibration is not None:
            a, b = head.calibration
            positive = _sigmoid(-(a[0] * scores[:, 0] + b[0]))
            positive[(1.0 < positive) & (positive <= 1.0 + 1e-5)] = 1.0
        else:
            positive = _sigmoid(scores[:, 0])
        present = np.column_stack([1 - positive, positive])
    elif head.kind == "softmax":
        shifted = scores - scores.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        present = e / e.sum(axis=1, keepdims=True)
    else:  # calibrated: one sigmoid per class, normalised (scikit-learn's sigmoid calibration, ensemble=False)
        a, b = head.calibration  # type: ignore[misc]
        present = _sigmoid(-(a * scores + b))
        denominator = present.sum(axis=1, keepdims=True)
        present = np.divide(present, denominator, out=np.full_like(present, 1 / present.shape[1]), where=denominator != 0)
        present[(1.0 < present) & (present <= 1.0 + 1e-5)] = 1.0
    full = np.zeros((n, n_labels))
    full[:, head.columns] = present
    return full


def check_texts(X: Sequence[str]) -> list[str]:
    """A list of sentences (not one string, every item a str)."""
    if isinstance(X, str):
        raise TypeError("X must be a list of sentences, not one string; wrap it: [text]")
    texts = list(X)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"sentence {i} is {type(text).__name__}, not str")
    return texts
