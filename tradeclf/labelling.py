"""Batch labelling: stream records from files, label them in chunks (on N processes if asked), and
write sentence rows as they go, checkpointed so an interrupted run can resume."""

from __future__ import annotations

import json
import time
from collections import deque
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import Any, Iterable, Iterator

from . import engines
from .api import ModelLike, get_model
from .article import summarise
from .chunking import MAX_ARTICLE_CHARS, chunks, label_chunk
from .errors import InputError, TradeclfError, WorkerError
from .persistence import atomic_write_bytes
from .schema import Schema
from .sinks import STDOUT, FileSink, StdoutSink, infer_format, run_files
from .sources import (ROW_KEYS, Item, Record, RecordError, expand_inputs, input_bytes, input_fingerprint,
                      read_records)

CHUNK_RECORDS = 64


@dataclass(frozen=True)
class LabelOptions:
    """How a batch run reads, labels and writes (the options of `tradeclf label`)."""

    output: str = STDOUT  # a .jsonl/.csv/.parquet file, or "-" for stdout
    fmt: str | None = None  # jsonl, csv, parquet, text; None: from the output's suffix
    text_field: str = "text"
    id_field: str = "id"
    summary: str | None = None  # one summary line per article (JSON Lines) here
    errors: str | None = None  # records not labelled (default OUTPUT.errors.jsonl)
    resume: bool = False
    overwrite: bool = False
    jobs: int = 1
    strict: bool = False
    keep: tuple[str, ...] = ()  # input fields carried into every row and summary; ("*",): all but the text
    chunk_records: int = CHUNK_RECORDS
    progress: bool | None = None  # None: a bar when stderr is a terminal
    engine: str = "local"
    scheduler: str | None = None


@dataclass
class RunReport:
    """What a batch run did."""

    records: int = 0
    sentences: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    resumed_from: int = 0
    seconds: float = 0.0
    output: str = ""

    @property
    def skipped(self) -> list[dict[str, Any]]:
        """Records not labelled (errors that are not mere warnings such as a renamed duplicate id)."""
        return [e for e in self.errors if not e.get("warning")]

    def to_dict(self) -> dict[str, Any]:
        return {"records": self.records, "sentences": self.sentences, "errors": len(self.skipped),
                "warnings": len(self.errors) - len(self.skipped),
                "resumed_from": self.resumed_from, "seconds": round(self.seconds, 2), "output": self.output}


def write_summaries(rows_path: Path, summary_path: Path, schema: Schema) -> None:
    """One summary line per article, computed from the finished sentence rows (consecutive per article)."""
    def articles() -> Iterator[tuple[dict, list[dict]]]:
        head: dict | None = None
        labels: list[dict] = []
        with rows_path.open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                if head is not None and (row["article_id"] != head["article_id"] or row["sentence_index"] == 0):
                    yield head, labels
                    labels = []
                if not labels:  # the article id and the kept input fields, from its first row
                    head = {k: v for k, v in row.items() if k == "article_id" or k not in ROW_KEYS}
                labels.append(row["labels"])
        if head is not None:
            yield head, labels

    lines = (json.dumps({**head, **summarise(labels, schema)}, ensure_ascii=False) for head, labels in articles())
    atomic_write_bytes(summary_path, ("\n".join(lines) + "\n").encode())


def label_files(inputs: list[str], output: str = STDOUT, *, model: ModelLike = None, options: LabelOptions | None = None,
                **settings: Any) -> RunReport:
    """Label every article in `inputs` into `output`, with `options` (a LabelOptions) or its fields as keywords
    (`label_files(["news.csv"], "out.parquet", text_field="body", jobs=2)`); see `tradeclf label --help`.

    Everything a user can get wrong (inputs, options, existing files) is checked before anything is written;
    a user error found later (a CSV without the text column, --strict) removes what the run wrote, and an
    interruption (Ctrl-C, a kill, a dead worker) leaves a checkpoint for --resume.
    """
    try:
        opts = replace(options or LabelOptions(), output=output, **settings)
    except TypeError as exc:
        raise InputError(f"label_files: {exc}") from None
    return _label(inputs, opts, model)


