"""Gold source spans (data/sources.jsonl, codebook section 8) and how attribution is scored against them.

Why its own module: the same scores serve three readers: agreement between two annotators, the rules
against the gold, and the data card. A span is (sentence id, start, end) with offsets inside that sentence.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SOURCES_FILE = "sources.jsonl"
SECOND_FILE = "agreement/sources_second.jsonl"


def load_spans(path: Path) -> dict[str, dict | None]:
    """Sentence id -> gold source ({sentence, text, start, end, type, refers_to?}) or None (no source)."""
    out: dict[str, dict | None] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            out[record["id"]] = record["source"]
    return out


def role(type_: str | None) -> str | None:
    """The role part of a type (CHNGOV -> GOV, IGO -> IGO, USABUS -> BUS)."""
    if not type_:
        return None
    return type_[3:] if len(type_) > 3 else type_


def party(type_: str | None) -> str | None:
    """What the speaker label needs from a type: USA/CHN government, business, or someone else."""
    if not type_:
        return None
    r = role(type_)
    country = type_[:3] if len(type_) > 3 else None
    if r in ("GOV", "LEG") and country in ("USA", "CHN"):
        return f"{country}GOV"
    if r in ("BUS", "AGR"):
        return "BUS"
    return "OTHER"


def _overlap(a: dict, b: dict) -> float:
    """Character-overlap F1 of two spans in the same sentence (0 if in different sentences)."""
    if a["sentence"] != b["sentence"]:
        return 0.0
    common = max(0, min(a["end"], b["end"]) - max(a["start"], b["start"]))
    if common == 0:
        return 0.0
    precision, recall = common / (b["end"] - b["start"]), common / (a["end"] - a["start"])
    return 2 * precision * recall / (precision + recall)


def score_spans(gold: dict[str, dict | None], predicted: dict[str, dict | None]) -> dict[str, Any]:
    """Exact-match and overlap precision/recall/F1 of predicted spans against gold, over the sentences in both,
    and type agreement (full type, role, and speaker party) where both have a span."""
    ids = [i for i in gold if i in predicted]
    n_gold = sum(gold[i] is not None for i in ids)
    n_pred = sum(predicted[i] is not None for i in ids)
    exact = overlap = 0.0
    both = same_type = same_role = same_party = 0
    for i in ids:
        g, p = gold[i], predicted[i]
        if g is None or p is None:
            continue
        both += 1
        exact += float(g["sentence"] == p["sentence"] and g["start"] == p["start"] and g["end"] == p["end"])
        overlap += _overlap(g, p)
        same_type += g.get("type") == p.get("type")
        same_role += role(g.get("type")) == role(p.get("type"))
        same_party += party(g.get("type")) == party(p.get("type"))

    def prf(hits: float) -> dict[str, float]:
        precision = hits / n_pred if n_pred else 0.0
        recall = hits / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}

    return {"sentences": len(ids), "gold_sources": n_gold, "predicted_sources": n_pred,
            "found": prf(both), "exact": prf(exact), "overlap": prf(overlap),
            "type_agreement": round(same_type / both, 3) if both else None,
            "role_agreement": round(same_role / both, 3) if both else None,
            "party_agreement": round(same_party / both, 3) if both else None}


def predicted_spans(rows: list[dict], table: Any) -> dict[str, dict | None]:
    """The rules' source for each corpus row (rows of whole articles, in order), as spans keyed by sentence id."""
    from .attribution import attribute_articles

    texts = [r["text"] for r in rows]
    found = attribute_articles(texts, [r["article_id"] for r in rows], table)
    out: dict[str, dict | None] = {}
    for row, source in zip(rows, found):
        out[row["id"]] = None if source is None else {
            "sentence": rows[source.sentence]["id"], "start": source.start, "end": source.end, "type": source.type}
    return out
