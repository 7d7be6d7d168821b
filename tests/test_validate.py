"""`tradeclf data check`: every problem reported with file, line and field, in one run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tradeclf.cli import app
from tradeclf.data import load_corpus
from tradeclf.errors import DataError
from tradeclf.schema import load_schema
from tradeclf.validate import check_corpus

DATA = Path(__file__).resolve().parent.parent / "data"

runner = CliRunner()


@pytest.fixture
def corpus(small_corpus, tmp_path):
    target = tmp_path / "corpus"
    shutil.copytree(small_corpus, target)
    return target


def _append(path, *rows):
    with path.open("a", encoding="utf-8") as handle:
        for row in rows:
            handle.write((row if isinstance(row, str) else json.dumps(row)) + "\n")


def _line_count(path):
    return len(path.read_text(encoding="utf-8").splitlines())


def _sentence(**overrides):
    row = {"id": "x-1", "article_id": "seed_000", "index": 900, "text": "A brand new sentence about nothing at all in particular.",
           "issues": [], "speaker": "none", "stance": "neutral", "progress": "none"}
    row.update(overrides)
    return row


def test_shipped_corpus_passes():
    schema = load_schema(DATA)
    problems, articles, sentences = check_corpus(DATA, schema)
    assert [str(p) for p in problems if p.level == "error"] == []
    assert len(sentences) > 0 and len(articles) > 0


def test_every_problem_is_reported_with_line_and_field(corpus):
    sentences = corpus / "sentences.jsonl"
    start = _line_count(sentences)
    first = json.loads(sentences.read_text(encoding="utf-8").splitlines()[0])
    _append(sentences,
            _sentence(id="bad-label", index=901, speaker="martians"),
            _sentence(id="no-stance", index=902, text="Another sentence that is quite different from the rest."),
            '{"id": "broken", ',
            _sentence(id="orphan", article_id="nope", index=903),
            _sentence(id="empty", index=904, text="   "),
            dict(first, id="conflict", index=905, stance="hardline" if first["stance"] != "hardline" else "neutral"),
            dict(first),  # duplicate id
            _sentence(id="bad-issue", index=906, issues=["tariffs", "weather"], text="Yet one more sentence on a subject."))
    rows = sentences.read_text(encoding="utf-8").splitlines()
    no_stance = json.loads(rows[start + 1])
    del no_stance["stance"]
    rows[start + 1] = json.dumps(no_stance)
    sentences.write_text("\n".join(rows) + "\n", encoding="utf-8")

    problems, _, _ = check_corpus(corpus, load_schema(corpus))
    found = {(p.line, p.field) for p in problems if p.level == "error"}
    n = start
    assert (n + 1, "speaker") in found
    assert (n + 2, "stance") in found
    assert (n + 3, "") in found  # broken JSON
    assert (n + 4, "article_id") in found
    assert (n + 5, "text") in found
    assert (n + 6, "stance") in found  # same text, different labels
    assert (n + 7, "id") in found
    assert (n + 8, "issues") in found
    messages = " ".join(str(p) for p in problems)
    assert "martians" in messages and "weather" in messages and "sentences.jsonl:" in messages


def test_near_duplicates_across_splits_are_errors(corpus):
    sentences = corpus / "sentences.jsonl"
    rows = [json.loads(line) for line in sentences.read_text(encoding="utf-8").splitlines()]
    seed_row = next(r for r in rows if r["article_id"].startswith("seed_") and len(r["text"].split()) > 12)
    train_article = next(r["article_id"] for r in rows if not r["article_id"].startswith("seed_"))
    near = dict(seed_row, id="near", article_id=train_article, index=999, text=seed_row["text"].replace(" the ", " this ", 1))
    _append(sentences, near)
    problems, _, _ = check_corpus(corpus, load_schema(corpus))
    assert any("near-duplicate" in p.message and "leak across splits" in p.message and p.level == "error" for p in problems)


def test_cli_check_exit_codes(corpus):
    ok = runner.invoke(app, ["data", "check", str(corpus)])
    assert ok.exit_code == 0, ok.output
    _append(corpus / "sentences.jsonl", _sentence(id="bad", index=950, progress="sideways"))
    bad = runner.invoke(app, ["data", "check", str(corpus)])
    assert bad.exit_code != 0
    assert "sideways" in bad.output and "[progress]" in bad.output


def test_training_refuses_an_invalid_corpus_listing_all_problems(corpus):
    _append(corpus / "sentences.jsonl", _sentence(id="b1", index=960, speaker="aliens"),
            _sentence(id="b2", index=961, stance="grumpy", text="Totally unrelated words about the weather forecast."))
    with pytest.raises(DataError) as info:
        load_corpus(corpus)
    assert len(info.value.problems) == 2
    assert "aliens" in str(info.value) and "grumpy" in str(info.value)


def test_missing_schema_and_missing_folder(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        load_corpus(tmp_path / "nowhere")
    (tmp_path / "sentences.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="schema"):
        load_corpus(tmp_path)


def test_not_utf8_is_reported(corpus):
    (corpus / "articles.jsonl").write_bytes(b'{"id": "caf\xe9"}\n')
    problems, _, _ = check_corpus(corpus, load_schema(corpus))
    assert any("UTF-8" in p.message for p in problems)


def _real_article(**overrides):
    row = {"id": "real_x", "date": "2025-01-01", "title": "A notice", "style": "notice", "negotiation": "various",
           "split": "train", "origin": "real", "source": "Federal Register", "url": "https://example.org/notice",
           "licence": "public domain (US government work)", "passage": "federalregister/x#p0"}
    row.update(overrides)
    return row


def test_origin_and_credit_fields_are_validated(corpus):
    articles = corpus / "articles.jsonl"
    start = _line_count(articles)
    _append(articles,
            _real_article(id="real_nolicence", licence=""),
            _real_article(id="real_nosource", source=None),
            {**_real_article(id="odd_origin"), "origin": "scraped"},
            {k: v for k, v in _real_article(id="no_origin").items() if k != "origin"})
    problems, loaded, _ = check_corpus(corpus, load_schema(corpus))
    found = {(p.line, p.field) for p in problems if p.level == "error"}
    assert {(start + 1, "licence"), (start + 2, "source"), (start + 3, "origin"), (start + 4, "origin")} <= found
    assert not {"real_nolicence", "real_nosource", "odd_origin", "no_origin"} & {a["id"] for a in loaded}


def test_real_boilerplate_may_repeat_within_a_split_but_not_across(corpus):
    """Real documents repeat boilerplate and are kept unchanged: a twin in the same split is fine, a twin
    across splits leaks test text into training and is an error."""
    text = "Interested parties are invited to submit written comments on the proposed modification of the action."
    _append(corpus / "articles.jsonl", _real_article(id="real_a", passage="fr/a#p0"), _real_article(id="real_b", passage="fr/b#p0"),
            _real_article(id="real_c", passage="fr/c#p0", split="test"))
    _append(corpus / "sentences.jsonl",
            _sentence(id="real_a-000", article_id="real_a", index=0, text=text, speaker="us_government"),
            _sentence(id="real_b-000", article_id="real_b", index=0, text=text + " ", speaker="other"))
    problems, _, sentences = check_corpus(corpus, load_schema(corpus))
    assert not [p for p in problems if "real_a" in p.message or "real_b" in p.message or "same text" in p.message]
    assert {s["group"] for s in sentences if s["id"] in ("real_a-000", "real_b-000")} == {"doc:fr/a", "doc:fr/b"}
    _append(corpus / "sentences.jsonl", _sentence(id="real_c-000", article_id="real_c", index=0, text=text, speaker="us_government"))
    problems, _, _ = check_corpus(corpus, load_schema(corpus))
    assert any(p.level == "error" and "leak across splits" in p.message and "real_c-000" in p.message for p in problems)


def test_corpus_subsets_by_origin(small_corpus):
    corpus = load_corpus(small_corpus)
    real, written = corpus.subset("real-test"), corpus.subset("written-test")
    assert real and written
    assert {r["origin"] for r in real} == {"real"} and {r["origin"] for r in written} == {"written"}
    assert len(real) + len(written) == len(corpus.split("test"))


def test_data_card_reports_sources_and_agreement_by_origin():
    from tradeclf.datacard import render_stats

    stats = render_stats(DATA)
    assert "### Real text by source" in stats and "Wikinews" in stats and "Federal Register" in stats
    agreement = stats.split("### Agreement", 1)[1]
    assert "| real |" in agreement and "| written |" in agreement
