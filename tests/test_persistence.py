"""Model folders: round trip, hash verification, version check, clear errors for broken folders."""

from __future__ import annotations

import json

import pytest

from tradeclf.errors import ModelError
from tradeclf.persistence import METADATA_FILE, MODEL_FILE, load_model


def test_round_trip_gives_identical_predictions(trained_model, model_copy):
    texts = ["The talks collapsed and tariffs went up.", "Farmers welcomed the purchase pledge."]
    first = load_model(trained_model).estimator.predict_proba(texts)
    second = load_model(model_copy).estimator.predict_proba(texts)
    for task in first:
        assert (first[task] == second[task]).all()


def test_metadata_records_what_made_the_model(trained_model):
    meta = json.loads((trained_model / METADATA_FILE).read_text())
    for key in ("schema", "thresholds", "versions", "data", "model_sha256", "created"):
        assert key in meta
    assert len(meta["data"]["sha256"]) == 64
    assert {"scikit-learn", "python"} <= set(meta["versions"])
    assert (trained_model / "README.md").read_text().startswith("# tradeclf model")


def test_tampered_model_is_refused(model_copy):
    path = model_copy / MODEL_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match metadata.json"):
        load_model(model_copy)


def test_truncated_model_is_refused(model_copy):
    path = model_copy / MODEL_FILE
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelError, match="altered or truncated"):
        load_model(model_copy)


def test_missing_files_and_folders(model_copy, tmp_path):
    with pytest.raises(ModelError, match="no such model folder"):
        load_model(tmp_path / "absent")
    (model_copy / MODEL_FILE).unlink()
    with pytest.raises(ModelError, match="incomplete"):
        load_model(model_copy)
    (model_copy / METADATA_FILE).unlink()
    with pytest.raises(ModelError, match="metadata.json: missing"):
        load_model(model_copy)


def test_other_scikit_learn_version_is_refused_with_advice(model_copy):
    meta_path = model_copy / METADATA_FILE
    meta = json.loads(meta_path.read_text())
    meta["versions"]["scikit-learn"] = "0.24.2"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=r"scikit-learn 0\.24\.2.*retrain"):
        load_model(model_copy)
