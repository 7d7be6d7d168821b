"""Property tests on the public API: any text is labelled or rejected with the documented error."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeclf import InputError, label_article, predict
from tradeclf.api import get_model

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ANY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)


@SETTINGS
@given(text=ANY_TEXT)
def test_any_string_is_labelled_or_rejected(trained_model, text):
    if not text.strip():
        with pytest.raises(InputError):
            predict(text, model=trained_model)
        return
    result = predict(text, model=trained_model)
    assert result.text == text
    schema = get_model(trained_model).schema
    for task in schema.tasks:
        value = result.labels[task.name]
        assert set(value) <= set(task.labels) if task.multi_label else value in task.labels


@SETTINGS
@given(texts=st.lists(ANY_TEXT.filter(str.strip), min_size=1, max_size=12), size=st.integers(1, 5))
def test_batch_equals_one_by_one_whatever_the_batch_size(trained_model, texts, size):
    whole = [p.to_dict() for p in predict(texts, model=trained_model)]
    one_by_one = [predict(t, model=trained_model).to_dict() for t in texts]
    chunked = [p.to_dict() for i in range(0, len(texts), size) for p in predict(texts[i:i + size], model=trained_model)]
    assert whole == one_by_one == chunked


@SETTINGS
@given(text=ANY_TEXT)
def test_articles_are_labelled_or_rejected_and_offsets_hold(trained_model, text):
    if not text.strip():
        with pytest.raises(InputError):
            label_article(text, model=trained_model)
        return
    result = label_article(text, model=trained_model)
    for sentence in result.sentences:
        assert text[sentence.start:sentence.end] == sentence.prediction.text


@pytest.mark.parametrize("text", ["\x00\x01\x02 control", "🇨🇳🇺🇸 tariffs 📈", "الرسوم الجمركية", "!!!???...", "\u202e reversed",
                                  "tariffs and soybeans, " * 500_000])  # 11 MB
def test_awkward_inputs(trained_model, text):
    assert predict(text, model=trained_model).labels
    assert label_article(text, model=trained_model).summary["sentences"] >= 1
