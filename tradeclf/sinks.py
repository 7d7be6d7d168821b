"""Writing labelled sentences as JSON Lines, CSV or Parquet, atomically and resumably.

Rows go first to a hidden partial JSON Lines file beside the output, with a checkpoint recording how
many input records are done and how many bytes of rows and errors belong to them. When the run ends
the partial file is converted to the requested format and renamed into place, so an output appears
whole or not at all; an interrupted run continues from the checkpoint with --resume.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator

from .errors import InputError, OutputBusyError
from .persistence import atomic_write_bytes, fsync_folder
from .schema import Schema

FORMATS = ("jsonl", "csv", "parquet")
STDOUT_FORMATS = FORMATS + ("text",)
STDOUT = "-"
MULTI_LABEL_SEPARATOR = "|"
PARQUET_BATCH_ROWS = 20_000


def run_files(output: Path, errors: Path | None) -> list[Path]:
    """The files a run into `output` writes besides it (partial rows and errors, checkpoint, lock, errors file)."""
    folder, name = output.parent, output.name
    hidden = [folder / f".{name}.{suffix}" for suffix in ("partial.jsonl", "errors.partial.jsonl", "checkpoint.json", "lock", "final")]
    return [output, *hidden, *([errors] if errors else [])]


def infer_format(output: str, given: str | None) -> str:
    """The --format given, else from the output's suffix, else jsonl."""
    allowed = STDOUT_FORMATS if output == STDOUT else FORMATS
    if given is not None and given not in allowed:
        raise InputError(f"--format {given!r} is not supported for {'stdout' if output == STDOUT else output}; "
                         f"use one of {', '.join(allowed)}")
    suffix = Path(output).suffix.lower().lstrip(".")
    from_suffix = {"ndjson": "jsonl", "json": "jsonl"}.get(suffix, suffix if suffix in FORMATS else None)
    if output == STDOUT:
        return given or "jsonl"
    if given is not None:
        if from_suffix is not None and from_suffix != given:
            raise InputError(f"{output}: the suffix says {from_suffix} but --format says {given}; make them agree")
        return given
    if from_suffix is None:
        raise InputError(f"{output}: cannot tell the format from the suffix {Path(output).suffix or '(none)'!r}; "
                         f"name the file .jsonl, .csv or .parquet, or give --format")
    return from_suffix


def flat_row(row: dict[str, Any], schema: Schema) -> dict[str, Any]:
    """A sentence row with one column per task and one per task-label probability (for CSV/Parquet)."""
    flat = {k: (v if v is None or isinstance(v, (str, int, float, bool)) else json.dumps(v, ensure_ascii=False))
            for k, v in row.items() if k not in ("labels", "probabilities", "source")}
    source = row.get("source") or {}
    for key in ("text", "start", "end", "type"):  # one column each, empty for narration
        flat[f"source_{key}"] = source.get(key)
    for task in schema.tasks:
        value = row["labels"][task.name]
        flat[task.name] = MULTI_LABEL_SEPARATOR.join(value) if task.multi_label else value
    for task in schema.tasks:
        for label in task.labels:
            flat[f"p_{task.name}_{label}"] = row["probabilities"][task.name][label]
    return flat


def readable_summary(summary: dict[str, Any]) -> str:
    """An article summary in one line of prose-like text: shares as percentages (zeros left out), scores signed."""
    parts = [f"{summary.get('sentences', 0)} sentences"]
    for key, value in summary.items():
        if key == "sentences" or key.endswith("_sentences"):
            continue
        name = key.replace("_", " ")
        if key.endswith("_shares") and isinstance(value, dict):
            shown = ", ".join(f"{label} {share:.0%}" for label, share in sorted(value.items(), key=lambda kv: -kv[1]) if share)
            parts.append(f"{name[:-7]}: {shown or 'none'}")
        elif isinstance(value, dict):  # a cross-tabulation: {first label: {second label: count}}
            shown = "; ".join(f"{outer} " + ", ".join(f"{inner} {n}" for inner, n in inner_counts.items())
                              for outer, inner_counts in value.items())
            parts.append(f"{name}: {shown}")
        elif value is None:
            parts.append(f"{name}: n/a (no sentence on it)")
        else:
            parts.append(f"{name} {value:+.2f} ({summary.get(key + '_sentences', '?')} sentences)")
    return "; ".join(parts)


