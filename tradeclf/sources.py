"""Reading articles to label: .txt files, folders of them, JSON Lines, CSV and Parquet, streamed.

Each source yields Records (an id, the text, and where it came from) or RecordErrors for the records
that cannot be read, so a batch run labels the good ones and reports the bad ones by location.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from collections import Counter
from typing import Any, Iterable, Iterator, Union

from .errors import InputError

TABLE_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
TEXT_SUFFIXES = {".txt", ".text", ".md"}
STDIN = "-"


@dataclass(frozen=True)
class Record:
    """One article to label; `nbytes` is how much of the input it used (for the progress bar's ETA)."""

    id: str
    text: str
    location: str
    nbytes: int = 0
    fields: tuple = ()  # (name, value) pairs of input fields kept for the output rows (--keep)


@dataclass(frozen=True)
class RecordError:
    """A record that could not be read or labelled, and why."""

    location: str
    message: str
    nbytes: int = 0

    def to_dict(self) -> dict[str, str]:
        return {"location": self.location, "error": self.message}


Item = Union[Record, RecordError]


FOLDER_SUFFIXES = {".txt"} | set(TABLE_SUFFIXES)  # what a folder is expanded to (hidden files never)


def expand_inputs(paths: list[str], exclude: Iterable[Path] = ()) -> list[Path | str]:
    """Files as given; folders become their .txt and table files (recursively, sorted, hidden files and folders
    skipped, and never the run's own output or side files in `exclude`); '-' is stdin. Missing paths fail early."""
    skip = {Path(p).resolve() for p in exclude}
    out: list[Path | str] = []
    for raw in paths:
        if raw == STDIN:
            out.append(STDIN)
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FOLDER_SUFFIXES
                           and not any(part.startswith(".") for part in p.relative_to(path).parts)
                           and p.resolve() not in skip)
            if not found:
                raise InputError(f"{path}: the folder has no .txt, .jsonl, .csv or .parquet files to label")
            out.extend(found)
        elif path.is_file():
            if path.resolve() in skip:
                raise InputError(f"{path}: this is the run's own output (or one of its side files); it cannot also be an input")
            out.append(path)
        else:
            raise InputError(f"{path}: no such file or folder; check the path")
    return out


def text_ids(sources: list[Path | str]) -> dict[Path, str]:
    """The article id of each .txt input: its name without suffix, or its path when two names collide."""
    texts = [p for p in sources if isinstance(p, Path) and TABLE_SUFFIXES.get(p.suffix.lower()) is None]
    stems = Counter(p.stem for p in texts)
    return {p: (p.stem if stems[p.stem] == 1 else str(p.with_suffix(""))) for p in texts}


def input_fingerprint(sources: list[Path | str]) -> list[Any]:
    """What identifies the inputs' content for --resume: each file's path, size and modification time."""
    out: list[Any] = []
    for source in sources:
        if isinstance(source, Path):
            stat = source.stat()
            out.append([str(source.resolve()), stat.st_size, stat.st_mtime_ns])
        else:
            out.append(source)
    return out


def input_bytes(sources: list[Path | str]) -> int | None:
    """Total size of the inputs, or None when one is stdin (unknown)."""
    files = [s for s in sources if isinstance(s, Path)]
    if len(files) != len(sources):
        return None
    return sum(p.stat().st_size for p in files)


ALL_FIELDS = ("*",)
ROW_KEYS = ("article_id", "sentence_index", "start", "end", "text", "labels", "source", "probabilities")  # not keepable


def read_records(paths: list[str] | list[Path | str], text_field: str = "text", id_field: str = "id",
                 expanded: bool = False, keep: tuple[str, ...] = ()) -> Iterator[Item]:
    """Stream records from every input in order (`expanded`: the paths come from expand_inputs already).

    `keep` names input fields to carry into every output row (a missing one is null); ("*",) keeps every
    field but the text. A .txt file has the field `path`."""
    sources = list(paths) if expanded else expand_inputs([str(p) for p in paths])
    ids = text_ids(sources)
    for source in sources:
        if source == STDIN:
            yield from _text_record(sys.stdin.buffer.read(), "stdin", "<stdin>")
            continue
        assert isinstance(source, Path)
        kind = TABLE_SUFFIXES.get(source.suffix.lower())
        if kind == "jsonl":
            records = _jsonl_records(source, text_field, id_field)
        elif kind == "csv":
            records = _csv_records(source, text_field, id_field)
        elif kind == "parquet":
            records = _parquet_records(source, text_field, id_field, keep)
        else:
            records = _text_record(source.read_bytes(), ids.get(source, source.stem), str(source), {"path": str(source)})
        yield from (_kept(item, keep, text_field) for item in records) if keep else records


