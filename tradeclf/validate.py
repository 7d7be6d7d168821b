"""Validation of a corpus folder against its schema, reporting every problem with file, line and field.

Used by `tradeclf data check` and by training, so a bad corpus is reported in one run, not one error
at a time.
"""

from __future__ import annotations

import re

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .schema import Schema

ARTICLES_FILE = "articles.jsonl"
SENTENCES_FILE = "sentences.jsonl"
ARTICLE_FIELDS = ("id", "date", "title", "style", "negotiation", "split", "origin")
SPLITS = ("train", "dev", "test", "seed")
ORIGINS = ("written", "real")  # written for this corpus, or real text taken unchanged from a redistributable source
REAL_FIELDS = ("source", "url", "licence")  # where real text came from and under which licence
NEAR_DUPLICATE_COSINE = 0.8


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the corpus; `error` problems fail the check, warnings only with --strict."""

    file: str
    line: int
    field: str
    message: str
    level: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" [{self.field}]" if self.field else ""
        return f"{where}{field}: {self.level}: {self.message}"


def read_jsonl(path: Path, problems: list[Problem]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each good line; record broken lines as problems."""
    try:
        handle = path.open(encoding="utf-8")
        lines = list(handle)
        handle.close()
    except FileNotFoundError:
        problems.append(Problem(str(path), 0, "", "file is missing"))
        return
    except UnicodeDecodeError as exc:
        problems.append(Problem(str(path), 0, "", f"not UTF-8 text ({exc.reason} at byte {exc.start}); re-save it as UTF-8"))
        return
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(path), number, "", f"broken JSON line ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(obj, dict):
            problems.append(Problem(str(path), number, "", "each line must be a JSON object"))
            continue
        yield number, obj


def check_labels(row: dict[str, Any], schema: Schema, where: tuple[str, int], problems: list[Problem]) -> bool:
    """Check one sentence's labels against the schema; True when all are valid."""
    ok = True
    for task in schema.tasks:
        value = row.get(task.name)
        if value is None:
            problems.append(Problem(*where, task.name, "missing label"))
            ok = False
        elif task.multi_label:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems.append(Problem(*where, task.name, f"must be a list of labels, got {value!r}"))
                ok = False
                continue
            unknown = [v for v in value if v not in task.labels]
            if unknown:
                problems.append(Problem(*where, task.name, f"unknown label(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(task.labels)}"))
                ok = False
            if len(set(value)) != len(value):
                problems.append(Problem(*where, task.name, "a label is listed twice", "warning"))
        elif value not in task.labels:
            problems.append(Problem(*where, task.name, f"unknown label {value!r}; allowed: {', '.join(task.labels)}"))
            ok = False
    return ok


def check_corpus(folder: str | Path, schema: Schema, near_duplicates: bool = True) -> tuple[list[Problem], list[dict], list[dict]]:
    """Validate articles.jsonl and sentences.jsonl in `folder`; return problems, articles, sentences.

    Returned rows are only the valid ones, each sentence carrying its article's split.
    """
    folder = Path(folder)
    problems: list[Problem] = []
    articles_path, sentences_path = folder / ARTICLES_FILE, folder / SENTENCES_FILE

    articles: dict[str, dict] = {}
    for number, row in read_jsonl(articles_path, problems):
        where = (str(articles_path), number)
        missing = [f for f in ARTICLE_FIELDS if f not in row]
        for f in missing:
            problems.append(Problem(*where, f, "missing field"))
        if missing:
            continue
        if row["split"] not in SPLITS:
            problems.append(Problem(*where, "split", f"unknown split {row['split']!r}; allowed: {', '.join(SPLITS)}"))
            continue
        if row["id"] in articles:
            problems.append(Problem(*where, "id", f"duplicate article id {row['id']!r}"))
            continue
        if row["origin"] not in ORIGINS:
            problems.append(Problem(*where, "origin", f"unknown origin {row['origin']!r}; allowed: {', '.join(ORIGINS)}"))
            continue
        if row["origin"] == "real":
            bad = [f for f in REAL_FIELDS if not isinstance(row.get(f), str) or (f != "url" and not row[f].strip())]
            for f in bad:
                problems.append(Problem(*where, f, "real text needs its source, url (may be empty only when there is "
                                                   "none) and licence, so it can be credited; add the field"))
            if bad:
                continue
        articles[row["id"]] = row

    sentences: list[dict] = []
    seen_ids: set[str] = set()
    seen_positions: set[tuple[str, int]] = set()
    by_text: dict[str, list[tuple[int, dict]]] = defaultdict(list)
    for number, row in read_jsonl(sentences_path, problems):
        where = (str(sentences_path), number)
        incomplete = False
        for f in ("id", "article_id", "index", schema.text_field):
            if f not in row:
                problems.append(Problem(*where, f, "missing field"))
                incomplete = True
        if incomplete:
            continue
        text = row[schema.text_field]
        if not isinstance(text, str) or not text.strip():
            problems.append(Problem(*where, schema.text_field, "empty sentence; remove the line or give it text"))
            continue
        if row["id"] in seen_ids:
            problems.append(Problem(*where, "id", f"duplicate sentence id {row['id']!r}"))
            continue
        seen_ids.add(row["id"])
        if row["article_id"] not in articles:
            problems.append(Problem(*where, "article_id", f"article {row['article_id']!r} is not in {ARTICLES_FILE}"))
            continue
        if not isinstance(row["index"], int) or (row["article_id"], row["index"]) in seen_positions:
            problems.append(Problem(*where, "index", f"index {row['index']!r} is not a new whole number within article {row['article_id']!r}"))
            continue
        seen_positions.add((row["article_id"], row["index"]))
        if not check_labels(row, schema, where, problems):
            continue
        article = articles[row["article_id"]]
        row = dict(row, split=article["split"], origin=article["origin"], group=document_of(article), line=number)
        sentences.append(row)
        by_text[" ".join(text.lower().split())].append((number, row))

    for same in by_text.values():
        first_number, first = same[0]
        for number, row in same[1:]:
            if row["origin"] == first["origin"] == "real" and row["group"] != first["group"]:
                continue  # real text is taken unchanged: "Thank you." or a restated clause may differ by context
            conflicting = [t.name for t in schema.tasks if _as_set(row[t.name]) != _as_set(first[t.name])]
            if conflicting:
                problems.append(Problem(str(sentences_path), number, ",".join(conflicting),
                                        f"same text as line {first_number} with different labels"))
    if near_duplicates and len(sentences) > 1:
        problems.extend(find_near_duplicates(sentences, schema, str(sentences_path)))
    problems.extend(check_actor_table(folder))
    text_of = {row["id"]: row for row in sentences}
    for name in ("sources.jsonl", "agreement/sources_second.jsonl"):
        if (folder / name).is_file():
            problems.extend(check_source_spans(folder / name, text_of))
    problems.sort(key=lambda p: (p.file, p.line))
    return problems, list(articles.values()), sentences


