"""tradeclf: label every sentence of trade-negotiation news with its issues, speaker, stance and progress.

>>> from tradeclf import predict
>>> predict("China offered to curb forced technology transfer.").labels  # doctest: +SKIP

Importing is light: scikit-learn and datasets load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "predict": "api",
    "Prediction": "api",
    "get_model": "api",
    "label_article": "article",
    "ArticleLabels": "article",
    "TradeClassifier": "model",
    "load_model": "persistence",
    "save_model": "persistence",
    "SavedModel": "persistence",
    "load_corpus": "data",
    "Corpus": "data",
    "load_schema": "schema",
    "Schema": "schema",
    "train": "training",
    "split_sentences": "segment",
    "label_files": "labelling",
    "label_frame": "labelling",
    "LabelOptions": "labelling",
    "negotiation_index": "index",
    "ActorTable": "actors",
    "TradeclfError": "errors",
    "InputError": "errors",
    "ModelError": "errors",
    "DataError": "errors",
}
__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from .api import Prediction, get_model, predict
    from .article import ArticleLabels, label_article
    from .data import Corpus, load_corpus
    from .errors import DataError, InputError, ModelError, TradeclfError
    from .model import TradeClassifier
    from .persistence import SavedModel, load_model, save_model
    from .schema import Schema, load_schema
    from .segment import split_sentences
    from .training import train
    from .actors import ActorTable
    from .index import negotiation_index
    from .labelling import LabelOptions, label_files, label_frame


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tradeclf' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
