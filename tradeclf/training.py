"""Training from a corpus: hyper-parameter search by grouped cross-validation, final fit, held-out report.

The search and the final model use the train and dev splits of both origins (written and real); every
choice is scored on the real sentences of the validation folds, grouped by source document, because real
news is what users label. The test split is touched once, for the report, by origin (real test first);
the `seed` split (two real articles) is never trained on.
"""

from __future__ import annotations

import logging

from collections import Counter
from pathlib import Path
from typing import Any, Callable

import numpy as np

_logger = logging.getLogger("tradeclf.training")

from .data import Corpus
from .metrics import evaluate_predictions, indicator, macro_f1
from .persistence import save_model
from .schema import Schema

TRAIN_SPLITS = ("train", "dev")
REPORT_SPLITS = ("real-test", "written-test", "seed")  # real text first: it is what users label
C_GRID = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
REAL_WEIGHT_GRID = (1.0, 2.0, 4.0, 8.0)  # weight of a real sentence relative to a written one (4 was the edge; 8 added)
SEARCH_FOLDS = 5
CONTEXT_MARGIN = 0.005  # a task reads the neighbouring sentences only if CV gains at least this much
SOURCE_MARGIN = 0.005  # a task reads the attributed source only if CV gains at least this much
DEFAULT_SEED = 0


def label_counts(rows: list[dict], schema: Schema) -> dict[str, dict[str, int]]:
    out = {}
    for task in schema.tasks:
        counts = Counter(label for r in rows for label in (r[task.name] if task.multi_label else [r[task.name]]))
        out[task.name] = {label: counts[label] for label in task.labels}
    return out


def sentence_weights(rows: list[dict], real_weight: float) -> np.ndarray:
    """Per-sentence training weight: `real_weight` for real text, 1 for written."""
    return np.array([real_weight if r.get("origin") == "real" else 1.0 for r in rows])


