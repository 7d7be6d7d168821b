"""Assemble the hand-annotated source spans (codebook section 8) into data/sources.jsonl and the blind second
annotation into data/agreement/sources_second.jsonl, with character offsets inside the mention's sentence.

Usage: python tools/assemble_sources.py /work/annot/src   (out/*.jsonl first annotation, out2/*.jsonl second)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def load(folder: Path, texts: dict[str, str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            source = record["source"]
            if source is not None:
                start = texts[source["sentence"]].find(source["text"])
                assert start >= 0, record
                mention = {"sentence": source["sentence"], "text": source["text"], "start": start,
                           "end": start + len(source["text"]), "type": source["type"]}
                ref = source.get("refers_to")
                if ref:
                    r_start = texts[ref["sentence"]].find(ref["text"])
                    mention["refers_to"] = {"sentence": ref["sentence"], "text": ref["text"], "start": r_start,
                                            "end": r_start + len(ref["text"])}
                source = mention
            out[record["id"]] = {"id": record["id"], "source": source}
    return out


def main(annotations: Path) -> None:
    data = Path("data")
    texts = {}
    for line in (data / "sentences.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        texts[row["id"]] = row["text"]
    order = {sid: k for k, sid in enumerate(texts)}
    first = load(annotations / "out", texts)
    second = load(annotations / "out2", texts)
    for name, rows in (("sources.jsonl", first), ("agreement/sources_second.jsonl", second)):
        lines = [json.dumps(rows[k], ensure_ascii=False) for k in sorted(rows, key=order.__getitem__)]
        (data / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{name}: {len(rows)} sentences, {sum(r['source'] is not None for r in rows.values())} with a source")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