def _label(inputs: list[str], opts: LabelOptions, model: ModelLike) -> RunReport:
    output, fmt, text_field, id_field = opts.output, opts.fmt, opts.text_field, opts.id_field
    summary, errors, resume, overwrite = opts.summary, opts.errors, opts.resume, opts.overwrite
    jobs, strict, chunk_records, progress = opts.jobs, opts.strict, opts.chunk_records, opts.progress
    engine, scheduler, keep = opts.engine, opts.scheduler, tuple(opts.keep)
    clashes = [name for name in keep if name in ROW_KEYS]
    if clashes:
        raise InputError(f"--keep {','.join(clashes)}: these names are row columns already; rename the input field(s)")
    from tqdm import tqdm

    started = time.perf_counter()
    if engine not in engines.ENGINES:
        raise InputError(f"--engine {engine!r}: use one of {', '.join(engines.ENGINES)}")
    saved = get_model(model)
    fmt = infer_format(output, fmt)
    if output == STDOUT:
        if resume or summary or errors:
            raise InputError("-o -: --resume, --summary and --errors need an output file (errors go to stderr)")
        sources = expand_inputs(inputs)
        sink: StdoutSink | FileSink = StdoutSink(fmt, saved.schema)
    else:
        errors = errors or f"{output}.errors.jsonl"
        never_inputs = run_files(Path(output), Path(errors)) + ([Path(summary)] if summary else [])
        sources = expand_inputs(inputs, exclude=never_inputs)
        for extra in (summary, errors):
            if extra and Path(extra).exists() and not (overwrite or resume):
                raise InputError(f"{extra}: already exists; choose another name, or add --overwrite to replace it")
        fingerprint = {"inputs": input_fingerprint(sources), "format": fmt, "text_field": text_field, "keep": list(keep),
                       "id_field": id_field, "model": saved.metadata.get("model_sha256")}
        sink = FileSink(output, fmt, saved.schema, errors, resume=resume, overwrite=overwrite, fingerprint=fingerprint)
    report = RunReport(resumed_from=sink.resumed_records, output=output, records=sink.resumed_records)
    warnings: list[dict] = []
    items: Iterator[Item] = islice(_unique_ids(read_records(sources, text_field, id_field, expanded=True, keep=keep), warnings, sink.resumed_records),
                   sink.resumed_records, None)
    total = input_bytes(sources)
    sizes: deque = deque()
    bar = tqdm(total=total, unit="B", unit_scale=True, desc="labelling", leave=False,
               disable=None if progress is None else not progress)
    try:
        if strict:
            items = _stop_at_first_error(items)
        batches = _measured(chunks(items, chunk_records), sizes)
        results = engines.results(batches, saved, engine, jobs, scheduler)
        for rows, chunk_errors, n in results:
            chunk_errors = chunk_errors + warnings
            warnings.clear()
            report.records += n
            report.sentences += len(rows)
            report.errors.extend(chunk_errors)
            sink.write(rows, chunk_errors, report.records)
            bar.update(sizes.popleft() if sizes else 0)
        if summary and isinstance(sink, FileSink):
            sink.rows_handle.flush()
            write_summaries(sink.partial, Path(summary), saved.schema)
        sink.commit()
    except TradeclfError as exc:
        if isinstance(exc, WorkerError):
            sink.abort()  # resumable: the inputs are fine
        else:
            sink.discard()  # the inputs or options must change: a rerun starts clean
        raise
    except BaseException:
        sink.abort()
        raise
    finally:
        bar.close()
    report.seconds = time.perf_counter() - started
    return report


def _measured(batches: Iterable[list[Item]], sizes: deque) -> Iterator[list[Item]]:
    """Pass chunks through, noting each chunk's input bytes (results come back in order: the bar pops them)."""
    for batch in batches:
        sizes.append(sum(item.nbytes for item in batch))
        yield batch


def _unique_ids(items: Iterable[Item], warnings: list[dict], already_done: int) -> Iterator[Item]:
    """Records with ids made unique: a repeated id gets '#2', '#3'... and a warning in the errors file (only for
    records not already labelled before a --resume, so the warnings are not written twice)."""
    seen: dict[str, int] = {}
    for number, item in enumerate(items):
        if isinstance(item, Record):
            count = seen.get(item.id, 0) + 1
            seen[item.id] = count
            if count > 1:
                renamed = f"{item.id}#{count}"
                if number >= already_done:
                    warnings.append({"location": item.location, "error": f"duplicate id {item.id!r}; labelled as {renamed!r}",
                                     "warning": True})
                item = replace(item, id=renamed)  # kept fields and all
        yield item


def label_frame(frame: Any, text: str = "text", id: str = "id", keep: Iterable[str] | None = None,
                model: ModelLike = None) -> Any:
    """One row per sentence of every article in a pandas DataFrame: its id, the kept columns (all but the text
    by default), sentence index, offsets, text, labels (one column per task; lists for multi-label tasks),
    the attributed source and each label's probability (`p_TASK_LABEL`)."""
    import pandas as pd

    from .sinks import flat_row

    if text not in frame.columns:
        raise InputError(f"label_frame: no column {text!r} (columns: {', '.join(map(str, frame.columns))})")
    kept = [c for c in frame.columns if c not in (text, id)] if keep is None else list(keep)
    missing = [c for c in kept if c not in frame.columns]
    if missing:
        raise InputError(f"label_frame: keep names missing column(s) {', '.join(missing)}")
    saved = get_model(model)
    ids = frame[id].tolist() if id in frame.columns else list(range(len(frame)))
    records = [Record(str(i), t, f"row {n}", 0, tuple((c, v) for c, v in zip(kept, values)))
               if isinstance(t, str) and t.strip() else RecordError(f"row {n}", "empty or missing text")
               for n, (i, t, values) in enumerate(zip(ids, frame[text].tolist(), frame[kept].itertuples(index=False, name=None)))]
    rows: list[dict] = []
    for chunk in chunks(records, CHUNK_RECORDS):
        labelled, _ = label_chunk(chunk, saved)
        for row in labelled:
            flat = flat_row(row, saved.schema)
            for task in saved.schema.tasks:  # keep lists (not "a|b") in a DataFrame
                flat[task.name] = row["labels"][task.name]
            rows.append(flat)
    return pd.DataFrame(rows)


def _stop_at_first_error(items: Iterable[Item]) -> Iterator[Item]:
    for item in items:
        if isinstance(item, RecordError):
            raise InputError(f"{item.location}: {item.message} (--strict stops at the first bad record)")
        yield item


__all__ = ["label_files", "label_frame", "label_chunk", "LabelOptions", "RunReport", "MAX_ARTICLE_CHARS"]
