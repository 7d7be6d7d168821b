"""The Python API: `predict` for sentences, with the shipped model loaded once per process."""

from __future__ import annotations

import contextlib
import gc
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, Union, overload

import numpy as np

from .errors import InputError
from .persistence import SavedModel, load_model, resolve_model_path

ModelLike = Union[str, Path, SavedModel, None]

_cache: dict[Path, SavedModel] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Prediction:
    """The labels of one sentence: `labels[task]` is a label (a list for multi-label tasks);
    `probabilities[task][label]` is that label's probability (rounded to 6 places).

    Probabilities are kept as one array row per task (`scores`) and turned into dicts only when read:
    building 23 rounded floats per sentence cost more than the four classifiers.
    """

    text: str
    labels: dict[str, Any]
    scores: dict[str, Any] = field(repr=False)  # task -> array of probabilities in `label_names[task]` order
    label_names: dict[str, tuple[str, ...]] = field(repr=False)
    source: dict[str, Any] | None = None  # attributed source {text, start, end, type}; None for narration

    @property
    def probabilities(self) -> dict[str, dict[str, float]]:
        return {task: dict(zip(names, np.round(self.scores[task].astype(float), 6).tolist()))
                for task, names in self.label_names.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "labels": self.labels, "source": self.source, "probabilities": self.probabilities}


def get_model(model: ModelLike = None) -> SavedModel:
    """A loaded model: the one given, or loaded (once per process) from a path, $TRADECLF_MODEL or the shipped one."""
    if isinstance(model, SavedModel):
        return model
    path = resolve_model_path(model).resolve()
    with _cache_lock:
        if path not in _cache:
            _cache[path] = load_model(path)
        return _cache[path]


def check_text(text: Any, where: str = "text") -> str:
    """Reject what cannot be labelled, with a message naming the input."""
    if not isinstance(text, str):
        raise InputError(f"{where}: expected a string, got {type(text).__name__}; pass str (or a list of str)")
    if not text.strip():
        raise InputError(f"{where}: empty or whitespace-only text; there is nothing to label")
    return text


@contextlib.contextmanager
def cyclic_gc_paused():
    """Pause the cyclic garbage collector for one vectorised batch, then restore it.

    Why: a batch allocates a few containers per sentence (token lists, label dicts, Predictions) and none of
    them form cycles; the collector still ran every few hundred allocations and rescanned the model's objects,
    a quarter of `predict_many`'s time on 10k sentences. Reference counting frees everything as usual; only
    cycle detection waits until the batch ends (as `timeit` does)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def predict_many(texts: Sequence[str], model: ModelLike = None, article_ids: Sequence | None = None,
                 starts: Sequence[int] | None = None) -> list[Prediction]:
    """Label already-checked sentences in one vectorised pass; with `article_ids` (one per sentence,
    articles consecutive and in order) the model may read each sentence's neighbours and resolve sources
    across them. `starts` (each sentence's offset in its article) make source offsets article offsets;
    without, they are offsets in the sentence."""
    saved = get_model(model)
    if not texts:
        return []
    predictor = saved.predictor
    with cyclic_gc_paused():
        sources = predictor.sources(texts, article_ids)
        probabilities = predictor.predict_proba(texts, article_ids=article_ids, sources=sources)
        decided = predictor.decide(probabilities, in_article=article_ids is not None)
        names = {task.name: task.labels for task in predictor.schema.tasks}
        return [Prediction(text, decided[i], {task: probabilities[task][i] for task in names}, names,
                           None if sources[i] is None else sources[i].to_dict(starts[sources[i].sentence] if starts else 0))
                for i, text in enumerate(texts)]


@overload
def predict(text: str, model: ModelLike = None) -> Prediction: ...  # type: ignore[overload-overlap]
@overload
def predict(text: Sequence[str], model: ModelLike = None) -> list[Prediction]: ...


def predict(text, model: ModelLike = None):
    """Label one sentence (returns a Prediction) or a list of sentences (returns a list, order kept).

    `model` is a model folder, a loaded SavedModel, or None for $TRADECLF_MODEL or the shipped model.

    >>> predict("China offered to curb forced technology transfer.").labels["issues"]  # doctest: +SKIP
    ['technology_transfer']
    """
    if isinstance(text, str):
        return predict_many([check_text(text)], model)[0]
    if isinstance(text, (bytes, dict)) or not hasattr(text, "__iter__"):
        raise InputError(f"text: expected a string or a sequence of strings (list, tuple, pandas Series...), "
                         f"got {type(text).__name__}")
    texts = [check_text(t, f"text[{i}]") for i, t in enumerate(list(text))]
    return predict_many(texts, model)
