"""The annotate-retrain loop: suggest picks uncertain sentences, a Label Studio config and tasks are generated
from the schema, annotations come back (Label Studio export or doccano), are imported into the corpus,
validated and merged without duplicates, and the retrained model has the new sentences in its training data."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from tradeclf.cli import app
from tradeclf.schema import load_schema

NEWS = [
    "Beijing said on Monday it would answer any new tariffs. \"We will fight to the end,\" a ministry spokesman said. "
    "Soybean prices fell in Chicago.",
    "The two sides agreed to keep talking. Analysts said a deal was still far off. The yuan was steady.",
    "Lighthizer told lawmakers that China had backtracked. Markets slid. Farm groups urged a quick settlement.",
]


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_labelstudio_config_has_every_task_and_label(small_corpus):
    schema = load_schema(small_corpus)
    result = run("data", "labelstudio-config", small_corpus)
    assert result.exit_code == 0
    view = ET.fromstring(result.output)
    choices = {c.get("name"): c for c in view.iter("Choices")}
    assert list(choices) == schema.task_names
    for task in schema.tasks:
        assert [c.get("value") for c in choices[task.name].iter("Choice")] == list(task.labels)
        assert choices[task.name].get("choice") == ("multiple" if task.multi_label else "single")
        assert choices[task.name].get("toName") == "sentence"
    assert {t.get("name") for t in view.iter("Text")} == {"previous", "sentence", "next"}


def test_suggest_picks_uncertain_sentences_spread_across_articles(trained_model, small_corpus, tmp_path):
    source = tmp_path / "news.jsonl"
    source.write_text("".join(json.dumps({"id": f"n{i}", "text": t}) + "\n" for i, t in enumerate(NEWS)), encoding="utf-8")
    out = tmp_path / "s.jsonl"
    result = run("suggest", source, "-n", "4", "-o", out, "--per-article", "2", "--exclude", small_corpus, "--model", trained_model)
    assert result.exit_code == 0, result.output
    picked = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(picked) == 4
    per_article = {}
    for p in picked:
        per_article[p["article_id"]] = per_article.get(p["article_id"], 0) + 1
        assert 0 <= p["uncertainty"] <= 1 and p["uncertain_task"] in load_schema(small_corpus).task_names
        assert set(p["predictions"]) == set(load_schema(small_corpus).task_names)
    assert max(per_article.values()) <= 2 and len(per_article) >= 2
    known = json.loads((small_corpus / "sentences.jsonl").read_text().splitlines()[5])["text"]
    source.write_text(json.dumps({"id": "k", "text": known}) + "\n", encoding="utf-8")
    again = run("suggest", source, "-n", "5", "-o", tmp_path / "k.jsonl", "--exclude", small_corpus, "--model", trained_model)
    assert again.exit_code == 0
    assert known not in (tmp_path / "k.jsonl").read_text(), "a sentence already in the corpus is never suggested"


def annotate_like_label_studio(tasks: list[dict]) -> list[dict]:
    """What a Label Studio JSON export holds after an annotator accepted (and in one case corrected) the predictions."""
    exported = []
    for k, task in enumerate(tasks):
        result = [dict(r) for r in task["predictions"][0]["result"]]
        if k == 0:
            result = [r for r in result if r["from_name"] != "speaker"] + [
                {"from_name": "speaker", "to_name": "sentence", "type": "choices", "value": {"choices": ["other"]}}]
        exported.append({"id": k + 1, "data": task["data"], "annotations": [{"id": k + 1, "was_cancelled": False, "result": result}]})
    exported.append({"id": 99, "data": {"sentence": "Skipped."}, "annotations": [{"id": 99, "was_cancelled": True, "result": []}]})
    return exported


def test_suggested_tasks_annotated_imported_and_trained_on(trained_model, small_corpus, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(small_corpus, corpus)
    source = tmp_path / "news.jsonl"
    source.write_text("".join(json.dumps({"id": f"n{i}", "text": t}) + "\n" for i, t in enumerate(NEWS)), encoding="utf-8")
    tasks_path = tmp_path / "tasks.json"
    assert run("suggest", source, "-n", "5", "-o", tasks_path, "--exclude", corpus, "--model", trained_model).exit_code == 0
    tasks = json.loads(tasks_path.read_text())
    assert tasks and all(t["predictions"][0]["result"] for t in tasks)
    export = tmp_path / "export.json"
    export.write_text(json.dumps(annotate_like_label_studio(tasks)), encoding="utf-8")
    result = run("data", "import", export, "--into", corpus)
    assert result.exit_code == 0, result.output
    assert f"{len(tasks)} sentences" in result.output
    again = run("data", "import", export, "--into", corpus)
    assert again.exit_code == 0 and "0 sentences" in again.output and f"{len(tasks)} already in the corpus" in again.output
    assert run("data", "check", corpus).exit_code == 0
    rows = [json.loads(line) for line in (corpus / "sentences.jsonl").read_text().splitlines()]
    imported = [r for r in rows if r["article_id"].startswith("imp_")]
    assert {r["text"] for r in imported} == {t["data"]["sentence"] for t in tasks}
    assert [r["speaker"] for r in imported if r["text"] == tasks[0]["data"]["sentence"]] == ["other"]  # the correction
    model = tmp_path / "retrained"
    trained = run("train", "--data", corpus, "--out", model, "--no-search")
    assert trained.exit_code == 0, trained.output
    meta = json.loads((model / "metadata.json").read_text())
    from tradeclf.data import load_corpus

    before = len(load_corpus(small_corpus).split("train", "dev"))
    after = load_corpus(corpus)
    assert meta["data"]["n_train"] == before + len(tasks), "the imported sentences are in the training data"
    assert meta["data"]["sha256"] == after.fingerprint()


def test_doccano_import_and_bad_labels_are_reported(small_corpus, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(small_corpus, corpus)
    good = {"text": "Tokyo and Washington agreed to cut tariffs on beef.",
            "label": ["tariffs", "agriculture", "speaker:none", "neutral", "advance"]}
    export = tmp_path / "doccano.jsonl"
    export.write_text(json.dumps(good) + "\n", encoding="utf-8")
    assert run("data", "import", export, "--into", corpus).exit_code == 0
    bad = dict(good, label=["tariffs", "none", "neutral", "advance"])  # bare "none": speaker or progress?
    export.write_text(json.dumps(bad) + "\n", encoding="utf-8")
    result = run("data", "import", export, "--into", corpus)
    assert result.exit_code == 4 and "ambiguous" in result.output and "line 1" in result.output


# -- the same loop against a real Label Studio server, started by the test --------------------------------------
import os  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

LABEL_STUDIO = ["label-studio>=1.20", "label-studio-sdk>=2.0"]


def _label_studio_python() -> Path:
    """A virtual environment with Label Studio (installed once, cached): it pins its own Django stack, so it
    lives apart from tradeclf's environment, as it does for users."""
    venv = Path(os.environ.get("TRADECLF_LABEL_STUDIO_VENV", Path.home() / ".cache" / "tradeclf" / "label-studio-venv"))
    python = venv / "bin" / "python"
    if not (venv / "bin" / "label-studio").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *LABEL_STUDIO], check=True, timeout=1800)
    return python


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory):
    python = _label_studio_python()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = tmp_path_factory.mktemp("label-studio")
    email, password = "annotator@example.com", "a-long-test-password-1"
    env = {**os.environ, "LABEL_STUDIO_BASE_DATA_DIR": str(data), "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "false"}
    log = (data / "server.log").open("w")
    server = subprocess.Popen([str(python.parent / "label-studio"), "start", "--no-browser", "--port", str(port),
                               "--internal-host", "127.0.0.1", "--username", email, "--password", password],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    import urllib.request

    while True:
        try:
            if urllib.request.urlopen(f"{base}/health", timeout=5).status == 200:
                break
        except OSError:
            pass
        if server.poll() is not None or time.time() > deadline:
            raise RuntimeError(f"Label Studio did not start: {(data / 'server.log').read_text()[-2000:]}")
        time.sleep(1)
    yield base, email, password, python
    os.killpg(server.pid, 15)
    server.wait(timeout=60)
    log.close()


@pytest.mark.slow
def test_round_trip_through_a_real_label_studio_server(label_studio, trained_model, small_corpus, tmp_path):
    base, email, password, python = label_studio
    corpus = tmp_path / "corpus"
    shutil.copytree(small_corpus, corpus)
    source = tmp_path / "news.jsonl"
    source.write_text("".join(json.dumps({"id": f"n{i}", "text": t}) + "\n" for i, t in enumerate(NEWS)), encoding="utf-8")
    tasks_path, config_path, export = tmp_path / "tasks.json", tmp_path / "config.xml", tmp_path / "export.json"
    assert run("suggest", source, "-n", "5", "-o", tasks_path, "--exclude", corpus, "--model", trained_model).exit_code == 0
    config = run("data", "labelstudio-config", corpus)
    config_path.write_text(config.output, encoding="utf-8")
    driver = Path(__file__).with_name("label_studio_driver.py")
    done = subprocess.run([str(python), str(driver), base, email, password, str(config_path), str(tasks_path), str(export)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    tasks = json.loads(tasks_path.read_text())
    exported = json.loads(export.read_text())
    assert len(exported) == len(tasks) and all(t["annotations"] for t in exported)
    result = run("data", "import", export, "--into", corpus)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (corpus / "sentences.jsonl").read_text().splitlines()]
    imported = {r["text"]: r for r in rows if r["article_id"].startswith("imp_")}
    assert set(imported) == {t["data"]["sentence"] for t in tasks}
    assert imported[tasks[0]["data"]["sentence"]]["speaker"] == "other"  # the annotator's correction came back
    model = tmp_path / "retrained"
    assert run("train", "--data", corpus, "--out", model, "--no-search").exit_code == 0
    from tradeclf.data import load_corpus

    meta = json.loads((model / "metadata.json").read_text())
    assert meta["data"]["sha256"] == load_corpus(corpus).fingerprint()
    assert meta["data"]["n_train"] == len(load_corpus(small_corpus).split("train", "dev")) + len(tasks)
