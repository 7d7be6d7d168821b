"""Attribution: each reporting pattern, quotes and pronouns across sentences, typing from the actor table,
the table's validation, and the source features' place in the estimator and the compiled model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tradeclf.actors import ActorTable, parse_code
from tradeclf.attribution import attribute, source_tokens
from tradeclf.cli import app
from tradeclf.errors import DataError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def table() -> ActorTable:
    return ActorTable.from_folder(ROOT / "data")


def one(sentence: str, table: ActorTable):
    return attribute([sentence], table, in_article=False)[0]


@pytest.mark.parametrize("sentence, mention, type_, how", [
    ("Ding Ding, a senior economist with the IMF, said tariffs would slow growth.",
     "Ding Ding, a senior economist with the IMF", "IGO", "clause"),
    ("\"We will fight to the end,\" said Geng Shuang, a Foreign Ministry spokesman.",
     "Geng Shuang, a Foreign Ministry spokesman", "CHNGOV", "inverted"),
    ("Lighthizer told reporters the talks had gone well.", "Lighthizer", "USAGOV", "clause"),
    ("According to a Chinese official, the talks were constructive.", "a Chinese official", "CHNGOV", "according"),
    ("The deal is not done yet, Mnuchin added.", "Mnuchin", "USAGOV", "clause"),
    ("The American Soybean Association warned that farmers would lose their best market.",
     "The American Soybean Association", "USAAGR", "clause"),
    ("In a statement, China's commerce ministry said it would respond.", "China's commerce ministry", "CHNGOV", "clause"),
    ("Japan's trade minister said Tokyo was watching closely.", "Japan's trade minister", "JPNGOV", "clause"),
    ("Tariffs on soybeans hurt farmers in Iowa, analysts said.", "analysts", "EDU", "clause"),
    ("LIGHTHIZER: Any agreement has to give us a way to verify it.", "LIGHTHIZER", "USAGOV", "tag"),
    ("Myron Brilliant, executive vice president and head of international affairs at the US Chamber of Commerce, "
     "said in a statement that talks must go on.",
     "Myron Brilliant, executive vice president and head of international affairs at the US Chamber of Commerce",
     "USABUS", "clause"),
    ("Local contacts note that barge activity has increased.", "Local contacts", "BUS", "clause"),
    ("U.S. officials reportedly told Reuters that a deal was close.", "U.S. officials", "USAGOV", "clause"),
    ("Some said the truce would not hold.", "Some", None, "clause"),
])
def test_each_reporting_pattern_finds_and_types_the_source(table, sentence, mention, type_, how):
    source = one(sentence, table)
    assert source is not None
    assert (source.text, source.type, source.how) == (mention, type_, how)
    assert sentence[source.start:source.end] == mention


@pytest.mark.parametrize("sentence", [
    "The tariffs take effect on March 1.",
    "Soybean exports fell by a third last year.",
    "This notice announces the determination of the Trade Representative.",
    "The reported progress on provisions for agriculture came after the talks.",
])
def test_narration_has_no_source(table, sentence):
    assert one(sentence, table) is None


def test_pronoun_and_quote_resolved_across_sentences(table):
    article = ["U.S. Trade Representative Robert Lighthizer met Vice Premier Liu He in Beijing on Friday.",
               "“We made progress,” Lighthizer told reporters after the meeting.",
               "“But there is a lot of work to do.",
               "We will keep talking,” he said."]
    found = attribute(article, table)
    assert found[0] is None
    assert (found[1].text, found[1].type) == ("Lighthizer", "USAGOV")
    quote = found[2]  # no attribution of its own: the quote's attribution sits in a neighbouring sentence
    assert quote.how == "quote" and quote.type == "USAGOV"
    pronoun = found[3]
    assert (pronoun.text, pronoun.how, pronoun.refers_to, pronoun.type) == ("he", "pronoun", "Lighthizer", "USAGOV")
    assert article[pronoun.sentence][pronoun.start:pronoun.end] == "he"


def test_short_forms_take_the_last_matching_named_source(table):
    article = ["China's commerce ministry said on Thursday that it opposed the new duties.",
               "Australian officials said they were studying the measures.",
               "The ministry said China would take necessary countermeasures."]
    found = attribute(article, table)
    assert found[2].refers_to == "China's commerce ministry" and found[2].type == "CHNGOV"


def test_an_untyped_name_is_typed_by_its_earlier_full_mention(table):
    article = ["Canadian Prime Minister Justin Trudeau met the president in Ottawa.",
               "Trudeau said the tariffs were unacceptable."]
    assert attribute(article, table)[1].type == "CANGOV"


def test_a_user_can_extend_the_table(table):
    sentence = "Zara Quill said the levy would hurt exporters."
    assert one(sentence, table).type is None
    extended = ActorTable({**table.entries, "zara quill": "NZLGOV"})
    assert one(sentence, extended).type == "NZLGOV"


def test_codes_parse_into_country_and_role():
    assert parse_code("CHNGOV") == ("CHN", "GOV")
    assert parse_code("IGOBUSIMF") == (None, "IGO")
    assert parse_code("MNCUSA") == ("USA", "BUS")
    assert parse_code("~EDU") == (None, "EDU")
    assert parse_code("JPN") == ("JPN", None)


def test_source_tokens_describe_the_source(table):
    tokens = source_tokens(one("Geng Shuang, a Foreign Ministry spokesman, warned that China would respond.", table))
    assert {"src:yes", "type:CHNGOV", "role:GOV", "country:CHN", "verb:warned"} <= set(tokens)
    assert source_tokens(None) == ["src:none"]


def test_a_malformed_table_line_is_named():
    with pytest.raises(DataError, match=r"line 2: expected 'phrase<TAB>CODE'"):
        ActorTable.from_text("imf\tIGOBUSIMF\nbroken line without a code\n", "actors.tsv")


def test_data_check_validates_the_actor_table(small_corpus, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(small_corpus, corpus)
    with (corpus / "actors" / "additions.tsv").open("a", encoding="utf-8") as handle:
        handle.write("new minister\tnot a code\n")
    result = CliRunner().invoke(app, ["data", "check", str(corpus)])
    assert result.exit_code != 0
    assert "additions.tsv" in result.output and "phrase<TAB>CODE" in result.output


def test_source_features_compile_exactly_and_survive_saving(small_corpus, tmp_path):
    from tradeclf.data import load_corpus
    from tradeclf.model import TradeClassifier, compile_estimator
    from tradeclf.persistence import load_model, save_model

    corpus = load_corpus(small_corpus)
    rows = corpus.split("train")
    model = TradeClassifier(corpus.schema, source_tasks=("speaker",), context_tasks=("speaker", "stance"),
                            actor_table=corpus.actor_table()).fit(corpus.texts(rows), rows, groups=[r["article_id"] for r in rows])
    assert model.source_terms_ and "type:CHNGOV" in model.source_terms_
    held = corpus.subset("test")
    texts, ids = corpus.texts(held), [r["article_id"] for r in held]
    compiled = compile_estimator(model)
    for article_ids in (ids, None):
        expected = model.predict_proba(texts, article_ids=article_ids)
        got = compiled.predict_proba(texts, article_ids=article_ids)
        assert max(float(np.abs(expected[t] - got[t]).max()) for t in expected) < 1e-6
    save_model(model, tmp_path / "m", {})
    loaded = load_model(tmp_path / "m").predictor
    assert loaded.actor_table.entries == corpus.actor_table().entries
    again = loaded.predict_proba(texts, article_ids=ids)
    assert max(float(np.abs(expected_t - again[t]).max()) for t, expected_t in model.predict_proba(texts, article_ids=ids).items()) < 1e-6
    metadata = json.loads((tmp_path / "m" / "metadata.json").read_text())
    assert metadata["params"]["source_tasks"] == ["speaker"]


def test_explain_shows_source_features_with_the_predicting_head(small_corpus, tmp_path):
    from tradeclf.data import load_corpus
    from tradeclf.model import TradeClassifier, compile_estimator

    corpus = load_corpus(small_corpus)
    rows = corpus.split("train")
    model = TradeClassifier(corpus.schema, source_tasks=("speaker",), context_tasks=("speaker",),
                            actor_table=corpus.actor_table()).fit(corpus.texts(rows), rows, groups=[r["article_id"] for r in rows])
    compiled = compile_estimator(model)
    article = ["China's commerce ministry said it firmly opposed the tariffs.", "The ministry said it would retaliate."]
    explained = compiled.explain(article[1], top=50, article=article, index=1)
    predicted = compiled.predict(article, article_ids=[0, 0])[1]
    assert list(explained["speaker"]) == [predicted["speaker"]]  # the article-mode decision, not the lone one
    names = [name for name, _ in explained["speaker"][predicted["speaker"]]]
    assert any(name.startswith("source ") for name in names) or any(name.startswith(("previous: ", "next: ")) for name in names)
