"""TradeClassifier: one scikit-learn estimator that labels sentences on every task of a schema.

The TF-IDF features are fitted once and shared; each task has its own linear head. Single-label heads
are calibrated logistic regressions; the multi-label head is one-vs-rest logistic regression with a
per-label decision threshold tuned by cross-validation on the training data.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import GroupKFold, KFold, StratifiedKFold
from sklearn.preprocessing import MultiLabelBinarizer
from sklearn.utils.validation import check_is_fitted

from .compiled import MAX_SENTENCE_CHARS, int8_grid  # one limit for training and prediction; one weight grid
from .features import drop_process_state, make_featurizer
from .schema import Schema, Task

THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.025), 3)
DEFAULT_THRESHOLD = 0.5


def as_columns(y: Any, schema: Schema) -> dict[str, list]:
    """Accept labels as {task: column}, a DataFrame, or a sequence of per-sentence {task: label} rows."""
    if hasattr(y, "columns"):  # pandas DataFrame
        return {t.name: list(y[t.name]) for t in schema.tasks}
    if isinstance(y, Mapping):
        return {t.name: list(y[t.name]) for t in schema.tasks}
    return {t.name: [row[t.name] for row in y] for t in schema.tasks}


class TradeClassifier(ClassifierMixin, BaseEstimator):
    """Labels sentences on every task of a schema with shared TF-IDF features and linear heads.

    Parameters
    ----------
    schema : Schema
        The tasks and labels to learn.
    C : float or dict
        Inverse regularisation strength, one for all tasks or {task name: C}.
    word_ngram_range, char_ngram_range : tuple
        N-gram ranges of the word and character TF-IDF features (char None to drop them).
    min_df : int
        Minimum number of sentences an n-gram must occur in.
    cv : int
        Folds used to calibrate probabilities and tune multi-label thresholds.
    context_tasks : tuple of str
        Tasks whose heads also see the previous and next sentence of the same article (article mode).
        A quote's speaker is often named in the next sentence. Without article ids (a lone sentence)
        the neighbours are empty.
    context_weight : float
        Scale of the neighbours' features relative to the sentence's own.
    source_tasks : tuple of str
        Tasks whose heads also see the sentence's attributed source (tradeclf.attribution): its type from the
        actor table, role, country, reporting verb, how it was found and its words. In article mode pronouns
        and quotes are resolved across sentences; a lone sentence has only the source it names itself.
    source_weight : float
        Scale of the source features (their row is L2-normalised to this length).
    actor_table : ActorTable or None
        The actor table that types sources (`ActorTable.from_folder("data")`); needed when source_tasks is set.
    random_state : int
        Seed for anything random; fitting is deterministic for a given seed and data.

    Inputs
    ------
    X is a list of sentences (each stands alone), or a pandas DataFrame with the schema's text column and
    an `article_id` column, one row per sentence with each article's sentences consecutive and in order:
    then the article ids travel inside X, so Pipeline, GridSearchCV (pass `groups` for the CV splitter) and
    clone keep article mode. y is a DataFrame or dict with one column per task (lists for multi-label
    tasks), or a list of per-sentence {task: label} rows. `predict` returns one {task: label(s)} dict per
    sentence; `predict_proba` returns {task: array (n sentences, n labels)} with columns in `classes_[k]`
    order (the schema's label order); `classes_` lists each task's labels, in schema task order.

    Examples
    --------
    >>> model = TradeClassifier(schema).fit(texts, labels)            # doctest: +SKIP
    >>> model.predict(["China will buy more soybeans."])[0]["issues"]  # doctest: +SKIP
    ['agriculture', 'purchases']
    """

    def __init__(self, schema: Schema | None = None, C: float | dict = 1.0, word_ngram_range: tuple = (1, 2),
                 char_ngram_range: tuple | None = (2, 5), min_df: int = 2, cv: int = 3, context_tasks: tuple = (),
                 context_weight: float = 0.5, source_tasks: tuple = (), source_weight: float = 1.0,
                 actor_table: Any = None, random_state: int = 0):
        self.schema = schema
        self.source_tasks = source_tasks
        self.source_weight = source_weight
        self.actor_table = actor_table
        self.context_tasks = context_tasks
        self.context_weight = context_weight
        self.C = C
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.min_df = min_df
        self.cv = cv
        self.random_state = random_state

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, groups: Sequence | None = None,
            sample_weight: Sequence[float] | np.ndarray | None = None) -> "TradeClassifier":
        """Fit features and one head per task.

        `groups` are article ids, one per sentence, with each article's sentences consecutive and in
        order: they keep an article's sentences in one CV fold and give the context tasks their neighbours.
        `sample_weight` weighs sentences in every head (training gives real text more weight than written).
        """
        if self.schema is None:
            raise ValueError("TradeClassifier needs a schema: TradeClassifier(schema=load_schema('data/'))")
        X, in_x = self._split_X(X)
        if in_x is not None:
            groups = in_x
        texts = _check_texts(X)
        columns = as_columns(y, self.schema)
        self._weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        self.featurizer_ = make_featurizer(self.word_ngram_range, self.char_ngram_range, self.min_df)
        text_features = self.featurizer_.fit_transform(texts)
        self.n_text_features_ = text_features.shape[1]
        self.source_terms_: list[str] = []
        alone = in_article = text_features
        if self.source_tasks:
            from .attribution import attribute_articles, source_tokens

            table = self._actor_table()
            alone_tokens = [source_tokens(s) for s in attribute_articles(texts, None, table)]
            article_tokens = (alone_tokens if groups is None else
                              [source_tokens(s) for s in attribute_articles(texts, list(groups), table)])
            seen = Counter(t for a, b in zip(article_tokens, alone_tokens) for t in set(a) | set(b))
            self.source_terms_ = sorted(t for t, n in seen.items() if n >= 2)
            alone = self._with_sources(text_features, alone_tokens)
            in_article = self._with_sources(text_features, article_tokens)
        self.heads_: dict[str, Any] = {}
        self.thresholds_: dict[str, Any] = {}
        self.binarizers_: dict[str, MultiLabelBinarizer] = {}
        self.context_heads_, self.context_thresholds_ = {}, {}
        for task in self.schema.tasks:
            C = self.C.get(task.name, 1.0) if isinstance(self.C, dict) else self.C
            uses_source = task.name in self.source_tasks
            own = alone if uses_source else text_features
            self.heads_[task.name], self.thresholds_[task.name] = self._fit_head(task, own, columns[task.name], C, groups)
            if task.name in self.context_tasks:  # a second head for article mode; the first serves lone sentences
                with_context = self._add_context(in_article if uses_source else text_features, groups)
                self.context_heads_[task.name], self.context_thresholds_[task.name] = self._fit_head(
                    task, with_context, columns[task.name], C, groups)
        self.tasks_ = [t.name for t in self.schema.tasks]
        self.classes_ = [np.array(t.labels) for t in self.schema.tasks]
        del self._weights
        return self

    @property
    def fitted_schema(self) -> Schema:
        """The schema, which every method but __init__ needs."""
        if self.schema is None:
            raise ValueError("TradeClassifier needs a schema: TradeClassifier(schema=load_schema('data/'))")
        return self.schema

    def _actor_table(self):
        if self.actor_table is None:
            raise ValueError("source_tasks needs an actor table: TradeClassifier(..., actor_table=ActorTable.from_folder('data'))")
        return self.actor_table

    def _with_sources(self, text_features, token_lists: list[list[str]]):
        """[text features | source features]: the matrix the heads of source_tasks read."""
        from scipy import sparse

        from .attribution import source_matrix

        index = {t: j for j, t in enumerate(self.source_terms_)}
        sources = source_matrix(token_lists, index, len(self.source_terms_), self.source_weight)
        return sparse.hstack([text_features, sources], format="csr")

    def sources(self, X: Sequence[str], article_ids: Sequence | None = None) -> list:
        """The attributed source of each sentence (tradeclf.attribution.Source or None); needs an actor table."""
        from .attribution import attribute_articles

        X, in_x = self._split_X(X)
        article_ids = in_x if article_ids is None else article_ids
        texts = _check_texts(X)
        if self.actor_table is None:
            return [None] * len(texts)
        return attribute_articles(texts, None if article_ids is None else list(article_ids), self.actor_table)

    def _split_X(self, X: Any) -> tuple[Any, list | None]:
        """Sentences and, when X is a DataFrame with an `article_id` column, their article ids."""
        if hasattr(X, "columns"):
            field = self.schema.text_field if self.schema is not None else "text"
            if field not in X.columns:
                raise ValueError(f"X has no {field!r} column; give sentences in {field!r} (and article ids in 'article_id')")
            ids = list(X["article_id"]) if "article_id" in X.columns else None
            return list(X[field]), ids
        return X, None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        return tags

    def _fit_head(self, task: Task, features, labels: list, C: float, groups):
        """A fitted head and its decision thresholds (None for single-label tasks), coefficients on the int8 grid."""
        if task.multi_label:
            head, thresholds = self._fit_multi_label(task, features, labels, C, groups)
        else:
            head, thresholds = self._fit_single_label(task, features, labels, C), None
        for linear in _linear_models(head):  # int8-grid weights (see compiled.int8_grid): a small model file, same decisions
            if hasattr(linear, "coef_"):
                codes, scales = int8_grid(linear.coef_, axis=1)
                linear.coef_ = (codes * scales[:, None]).astype(np.float32)
        return head, thresholds

    def _fit_single_label(self, task: Task, features, labels: list, C: float):
        present = sorted(set(labels), key=task.labels.index)
        if len(present) < 2:
            raise ValueError(f"task {task.name!r}: the training data has only the label {present[0]!r}; a classifier needs two or more")
        base = self._logistic(C)
        smallest = min(labels.count(label) for label in present)
        folds = min(self.cv, smallest)
        if folds >= 2:
            cv = StratifiedKFold(folds, shuffle=True, random_state=self.random_state)
            head = CalibratedClassifierCV(base, method="sigmoid", cv=cv, ensemble=False)
        else:  # too few examples of a label to calibrate; plain logistic probabilities
            head = base
        return head.fit(features, labels, sample_weight=self._weights)

    def _fit_multi_label(self, task: Task, features, labels: list, C: float, groups):
        binarizer = MultiLabelBinarizer(classes=list(task.labels))
        Y = binarizer.fit_transform(labels)
        cv = GroupKFold(self.cv) if groups is not None else KFold(self.cv, shuffle=True, random_state=self.random_state)
        fitted = [j for j in range(Y.shape[1]) if 0 < Y[:, j].sum() < len(Y)]
        thresholds = np.full(Y.shape[1], DEFAULT_THRESHOLD)
        weights = self._weights
        if fitted and len(Y) >= 2 * self.cv:
            scores = np.zeros((len(Y), len(fitted)))
            for train_idx, val_idx in cv.split(features, groups=groups):
                part = LabelwiseLogistic(C, self.random_state).fit(
                    features[train_idx], Y[train_idx][:, fitted], None if weights is None else weights[train_idx])
                scores[val_idx] = part.predict_proba(features[val_idx])
            for k, j in enumerate(fitted):
                thresholds[j] = best_threshold(Y[:, j], scores[:, k])
        self.binarizers_[task.name] = binarizer
        return LabelwiseLogistic(C, self.random_state).fit(features, Y, weights), thresholds

    def _logistic(self, C: float) -> LogisticRegression:
        return logistic(C, self.random_state)

    # -- prediction --------------------------------------------------------------------------------
    def transform(self, X: Sequence[str]):
        """The shared TF-IDF features of `X` (sparse matrix): the featuriser's parts, stacked.

        Same result as featurizer_.transform, without FeatureUnion's per-call dispatch (a third of the
        single-sentence latency).
        """
        from scipy import sparse

        check_is_fitted(self, "heads_")
        texts = _check_texts(self._split_X(X)[0])
        return sparse.hstack([part.transform(texts) for _, part in self.featurizer_.transformer_list], format="csr")

    def _add_context(self, features, article_ids: Sequence | None):
        """[own | w * previous sentence | w * next sentence] features; neighbours only within an article."""
        from scipy import sparse

        n = features.shape[0]
        if article_ids is None:
            link = sparse.csr_matrix((n, n))
        else:
            rows = [i for i in range(1, n) if article_ids[i] == article_ids[i - 1]]
            link = sparse.csr_matrix((np.ones(len(rows)), (rows, [i - 1 for i in rows])), shape=(n, n))
        previous, following = link @ features, link.T @ features
        return sparse.hstack([features, self.context_weight * previous, self.context_weight * following], format="csr")

    def predict_proba(self, X: Sequence[str], features=None, article_ids: Sequence | None = None,
                      sources: list | None = None) -> dict[str, np.ndarray]:
        """Task name -> array (n sentences, n labels) of probabilities, columns in schema label order.

        With `article_ids` (one per sentence, each article's sentences consecutive and in order) the
        context tasks see each sentence's neighbours and sources are resolved across sentences; without,
        each sentence stands alone. `features` (the text features) and `sources` may be passed if computed.
        """
        X, in_x = self._split_X(X)
        article_ids = in_x if article_ids is None else article_ids
        text_features = self.transform(X) if features is None else features
        with_sources = text_features
        if getattr(self, "source_terms_", None):
            from .attribution import source_tokens

            found = self.sources(X, article_ids) if sources is None else sources
            with_sources = self._with_sources(text_features, [source_tokens(s) for s in found])
        in_article = article_ids is not None and bool(self.context_heads_)
        contexts: dict[bool, Any] = {}  # built once per kind of own features
        out = {}
        for task in self.fitted_schema.tasks:
            uses_source = task.name in self.source_tasks and with_sources is not text_features
            own = with_sources if uses_source else text_features
            if in_article and task.name in self.context_heads_:
                head = self.context_heads_[task.name]
                if uses_source not in contexts:
                    contexts[uses_source] = self._add_context(own, article_ids)
                proba = fast_proba(head, contexts[uses_source])
            else:
                head = self.heads_[task.name]
                proba = fast_proba(head, own)
            if task.multi_label:
                out[task.name] = np.asarray(proba, dtype=float)
            else:  # reorder the head's classes to the schema's label order; absent labels get 0
                full = np.zeros((proba.shape[0], len(task.labels)))
                for k, label in enumerate(head.classes_):
                    full[:, task.labels.index(label)] = proba[:, k]
                out[task.name] = full
        return out

    def predict(self, X: Sequence[str], features=None, article_ids: Sequence | None = None) -> list[dict[str, Any]]:
        """One {task: label, or list of labels for multi-label tasks} per sentence."""
        X, in_x = self._split_X(X)
        article_ids = in_x if article_ids is None else article_ids
        return self.decide(self.predict_proba(X, features, article_ids), in_article=article_ids is not None)

    def decide(self, probabilities: dict[str, np.ndarray], in_article: bool = False) -> list[dict[str, Any]]:
        """Turn probabilities into labels: per-label thresholds for multi-label tasks (those of the head
        that produced them), argmax otherwise."""
        from .compiled import decide_labels

        return decide_labels(self.fitted_schema, probabilities, self.thresholds_, self.context_thresholds_,
                             tuple(self.context_heads_), in_article)

    def score(self, X: Sequence[str], y: Any) -> float:
        """Mean over tasks of macro-F1, so the estimator can be used in GridSearchCV as it is."""
        columns = as_columns(y, self.fitted_schema)
        predicted = self.predict(X)  # article mode when X carries article ids
        scores = []
        for task in self.fitted_schema.tasks:
            gold = columns[task.name]
            guess = [row[task.name] for row in predicted]
            if task.multi_label:
                binarizer = self.binarizers_[task.name]
                scores.append(f1_score(binarizer.transform(gold), binarizer.transform(guess), average="macro", zero_division=0))
            else:
                scores.append(f1_score(gold, guess, average="macro", labels=sorted(set(gold)), zero_division=0))
        return float(np.mean(scores))

    # -- explanation -------------------------------------------------------------------------------
    def explain(self, text: str, top: int = 8) -> dict[str, dict[str, list[tuple[str, float]]]]:
        """Per task, per predicted label: the n-grams whose weight x tf-idf pushed the decision most.

        Linear heads make this exact: a label's decision score is the sum of these contributions plus
        the intercept (for calibrated heads, before the monotone calibration).
        """
        features = self.transform([text])
        names = self.feature_names_
        predicted = self.predict([text], features)[0]
        row = features.tocsr()
        out: dict[str, dict[str, list[tuple[str, float]]]] = {}
        for task in self.fitted_schema.tasks:
            labels = predicted[task.name] if task.multi_label else [predicted[task.name]]
            out[task.name] = {}
            for label in labels:
                coef = self.coefficients(task.name, label)[: row.shape[1]]  # the sentence's own n-grams
                contributions = row.multiply(coef).tocsr()
                idx, values = contributions.indices, contributions.data
                order = np.argsort(-values)[:top]
                out[task.name][label] = [(names[idx[k]], float(values[k])) for k in order if values[k] > 0]
        return out

    def coefficients(self, task_name: str, label: str) -> np.ndarray:
        """The linear weights behind one label's decision score."""
        task = self.fitted_schema.task(task_name)
        head = self.heads_[task_name]
        if task.multi_label:
            j = task.labels.index(label)
            estimator = head.estimators_[j]
            if not hasattr(estimator, "coef_"):  # a label constant in training: no n-gram moves it
                return np.zeros(self.transform([""]).shape[1])
            return estimator.coef_.ravel()
        base = head.calibrated_classifiers_[0].estimator if hasattr(head, "calibrated_classifiers_") else head
        classes = list(base.classes_)
        if base.coef_.shape[0] == 1:  # binary: one row of weights, for classes_[1]
            sign = 1.0 if label == classes[1] else -1.0
            return sign * base.coef_.ravel()
        return base.coef_[classes.index(label)]

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without per-process caches, so the same data and seed give the same bytes."""
        state = dict(self.__dict__)
        state.pop("_feature_names", None)
        if "featurizer_" in state:
            drop_process_state(state["featurizer_"])
        return state

    @property
    def feature_names_(self) -> np.ndarray:
        if not hasattr(self, "_feature_names"):
            self._feature_names = self.featurizer_.get_feature_names_out()
        return self._feature_names


class LabelwiseLogistic:
    """One logistic regression per label of a multi-label task (one-vs-rest), with sample weights.

    scikit-learn's OneVsRestClassifier passes sample weights only under metadata routing; this is the
    same model in a few lines. A label that is always (or never) present gets a constant probability.
    """

    def __init__(self, C: float = 1.0, random_state: int = 0):
        self.C = C
        self.random_state = random_state

    def fit(self, X, Y: np.ndarray, sample_weight: np.ndarray | None = None) -> "LabelwiseLogistic":
        Y = np.asarray(Y)
        self.estimators_ = [logistic(self.C, self.random_state).fit(X, Y[:, j], sample_weight=sample_weight)
                            if 0 < Y[:, j].sum() < len(Y) else ConstantLabel(int(Y[0, j])) for j in range(Y.shape[1])]
        return self

    def predict_proba(self, X) -> np.ndarray:
        return fast_proba(self, X)


class ConstantLabel:
    """A label seen always (y_ = 1) or never (y_ = 0) in training."""

    def __init__(self, value: int):
        self.y_ = np.array([value])


def fast_proba(head, X) -> np.ndarray:
    """head.predict_proba(X) computed from the fitted coefficients directly.

    Gives the same numbers as scikit-learn for the heads TradeClassifier builds (logistic regression,
    its sigmoid-calibrated form, one-vs-rest of either), skipping the input validation that costs about
    0.1 ms per call and made single-sentence latency 4 ms. Anything else falls back to predict_proba.
    """
    from scipy.special import expit, softmax

    def decision(linear) -> np.ndarray:  # in float64, as the compiled model computes it
        return np.asarray(X.astype(np.float64) @ linear.coef_.T.astype(np.float64)) + linear.intercept_

    def logistic_proba(linear) -> np.ndarray:
        scores = decision(linear)
        if scores.shape[1] == 1:
            positive = expit(scores[:, 0])
            return np.column_stack([1 - positive, positive])
        return softmax(scores, axis=1)

    if isinstance(head, LogisticRegression):
        return logistic_proba(head)
    if isinstance(head, LabelwiseLogistic):
        return np.column_stack([expit(decision(e)[:, 0]) if hasattr(e, "coef_") else np.full(X.shape[0], float(e.y_[0]))
                                for e in head.estimators_])
    calibrated = getattr(head, "calibrated_classifiers_", None)
    if (calibrated and len(calibrated) == 1 and head.method == "sigmoid"
            and isinstance(calibrated[0].estimator, LogisticRegression)):
        part = calibrated[0]
        scores = decision(part.estimator)
        n_classes = len(part.classes)
        proba = np.zeros((X.shape[0], n_classes))
        positions = np.searchsorted(np.sort(part.classes), part.estimator.classes_)
        for position, column, calibrator in zip(positions, scores.T, part.calibrators):
            proba[:, position + 1 if n_classes == 2 else position] = expit(-(calibrator.a_ * column + calibrator.b_))
        if n_classes == 2:
            proba[:, 0] = 1.0 - proba[:, 1]
        else:
            denominator = proba.sum(axis=1, keepdims=True)
            proba = np.divide(proba, denominator, out=np.full_like(proba, 1 / n_classes), where=denominator != 0)
        proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba
    return head.predict_proba(X)


def _linear_models(head) -> list:
    """The logistic regressions inside a head (plain, calibrated, or one-vs-rest)."""
    if hasattr(head, "estimators_"):
        return list(head.estimators_)
    if hasattr(head, "calibrated_classifiers_"):
        return [c.estimator for c in head.calibrated_classifiers_]
    return [head]


def logistic(C: float, seed: int = 0) -> LogisticRegression:
    """The linear head of every task: class-balanced logistic regression (newton-cg: 5-10x faster than
    lbfgs here at the same optimum)."""
    return LogisticRegression(C=C, class_weight="balanced", solver="newton-cg", max_iter=3000, random_state=seed)


def best_threshold(truth: np.ndarray, scores: np.ndarray) -> float:
    """The grid threshold with the best F1 on cross-validated scores (ties: the one nearest 0.5)."""
    best, best_f1 = DEFAULT_THRESHOLD, -1.0
    for threshold in sorted(THRESHOLD_GRID, key=lambda t: abs(t - DEFAULT_THRESHOLD)):
        f1 = f1_score(truth, scores >= threshold, zero_division=0)
        if f1 > best_f1 + 1e-12:
            best, best_f1 = float(threshold), f1
    return best


def _check_texts(X: Sequence[str]) -> list[str]:
    """A list of sentences, each cut to MAX_SENTENCE_CHARS so one huge input cannot exhaust memory."""
    from .compiled import check_texts

    return [text[:MAX_SENTENCE_CHARS] for text in check_texts(X)]


def compile_estimator(model: "TradeClassifier"):
    """The fitted estimator as a CompiledModel: plain arrays in, the same probabilities out."""
    from .compiled import CompiledModel, Head, Vocabulary

    check_is_fitted(model, "heads_")
    vocabularies, offset = [], 0
    for kind, part in model.featurizer_.transformer_list:
        by_column = sorted(part.vocabulary_.items(), key=lambda item: item[1])
        terms = [term for term, _ in by_column]
        vocabularies.append(Vocabulary(kind, terms, np.asarray(part.idf_, dtype=np.float32), tuple(part.ngram_range), offset))
        offset += len(terms)
    n_text = offset
    terms = list(getattr(model, "source_terms_", []))
    if terms:
        vocabularies.append(Vocabulary("source", terms, np.ones(len(terms), dtype=np.float32), (0, 0), offset))
        offset += len(terms)
    n_features = offset
    blocks: list[np.ndarray] = []  # (n_features, k) coefficient blocks, stacked left to right
    intercepts: list[np.ndarray] = []
    width = 0

    def add(task: Task, head, part: slice, scale: float = 1.0, with_intercept: bool = True) -> Head:
        nonlocal width
        kind, classes, coef, intercept, calibration = _head_arrays(task, head)
        block = np.zeros((n_features, coef.shape[0]), dtype=np.float32)  # text rows, then source rows (zero if unused)
        own = (coef[:, part] * scale).T.astype(np.float32)
        block[: own.shape[0]] = own
        blocks.append(block)
        intercepts.append(intercept if with_intercept else np.zeros_like(intercept))
        compiled = Head(task.name, kind, np.asarray(classes, dtype=np.int64), width, calibration)
        width += block.shape[1]
        return compiled

    def width_of(task: Task) -> int:  # columns one sentence gives this task's heads
        return n_features if task.name in model.source_tasks and terms else n_text

    alone = {t.name: add(t, model.heads_[t.name], slice(0, width_of(t))) for t in model.fitted_schema.tasks}
    article = {}
    for t in model.fitted_schema.tasks:
        if t.name in model.context_heads_:
            head = model.context_heads_[t.name]
            w, m = model.context_weight, width_of(t)
            article[t.name] = (add(t, head, slice(0, m)),
                               add(t, head, slice(m, 2 * m), w, with_intercept=False),
                               add(t, head, slice(2 * m, 3 * m), w, with_intercept=False))
    weights = np.ascontiguousarray(np.hstack(blocks)) if blocks else np.zeros((n_features, 0), np.float32)
    return CompiledModel(model.fitted_schema, vocabularies, weights, np.concatenate(intercepts).astype(np.float64), alone, article,
                         {k: np.asarray(v, dtype=np.float64) for k, v in model.thresholds_.items() if v is not None},
                         {k: np.asarray(v, dtype=np.float64) for k, v in model.context_thresholds_.items() if v is not None},
                         actor_table=model.actor_table if terms or model.actor_table is not None else None,
                         source_weight=float(model.source_weight))


def _head_arrays(task: Task, head) -> tuple[str, list[int], np.ndarray, np.ndarray, np.ndarray | None]:
    """(kind, schema label index per score column, coef (k, n), intercept (k,), calibration (2, k) or None)."""
    if task.multi_label:
        coefs, intercepts = [], []
        n = None
        for estimator in head.estimators_:
            if hasattr(estimator, "coef_"):
                coefs.append(estimator.coef_.ravel())
                intercepts.append(float(estimator.intercept_[0]))
                n = estimator.coef_.shape[1]
            else:  # a label that was always (or never) present in training: constant probability 1 (or 0)
                coefs.append(None)
                intercepts.append(500.0 if float(np.ravel(estimator.y_)[0]) == 1.0 else -500.0)
        coef = np.vstack([c if c is not None else np.zeros(n or 0) for c in coefs])
        return "ovr", list(range(len(task.labels))), coef, np.asarray(intercepts), None
    calibrated = getattr(head, "calibrated_classifiers_", None)
    if calibrated:
        if len(calibrated) != 1 or head.method != "sigmoid":
            raise ValueError("only sigmoid calibration with ensemble=False can be compiled")
        linear = calibrated[0].estimator
        calibration = np.array([[c.a_ for c in calibrated[0].calibrators], [c.b_ for c in calibrated[0].calibrators]], dtype=np.float64)
    else:
        linear, calibration = head, None
    classes = [task.labels.index(label) for label in linear.classes_]
    coef = np.asarray(linear.coef_, dtype=np.float64)
    intercept = np.asarray(linear.intercept_, dtype=np.float64)
    kind = "binary" if len(classes) == 2 else ("calibrated" if calibration is not None else "softmax")
    return kind, classes, coef, intercept, calibration
