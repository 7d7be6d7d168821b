"""Add the annotated real passages to data/: articles (origin real, with source, url and licence), sentences,
and the double annotation (first, blind second, adjudicated).

Why a script: annotation happens in batches outside the repository (tools/select_real.py cuts them); this
turns the batches and their final labels into the corpus format, the same way every time. Final labels are,
per sentence: the adjudicated label where the two blind annotators disagreed, the agreed label where they
agreed, else the reviewed label (codebook section 7.1 pass), else the first label; then the hand corrections
in tools/real_corrections.json, which make identical sentences (format lines, boilerplate) consistent. Real articles already in
data/ are replaced, written ones are kept. The seed articles are marked origin real.

Usage: python tools/assemble_real.py ANNOTATION_DIR
  ANNOTATION_DIR holds batches/ (passages of round 1, batch_NN, and later rounds, rKbatch_NN), first_snapshot/
  (first labels), out2/ (blind second labels), review/ (reviewed labels, round 1) and adj/ (adjudications).
"""

from __future__ import annotations

import collections
import glob
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
TASKS = ("issues", "speaker", "stance", "progress")
SEED_SOURCE = {
    "seed_000": "seed article seeds/000_d2e5874133c786cc.txt (news report on the 2019 US-China talks)",
    "seed_004": "seed article seeds/004_2f5f09ec736411e2.txt (news report on the 2019 US-China talks)",
}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def labels_by_key(paths: list[str]) -> dict[tuple[str, int], list[dict]]:
    """(passage id, sentence index) -> label rows in file order (passages sharing an id appear twice)."""
    out: dict[tuple[str, int], list[dict]] = collections.defaultdict(list)
    for path in sorted(paths):
        for row in read_jsonl(Path(path)):
            out[(row["passage"], row["i"])].append(row)
    return out


def pick(table: dict, key: tuple[str, int], occurrence: int) -> dict | None:
    rows = table.get(key)
    if not rows:
        return None
    return rows[min(occurrence, len(rows) - 1)]


def labels_of(row: dict) -> dict:
    return {"issues": sorted(set(row["issues"]), key=row["issues"].index), "speaker": row["speaker"],
            "stance": row["stance"], "progress": row["progress"]}


def same(a: dict, b: dict) -> bool:
    return set(a["issues"]) == set(b["issues"]) and all(a[t] == b[t] for t in TASKS[1:])


def article_id_for(passage: dict) -> str:
    text = "\n".join(s["text"] for s in passage["sentences"])
    return "real_" + hashlib.sha256((passage["id"] + "\n" + text).encode()).hexdigest()[:10]


SPLIT_SHARES = {"train": 0.6, "dev": 0.2, "test": 0.2}


