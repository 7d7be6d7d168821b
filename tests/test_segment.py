"""Sentence splitting: abbreviations, quotes, headlines and bullets; offsets always point at the text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeclf.segment import split_sentences


def texts(article: str) -> list[str]:
    return [s.text for s in split_sentences(article)]


def test_abbreviations_do_not_end_sentences():
    article = "Mr. Lighthizer met U.S. officials on Feb. 3 in Washington. The talks ended."
    assert texts(article) == ["Mr. Lighthizer met U.S. officials on Feb. 3 in Washington.", "The talks ended."]


def test_quotes_stay_with_their_sentence():
    article = '"We\'re not talking about removing them," Trump said. "They have had problems."'
    assert texts(article) == ['"We\'re not talking about removing them," Trump said.', '"They have had problems."']


def test_headline_and_bullets_are_sentences():
    article = "Talks end without a deal\n- Tariffs stay in place\n- Next round in March\nThe two sides met for three days."
    assert texts(article) == ["Talks end without a deal", "- Tariffs stay in place", "- Next round in March",
                              "The two sides met for three days."]


def test_hard_wrapped_sentence_is_joined():
    article = "The two sides met in Beijing and agreed\nto meet again next month. Nothing else was said."
    assert texts(article) == ["The two sides met in Beijing and agreed\nto meet again next month.", "Nothing else was said."]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_offsets_point_into_the_original_text(article):
    for span in split_sentences(article):
        assert article[span.start:span.end] == span.text
        assert span.text.strip()
