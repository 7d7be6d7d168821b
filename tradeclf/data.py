"""Loading labelled corpora: our data/ folder format, or anything `datasets` can load.

A Corpus is the schema plus one flat row per sentence (text, article id, split, one value per task),
whatever the source, so training and evaluation never care where the data came from.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import DataError
from .schema import SCHEMA_FILE, Schema, Task, load_schema
from .validate import ARTICLES_FILE, SENTENCES_FILE, Problem, check_corpus, check_labels

MAX_PROBLEMS_SHOWN = 50


@dataclass
class Corpus:
    """Sentences with labels, by split; `articles` is empty when the source has no article table."""

    schema: Schema
    sentences: list[dict[str, Any]]
    articles: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""
    actors_text: str = ""  # the actor table (data/actors/*.tsv) that types attributed sources; "" for none

    def actor_table(self):
        """The corpus's ActorTable, or None when the corpus has no actors/ folder."""
        from .actors import ActorTable

        return ActorTable.from_text(self.actors_text, f"{self.source}/actors") if self.actors_text.strip() else None

    def split(self, *names: str) -> list[dict[str, Any]]:
        return [s for s in self.sentences if s["split"] in names]

    def subset(self, name: str) -> list[dict[str, Any]]:
        """Rows of a split ("test"), or of one origin within a split ("real-test", "written-test")."""
        origin, _, split = name.rpartition("-")
        if origin in ("real", "written"):
            return [s for s in self.sentences if s["split"] == split and s.get("origin", "written") == origin]
        return self.split(name)

    @property
    def origins(self) -> list[str]:
        return sorted({s.get("origin", "written") for s in self.sentences})

    def texts(self, rows: list[dict[str, Any]]) -> list[str]:
        return [r[self.schema.text_field] for r in rows]

    def labels(self, rows: list[dict[str, Any]]) -> dict[str, list]:
        """Task name -> list of labels (a list of label lists for multi-label tasks)."""
        return {t.name: [r[t.name] for r in rows] for t in self.schema.tasks}

    @property
    def split_names(self) -> list[str]:
        return sorted({s["split"] for s in self.sentences})

    def fingerprint(self) -> str:
        """SHA-256 of everything training reads, so a model can say which data made it."""
        digest = hashlib.sha256()
        digest.update(json.dumps(self.schema.to_dict(), sort_keys=True).encode())
        keep = [self.schema.text_field, "article_id", "split", *self.schema.task_names]
        for row in sorted(self.sentences, key=lambda r: (r["article_id"], r.get("index", 0), r.get("id", ""))):
            fields = {k: row[k] for k in keep}
            fields["origin"] = row.get("origin", "written")
            digest.update(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode())
        if self.actors_text:  # the actor table is training data too: a changed table makes a stale model
            digest.update(b"actors\n" + self.actors_text.encode("utf-8"))
        return digest.hexdigest()

    def to_datasets(self):
        """The sentences as a `datasets.DatasetDict` keyed by split, with ClassLabel features."""
        import datasets

        from .schema import datasets_features

        features = datasets_features(self.schema)
        splits = {}
        for name in self.split_names:
            rows = [{k: r.get(k) for k in features} for r in self.split(name)]
            splits[name] = datasets.Dataset.from_list(rows, features=features)
        return datasets.DatasetDict(splits)


def raise_on_errors(problems: list[Problem], source: str, strict: bool = False) -> None:
    """Turn validation problems into one DataError listing them all (warnings only when strict)."""
    failing = [p for p in problems if p.level == "error" or strict]
    if failing:
        shown = "\n".join(f"  {p}" for p in failing[:MAX_PROBLEMS_SHOWN])
        more = f"\n  ... and {len(failing) - MAX_PROBLEMS_SHOWN} more" if len(failing) > MAX_PROBLEMS_SHOWN else ""
        raise DataError(f"{source}: {len(failing)} problem(s) in the corpus; fix them and run again:\n{shown}{more}", failing)


