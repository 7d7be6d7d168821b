"""Assemble data/ from hand-written staging files (one article per JSON line) and the annotated seeds.

Splits are assigned per article from a hash of its id (about 70/15/15), so they are stable as the
corpus grows; an article keeps the split it already has in data/articles.jsonl. The seed articles
form the `seed` split. Usage: python tools/assemble_corpus.py STAGING.jsonl ... [--drop ID ...]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tradeclf.segment import split_sentences  # noqa: E402
from tradeclf.schema import load_schema  # noqa: E402

DATA = ROOT / "data"
TASKS = [t.name for t in load_schema(DATA).tasks]


def split_for(article_id: str) -> str:
    bucket = int(hashlib.sha256(article_id.encode()).hexdigest(), 16) % 100
    return "train" if bucket < 70 else "dev" if bucket < 85 else "test"


def existing_splits() -> dict[str, str]:
    path = DATA / "articles.jsonl"
    if not path.exists():
        return {}
    return {a["id"]: a["split"] for a in map(json.loads, path.read_text(encoding="utf-8").splitlines())}


def seed_articles() -> list[tuple[dict, list[dict]]]:
    annotations = json.loads((ROOT / "tools" / "seed_annotations.json").read_text(encoding="utf-8"))
    out = []
    for name, ann in sorted(annotations.items()):
        text = (ROOT / "seeds" / name).read_text(encoding="utf-8")
        spans = split_sentences(text)
        if len(spans) != len(ann["labels"]):
            raise SystemExit(f"{name}: {len(spans)} sentences but {len(ann['labels'])} annotations")
        article_id = "seed_" + name.split("_")[0]
        article = {"id": article_id, "date": ann["date"], "title": ann["title"], "style": ann["style"],
                   "negotiation": ann["negotiation"], "split": "seed", "origin": f"seeds/{name}"}
        sentences = [{"text": s.text, **dict(zip(TASKS, labels))} for s, labels in zip(spans, ann["labels"])]
        out.append((article, sentences))
    return out


def staged_articles(paths: list[Path], keep: dict[str, str], drop: set[str]) -> list[tuple[dict, list[dict]]]:
    out = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            raw = json.loads(line)
            if raw["id"] in drop:
                continue
            article = {k: raw[k] for k in ("id", "date", "title", "style", "negotiation")}
            article["split"] = keep.get(raw["id"], split_for(raw["id"]))
            article["origin"] = "written"
            out.append((article, raw["sentences"]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("staging", nargs="*", type=Path)
    parser.add_argument("--drop", nargs="*", default=[], help="sentence ids or article ids to leave out")
    args = parser.parse_args()
    drop = set(args.drop)
    edits = json.loads((ROOT / "tools" / "corpus_edits.json").read_text(encoding="utf-8"))
    articles, sentences = [], []
    for article, rows in staged_articles(args.staging, existing_splits(), drop) + seed_articles():
        articles.append(article)
        for index, row in enumerate(rows):
            sentence_id = f"{article['id']}-{index:03d}"
            if sentence_id in drop or (sentence_id in edits and edits[sentence_id] is None):
                continue
            edit = edits.get(sentence_id, {})
            row = {**row, **({"text": edit} if isinstance(edit, str) else edit)}
            sentences.append({"id": sentence_id, "article_id": article["id"], "index": index, "text": row["text"],
                              **{task: row[task] for task in TASKS}})
    for name, rows in (("articles.jsonl", articles), ("sentences.jsonl", sentences)):
        with (DATA / name).open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(articles)} articles and {len(sentences)} sentences to {DATA}")


if __name__ == "__main__":
    main()
