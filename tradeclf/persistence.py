"""A saved model is a folder: model.npz (plain arrays), metadata.json and a README model card.

Nothing in a model folder is ever unpickled: the arrays are read with allow_pickle=False and the rest is
JSON, so a model folder from a stranger cannot run code, and any scikit-learn release can train a model
that any other installation loads. The SHA-256 in metadata.json catches damage (truncation, bit rot), and
the arrays are checked for consistency with the layout before use.
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

MODEL_FILE = "model.npz"
METADATA_FILE = "metadata.json"
CARD_FILE = "README.md"
FORMAT_VERSION = 3  # 1 was a joblib pickle (tradeclf 0.1); 2 had no actor table or source features
SHIPPED_MODEL_NAME = "default"
MODEL_ENV = "TRADECLF_MODEL"


@dataclass
class SavedModel:
    """A loaded model: the compiled predictor and the metadata it was saved with."""

    predictor: Any  # tradeclf.compiled.CompiledModel
    metadata: dict[str, Any]
    path: Path | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def schema(self) -> Schema:
        return self.predictor.schema

    def new_estimator(self) -> Any:
        """An unfitted TradeClassifier with the hyper-parameters this model was trained with (for refits)."""
        from .model import TradeClassifier

        params: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in self.metadata.get("params", {}).items()}
        params.pop("schema", None)
        params["actor_table"] = self.predictor.actor_table  # saved with the arrays, not in the JSON
        return TradeClassifier(self.schema, **params)


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
            handle.flush()
            os.fsync(handle.fileno())  # the bytes are on disk before the name points at them
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
        fsync_folder(path.parent)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fsync_folder(folder: Path) -> None:
    """Make a rename in `folder` durable (a power cut after it cannot bring back the old name)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync a directory
        pass
    finally:
        os.close(fd)


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
    """Compile a fitted TradeClassifier and save it as arrays + JSON with a model card; return the metadata."""
    import io

    import numpy as np

    from .card import render_model_card
    from .model import compile_estimator

    folder = Path(folder)
    compiled = compile_estimator(estimator)
    arrays, layout = compiled.to_arrays()
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    model_bytes = _stable_zip(buffer.getvalue())
    meta = dict(metadata or {})
    meta.update({
        "format_version": FORMAT_VERSION,
        "schema": estimator.schema.to_dict(),
        "layout": layout,
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


def _stable_zip(data: bytes) -> bytes:
    """The same .npz with fixed member timestamps, so the same model gives the same bytes on every run."""
    import io
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in sorted(source.infolist(), key=lambda i: i.filename):
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info.filename), compresslevel=6)
    return out.getvalue()


def _thresholds(estimator: Any, by_task: dict[str, Any]) -> dict[str, dict[str, float]]:
    return {name: dict(zip(estimator.schema.task(name).labels, map(float, values)))
            for name, values in by_task.items() if values is not None}


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        if isinstance(value, Schema):
            value = value.name
        elif key == "actor_table" and value is not None:
            value = f"{len(value.entries)} entries, saved in {MODEL_FILE}"
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
    """Verify and load a model folder: hash first, then arrays (never pickles), then their consistency."""
    import io
    import zipfile

    import numpy as np

    from .compiled import CompiledModel

    folder = Path(folder)
    meta = read_metadata(folder)
    model_path = folder / MODEL_FILE
    if not model_path.is_file():
        if (folder / "model.joblib").is_file():
            raise ModelError(f"{folder}: a model saved by tradeclf 0.1 (a joblib pickle), which this version does not load "
                             f"because pickles can run code; retrain it with `tradeclf train --out {folder} --overwrite`")
        raise ModelError(f"{model_path}: missing; the model folder is incomplete, copy it again or retrain")
    if meta.get("format_version") != FORMAT_VERSION or not isinstance(meta.get("layout"), dict):
        raise ModelError(f"{folder / METADATA_FILE}: model format {meta.get('format_version')!r}, this tradeclf reads "
                         f"format {FORMAT_VERSION}; retrain with `tradeclf train --out {folder} --overwrite`")
    data = model_path.read_bytes()
    expected, actual = meta.get("model_sha256"), hashlib.sha256(data).hexdigest()
    if expected != actual:
        raise ModelError(f"{model_path}: SHA-256 {actual[:12]}... does not match metadata.json ({str(expected)[:12]}...); "
                         "the file was altered or truncated; restore the folder or retrain with `tradeclf train`")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelError(f"{model_path}: not a readable array file ({type(exc).__name__}: {exc}); "
                         "it may hold pickled objects, which are refused; restore the folder or retrain") from None
    for name, array in arrays.items():
        if array.dtype.kind not in "fiub":
            raise ModelError(f"{model_path}: array {name!r} has dtype {array.dtype}, not numbers; refusing it; retrain")
    try:
        schema = Schema.from_dict(meta["schema"], f"{folder / METADATA_FILE}: schema")
    except KeyError:
        raise ModelError(f"{folder / METADATA_FILE}: no schema; the model folder is damaged, copy it again or retrain") from None
    predictor = CompiledModel.from_arrays(schema, arrays, meta["layout"], str(model_path))
    return SavedModel(predictor, meta, folder)


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