def load_corpus(path: str | Path, schema: Schema | str | Path | None = None, strict: bool = False) -> Corpus:
    """Load and validate a corpus.

    `path` may be a folder in the data/ format (schema.json, articles.jsonl, sentences.jsonl), a folder
    written by `datasets` save_to_disk, or a JSON Lines / CSV / Parquet file of sentences. The schema
    comes from `schema`, else from the folder's schema.json, else from the dataset's ClassLabel features.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder; give a corpus folder (like data/) or a dataset file")
    if schema is not None and not isinstance(schema, Schema):
        schema = load_schema(schema)
    if path.is_dir() and (path / SENTENCES_FILE).exists():
        schema = schema or load_schema(path / SCHEMA_FILE)
        problems, articles, sentences = check_corpus(path, schema, near_duplicates=strict)
        raise_on_errors(problems, str(path), strict)
        from .actors import ActorTable, read_folder_text

        actors_text = read_folder_text(path)
        ActorTable.from_text(actors_text, str(path / "actors"))  # refuse a malformed table with its line
        return Corpus(schema, sentences, articles, source=str(path), actors_text=actors_text)
    return _load_with_datasets(path, schema)


def _load_with_datasets(path: Path, schema: Schema | None) -> Corpus:
    """Any `datasets` source: rows need the text, every task's labels and optionally a split column."""
    import datasets

    try:
        if path.is_dir():
            loaded = datasets.load_from_disk(str(path))
        else:
            kind = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}.get(path.suffix.lower())
            if kind is None:
                raise DataError(f"{path}: unknown corpus format; use a data/-style folder, a save_to_disk folder, or .jsonl/.csv/.parquet")
            loaded = datasets.load_dataset(kind, data_files=str(path))
    except DataError:
        raise
    except Exception as exc:  # datasets raises many types for unreadable input
        raise DataError(f"{path}: `datasets` could not load it ({type(exc).__name__}: {exc})") from exc
    parts = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [(None, loaded)]
    schema_from_features = None
    sentences, problems = [], []
    for split_name, part in parts:
        schema_from_features = schema_from_features or _schema_from_features(part.features)
        active = schema or schema_from_features
        if active is None:
            raise DataError(f"{path}: no schema; pass --schema data/schema.json or give the labels ClassLabel features")
        missing = [c for c in [active.text_field, *active.task_names] if c not in part.column_names]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)}; rename your columns to the schema's "
                            f"task names ({', '.join(active.task_names)}) and text field ({active.text_field!r})")
        decoded = _decode_class_labels(part)
        for i, row in enumerate(decoded, 1):
            row = dict(row)
            text = row.get(active.text_field)
            if not isinstance(text, str) or not text.strip():
                problems.append(Problem(str(path), i, active.text_field, "empty sentence"))
                continue
            if not check_labels(row, active, (str(path), i), problems):
                continue
            row.setdefault("article_id", row.get("id", f"row{i}"))
            row["split"] = row.get("split") or split_name or "train"
            row["origin"] = row.get("origin") or "written"
            row.setdefault("group", row["article_id"])
            sentences.append(row)
    raise_on_errors(problems, str(path))
    final = schema or schema_from_features
    if final is None:
        raise DataError(f"{path}: no schema; pass --schema data/schema.json or give the labels ClassLabel features")
    return Corpus(final, sentences, source=str(path))


def _decode_class_labels(part) -> list[dict[str, Any]]:
    """Rows with ClassLabel integers turned back into label names."""
    import datasets

    rows = part.to_list()
    for name, feature in part.features.items():
        inner = getattr(feature, "feature", None)
        if isinstance(feature, datasets.ClassLabel):
            for row in rows:
                row[name] = feature.int2str(row[name]) if isinstance(row[name], int) else row[name]
        elif isinstance(inner, datasets.ClassLabel):
            for row in rows:
                row[name] = [inner.int2str(v) if isinstance(v, int) else v for v in row[name] or []]
    return rows


def _schema_from_features(features) -> Schema | None:
    import datasets

    tasks = []
    for name, feature in features.items():
        inner = getattr(feature, "feature", None)
        if isinstance(feature, datasets.ClassLabel):
            tasks.append(Task(name, "single_label", tuple(feature.names)))
        elif isinstance(inner, datasets.ClassLabel):
            tasks.append(Task(name, "multi_label", tuple(inner.names)))
    return Schema("from-features", tuple(tasks)) if tasks else None