def resplit_by_near_duplicates(articles: list[dict], sentences: list[dict], previous: dict[str, str] | None = None) -> None:
    """Give real documents that share near-duplicate sentences (boilerplate of notices and statements, the
    same paragraph in two releases) one split, so no sentence of real test has a twin in training.

    Documents linked by a sentence pair over the validator's cosine threshold form a component; components,
    largest first, go to the split furthest below its share (60/20/20) of the sentences of the component's
    main source, so every source is spread over the splits as evenly as its components allow (ties go to
    train, then dev: an outsized component lands in dev rather than test). Deterministic.

    Splits are stable across annotation rounds: a component holding articles already in the corpus
    (`previous`, article id -> split) keeps the split of its largest such article, so a new round adds
    documents to the splits without moving old ones (and the real test set only grows).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    sys.path.insert(0, str(ROOT))
    from tradeclf.validate import NEAR_DUPLICATE_COSINE, document_of

    by_id = {a["id"]: a for a in articles}
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    matrix = TfidfVectorizer().fit_transform([s["text"] for s in sentences])
    similarity = (matrix @ matrix.T).tocoo()
    for i, j, value in zip(similarity.row, similarity.col, similarity.data):
        if i < j and value > NEAR_DUPLICATE_COSINE:
            a, b = by_id[sentences[i]["article_id"]], by_id[sentences[j]["article_id"]]
            if a["origin"] == b["origin"] == "real" and "seed" not in (a["split"], b["split"]):
                parent[find(document_of(a))] = find(document_of(b))
    size: collections.Counter = collections.Counter()
    by_source: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    members: dict[str, set] = collections.defaultdict(set)
    per_article = collections.Counter(s["article_id"] for s in sentences)
    for a in articles:
        if a["origin"] == "real" and a["split"] != "seed":
            root = find(document_of(a))
            size[root] += per_article[a["id"]]
            by_source[root][a["source"]] += per_article[a["id"]]
            members[root].add(a["id"])
    main_source = {root: counts.most_common(1)[0][0] for root, counts in by_source.items()}
    totals: collections.Counter = collections.Counter()
    for root, n in size.items():
        totals[main_source[root]] += n
    filled = {(source, split): 0 for source in totals for split in SPLIT_SHARES}
    order = {split: k for k, split in enumerate(SPLIT_SHARES)}
    previous = previous or {}
    kept = {}
    for root, ids in members.items():
        old = sorted((-per_article[i], i) for i in ids if i in previous)
        if old:
            kept[root] = previous[old[0][1]]
    for root in sorted(size, key=lambda r: (r not in kept, -size[r], r)):  # old components first, then new ones
        source = main_source[root]
        split = kept.get(root) or max(SPLIT_SHARES, key=lambda s: (SPLIT_SHARES[s] * totals[source] - filled[(source, s)], -order[s]))
        filled[(source, split)] += size[root]
        for article_id in members[root]:
            by_id[article_id]["split"] = split
    print("real sentences by split after grouping near-duplicate documents:",
          {split: sum(v for (_, s), v in filled.items() if s == split) for split in SPLIT_SHARES})


def main(annotation: Path) -> None:
    passages = []
    for path in sorted(glob.glob(str(annotation / "batches" / "batch_*.jsonl"))) + sorted(glob.glob(str(annotation / "batches" / "r*batch_*.jsonl"))):
        passages.extend(read_jsonl(Path(path)))  # round 1, then later rounds
    double_ids = set()
    for path in sorted(glob.glob(str(annotation / "batches" / "*double_*.jsonl"))):
        double_ids |= {p["id"] for p in read_jsonl(Path(path))}
    first = labels_by_key(glob.glob(str(annotation / "first_snapshot" / "*batch_*.jsonl")))
    second = labels_by_key(glob.glob(str(annotation / "out2" / "*.jsonl")))
    reviewed = labels_by_key(glob.glob(str(annotation / "review" / "batch_??.jsonl")))
    adjudicated = labels_by_key(glob.glob(str(annotation / "adj" / "out_*.jsonl")))

    existing = read_jsonl(DATA / "articles.jsonl")
    previous = {a["id"]: a["split"] for a in existing if a.get("origin") == "real" and a["id"] not in SEED_SOURCE}
    articles = [a for a in existing if a.get("origin") != "real" or a["id"] in SEED_SOURCE]
    keep = {a["id"] for a in articles}
    sentences = [s for s in read_jsonl(DATA / "sentences.jsonl") if s["article_id"] in keep]
    for article in articles:
        if article["id"] in SEED_SOURCE:
            article.update(origin="real", source=SEED_SOURCE[article["id"]], url="", licence="supplied with the project as source material")
        else:
            article["origin"] = "written"
    agreement = {name: [r for r in read_jsonl(DATA / "agreement" / f"{name}.jsonl") if not r["id"].startswith("real_")]
                 for name in ("first", "second", "adjudicated")}

    seen_occurrence: collections.Counter = collections.Counter()
    missing = []
    for passage in passages:
        occurrence = seen_occurrence[passage["id"]]
        seen_occurrence[passage["id"]] += 1
        aid = article_id_for(passage)
        articles.append({"id": aid, "date": passage["date"], "title": passage["title"],
                         "style": passage["genre"].replace(" ", "_"), "negotiation": "various", "split": passage["split"],
                         "origin": "real", "source": passage["source"], "url": passage["url"], "licence": passage["licence"],
                         "passage": passage["id"]})
        is_double = passage["id"] in double_ids
        for s in passage["sentences"]:
            key = (passage["id"], s["i"])
            sid = f"{aid}-{s['i']:03d}"
            a = pick(first, key, occurrence)
            if a is None:
                missing.append(key)
                continue
            final = labels_of(pick(reviewed, key, occurrence) or a)
            if is_double:
                b = pick(second, key, occurrence)
                if b is None:
                    missing.append(key)
                    continue
                agreement["first"].append({"id": sid, "article_id": aid, **labels_of(a)})
                agreement["second"].append({"id": sid, "article_id": aid, **labels_of(b)})
                if same(labels_of(a), labels_of(b)):
                    final = labels_of(a)
                else:
                    c = pick(adjudicated, key, occurrence)
                    if c is None:
                        missing.append(key)
                        continue
                    final = labels_of(c)
                    agreement["adjudicated"].append({"id": sid, **final, "rule": c.get("rule", "")})
            sentences.append({"id": sid, "article_id": aid, "index": s["i"], "text": s["text"], **final})
    if missing:
        raise SystemExit(f"{len(missing)} sentences have no final label, e.g. {missing[:5]}")
    corrections = json.loads((ROOT / "tools" / "real_corrections.json").read_text(encoding="utf-8"))
    for s in sentences:
        if s["id"] in corrections:  # identical real sentences made consistent by hand (format lines, boilerplate)
            s.update({t: corrections[s["id"]][t] for t in TASKS})
    resplit_by_near_duplicates(articles, sentences, previous)
    write_jsonl(DATA / "articles.jsonl", articles)
    write_jsonl(DATA / "sentences.jsonl", sentences)
    for name, rows in agreement.items():
        write_jsonl(DATA / "agreement" / f"{name}.jsonl", rows)
    real = [a for a in articles if a["origin"] == "real"]
    print(f"{len(real)} real articles, {sum(1 for s in sentences if s['article_id'].startswith('real_'))} real sentences")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