SOURCE_TYPE = re.compile(r"^([A-Z]{3})?(GOV|LEG|MED|BUS|AGR|EDU|IGO|NGO|JNT|OTH)$")


def check_actor_table(folder: Path) -> list[Problem]:
    """Every line of data/actors/*.tsv is `phrase<TAB>CODE` (codebook section 8; tradeclf.actors)."""
    from .actors import ActorTable
    from .errors import DataError

    problems: list[Problem] = []
    directory = folder / "actors"
    for path in sorted(directory.glob("*.tsv")) if directory.is_dir() else []:
        try:
            ActorTable.from_text(path.read_text(encoding="utf-8"), str(path))
        except UnicodeDecodeError as exc:
            problems.append(Problem(str(path), 0, "", f"not UTF-8 text ({exc.reason} at byte {exc.start}); re-save it as UTF-8"))
        except DataError as exc:
            problems.append(Problem(str(path), 0, "", str(exc).split(": ", 1)[-1]))
    return problems


def check_source_spans(path: Path, sentences: dict[str, dict]) -> list[Problem]:
    """Gold source spans: known sentences of one article, offsets that give the text, a known type."""
    problems: list[Problem] = []
    for number, row in read_jsonl(path, problems):
        where = (str(path), number)
        sid, source = row.get("id"), row.get("source", "missing")
        if sid not in sentences:
            problems.append(Problem(*where, "id", f"sentence {sid!r} is not in the corpus"))
            continue
        if source is None:
            continue
        if not isinstance(source, dict):
            problems.append(Problem(*where, "source", "must be null or an object {sentence, text, start, end, type}"))
            continue
        mention = sentences.get(str(source.get("sentence")))
        if mention is None or mention["article_id"] != sentences[sid]["article_id"]:
            problems.append(Problem(*where, "source", f"mention sentence {source.get('sentence')!r} is not in the same article"))
            continue
        start, end = source.get("start"), source.get("end")
        if not isinstance(start, int) or not isinstance(end, int) or mention["text"][start:end] != source.get("text"):
            problems.append(Problem(*where, "source", f"offsets {start}-{end} do not give {source.get('text')!r} in {mention['id']}"))
        if not SOURCE_TYPE.match(str(source.get("type"))):
            problems.append(Problem(*where, "type", f"unknown source type {source.get('type')!r}; codebook section 8 lists them"))
    return problems


def document_of(article: dict[str, Any]) -> str:
    """The source document an article belongs to: passages of one real document share it (for grouped CV and
    splits); a written article is its own document."""
    passage = article.get("passage")
    return "doc:" + passage.split("#", 1)[0] if isinstance(passage, str) and passage else article["id"]


def _as_set(value: Any) -> Any:
    return frozenset(value) if isinstance(value, list) else value


def find_near_duplicates(sentences: list[dict], schema: Schema, file: str) -> list[Problem]:
    """Pairs of sentences whose word TF-IDF vectors have cosine over 0.8.

    Across splits they leak test data into training (error); within a split they are a warning, except
    between two real sentences (real documents repeat boilerplate and are kept unchanged).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [s[schema.text_field] for s in sentences]
    matrix = TfidfVectorizer().fit_transform(texts)
    similarity = (matrix @ matrix.T).tocoo()
    problems = []
    for i, j, value in zip(similarity.row, similarity.col, similarity.data):
        if i < j and value > NEAR_DUPLICATE_COSINE:
            a, b = sentences[i], sentences[j]
            cross = a["split"] != b["split"]
            if not cross and a.get("origin") == b.get("origin") == "real":
                continue  # boilerplate repeats in real documents, taken unchanged; only a leak across splits matters
            problems.append(Problem(
                file, b["line"], schema.text_field,
                f"near-duplicate of line {a['line']}: {a['id']} ({a['split']}) and {b['id']} ({b['split']}), cosine {value:.2f}"
                + ("; they leak across splits, remove or rewrite one" if cross else "; rewrite or remove one"),
                "error" if cross else "warning",
            ))
    return problems