class StdoutSink:
    """Rows straight to standard output (JSON Lines, CSV, or readable text); nothing to resume."""

    resumed_records = 0

    def __init__(self, fmt: str, schema: Schema) -> None:
        if fmt == "parquet":
            raise InputError("-o -: Parquet cannot be written to stdout; give a file name")
        self.fmt, self.schema = fmt, schema
        self._writer: csv.DictWriter | None = None
        self._article: str | None = None
        self._labels: list[dict[str, Any]] = []

    def _text(self, rows: list[dict[str, Any]]) -> None:
        """One line per sentence with its labels, and the article summary after each article."""
        for row in rows:
            if row["article_id"] != self._article or row["sentence_index"] == 0:
                self._end_article()
                self._article = row["article_id"]
                print(f"== {row['article_id']}")
            self._labels.append(row["labels"])
            labels = " | ".join(f"{task}: {', '.join(v) if isinstance(v, list) else v}" if v else f"{task}: -"
                                for task, v in row["labels"].items())
            source = row.get("source")
            said = f"      source: {source['text']} ({source['type'] or 'untyped'}, chars {source['start']}-{source['end']})\n" if source else ""
            print(f"[{row['sentence_index']}] {row['text']}\n{said}      {labels}")

    def _end_article(self) -> None:
        from .article import summarise

        if self._article is not None:
            print(f"-- summary of {self._article}: {readable_summary(summarise(self._labels, self.schema))}\n")
        self._labels = []

    def write(self, rows: list[dict[str, Any]], errors: list[dict[str, Any]], records_done: int) -> None:
        if self.fmt == "jsonl":
            sys.stdout.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        elif self.fmt == "text":
            self._text(rows)
        else:
            for row in rows:
                flat = flat_row(row, self.schema)
                if self._writer is None:
                    self._writer = csv.DictWriter(sys.stdout, fieldnames=list(flat))
                    self._writer.writeheader()
                self._writer.writerow(flat)
        sys.stdout.flush()  # skipped records are reported once, by the caller

    def commit(self) -> None:
        if self.fmt == "text":
            self._end_article()
        sys.stdout.flush()

    def abort(self) -> None:
        pass

    def discard(self) -> None:
        pass


