"""Reading articles to label: .txt files, folders of them, JSON Lines, CSV and Parquet, streamed.

Each source yields Records (an id, the text, and where it came from) or RecordErrors for the records
that cannot be read, so a batch run labels the good ones and reports the bad ones by location.
"""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Union

from .errors import InputError

TABLE_SUFFIXES = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}
TEXT_SUFFIXES = {".txt", ".text", ".md"}
STDIN = "-"


@dataclass(frozen=True)
class Record:
    """One article to label."""

    id: str
    text: str
    location: str


@dataclass(frozen=True)
class RecordError:
    """A record that could not be read or labelled, and why."""

    location: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"location": self.location, "error": self.message}


Item = Union[Record, RecordError]


def expand_inputs(paths: list[str]) -> list[Path | str]:
    """Files as given; folders become their .txt and table files, sorted; '-' is stdin. Missing paths fail early."""
    out: list[Path | str] = []
    for raw in paths:
        if raw == STDIN:
            out.append(STDIN)
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and (p.suffix.lower() in TEXT_SUFFIXES | set(TABLE_SUFFIXES)))
            if not found:
                raise InputError(f"{path}: the folder has no .txt, .jsonl, .csv or .parquet files to label")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise InputError(f"{path}: no such file or folder")
    return out


def read_records(paths: list[str], text_field: str = "text", id_field: str = "id") -> Iterator[Item]:
    """Stream records from every input in order."""
    for source in expand_inputs(paths):
        if source == STDIN:
            yield from _text_record(sys.stdin.buffer.read(), "stdin", "<stdin>")
            continue
        kind = TABLE_SUFFIXES.get(source.suffix.lower())
        if kind == "jsonl":
            yield from _jsonl_records(source, text_field, id_field)
        elif kind == "csv":
            yield from _csv_records(source, text_field, id_field)
        elif kind == "parquet":
            yield from _parquet_records(source, text_field, id_field)
        else:
            yield from _text_record(source.read_bytes(), source.stem, str(source))


def _text_record(data: bytes, record_id: str, location: str) -> Iterator[Item]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield RecordError(location, f"not UTF-8 text (bad byte at offset {exc.start}); re-save the file as UTF-8")
        return
    yield _checked(record_id, text, location)


def _checked(record_id: str, text: object, location: str) -> Item:
    if not isinstance(text, str):
        return RecordError(location, f"text is {type(text).__name__}, not a string")
    if not text.strip():
        return RecordError(location, "empty text; nothing to label")
    return Record(str(record_id), text, location)


def _jsonl_records(path: Path, text_field: str, id_field: str) -> Iterator[Item]:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            location = f"{path}:{number}"
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                yield RecordError(location, f"not UTF-8 (bad byte at column {exc.start + 1})")
                continue
            except json.JSONDecodeError as exc:
                yield RecordError(location, f"broken JSON line ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(obj, dict):
                yield RecordError(location, "the line is not a JSON object")
                continue
            if text_field not in obj:
                yield RecordError(location, f"no {text_field!r} field; name the text field with --text-field")
                continue
            yield _checked(obj.get(id_field, f"{path.stem}:{number}"), obj[text_field], location)


def _csv_records(path: Path, text_field: str, id_field: str) -> Iterator[Item]:
    csv.field_size_limit(1 << 30)
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
        reader = csv.DictReader(handle)
        columns = reader.fieldnames or []
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text; re-save the CSV as UTF-8") from None
    with handle:
        if text_field not in columns:
            raise InputError(f"{path}: no column {text_field!r} (columns: {', '.join(columns) or 'none'}); "
                             "name the text column with --text-field")
        number = 1
        try:
            for row in reader:
                location = f"{path}:{reader.line_num}"
                number += 1
                yield _checked(row.get(id_field) or f"{path.stem}:{number}", row[text_field], location)
        except UnicodeDecodeError as exc:
            yield RecordError(f"{path}:{reader.line_num + 1}", f"not UTF-8 from here on ({exc.reason}); re-save the CSV as UTF-8")


def _parquet_records(path: Path, text_field: str, id_field: str) -> Iterator[Item]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid and OSError subclasses
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
    columns = parquet.schema_arrow.names
    if text_field not in columns:
        raise InputError(f"{path}: no column {text_field!r} (columns: {', '.join(columns)}); name it with --text-field")
    wanted = [text_field] + ([id_field] if id_field in columns else [])
    row = 0
    for batch in parquet.iter_batches(columns=wanted, batch_size=2048):
        data = batch.to_pydict()
        for i, text in enumerate(data[text_field]):
            row += 1
            record_id = data[id_field][i] if id_field in data else f"{path.stem}:{row}"
            yield _checked(record_id, text, f"{path}:row {row}")
