"""Batch labelling: stream records from files, label them in chunks (on N processes if asked), and
write sentence rows as they go, checkpointed so an interrupted run can resume."""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator

from .api import ModelLike, get_model, predict_many
from .article import summarise
from .errors import InputError
from .persistence import SavedModel, atomic_write_bytes
from .schema import Schema
from .segment import split_sentences
from .sinks import STDOUT, FileSink, StdoutSink, infer_format
from .sources import Item, RecordError, read_records

CHUNK_RECORDS = 64


@dataclass
class RunReport:
    """What a batch run did."""

    records: int = 0
    sentences: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    resumed_from: int = 0
    seconds: float = 0.0
    output: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"records": self.records, "sentences": self.sentences, "errors": len(self.errors),
                "resumed_from": self.resumed_from, "seconds": round(self.seconds, 2), "output": self.output}


def label_chunk(items: list[Item], model: ModelLike = None) -> tuple[list[dict], list[dict]]:
    """Label the records of one chunk in a single vectorised call; errors pass through."""
    saved = get_model(model)
    rows, errors, texts, owners, article_ids, starts = [], [], [], [], [], []
    for number, item in enumerate(items):
        if isinstance(item, RecordError):
            errors.append(item.to_dict())
            continue
        spans = split_sentences(item.text)
        if not spans:
            errors.append(RecordError(item.location, "no sentences found in the text").to_dict())
            continue
        for index, span in enumerate(spans):
            texts.append(span.text)
            owners.append((item, index, span))
            article_ids.append(number)
            starts.append(span.start)
    for (record, index, span), prediction in zip(owners, predict_many(texts, saved, article_ids, starts)):
        rows.append({"article_id": record.id, "sentence_index": index, "start": span.start, "end": span.end,
                     "text": span.text, "labels": prediction.labels, "source": prediction.source,
                     "probabilities": prediction.probabilities})
    return rows, errors


def chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


_worker_model: SavedModel | None = None


def _init_worker(model_path: str) -> None:
    global _worker_model
    _worker_model = get_model(model_path)


def _label_in_worker(items: list[Item]) -> tuple[list[dict], list[dict], int]:
    rows, errors = label_chunk(items, _worker_model)
    return rows, errors, len(items)


def ordered(futures_of: Iterable, in_flight: int) -> Iterator:
    """Results of submitted futures in submission order, with at most `in_flight` pending (flat memory)."""
    pending: deque = deque()
    for future in futures_of:
        pending.append(future)
        if len(pending) >= in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def process_results(batches: Iterable[list[Item]], model_path: str, jobs: int) -> Iterator[tuple[list[dict], list[dict], int]]:
    """Label chunks on `jobs` processes; a worker that dies stops the run with advice to resume."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker,
                             initargs=(model_path,)) as executor:
        try:
            yield from ordered((executor.submit(_label_in_worker, batch) for batch in batches), 2 * jobs)
        except BrokenProcessPool:
            raise InputError("a worker process died (killed or out of memory); rerun the same command with --resume "
                             "to continue from the last completed chunk") from None


def write_summaries(rows_path: Path, summary_path: Path, schema: Schema) -> None:
    """One summary line per article, computed from the finished sentence rows (consecutive per article)."""
    def articles() -> Iterator[tuple[str, list[dict]]]:
        current, labels = None, []
        with rows_path.open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                if current is not None and (row["article_id"] != current or row["sentence_index"] == 0):
                    yield current, labels
                    labels = []
                current = row["article_id"]
                labels.append(row["labels"])
        if current is not None:
            yield current, labels

    lines = (json.dumps({"article_id": aid, **summarise(labels, schema)}, ensure_ascii=False) for aid, labels in articles())
    atomic_write_bytes(summary_path, ("\n".join(lines) + "\n").encode())


def label_files(inputs: list[str], output: str = STDOUT, fmt: str | None = None, model: ModelLike = None,
                text_field: str = "text", id_field: str = "id", summary: str | None = None, errors: str | None = None,
                resume: bool = False, overwrite: bool = False, jobs: int = 1, strict: bool = False,
                chunk_records: int = CHUNK_RECORDS, progress: bool | None = None, engine: str = "local",
                scheduler: str | None = None) -> RunReport:
    """Label every article in `inputs` into `output`; see `tradeclf label --help` for the options."""
    from tqdm import tqdm

    started = time.perf_counter()
    if engine not in ("local", "dask"):
        raise InputError(f"--engine {engine!r}: use local or dask")
    saved = get_model(model)
    fmt = infer_format(output, fmt)
    if output == STDOUT:
        if resume or summary:
            raise InputError("-o -: --resume and --summary need an output file")
        sink: StdoutSink | FileSink = StdoutSink(fmt, saved.schema)
    else:
        fingerprint = {"inputs": [str(Path(p).resolve()) if p != "-" else p for p in inputs], "format": fmt,
                       "text_field": text_field, "id_field": id_field, "model": saved.metadata.get("model_sha256")}
        errors = errors or f"{output}.errors.jsonl"
        sink = FileSink(output, fmt, saved.schema, errors, resume=resume, overwrite=overwrite, fingerprint=fingerprint)
    report = RunReport(resumed_from=sink.resumed_records, output=output, records=sink.resumed_records)
    items = islice(read_records(inputs, text_field, id_field), sink.resumed_records, None)
    bar = tqdm(unit=" articles", initial=sink.resumed_records, disable=None if progress is None else not progress,
               desc="labelling", leave=False)
    try:
        if strict:
            items = _stop_at_first_error(items)
        if engine == "dask":
            from .distributed import dask_results

            results = dask_results(chunks(items, chunk_records), saved, scheduler)
        elif jobs > 1:
            if saved.path is None:
                raise InputError("--jobs needs a model saved in a folder")
            results = process_results(chunks(items, chunk_records), str(saved.path), jobs)
        else:
            results = ((*label_chunk(chunk, saved), len(chunk)) for chunk in chunks(items, chunk_records))
        for rows, chunk_errors, n in results:
            report.records += n
            report.sentences += len(rows)
            report.errors.extend(chunk_errors)
            sink.write(rows, chunk_errors, report.records)
            bar.update(n)
        if summary and isinstance(sink, FileSink):
            sink.rows_handle.flush()
            write_summaries(sink.partial, Path(summary), saved.schema)
        sink.commit()
    except BaseException:
        sink.abort()
        raise
    finally:
        bar.close()
    report.seconds = time.perf_counter() - started
    return report


def _stop_at_first_error(items: Iterable[Item]) -> Iterator[Item]:
    for item in items:
        if isinstance(item, RecordError):
            raise InputError(f"{item.location}: {item.message} (--strict stops at the first bad record)")
        yield item


__all__ = ["label_files", "label_chunk", "RunReport"]