class FileSink:
    """A file output written through a checkpointed partial file."""

    def __init__(self, output: str, fmt: str, schema: Schema, errors_path: str | None, resume: bool = False,
                 overwrite: bool = False, fingerprint: dict[str, Any] | None = None) -> None:
        self.output, self.fmt, self.schema = Path(output), fmt, schema
        self.errors_path = Path(errors_path) if errors_path else None
        folder = self.output.parent
        if not folder.is_dir():
            raise InputError(f"{output}: the folder {folder} does not exist; create it first")
        if not os.access(folder, os.W_OK):
            raise InputError(f"{output}: the folder {folder} is not writable")
        self.partial = folder / f".{self.output.name}.partial.jsonl"
        self.partial_errors = folder / f".{self.output.name}.errors.partial.jsonl"
        self.checkpoint = folder / f".{self.output.name}.checkpoint.json"
        self.lock_path = folder / f".{self.output.name}.lock"
        self.fingerprint = fingerprint or {}
        self.resumed_records = 0
        self._lock_fd: int | None = self._lock(output)  # held for the run's life: a second run into this output is refused
        try:
            if resume and self.checkpoint.exists():
                self._resume()
            else:
                if self.checkpoint.exists() and not overwrite:
                    raise InputError(f"{output}: an earlier run into this output was interrupted; add --resume to continue it "
                                     "or --overwrite to start again")
                if self.output.exists() and not overwrite:
                    raise InputError(f"{output}: already exists; choose another -o, or add --overwrite to replace it")
                self.partial.write_bytes(b"")
                self.partial_errors.write_bytes(b"")
            self.rows_handle = self.partial.open("ab")
            self.errors_handle = self.partial_errors.open("ab")
            if not self.resumed_records:  # from the first moment, an interruption leaves a run to resume
                self._save_checkpoint(0)
        except BaseException:
            self._unlock()
            raise

    def _lock(self, output: str) -> int:
        """An exclusive lock on OUTPUT's lock file, holding our pid; refuse if another run holds it."""
        import fcntl

        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise OutputBusyError(f"{output}: another tradeclf run (pid {holder}) is writing this output; wait for it to "
                                  "finish, or stop it and rerun with --resume") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            self.lock_path.unlink(missing_ok=True)
            os.close(self._lock_fd)
            self._lock_fd = None

    def _resume(self) -> None:
        try:
            state = json.loads(self.checkpoint.read_text(encoding="utf-8"))
            int(state["records_done"]), int(state["rows_bytes"]), int(state["errors_bytes"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            raise InputError(f"{self.checkpoint}: the checkpoint of the interrupted run is damaged; rerun with --overwrite "
                             "to start again") from None
        if state.get("fingerprint") != self.fingerprint:
            raise InputError(f"{self.output}: the interrupted run used other inputs (or they changed since), options or "
                             "model; --resume needs the same command on the same files (or use --overwrite to start again)")
        if not self.partial.exists() or self.partial.stat().st_size < state["rows_bytes"]:
            raise InputError(f"{self.partial}: the partial output is missing or shorter than its checkpoint; use --overwrite")
        if not self.partial_errors.exists():
            self.partial_errors.write_bytes(b"")
        for path, size in ((self.partial, state["rows_bytes"]), (self.partial_errors, state["errors_bytes"])):
            with path.open("ab") as handle:  # drop whatever was written after the last checkpoint
                handle.truncate(size)
        self.resumed_records = state["records_done"]

    def write(self, rows: list[dict[str, Any]], errors: list[dict[str, Any]], records_done: int) -> None:
        """Append one chunk's rows and errors, make them durable, then move the checkpoint past them."""
        self.rows_handle.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())
        self.errors_handle.write("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in errors).encode())
        for handle in (self.rows_handle, self.errors_handle):
            handle.flush()
            os.fsync(handle.fileno())
        self._save_checkpoint(records_done)

    def _save_checkpoint(self, records_done: int) -> None:
        state = {"records_done": records_done, "rows_bytes": self.rows_handle.tell(),
                 "errors_bytes": self.errors_handle.tell(), "fingerprint": self.fingerprint}
        atomic_write_bytes(self.checkpoint, json.dumps(state).encode())

    def _partial_rows(self) -> Iterator[dict[str, Any]]:
        with self.partial.open(encoding="utf-8") as handle:
            for line in handle:
                yield json.loads(line)

    def commit(self) -> None:
        """Convert the partial rows to the output format beside the target, then rename into place."""
        self.rows_handle.close()
        self.errors_handle.close()
        final_tmp = self.output.parent / f".{self.output.name}.final"
        try:
            if self.fmt == "jsonl":
                os.replace(self.partial, final_tmp)
            elif self.fmt == "csv":
                _write_csv(final_tmp, (flat_row(r, self.schema) for r in self._partial_rows()))
            else:
                _write_parquet(final_tmp, (flat_row(r, self.schema) for r in self._partial_rows()))
            with final_tmp.open("rb") as handle:
                os.fsync(handle.fileno())
            os.chmod(final_tmp, 0o644)
            os.replace(final_tmp, self.output)
            if self.errors_path is not None:
                if self.partial_errors.stat().st_size:
                    os.replace(self.partial_errors, self.errors_path)
                else:  # an --overwrite rerun without errors leaves no stale errors file behind
                    self.errors_path.unlink(missing_ok=True)
            fsync_folder(self.output.parent)
        except BaseException:
            final_tmp.unlink(missing_ok=True)
            raise
        for path in (self.partial, self.partial_errors, self.checkpoint):
            path.unlink(missing_ok=True)
        self._unlock()

    def abort(self) -> None:
        """Leave the partial files and checkpoint for --resume (an interruption); close handles, release the lock."""
        self.rows_handle.close()
        self.errors_handle.close()
        self._unlock()

    def discard(self) -> None:
        """Remove everything this run wrote (a user error: the corrected rerun starts clean, without --resume)."""
        self.rows_handle.close()
        self.errors_handle.close()
        for path in (self.partial, self.partial_errors, self.checkpoint):
            path.unlink(missing_ok=True)
        self._unlock()

    def side_files(self) -> list[Path]:
        """Files of this run that are never inputs: the output, its errors file, partial files, checkpoint, lock."""
        files = [self.output, self.partial, self.partial_errors, self.checkpoint, self.lock_path]
        return files + ([self.errors_path] if self.errors_path else [])


def _write_csv(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = None
        for row in rows:
            if writer is None:
                writer = csv.DictWriter(handle, fieldnames=list(row))
                writer.writeheader()
            writer.writerow(row)


def _write_parquet(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer: Any = None
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal writer
        table = pa.Table.from_pylist(batch)
        if writer is None:  # source columns are all null in a batch of narration: give them their real types
            fixed = {"source_text": pa.string(), "source_type": pa.string(), "source_start": pa.int64(), "source_end": pa.int64()}
            schema = pa.schema([pa.field(f.name, fixed.get(f.name, pa.string() if pa.types.is_null(f.type) else f.type))
                                for f in table.schema])
            writer = pq.ParquetWriter(path, schema)
        writer.write_table(table.cast(writer.schema))
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= PARQUET_BATCH_ROWS:
            flush()
    if batch:
        flush()
    if writer is None:
        pq.write_table(pa.table({}), path)
    else:
        writer.close()
