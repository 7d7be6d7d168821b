"""Apply the relabelling pass over the written articles (codebook section 6 rules from the agreement study)
to data/sentences.jsonl, and keep the change log in data/agreement/written_relabel.jsonl.

Why: the written corpus was labelled before those rules existed; real text was labelled with them, so both
origins must follow one codebook. Each change was decided by an annotator reading the sentence in context;
this script only applies the logged decisions, checking that each `old` value is the current label.
Usage: python tools/apply_relabel.py CHANGES.jsonl ...
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SENTENCES = ROOT / "data" / "sentences.jsonl"
LOG = ROOT / "data" / "agreement" / "written_relabel.jsonl"


def same(a, b) -> bool:
    return sorted(a) == sorted(b) if isinstance(a, list) and isinstance(b, list) else a == b


def main(paths: list[str]) -> None:
    rows = [json.loads(line) for line in SENTENCES.read_text(encoding="utf-8").splitlines() if line.strip()]
    by_id = {r["id"]: r for r in rows}
    applied, skipped = [], []
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            change = json.loads(line)
            row = by_id.get(change["id"])
            if row is None or row["id"].startswith(("real_", "seed_")) or not same(row[change["task"]], change["old"]):
                skipped.append(change)
                continue
            row[change["task"]] = change["new"]
            applied.append({"id": change["id"], "task": change["task"], "old": change["old"], "new": change["new"],
                            "rule": change.get("rule", "")})
    for row in rows:  # a speaker set to none makes the stance neutral (codebook: speaker none => neutral)
        if row["speaker"] == "none" and row["stance"] != "neutral":
            applied.append({"id": row["id"], "task": "stance", "old": row["stance"], "new": "neutral",
                            "rule": "speaker none => neutral (follows a speaker change)"})
            row["stance"] = "neutral"
    SENTENCES.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    LOG.write_text("".join(json.dumps(c, ensure_ascii=False) + "\n" for c in applied), encoding="utf-8")
    print(f"applied {len(applied)} changes; skipped {len(skipped)} (unknown id or old value not current)")
    for change in skipped[:10]:
        print("  skipped:", change)


if __name__ == "__main__":
    main(sys.argv[1:])