def search_hyperparameters(corpus: Corpus, rows: list[dict], seed: int = DEFAULT_SEED, folds: int = SEARCH_FOLDS,
                           grid: tuple[float, ...] = C_GRID, weights: tuple[float, ...] = REAL_WEIGHT_GRID,
                           log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Choose, per task, C and whether to use the neighbouring sentences, then the weight of real sentences,
    by CV grouped by source document.

    The features are fitted once per fold and shared by all tasks. Scores are computed on the real
    sentences of each validation fold when the corpus has real text (else on all): macro-F1 of the plain
    logistic head for single-label tasks, macro average precision (threshold-free) for multi-label ones.
    Stage 1 searches C and mode at the middle weight; stage 2 searches the weight at the chosen C and mode.
    A task uses context only when that gains at least CONTEXT_MARGIN.
    """
    log = log or _logger.info  # library code logs; the CLI and train.py pass their own printer
    from sklearn.model_selection import GroupKFold

    schema = corpus.schema
    texts = np.array(corpus.texts(rows), dtype=object)
    articles = np.array([r["article_id"] for r in rows])
    documents = np.array([r.get("group", r["article_id"]) for r in rows])
    real = np.array([r.get("origin") == "real" for r in rows])
    scored = real if real.any() else np.ones(len(rows), dtype=bool)
    labels = corpus.labels(rows)
    gold = {t.name: indicator(labels[t.name], t) for t in schema.tasks}
    base_weight = weights[len(weights) // 2] if real.any() else 1.0
    splits = list(GroupKFold(folds).split(texts, groups=documents))
    table = corpus.actor_table()
    shared = (schema, texts, articles, real, scored, labels, gold, seed, table)
    # stage 1: C and mode per task, at the base weight; folds run in parallel (each is independent)
    plans = [{t.name: [(mode, C, base_weight) for mode in ("sentence", "context") for C in grid] for t in schema.tasks}
             for _ in splits]
    results = _run_folds(shared, splits, plans, log, "search")
    cv = {t.name: {mode: {str(C): round(float(np.mean([r[t.name][(mode, C, base_weight)] for r in results])), 4) for C in grid}
                   for mode in ("sentence", "context")} for t in schema.tasks}
    best_C, context_tasks, gain = {}, [], {}
    for task, by_mode in cv.items():
        best = {mode: max(by_c, key=lambda c: (by_c[c], -float(c))) for mode, by_c in by_mode.items()}
        gain[task] = round(by_mode["context"][best["context"]] - by_mode["sentence"][best["sentence"]], 4)
        mode = "context" if gain[task] >= CONTEXT_MARGIN else "sentence"
        if mode == "context":
            context_tasks.append(task)
        best_C[task] = float(best[mode])
    chosen_weight = 1.0
    weight_cv: dict[str, dict[str, float]] = {}
    if real.any() and (~real).any():
        # stage 2: the weight of real sentences, at each task's chosen C and mode
        mode_of = {t.name: "context" if t.name in context_tasks else "sentence" for t in schema.tasks}
        plans = [{t.name: [(mode_of[t.name], best_C[t.name], w) for w in weights if w != base_weight] for t in schema.tasks}
                 for _ in splits]
        extra = _run_folds(shared, splits, plans, log, "weight search")
        for t in schema.tasks:
            weight_cv[t.name] = {}
            for w in weights:
                if w == base_weight:
                    per_fold = [r[t.name][(mode_of[t.name], best_C[t.name], w)] for r in results]
                else:
                    per_fold = [r[t.name][(mode_of[t.name], best_C[t.name], w)] for r in extra]
                weight_cv[t.name][str(w)] = round(float(np.mean(per_fold)), 4)
        mean_over_tasks = {w: float(np.mean([weight_cv[t][str(w)] for t in weight_cv])) for w in weights}
        chosen_weight = max(weights, key=lambda w: (round(mean_over_tasks[w], 4), -w))
    source_tasks: list[str] = []
    source_cv: dict[str, dict[str, Any]] = {}
    if table is not None:
        everything = np.ones(len(rows), dtype=bool)
        source_tasks, source_cv = source_search((*shared[:4], everything, *shared[5:]), splits, best_C, context_tasks,
                                                chosen_weight, log)
    return {"C": best_C, "context_tasks": context_tasks, "context_gain": gain, "real_weight": chosen_weight,
            "source_tasks": source_tasks, "source_cv": source_cv,
            "cv": cv, "weight_cv": weight_cv, "folds": folds, "grid": list(grid), "weights": list(weights),
            "scored_on": "real sentences, folds grouped by source document" if real.any() else "all sentences, folds grouped by article",
            "score": {t.name: ("macro average precision" if t.multi_label else "macro-F1") for t in schema.tasks}}


def source_search(shared: tuple, splits: list, best_C: dict[str, float], context_tasks: list[str], weight: float,
                  log: Callable[[str], None]) -> tuple[list[str], dict[str, dict[str, Any]]]:
    """Stage 3: does the attributed source (tradeclf.attribution) help each task at its chosen C, mode and weight?

    Scored on the validation sentences of both origins: the real corpus is mostly government documents, which
    speak for themselves and rarely attribute a sentence with a reporting clause, while the news users label
    (and the written articles) do it in most quoted sentences; a choice about attribution scored on documents
    alone would not see what it is for. A task reads its source only if CV gains at least SOURCE_MARGIN.
    """
    schema = shared[0]
    mode_of = {t.name: "context" if t.name in context_tasks else "sentence" for t in schema.tasks}
    plans = [{t.name: [(mode_of[t.name] + "+source", best_C[t.name], weight), (mode_of[t.name], best_C[t.name], weight)]
              for t in schema.tasks} for _ in splits]
    results = _run_folds(shared, splits, plans, log, "source search")
    chosen, table = [], {}
    for t in schema.tasks:
        key = (mode_of[t.name], best_C[t.name], weight)
        plain = float(np.mean([r[t.name][key] for r in results]))
        sourced = float(np.mean([r[t.name][(key[0] + "+source", *key[1:])] for r in results]))
        table[t.name] = {"without": round(plain, 4), "with": round(sourced, 4), "gain": round(sourced - plain, 4),
                         "scored_on": "validation sentences of both origins"}
        if sourced - plain >= SOURCE_MARGIN:
            chosen.append(t.name)
    return chosen, table


def _run_folds(shared: tuple, splits: list, plans: list[dict], log: Callable[[str], None], what: str) -> list[dict]:
    """Score every (mode, C, weight) of each fold's plan; folds run on up to two processes (joblib)."""
    import os

    from joblib import Parallel, delayed

    jobs = max(1, min(len(splits), os.cpu_count() or 1, 2))
    out = []
    for k, result in enumerate(Parallel(n_jobs=jobs, return_as="generator")(
            delayed(_score_fold)(shared, train_idx, val_idx, plan) for (train_idx, val_idx), plan in zip(splits, plans))):
        out.append(result)
        log(f"  {what} fold {k + 1}/{len(splits)} done")
    return out


def _score_fold(shared: tuple, train_idx: np.ndarray, val_idx: np.ndarray, plan: dict) -> dict:
    """One fold: fit the features once, then score each task's planned (mode, C, real weight) settings."""
    from .features import make_featurizer
    from .model import TradeClassifier

    schema, texts, articles, real, scored, labels, gold, seed, table = shared
    probe = TradeClassifier(schema)
    featurizer = make_featurizer(probe.word_ngram_range, probe.char_ngram_range, probe.min_df)
    own_train = featurizer.fit_transform(texts[train_idx])
    own_val = featurizer.transform(texts[val_idx])
    modes = {mode for settings in plan.values() for mode, _, _ in settings}
    matrices = {"sentence": (own_train, own_val)}
    if "context" in modes:
        matrices["context"] = (probe._add_context(own_train, articles[train_idx]), probe._add_context(own_val, articles[val_idx]))
    if any(mode.endswith("+source") for mode in modes):
        alone, in_article = _source_features(table, texts, articles, train_idx, val_idx, own_train, own_val, seed)
        matrices["sentence+source"] = alone
        if "context+source" in modes:
            matrices["context+source"] = (probe._add_context(in_article[0], articles[train_idx]),
                                          probe._add_context(in_article[1], articles[val_idx]))
    out: dict[str, dict] = {}
    for task in schema.tasks:
        out[task.name] = {}
        for mode, C, w_real in plan[task.name]:
            X_train, X_val = matrices[mode]
            weights = np.where(real[train_idx], w_real, 1.0)
            out[task.name][(mode, C, w_real)] = _fold_score(task, gold[task.name], labels[task.name], X_train, X_val, train_idx,
                                                            val_idx[scored[val_idx]], scored[val_idx], C, seed, weights)
    return out


def _source_features(table, texts, articles, train_idx, val_idx, own_train, own_val, seed: int) -> tuple:
    """[text | source] matrices for one fold, as TradeClassifier builds them: ((train, val) with each sentence
    alone, (train, val) with sources resolved in the article); the source vocabulary comes from the train part."""
    from .model import TradeClassifier

    probe = TradeClassifier(None, source_tasks=("any",), actor_table=table)
    probe.source_terms_ = []
    from collections import Counter

    from .attribution import attribute_articles, source_tokens

    def tokens(idx: np.ndarray, in_article: bool) -> list[list[str]]:
        part = list(texts[idx])
        return [source_tokens(s) for s in attribute_articles(part, list(articles[idx]) if in_article else None, table)]

    alone_train, article_train = tokens(train_idx, False), tokens(train_idx, True)
    seen = Counter(t for a, b in zip(article_train, alone_train) for t in set(a) | set(b))
    probe.source_terms_ = sorted(t for t, n in seen.items() if n >= 2)
    alone = (probe._with_sources(own_train, alone_train), probe._with_sources(own_val, tokens(val_idx, False)))
    in_article = (probe._with_sources(own_train, article_train), probe._with_sources(own_val, tokens(val_idx, True)))
    return alone, in_article


def _fold_score(task, gold: np.ndarray, labels: list, X_train, X_val, train_idx, val_idx, val_mask, C: float, seed: int,
                weights: np.ndarray) -> float:
    """One task's score on the scored validation rows (`val_idx`, picked from X_val by `val_mask`) for one C and weighting."""
    from sklearn.metrics import average_precision_score

    from .model import LabelwiseLogistic, logistic

    X_scored = X_val[np.flatnonzero(val_mask)]
    if task.multi_label:
        usable = [j for j in range(gold.shape[1]) if 0 < gold[train_idx, j].sum() < len(train_idx)]
        proba = LabelwiseLogistic(C, seed).fit(X_train, gold[train_idx][:, usable], weights).predict_proba(X_scored)
        scored_labels = [i for i, j in enumerate(usable) if gold[val_idx, j].any()]
        return float(np.mean([average_precision_score(gold[val_idx, usable[i]], proba[:, i]) for i in scored_labels]))
    y = np.asarray(labels)
    guess = indicator(list(logistic(C, seed).fit(X_train, y[train_idx], sample_weight=weights).predict(X_scored)), task)
    present = np.flatnonzero(gold[val_idx].sum(axis=0) > 0)
    return float(macro_f1(gold[val_idx], guess, present))


def cross_validated_metrics(corpus: Corpus, rows: list[dict], params: dict[str, Any], real_weight: float = 1.0,
                            folds: int = SEARCH_FOLDS) -> dict[str, Any]:
    """Macro-F1 etc. of the full estimator (thresholds and calibration included) by CV grouped by document,
    reported by origin."""
    from sklearn.model_selection import GroupKFold

    from .model import TradeClassifier

    texts = corpus.texts(rows)
    articles = [r["article_id"] for r in rows]
    documents = [r.get("group", r["article_id"]) for r in rows]
    weights = sentence_weights(rows, real_weight)
    import os

    from joblib import Parallel, delayed

    def fold(train_idx: np.ndarray, val_idx: np.ndarray) -> tuple[np.ndarray, list[dict]]:
        model = TradeClassifier(corpus.schema, **params).fit(
            [texts[i] for i in train_idx], [rows[i] for i in train_idx], groups=[articles[i] for i in train_idx],
            sample_weight=weights[train_idx])
        return val_idx, model.predict([texts[i] for i in val_idx], article_ids=[articles[i] for i in val_idx])

    predicted: list[dict | None] = [None] * len(rows)
    splits = GroupKFold(folds).split(texts, groups=documents)
    for val_idx, guesses in Parallel(n_jobs=max(1, min(2, os.cpu_count() or 1)))(delayed(fold)(t, v) for t, v in splits):
        for i, p in zip(val_idx, guesses):
            predicted[i] = p
    out = {}
    for origin in sorted({r.get("origin", "written") for r in rows}, reverse=True):  # real before written
        idx = [i for i, r in enumerate(rows) if r.get("origin", "written") == origin]
        subset = [rows[i] for i in idx]
        out[origin] = evaluate_predictions(corpus.labels(subset), [predicted[i] or {} for i in idx], corpus.schema,
                                           intervals=True, groups=[articles[i] for i in idx])
    return out


def baseline_metrics(corpus: Corpus, rows: list[dict]) -> dict[str, Any]:
    """Macro-F1 of the dependency-free baselines (majority, and lexicon when the corpus has one) on the report splits."""
    from .baselines import LEXICON_FILE, LexiconBaseline, MajorityBaseline

    systems: list[Any] = [MajorityBaseline()]
    if corpus.source and (Path(corpus.source) / LEXICON_FILE).is_file():
        systems.append(LexiconBaseline(Path(corpus.source) / LEXICON_FILE))
    out: dict[str, Any] = {}
    for system in systems:
        system.fit(corpus.texts(rows), rows, corpus.schema)
        out[system.name] = {}
        for split in REPORT_SPLITS:
            held_out = corpus.subset(split)
            if held_out:
                result = evaluate_predictions(corpus.labels(held_out), system.predict(corpus.texts(held_out)), corpus.schema, intervals=False)
                out[system.name][split] = {task: m["macro_f1"] for task, m in result["tasks"].items()}
    return out


def train(corpus: Corpus, out: str | Path, seed: int = DEFAULT_SEED, search: bool = True, cv_report: bool = True,
          name: str | None = None, log: Callable[[str], None] | None = None, reuse: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train on train+dev (both origins), report CV and held-out metrics by origin, save the model folder.

    `reuse` is the metadata of an earlier build on the same data: its search result and CV figures are kept
    instead of recomputed (`python train.py --check` uses it to rebuild the final model in minutes).
    Returns the metadata.
    """
    log = log or _logger.info  # library code logs; the CLI and train.py pass their own printer
    import time

    from .model import TradeClassifier

    rows = corpus.split(*TRAIN_SPLITS) or corpus.split("train")
    if not rows:
        raise ValueError(f"{corpus.source}: no sentences in the train or dev splits to learn from")
    check_trainable(corpus, rows)
    clock = time.perf_counter()
    seconds: dict[str, float] = {}
    params: dict[str, Any] = {"random_state": seed}
    search_result = reuse.get("search") if reuse else None
    if search_result is None and search and len({r.get("group", r["article_id"]) for r in rows}) >= SEARCH_FOLDS:
        log(f"searching C, neighbours and real-text weight by {SEARCH_FOLDS}-fold CV grouped by document on {len(rows)} sentences")
        search_result = search_hyperparameters(corpus, rows, seed, log=log)
        seconds["search"] = round(time.perf_counter() - clock, 1)
    real_weight = 1.0
    if search_result is not None:
        params["C"] = search_result["C"]
        params["context_tasks"] = tuple(search_result["context_tasks"])
        real_weight = float(search_result.get("real_weight", 1.0))
        log(f"  C: {search_result['C']}; tasks reading neighbouring sentences: "
            f"{', '.join(search_result['context_tasks']) or 'none'} (CV gain {search_result['context_gain']}); "
            f"real-text weight {real_weight}")
        if search_result.get("source_tasks"):
            params["source_tasks"] = tuple(search_result["source_tasks"])
            log(f"  tasks reading the attributed source: {', '.join(params['source_tasks'])} (CV {search_result['source_cv']})")
    params["actor_table"] = corpus.actor_table()  # types sources in every row's output, used as features or not
    metrics: dict[str, Any] = {}
    if reuse and "cv" in reuse.get("metrics", {}):
        metrics["cv"] = reuse["metrics"]["cv"]
    elif cv_report and len({r.get("group", r["article_id"]) for r in rows}) >= SEARCH_FOLDS:
        log("cross-validating the chosen model")
        started = time.perf_counter()
        metrics["cv"] = cross_validated_metrics(corpus, rows, params, real_weight)
        seconds["cv"] = round(time.perf_counter() - started, 1)
    log(f"fitting the final model on {len(rows)} sentences")
    started = time.perf_counter()
    groups = [r["article_id"] for r in rows]
    model = TradeClassifier(corpus.schema, **params).fit(corpus.texts(rows), rows, groups=groups,
                                                          sample_weight=list(sentence_weights(rows, real_weight)))
    seconds["final_fit"] = round(time.perf_counter() - started, 1)
    for split in REPORT_SPLITS:
        held_out = corpus.subset(split)
        if held_out:  # article mode: each sentence with its neighbours, as label_article and `label` see it
            ids = [r["article_id"] for r in held_out]
            predicted = model.predict(corpus.texts(held_out), article_ids=ids)
            metrics[split] = evaluate_predictions(corpus.labels(held_out), predicted, corpus.schema, seed=seed, groups=ids)
            if model.context_tasks:  # and each sentence alone, as `predict` sees it
                alone = evaluate_predictions(corpus.labels(held_out), model.predict(corpus.texts(held_out)), corpus.schema,
                                             seed=seed, groups=ids)
                metrics[f"{split} (sentence alone)"] = alone
    if model.source_tasks:
        log("fitting the same model without source features, to measure what attribution adds")
        metrics["attribution_effect"] = attribution_effect(corpus, rows, model, params, real_weight, seed)
    spans = attribution_spans(corpus)
    if spans:
        metrics["attribution_spans"] = spans
    metadata = {
        "compiled_max_difference": verify_compiled(model, corpus),
        "baselines": baseline_metrics(corpus, rows),
        "name": name or Path(out).name,
        "seed": seed,
        "data": {
            "source": corpus.source,
            "sha256": corpus.fingerprint(),
            "train_splits": [s for s in TRAIN_SPLITS if corpus.split(s)],
            "n_train": len(rows),
            "n_train_by_origin": dict(sorted(Counter(r.get("origin", "written") for r in rows).items(), reverse=True)),
            "n_train_articles": len({r["article_id"] for r in rows}),
            "real_weight": real_weight,
            "label_counts": label_counts(rows, corpus.schema),
        },
        "search": search_result,
        "metrics": metrics,
        "build_seconds": seconds,  # wall time of this build (machine-dependent; not compared by train.py --check)
    }
    return save_model(model, out, metadata)


COMPILED_TOLERANCE = 1e-6


def attribution_effect(corpus: Corpus, rows: list[dict], model: Any, params: dict[str, Any], real_weight: float,
                       seed: int) -> dict[str, Any]:
    """Per report split and task: macro-F1 with and without the source features, and the gain with a paired
    bootstrap interval over articles (the same model otherwise: same data, C, neighbours and weights)."""
    from .metrics import paired_difference
    from .model import TradeClassifier

    plain = TradeClassifier(corpus.schema, **{**params, "source_tasks": ()}).fit(
        corpus.texts(rows), rows, groups=[r["article_id"] for r in rows], sample_weight=list(sentence_weights(rows, real_weight)))
    out = {}
    for split in REPORT_SPLITS:
        held_out = corpus.subset(split)
        if held_out:
            ids = [r["article_id"] for r in held_out]
            texts = corpus.texts(held_out)
            out[split] = paired_difference(corpus.labels(held_out), model.predict(texts, article_ids=ids),
                                           plain.predict(texts, article_ids=ids), corpus.schema, ids, seed)
    return out


def attribution_spans(corpus: Corpus) -> dict[str, Any]:
    """The attribution rules scored against the gold source spans (data/sources.jsonl) of each report split,
    and the two annotators against each other on the double-annotated sample."""
    from .spans import SECOND_FILE, SOURCES_FILE, load_spans, predicted_spans, score_spans

    folder = Path(corpus.source)
    gold = load_spans(folder / SOURCES_FILE) if folder.is_dir() else {}
    table = corpus.actor_table()
    if not gold or table is None:
        return {}
    out: dict[str, Any] = {}
    for split in REPORT_SPLITS + ("train+dev",):
        names = TRAIN_SPLITS if split == "train+dev" else None
        subset = corpus.split(*names) if names else corpus.subset(split)
        articles = {r["article_id"] for r in subset if r["id"] in gold}
        if not articles:
            continue
        article_rows = [r for r in corpus.sentences if r["article_id"] in articles]
        predicted = predicted_spans(article_rows, table)
        out[split] = score_spans({k: v for k, v in gold.items() if k in predicted}, predicted)
    second = load_spans(folder / SECOND_FILE)
    if second:
        out["agreement (second annotator vs first)"] = score_spans(gold, second)
    return out


def verify_compiled(model: Any, corpus: Corpus) -> float:
    """Check that the compiled predictor (what is saved) gives the estimator's probabilities on every sentence
    of the corpus, lone and in article mode, to COMPILED_TOLERANCE; return the largest difference, or 0.0 when it
    is below 1e-12 (float rounding that depends on the order of summation, not on the model: recording it would
    make the metadata differ between two builds of the same model)."""
    from .model import compile_estimator

    compiled = compile_estimator(model)
    texts, ids = corpus.texts(corpus.sentences), [r["article_id"] for r in corpus.sentences]
    worst = 0.0
    for article_ids in (None, ids):
        expected = model.predict_proba(texts, article_ids=article_ids)
        got = compiled.predict_proba(texts, article_ids=article_ids)
        worst = max([worst] + [float(np.abs(expected[t] - got[t]).max()) for t in expected if len(texts)])
    if worst > COMPILED_TOLERANCE:
        raise RuntimeError(f"the compiled model differs from the estimator by {worst:.2e} (> {COMPILED_TOLERANCE}); not saving it")
    return 0.0 if worst < 1e-12 else float(f"{worst:.1e}")


def check_trainable(corpus: Corpus, rows: list[dict]) -> None:
    """Refuse, with a message naming the task, training data in which a single-label task has one label only."""
    from .errors import DataError

    for task in corpus.schema.tasks:
        if task.multi_label:
            continue
        present = sorted({r[task.name] for r in rows})
        if len(present) < 2:
            raise DataError(f"{corpus.source}: task {task.name!r} has only the label {present[0]!r} in the training "
                            "sentences; a classifier needs at least two labels: annotate examples of the others")
