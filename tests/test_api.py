"""The Python API: predict and label_article, on a given model, $TRADECLF_MODEL and bad input."""

from __future__ import annotations

import pytest

import tradeclf
from tradeclf import InputError, label_article, predict
from tradeclf.api import Prediction


def test_one_in_one_out(trained_model):
    result = predict("China offered to curb forced technology transfer.", model=trained_model)
    assert isinstance(result, Prediction)
    schema = tradeclf.get_model(trained_model).schema
    assert set(result.labels) == set(schema.task_names) == set(result.probabilities)
    for task in schema.tasks:
        assert set(result.probabilities[task.name]) == set(task.labels)
        if not task.multi_label:
            assert result.labels[task.name] == max(result.probabilities[task.name], key=result.probabilities[task.name].get)
    as_dict = result.to_dict()
    assert as_dict["text"] == result.text and as_dict["labels"] == result.labels


def test_list_in_list_out_order_kept(trained_model):
    texts = ["Tariffs were raised again.", "The weather was sunny.", "Beijing pledged to buy more soybeans."]
    results = predict(texts, model=trained_model)
    assert [r.text for r in results] == texts
    assert [r.labels for r in results] == [predict(t, model=trained_model).labels for t in texts]
    assert predict([], model=trained_model) == []


@pytest.mark.parametrize("bad", ["", "   \n\t", None, 42, b"bytes"])
def test_bad_text_is_rejected_clearly(trained_model, bad):
    with pytest.raises(InputError, match="text"):
        predict(bad, model=trained_model)


def test_a_bad_item_in_a_list_is_named(trained_model):
    with pytest.raises(InputError, match=r"text\[1\]"):
        predict(["Fine sentence.", ""], model=trained_model)


def test_model_from_environment(trained_model, monkeypatch):
    monkeypatch.setenv("TRADECLF_MODEL", str(trained_model))
    assert predict("Tariffs rose.").labels == predict("Tariffs rose.", model=trained_model).labels


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(tradeclf.ModelError, match="no such model folder"):
        predict("Tariffs rose.", model=tmp_path / "nope")


def test_label_article_offsets_and_summary(trained_model):
    article = ("U.S. and Chinese negotiators ended talks in Beijing on Wednesday. "
               "\"We have moved forward,\" a U.S. official said.\nTariffs on $250 billion of goods remain in place.")
    result = label_article(article, model=trained_model)
    assert len(result.sentences) == 3
    for sentence in result.sentences:
        assert article[sentence.start:sentence.end] == sentence.prediction.text
    summary = result.summary
    assert summary["sentences"] == 3
    assert set(summary["issues_shares"]) == set(tradeclf.get_model(trained_model).schema.task("issues").labels)
    assert sum(sum(v.values()) for v in summary["stance_by_speaker"].values()) == 3
    score = summary["progress_score"]
    assert score is None or -1.0 <= score <= 1.0


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, tradeclf; print(any(m.startswith(('sklearn', 'datasets')) for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


def test_rows_carry_the_attributed_source_with_article_offsets(trained_model):
    article = ("Chinese Vice Premier Liu He arrived in Washington on Wednesday. "
               "\"We have moved forward,\" Liu told reporters. \"There is more to do.\" "
               "Tariffs on $250 billion of goods remain in place.")
    result = label_article(article, model=trained_model)
    sources = [s.prediction.source for s in result.sentences]
    assert sources[0] is None and sources[-1] is None  # narration
    said = sources[1]
    assert article[said["start"]:said["end"]] == said["text"] == "Liu"
    assert said["type"] == "CHNGOV"
    assert sources[2] == said  # a quote continued: the attribution sits in the neighbouring sentence
    assert result.sentences[1].to_dict()["source"] == said


def test_predict_finds_the_source_inside_a_lone_sentence(trained_model):
    prediction = tradeclf.predict("The tariffs will hurt growth, an IMF economist said.", model=trained_model)
    assert prediction.source == {"text": "an IMF economist", "start": 30, "end": 46, "type": "IGO"}
    assert tradeclf.predict("Tariffs rose in May.", model=trained_model).source is None


def test_label_frame_and_predict_take_pandas(trained_model):
    import pandas as pd

    frame = pd.DataFrame({"id": ["a", "b"], "text": ["Tariffs rose on Friday. Beijing vowed to retaliate.", "Talks resumed."],
                          "date": ["2019-05-10", "2019-06-01"], "outlet": ["wire", "daily"]})
    rows = tradeclf.label_frame(frame, model=trained_model)
    assert list(rows["id"] if "id" in rows else rows["article_id"]) == ["a", "a", "b"]
    assert list(rows["date"]) == ["2019-05-10", "2019-05-10", "2019-06-01"] and "outlet" in rows
    assert isinstance(rows["issues"][0], list) and {"speaker", "p_speaker_none", "source_text", "start"} <= set(rows.columns)
    predictions = tradeclf.predict(frame["text"], model=trained_model)
    assert [p.text for p in predictions] == list(frame["text"])