def _kept(item: Item, keep: tuple[str, ...], text_field: str) -> Item:
    """The record with only the kept fields (all but the text for ("*",)), in the order asked."""
    if not isinstance(item, Record):
        return item
    given = dict(item.fields)
    if keep == ALL_FIELDS:
        chosen = tuple((k, v) for k, v in given.items() if k != text_field and k not in ROW_KEYS)
    else:
        chosen = tuple((k, given.get(k)) for k in keep)
    return Record(item.id, item.text, item.location, item.nbytes, chosen)


def _text_record(data: bytes, record_id: str, location: str, fields: dict | None = None) -> Iterator[Item]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield RecordError(location, f"not UTF-8 text (bad byte at offset {exc.start}); re-save the file as UTF-8", len(data))
        return
    yield _checked(record_id, text, location, len(data), fields)


def _checked(record_id: object, text: object, location: str, nbytes: int = 0, fields: dict | None = None) -> Item:
    if not isinstance(text, str):
        return RecordError(location, f"text is {type(text).__name__}, not a string", nbytes)
    if not text.strip():
        return RecordError(location, "empty text; nothing to label", nbytes)
    return Record(str(record_id), text, location, nbytes, tuple((fields or {}).items()))


def _id_or(value: object, fallback: str) -> str:
    """An id from the input, or `fallback` (file:line) when it is missing, null or empty."""
    return fallback if value is None or (isinstance(value, str) and not value.strip()) else str(value)


def _jsonl_records(path: Path, text_field: str, id_field: str) -> Iterator[Item]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            location = f"{path}:{number}"
            if not raw.strip():
                continue
            size = len(raw)
            try:
                obj = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield RecordError(location, f"not UTF-8 (bad byte at column {exc.start + 1})", size)
                continue
            except json.JSONDecodeError as exc:
                yield RecordError(location, f"broken JSON line ({exc.msg} at column {exc.colno})", size)
                continue
            if not isinstance(obj, dict):
                yield RecordError(location, "the line is not a JSON object", size)
                continue
            if text_field not in obj:
                yield RecordError(location, f"no {text_field!r} field; name the text field with --text-field", size)
                continue
            yield _checked(_id_or(obj.get(id_field), f"{path.stem}:{number}"), obj[text_field], location, size, obj)


def _csv_records(path: Path, text_field: str, id_field: str) -> Iterator[Item]:
    """Rows of a UTF-8 CSV; a row with bytes that are not UTF-8 is reported by line and skipped, the rest read."""
    csv.field_size_limit(1 << 30)
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
        if any(_undecodable(c) for c in columns):
            raise InputError(f"{path}: the header is not UTF-8 text; re-save the CSV as UTF-8")
        if text_field not in columns:
            raise InputError(f"{path}: no column {text_field!r} (columns: {', '.join(columns) or 'none'}); "
                             "name the text column with --text-field")
        number, line = 1, reader.line_num
        for row in reader:
            location = f"{path}:{line + 1}"
            size = sum(len(v) for v in row.values() if isinstance(v, str)) + len(row)
            number, line = number + 1, reader.line_num
            if any(_undecodable(v) for v in row.values() if isinstance(v, str)):
                yield RecordError(location, "not UTF-8 (bad bytes in this row); re-save the CSV as UTF-8", size)
                continue
            yield _checked(_id_or(row.get(id_field), f"{path.stem}:{number}"), row[text_field], location, size, row)


_SURROGATE = re.compile("[\udc80-\udcff]")


def _undecodable(value: str) -> bool:
    """True when decoding with surrogateescape kept bytes that are not UTF-8."""
    return _SURROGATE.search(value) is not None


def _parquet_records(path: Path, text_field: str, id_field: str, keep: tuple[str, ...] = ()) -> Iterator[Item]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid and OSError subclasses
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
    columns = parquet.schema_arrow.names
    if text_field not in columns:
        raise InputError(f"{path}: no column {text_field!r} (columns: {', '.join(columns)}); name it with --text-field")
    extra = [c for c in columns if c != text_field] if keep == ALL_FIELDS else [c for c in keep if c in columns]
    wanted = list(dict.fromkeys([text_field] + ([id_field] if id_field in columns else []) + extra))
    row = 0
    for batch in parquet.iter_batches(columns=wanted, batch_size=2048):
        data = batch.to_pydict()
        for i, text in enumerate(data[text_field]):
            row += 1
            record_id = _id_or(data[id_field][i] if id_field in data else None, f"{path.stem}:{row}")
            fields = {c: data[c][i] for c in extra}
            yield _checked(record_id, text, f"{path}:row {row}", len(text.encode("utf-8")) if isinstance(text, str) else 0, fields)
