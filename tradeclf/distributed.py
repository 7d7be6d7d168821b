"""Labelling on a Dask cluster: the same chunks as the local engine, executed by Dask workers.

The client streams records from the inputs (so line numbers and order are kept) and keeps a bounded
number of chunks in flight; the verified model file is sent once to every worker (scattered with
broadcast) and loaded (arrays, no pickle) once per worker process; results come back in input order and go through the
same checkpointed writer, so the output equals the local engine's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from .errors import InputError
from .chunking import label_chunk, ordered
from .persistence import MODEL_FILE, SavedModel
from .sources import Item

IN_FLIGHT_PER_WORKER = 4


@dataclass(frozen=True)
class ModelBlob:
    """A model folder's verified bytes and metadata, as shipped to workers."""

    data: bytes
    metadata: dict[str, Any]


_worker_models: dict[str, SavedModel] = {}


def _model_on_worker(blob: ModelBlob) -> SavedModel:
    """Load the arrays once per worker process (checked against the SHA-256 the client verified; no pickle)."""
    sha = blob.metadata["model_sha256"]
    if sha not in _worker_models:
        import tempfile
        from pathlib import Path

        from .persistence import METADATA_FILE, load_model

        if hashlib.sha256(blob.data).hexdigest() != sha:
            raise RuntimeError("model bytes changed in transit")
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / MODEL_FILE).write_bytes(blob.data)
            (Path(tmp) / METADATA_FILE).write_text(json.dumps(blob.metadata), encoding="utf-8")
            loaded = load_model(tmp)
        _worker_models[sha] = SavedModel(loaded.predictor, blob.metadata)
    return _worker_models[sha]


def _label_on_worker(items: list[Item], blob: ModelBlob) -> tuple[list[dict], list[dict], int]:
    rows, errors = label_chunk(items, _model_on_worker(blob))
    return rows, errors, len(items)


def connect(scheduler: str | None):
    """A Client on the given scheduler address, or on a new LocalCluster of 2 worker processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise InputError("--engine dask needs dask.distributed: `pip install .[dask]`") from None
    if scheduler:
        try:
            return Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"--scheduler {scheduler}: could not connect ({exc}); check the address and that the scheduler runs") from None
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster)


def dask_results(chunks: Iterable[list[Item]], saved: SavedModel, scheduler: str | None) -> Iterator[tuple[list[dict], list[dict], int]]:
    """Label chunks on the cluster; yield results in input order with a bounded number in flight."""
    if saved.path is None:
        raise InputError("--engine dask needs a model saved in a folder")
    client = connect(scheduler)
    try:
        blob = ModelBlob((saved.path / MODEL_FILE).read_bytes(), saved.metadata)
        if hashlib.sha256(blob.data).hexdigest() != saved.metadata.get("model_sha256"):
            raise InputError(f"{saved.path / MODEL_FILE}: changed since it was loaded; reload and retry")
        [model] = client.scatter([blob], broadcast=True)
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        submitted = (client.submit(_label_on_worker, chunk, model, pure=False) for chunk in chunks)
        yield from ordered(submitted, IN_FLIGHT_PER_WORKER * workers)
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None and scheduler is None:
            cluster.close()
