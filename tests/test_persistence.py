"""Model folders: arrays + JSON round trip, no pickle ever loaded, clear errors for damaged or crafted folders."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest

from tradeclf.errors import ModelError
from tradeclf.persistence import METADATA_FILE, MODEL_FILE, load_model


def _rehash(folder) -> None:
    """What an attacker who can write the folder does: make metadata.json agree with the new model file."""
    meta_path = folder / METADATA_FILE
    meta = json.loads(meta_path.read_text())
    meta["model_sha256"] = hashlib.sha256((folder / MODEL_FILE).read_bytes()).hexdigest()
    meta_path.write_text(json.dumps(meta))


def test_round_trip_gives_identical_predictions(trained_model, model_copy):
    texts = ["The talks collapsed and tariffs went up.", "Farmers welcomed the purchase pledge."]
    first = load_model(trained_model).predictor.predict_proba(texts)
    second = load_model(model_copy).predictor.predict_proba(texts)
    for task in first:
        assert (first[task] == second[task]).all()


def test_model_folder_holds_no_pickle(trained_model):
    with zipfile.ZipFile(trained_model / MODEL_FILE) as archive:
        for name in archive.namelist():
            with archive.open(name) as member:
                array = np.lib.format.read_array(member, allow_pickle=False)
            assert array.dtype.kind in "fiub", name
    assert not list(trained_model.glob("*.joblib")) and not list(trained_model.glob("*.pkl"))


def test_metadata_records_what_made_the_model(trained_model):
    meta = json.loads((trained_model / METADATA_FILE).read_text())
    for key in ("schema", "layout", "thresholds", "versions", "data", "model_sha256", "created"):
        assert key in meta
    assert len(meta["data"]["sha256"]) == 64
    assert {"scikit-learn", "python"} <= set(meta["versions"])
    assert (trained_model / "README.md").read_text().startswith("# tradeclf model")


def test_crafted_pickle_with_matching_hash_is_refused_without_running(model_copy, tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    buffer = io.BytesIO()
    np.savez(buffer, weights=np.array([Payload()], dtype=object))
    (model_copy / MODEL_FILE).write_bytes(buffer.getvalue())
    _rehash(model_copy)
    with pytest.raises(ModelError, match="pickled objects, which are refused|not numbers"):
        load_model(model_copy)
    assert not marker.exists()


def test_an_old_joblib_model_folder_is_refused_with_advice(model_copy):
    (model_copy / MODEL_FILE).rename(model_copy / "model.joblib")
    with pytest.raises(ModelError, match="joblib pickle.*retrain"):
        load_model(model_copy)


def test_weights_are_saved_as_int8_codes_that_rebuild_the_estimator_exactly(trained_model):
    with np.load(trained_model / MODEL_FILE, allow_pickle=False) as npz:
        codes, scales = npz["weights"], npz["weight_scales"]
    assert codes.dtype == np.int8 and scales.shape == (codes.shape[1],)
    assert np.all(np.log2(scales) == np.round(np.log2(scales)))  # powers of two
    predictor = load_model(trained_model).predictor
    assert np.array_equal(predictor.weights, codes * scales)


def test_the_int8_grid_is_exact_for_any_block_of_a_row():
    from tradeclf.compiled import int8_grid

    rng = np.random.default_rng(0)
    rows = rng.normal(size=(4, 300)) * rng.uniform(0.01, 5, size=(4, 1))
    codes, scales = int8_grid(rows, axis=1)
    gridded = codes * scales[:, None]
    assert np.abs(gridded - rows).max() <= scales.max() / 2 + 1e-12
    blocks = gridded.T.reshape(3, 100, 4).transpose(1, 0, 2).reshape(100, 12)  # rows split into three column blocks
    block_codes, block_scales = int8_grid(blocks, axis=0)
    assert np.array_equal(block_codes * block_scales, blocks)


def _rewrite_array(folder, name: str, change) -> None:
    """Replace one array of the model file with change(array), and re-sign it as an attacker would."""
    with np.load(folder / MODEL_FILE, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays[name] = change(arrays[name])
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    (folder / MODEL_FILE).write_bytes(buffer.getvalue())
    _rehash(folder)


def test_a_weight_scale_that_does_not_fit_is_refused(model_copy):
    _rewrite_array(model_copy, "weight_scales", lambda scales: scales[:-1])
    with pytest.raises(ModelError, match="weight scales.*damaged"):
        load_model(model_copy)


def test_inconsistent_arrays_are_refused(model_copy):
    _rewrite_array(model_copy, "weights", lambda weights: weights[:-3])  # fewer rows than the vocabularies have terms
    with pytest.raises(ModelError, match="do not fit.*damaged"):
        load_model(model_copy)


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


def test_compiled_predictor_equals_the_estimator(small_corpus):
    """The saved arrays give the estimator's probabilities, lone sentences and article mode, to 1e-6."""
    from tradeclf.data import load_corpus
    from tradeclf.model import TradeClassifier, compile_estimator

    corpus = load_corpus(small_corpus)
    rows = corpus.split("train")
    model = TradeClassifier(corpus.schema, context_tasks=("speaker", "issues")).fit(
        corpus.texts(rows), rows, groups=[r["article_id"] for r in rows])
    compiled = compile_estimator(model)
    everything = corpus.sentences
    texts, ids = corpus.texts(everything), [r["article_id"] for r in everything]
    for article_ids in (None, ids):
        expected = model.predict_proba(texts, article_ids=article_ids)
        got = compiled.predict_proba(texts, article_ids=article_ids)
        for task in expected:
            np.testing.assert_allclose(got[task], expected[task], rtol=0, atol=1e-6)
        assert compiled.predict(texts, article_ids=article_ids) == model.predict(texts, article_ids=article_ids)


def test_the_latency_path_for_a_few_sentences_equals_the_batch_path(trained_model, small_corpus):
    """A lone sentence is scored without sparse matrices; it must give the batch path's probabilities."""
    import numpy as np

    from tradeclf.compiled import SMALL_BATCH
    from tradeclf.data import load_corpus

    predictor = load_model(trained_model).predictor
    texts = load_corpus(small_corpus).texts(load_corpus(small_corpus).split("test"))[:90]
    for start in range(0, len(texts), SMALL_BATCH):
        few = texts[start:start + SMALL_BATCH]
        alone = predictor.predict_proba(few)
        batch = predictor.predict_proba(few + ["Padding sentence."] * (SMALL_BATCH + 1))
        for task in alone:
            np.testing.assert_allclose(alone[task], batch[task][: len(few)], atol=1e-12)
        in_article = predictor.predict_proba(few, article_ids=[0] * len(few))
        batch = predictor.predict_proba(few + ["Padding sentence."] * (SMALL_BATCH + 1), article_ids=[0] * len(few) + [1] * (SMALL_BATCH + 1))
        for task in in_article:
            np.testing.assert_allclose(in_article[task], batch[task][: len(few)], atol=1e-12)
