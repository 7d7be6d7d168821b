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
