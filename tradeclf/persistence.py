"""A saved model is a folder: the joblib file, metadata.json and a README model card.

joblib files can run code when loaded, so a model is loaded only after its SHA-256 matches the one
recorded in metadata.json, and only with the scikit-learn version that trained it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import ModelError
from .schema import Schema

MODEL_FILE = "model.joblib"
METADATA_FILE = "metadata.json"
CARD_FILE = "README.md"
FORMAT_VERSION = 1
SHIPPED_MODEL_NAME = "default"
MODEL_ENV = "TRADECLF_MODEL"


@dataclass
class SavedModel:
    """A loaded estimator with the metadata it was saved with."""

    estimator: Any
    metadata: dict[str, Any]
    path: Path | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def schema(self) -> Schema:
        return self.estimator.schema


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: the file appears whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def versions() -> dict[str, str]:
    import numpy
    import scipy
    import sklearn

    from . import __version__

    return {"tradeclf": __version__, "scikit-learn": sklearn.__version__, "numpy": numpy.__version__,
            "scipy": scipy.__version__, "python": platform.python_version()}


def save_model(estimator: Any, folder: str | Path, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """Save `estimator` with metadata (schema, thresholds, versions, hashes) and a model card; return the metadata."""
    import io

    import joblib

    from .card import render_model_card

    folder = Path(folder)
    buffer = io.BytesIO()
    joblib.dump(estimator, buffer, compress=("zlib", 6))
    model_bytes = buffer.getvalue()
    meta = dict(metadata or {})
    meta.update({
        "format_version": FORMAT_VERSION,
        "schema": estimator.schema.to_dict(),
        "thresholds": _thresholds(estimator, estimator.thresholds_),
        "context_thresholds": _thresholds(estimator, estimator.context_thresholds_),
        "params": _jsonable(estimator.get_params()),
        "versions": versions(),
        "model_sha256": hashlib.sha256(model_bytes).hexdigest(),
        "model_bytes": len(model_bytes),
    })
    meta.setdefault("created", datetime.now(timezone.utc).replace(microsecond=0).isoformat())
    atomic_write_bytes(folder / MODEL_FILE, model_bytes)
    atomic_write_bytes(folder / METADATA_FILE, (json.dumps(meta, indent=2, ensure_ascii=False) + "\n").encode())
    atomic_write_bytes(folder / CARD_FILE, render_model_card(meta).encode())
    return meta


def _thresholds(estimator: Any, by_task: dict[str, Any]) -> dict[str, dict[str, float]]:
    return {name: dict(zip(estimator.schema.task(name).labels, map(float, values)))
            for name, values in by_task.items() if values is not None}


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        if isinstance(value, Schema):
            value = value.name
        elif isinstance(value, tuple):
            value = list(value)
        out[key] = value
    return out


def read_metadata(folder: str | Path) -> dict[str, Any]:
    """metadata.json of a model folder, with a clear error when it is missing or broken."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelError(f"{folder}: no such model folder; train one with `tradeclf train --out {folder}` "
                         f"or point --model / {MODEL_ENV} at an existing one")
    path = folder / METADATA_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{path}: missing; the model folder is incomplete, copy it again or retrain") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{path}: not valid JSON ({exc}); the model folder is damaged, copy it again or retrain") from None


def load_model(folder: str | Path) -> SavedModel:
    """Verify and load a model folder: hash first, scikit-learn version second, unpickle last."""
    import joblib
    import sklearn

    folder = Path(folder)
    meta = read_metadata(folder)
    model_path = folder / MODEL_FILE
    if not model_path.is_file():
        raise ModelError(f"{model_path}: missing; the model folder is incomplete, copy it again or retrain")
    expected = meta.get("model_sha256")
    actual = sha256_file(model_path)
    if expected != actual:
        raise ModelError(f"{model_path}: SHA-256 {actual[:12]}... does not match metadata.json ({str(expected)[:12]}...); "
                         "the file was altered or truncated. Refusing to load it (joblib can run code); "
                         "restore the folder or retrain with `tradeclf train`")
    trained_with = meta.get("versions", {}).get("scikit-learn")
    if trained_with != sklearn.__version__:
        raise ModelError(f"{folder}: trained with scikit-learn {trained_with}, but {sklearn.__version__} is installed; "
                         f"install scikit-learn=={trained_with} or retrain with `tradeclf train --out {folder}`")
    try:
        estimator = joblib.load(model_path)
    except Exception as exc:  # a verified file that still fails to load: incompatible environment
        raise ModelError(f"{model_path}: could not be loaded ({type(exc).__name__}: {exc}); retrain it") from exc
    return SavedModel(estimator, meta, folder)


def shipped_model_path() -> Path:
    """Where the model that ships with tradeclf lives: inside the installed package, or models/ in a checkout."""
    try:
        from importlib.resources import files

        candidate = Path(str(files("tradeclf._shipped") / SHIPPED_MODEL_NAME))
        if candidate.is_dir():
            return candidate
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parent.parent / "models" / SHIPPED_MODEL_NAME


def resolve_model_path(model: str | Path | None = None) -> Path:
    """An explicit path, else $TRADECLF_MODEL, else the shipped model."""
    if model is not None:
        return Path(model)
    if os.environ.get(MODEL_ENV):
        return Path(os.environ[MODEL_ENV])
    return shipped_model_path()
