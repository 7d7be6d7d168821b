"""The model in models/default: it loads, matches data/, and reports its metrics."""

from __future__ import annotations

import json
from pathlib import Path

from tradeclf import predict
from tradeclf.data import load_corpus
from tradeclf.persistence import METADATA_FILE, load_model, shipped_model_path

DATA = Path(__file__).resolve().parent.parent / "data"


def test_shipped_model_was_trained_on_the_current_data():
    meta = json.loads((shipped_model_path() / METADATA_FILE).read_text())
    assert meta["data"]["sha256"] == load_corpus(DATA).fingerprint(), \
        "models/default is stale: run `python train.py` and commit models/"


def test_shipped_model_loads_and_labels_without_setup():
    result = predict("China offered to curb forced technology transfer.")
    assert "technology_transfer" in result.labels["issues"]


def test_shipped_model_reports_held_out_metrics():
    """Real text first, then written, then the seed articles; every figure with an interval by article."""
    meta = load_model(shipped_model_path()).metadata
    from tradeclf.card import NOT_TABLES

    assert [k for k in meta["metrics"] if "(" not in k and k not in NOT_TABLES] == ["real-test", "written-test", "seed"]
    assert meta["data"]["n_train_by_origin"]["real"] > 4000
    for split in ("real-test", "written-test", "seed"):
        for task, metrics in meta["metrics"][split]["tasks"].items():
            assert 0.0 <= metrics["macro_f1"] <= 1.0, (split, task)
            low, high = metrics["macro_f1_ci"]
            assert low <= metrics["macro_f1"] <= high


def test_readme_shows_the_shipped_models_metrics():
    from tradeclf.card import readme_metrics_block

    readme = (DATA.parent / "README.md").read_text(encoding="utf-8")
    meta = json.loads((shipped_model_path() / METADATA_FILE).read_text())
    assert readme_metrics_block(meta) in readme, "README metrics are stale: run `python train.py`"


def test_shipped_model_reports_what_attribution_adds_and_how_well_sources_are_found():
    """The speaker head reads the attributed source; the card shows its gain (paired interval) on every test
    split, and the rules' span scores against the gold spans."""
    meta = load_model(shipped_model_path()).metadata
    assert "speaker" in meta["params"]["source_tasks"]
    for split in ("real-test", "written-test", "seed"):
        effect = meta["metrics"]["attribution_effect"][split]["speaker"]
        low, high = effect["gain_ci"]
        assert low <= effect["gain"] <= high and abs(effect["with"] - effect["without"] - effect["gain"]) < 1e-3
    spans = meta["metrics"]["attribution_spans"]
    assert spans["real-test"]["gold_sources"] > 50 and 0 < spans["real-test"]["found"]["f1"] <= 1
    assert spans["agreement (second annotator vs first)"]["exact"]["f1"] > 0.8
