"""The annotate-retrain loop's file formats: a Label Studio labelling config generated from the schema, and
imports of Label Studio exports and doccano JSON Lines into the corpus format.

Why generated: the schema is the one place tasks and labels are declared, so the annotation tool's form
is derived from it (every task a Choices block, multi-label ones with choice="multiple", the article
context shown beside the sentence) and an import can be checked against it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from .errors import InputError
from .schema import Schema

ARTICLES_FILE, SENTENCES_FILE = "articles.jsonl", "sentences.jsonl"


def labeling_config(schema: Schema) -> str:
    """Label Studio XML: the previous, current and next sentence, then one Choices block per task."""
    lines = ["<View>",
             '  <Header value="Previous sentence" size="6"/>', '  <Text name="previous" value="$previous"/>',
             '  <Header value="Sentence to label" size="5"/>', '  <Text name="sentence" value="$sentence"/>',
             '  <Header value="Next sentence" size="6"/>', '  <Text name="next" value="$next"/>']
    for task in schema.tasks:
        lines.append(f"  <Header value={quoteattr(f'{task.name}: {task.description}')} size=\"5\"/>")
        kind = "multiple" if task.multi_label else "single"
        required = "" if task.multi_label else ' required="true"'
        lines.append(f'  <Choices name="{task.name}" toName="sentence" choice="{kind}" showInline="true"{required}>')
        for label in task.labels:
            lines.append(f"    <Choice value={quoteattr(label)} hint={quoteattr(task.label_descriptions.get(label, ''))}/>")
        lines.append("  </Choices>")
    lines.append("</View>")
    return "\n".join(lines) + "\n"


def read_label_studio(path: Path, schema: Schema) -> tuple[list[dict[str, Any]], list[str]]:
    """Annotated sentences from a Label Studio JSON export (the latest annotation of each task that is not
    cancelled), and the problems found (by task id)."""
    try:
        tasks = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a Label Studio JSON export ({exc}); export the project as JSON") from None
    if not isinstance(tasks, list):
        raise InputError(f"{path}: a Label Studio JSON export is a list of tasks")
    rows, problems = [], []
    for task in tasks:
        done = [a for a in task.get("annotations", []) if not a.get("was_cancelled")]
        if not done:
            continue
        latest = max(done, key=lambda a: (a.get("updated_at") or "", a.get("id") or 0))
        chosen: dict[str, list[str]] = {}
        for result in latest.get("result", []):
            if result.get("type") == "choices":
                chosen[result["from_name"]] = list(result.get("value", {}).get("choices", []))
        data = task.get("data", {})
        row, problem = _row(data.get("sentence") or data.get("text"), chosen, schema, data)
        if problem:
            problems.append(f"task {task.get('id')}: {problem}")
        else:
            rows.append(row)
    return rows, problems


def read_doccano(path: Path, schema: Schema) -> tuple[list[dict[str, Any]], list[str]]:
    """Annotated sentences from doccano JSON Lines: `text` and `label` (a list of "task:label" strings, or
    bare label names where a name belongs to one task only)."""
    owner: dict[str, list[str]] = {}
    for task in schema.tasks:
        for label in task.labels:
            owner.setdefault(label, []).append(task.name)
    rows, problems = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: broken JSON ({exc.msg})")
            continue
        chosen: dict[str, list[str]] = {}
        bad = []
        for value in record.get("label", record.get("labels", [])):
            value = value[-1] if isinstance(value, list) else value  # span-style [start, end, label]
            task_name, _, label = str(value).rpartition(":")
            tasks = [task_name] if task_name else owner.get(label, [])
            if len(tasks) != 1 or task_name and task_name not in schema.task_names:
                bad.append(str(value))
                continue
            chosen.setdefault(tasks[0], []).append(label)
        if bad:
            problems.append(f"line {number}: label(s) {', '.join(bad)} are unknown or ambiguous; write them as task:label")
            continue
        row, problem = _row(record.get("text"), chosen, schema, record)
        if problem:
            problems.append(f"line {number}: {problem}")
        else:
            rows.append(row)
    return rows, problems


def _row(text: Any, chosen: dict[str, list[str]], schema: Schema, data: dict) -> tuple[dict[str, Any], str | None]:
    if not isinstance(text, str) or not text.strip():
        return {}, "no sentence text"
    row: dict[str, Any] = {"text": text, "article_id": data.get("article_id"), "sentence_index": data.get("sentence_index"),
                           "date": data.get("date")}
    for task in schema.tasks:
        labels = chosen.get(task.name, [])
        unknown = [label for label in labels if label not in task.labels]
        if unknown:
            return {}, f"{task.name}: unknown label(s) {', '.join(unknown)}; allowed: {', '.join(task.labels)}"
        if task.multi_label:
            row[task.name] = [label for label in task.labels if label in labels]
        elif len(labels) != 1:
            return {}, f"{task.name}: needs exactly one label, got {len(labels)}"
        else:
            row[task.name] = labels[0]
    return row, None


def merge_into_corpus(rows: list[dict[str, Any]], folder: Path, schema: Schema, source: str, split: str = "train") -> dict[str, int]:
    """Append imported sentences to a data/-style corpus as real text (your own news) in `split`, one article per
    imported article id (or per sentence), skipping sentences whose text the corpus has already; returns counts."""
    from .persistence import atomic_write_bytes
    from .suggest import normalise

    articles_path, sentences_path = folder / ARTICLES_FILE, folder / SENTENCES_FILE
    if not sentences_path.is_file():
        raise InputError(f"{folder}: not a corpus folder (no {SENTENCES_FILE}); give the data/ folder to import into")
    existing = [json.loads(line) for line in sentences_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    seen = {normalise(r["text"]) for r in existing}
    by_article: dict[str, list[dict[str, Any]]] = {}
    duplicates = 0
    for row in rows:
        key = normalise(row["text"])
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        origin_id = str(row.get("article_id") or key)
        by_article.setdefault(origin_id, []).append(row)
    new_articles, new_sentences = [], []
    for origin_id, members in by_article.items():
        article_id = "imp_" + hashlib.sha256(f"{source}|{origin_id}".encode()).hexdigest()[:10]
        members.sort(key=lambda r: int(r["sentence_index"]) if isinstance(r.get("sentence_index"), int) else 0)
        first = members[0]
        new_articles.append({"id": article_id, "date": str(first.get("date") or ""), "title": f"imported from {source}",
                             "style": "imported", "negotiation": "various", "split": split, "origin": "real",
                             "source": source, "url": "", "licence": "your own annotated text (imported)",
                             "passage": origin_id})
        for index, row in enumerate(members):
            new_sentences.append({"id": f"{article_id}-{index:03d}", "article_id": article_id, "index": index,
                                  "text": row["text"], **{t.name: row[t.name] for t in schema.tasks}})
    if new_sentences:
        articles_text = articles_path.read_text(encoding="utf-8") if articles_path.is_file() else ""
        atomic_write_bytes(articles_path, (articles_text + "".join(json.dumps(a, ensure_ascii=False) + "\n" for a in new_articles)).encode())
        atomic_write_bytes(sentences_path, (sentences_path.read_text(encoding="utf-8")
                                            + "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in new_sentences)).encode())
    return {"imported": len(new_sentences), "articles": len(new_articles), "duplicates": duplicates}
