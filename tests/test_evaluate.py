"""`tradeclf evaluate`: metrics, baselines on the same splits, plots, learning curve, confident errors."""

from __future__ import annotations

import builtins
import json

import pytest
from typer.testing import CliRunner

from tradeclf.baselines import FastTextBaseline, LexiconBaseline, MajorityBaseline, Unavailable
from tradeclf.cli import app
from tradeclf.data import load_corpus
from tradeclf.metrics import evaluate_predictions

runner = CliRunner()


@pytest.fixture(scope="module")
def corpus(small_corpus):
    return load_corpus(small_corpus)


def test_majority_baseline_predicts_the_most_frequent_label(corpus):
    rows = corpus.split("train", "dev")
    baseline = MajorityBaseline().fit(corpus.texts(rows), rows, corpus.schema)
    for task in corpus.schema.tasks:
        if not task.multi_label:
            counts = {label: sum(r[task.name] == label for r in rows) for label in task.labels}
            assert baseline.predict(["x"])[0][task.name] == max(counts, key=counts.get)


def test_lexicon_baseline_matches_phrases(corpus, tmp_path):
    lexicon = tmp_path / "lexicon.json"
    spec = {t.name: {} for t in corpus.schema.tasks}
    spec["issues"] = {"tariffs": ["tariff*", "levies"], "agriculture": ["soybean*"]}
    spec["speaker"] = {"us_government": ["lighthizer"]}
    lexicon.write_text(json.dumps(spec), encoding="utf-8")
    rows = corpus.split("train")
    baseline = LexiconBaseline(lexicon).fit(corpus.texts(rows), rows, corpus.schema)
    first, second = baseline.predict(["Lighthizer defended the tariffs on soybeans.", "Nothing here; not even a tariffing."])
    assert first["issues"] == ["tariffs", "agriculture"] and first["speaker"] == "us_government"
    assert second["issues"] == ["tariffs"]  # prefix match: "tariff*"
    assert second["speaker"] == baseline.fallback["speaker"]


def test_missing_optional_package_is_a_skip_not_a_crash(corpus, monkeypatch):
    real_import = builtins.__import__

    def no_fasttext(name, *args, **kwargs):
        if name == "fasttext":
            raise ImportError("No module named 'fasttext'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_fasttext)
    rows = corpus.split("train")
    with pytest.raises(Unavailable, match=r"pip install \.\[bench\]"):
        FastTextBaseline().fit(corpus.texts(rows), rows, corpus.schema)


def test_evaluate_writes_report_and_plots(trained_model, small_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(FastTextBaseline, "fit", lambda *a, **k: (_ for _ in ()).throw(Unavailable("fasttext is not installed")))
    out = tmp_path / "report"
    result = runner.invoke(app, ["evaluate", "--data", str(small_corpus), "--model", str(trained_model), "--out", str(out),
                                 "--baselines", "majority,fasttext", "--html"])
    assert result.exit_code == 0, result.output
    assert "skipped fasttext" in result.output
    report = json.loads((out / "report.json").read_text())
    systems = report["comparison"]["systems"]
    assert set(systems) == {"tradeclf", "majority"}
    assert list(systems["tradeclf"]) == ["real-test", "written-test", "seed"]  # real text first, by origin
    assert systems["tradeclf"]["real-test"]["sentences_per_second"] > 0
    for name in ("confusion_speaker_real-test.png", "f1_issues_written-test.png", "learning_curve.png", "report.md", "report.html"):
        assert (out / name).stat().st_size > 0, name
    markdown = (out / "report.md").read_text()
    assert "![Learning curve](learning_curve.png)" in markdown and "Most confident errors" in markdown
    curve = report["learning_curve"]
    assert [p["fraction"] for p in curve["points"]] == [0.1, 0.25, 0.5, 0.75, 1.0]
    assert curve["over"] == "real training articles" and curve["split"] == "real-test"
    varied = [p["varied_sentences"] for p in curve["points"]]
    assert varied == sorted(varied) and len({p["sentences"] - p["varied_sentences"] for p in curve["points"]}) == 1


def test_reported_metrics_agree_with_a_direct_evaluation(trained_model, corpus):
    from tradeclf.api import get_model
    from tradeclf.evaluation import compare_systems

    saved = get_model(trained_model)
    results = compare_systems(corpus, saved, ["test"], [], None, log=lambda m: None)
    rows = corpus.split("test")
    predicted = saved.predictor.predict(corpus.texts(rows), article_ids=[r["article_id"] for r in rows])
    direct = evaluate_predictions(corpus.labels(rows), predicted, corpus.schema)
    for task, metrics in direct["tasks"].items():
        assert results["systems"]["tradeclf"]["test"]["tasks"][task]["macro_f1"] == metrics["macro_f1"]


def test_confident_errors_are_really_errors(trained_model, corpus):
    from tradeclf.api import get_model
    from tradeclf.evaluation import confident_errors

    saved = get_model(trained_model)
    errors = confident_errors(corpus, saved, "test", n=5)
    gold = {r["id"]: r for r in corpus.split("test")}
    for task, found in errors.items():
        confidences = [e["confidence"] for e in found]
        assert confidences == sorted(confidences, reverse=True)
        for e in found:
            if "gold" in e:
                assert gold[e["id"]][task] == e["gold"] != e["predicted"]
