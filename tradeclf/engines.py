"""Where chunks are labelled: in this process, on N worker processes, or on a Dask cluster, behind one
function (`results`) that yields (rows, errors, records) per chunk in input order."""

from __future__ import annotations

import time
from typing import Iterable, Iterator

from . import chunking
from .api import get_model
from .chunking import ordered
from .errors import InputError, WorkerError
from .persistence import SavedModel
from .sources import Item

ENGINES = ("local", "dask")
Result = tuple[list[dict], list[dict], int]


def results(batches: Iterable[list[Item]], saved: SavedModel, engine: str = "local", jobs: int = 1,
            scheduler: str | None = None) -> Iterator[Result]:
    """Label every chunk with the chosen engine; results come back in input order."""
    if engine == "dask":
        from .distributed import dask_results

        return dask_results(batches, saved, scheduler)
    if engine != "local":
        raise InputError(f"--engine {engine!r}: use one of {', '.join(ENGINES)}")
    if jobs > 1:
        if saved.path is None:
            raise InputError("--jobs needs a model saved in a folder")
        return process_results(batches, str(saved.path), jobs)
    return ((*chunking.label_chunk(chunk, saved), len(chunk)) for chunk in batches)


_worker_model: SavedModel | None = None


def _init_worker(model_path: str) -> None:
    global _worker_model
    _exit_with_parent()
    _worker_model = get_model(model_path)


def _exit_with_parent() -> None:
    """A worker whose parent dies (even by SIGKILL, which runs no cleanup) exits within half a second,
    instead of labelling on as an orphan: a watchdog thread notices that its parent changed."""
    import os
    import threading

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True, name="tradeclf-parent-watch").start()


def _label_in_worker(items: list[Item]) -> tuple[list[dict], list[dict], int]:
    rows, errors = chunking.label_chunk(items, _worker_model)
    return rows, errors, len(items)


def process_results(batches: Iterable[list[Item]], model_path: str, jobs: int) -> Iterator[tuple[list[dict], list[dict], int]]:
    """Label chunks on `jobs` processes; a worker that dies stops the run with advice to resume."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    executor = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                                   initargs=(model_path,))
    try:
        yield from ordered((executor.submit(_label_in_worker, batch) for batch in batches), 2 * jobs,
                           lambda future: _result_while_workers_live(future, executor))
    except BrokenProcessPool:
        _abandon(executor)
        raise WorkerError(WORKER_DIED) from None
    except BaseException:
        _abandon(executor)
        raise
    executor.shutdown(wait=True)


WORKER_DIED = ("a worker process died (killed or out of memory); rerun the same command with --resume to continue "
               "from the last completed chunk")
LIVENESS_SECONDS = 1.0  # how often a wait for a chunk checks that every worker is still alive


def _result_while_workers_live(future, executor) -> Result:
    """The future's result, checking every LIVENESS_SECONDS that no worker died. Why: a worker killed while
    sending its result leaves a partial message in the pool's result pipe; the pool's own thread then waits
    for the rest forever and never reports the pool broken, so the run would hang instead of stopping."""
    from concurrent.futures import TimeoutError as FutureTimeout

    while True:
        try:
            return future.result(timeout=LIVENESS_SECONDS)
        except FutureTimeout:
            processes = list((getattr(executor, "_processes", None) or {}).values())
            if any(p.exitcode is not None and p.exitcode != 0 for p in processes):
                raise WorkerError(WORKER_DIED) from None


def _abandon(executor) -> None:
    """Stop a broken pool without joining it: cancel what is queued, terminate the workers, and close this
    process's end of the result pipe so the pool's thread, if stuck reading a partial message, gets EOF
    (joining it at exit would otherwise hang the run)."""
    processes = list((getattr(executor, "_processes", None) or {}).values())  # shutdown() forgets them
    writer = getattr(getattr(executor, "_result_queue", None), "_writer", None)
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    if writer is not None:
        try:
            writer.close()
        except OSError:
            pass
