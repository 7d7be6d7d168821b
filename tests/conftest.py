"""Shared fixtures: a small corpus cut from data/ covering every label, and one model trained on it per session."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))  # shared helpers (batch_helpers.py); tests import in importlib mode
DATA = ROOT / "data"


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def _no_user_model(monkeypatch, tmp_path_factory):
    """No test reads a model from the user's environment or writes into a real home."""
    monkeypatch.delenv("TRADECLF_MODEL", raising=False)
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path_factory.getbasetemp() / "hf-cache"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    """A data/-style folder: ~60 written training articles chosen so every label occurs, 25 real ones, and a few
    dev, test and seed articles of both origins."""
    out = tmp_path_factory.mktemp("corpus")
    schema = json.loads((DATA / "schema.json").read_text(encoding="utf-8"))
    articles, sentences = _read(DATA / "articles.jsonl"), _read(DATA / "sentences.jsonl")
    by_article: dict[str, list[dict]] = {}
    for s in sentences:
        by_article.setdefault(s["article_id"], []).append(s)
    chosen, seen = [], {}
    wanted = {(t["name"], label) for t in schema["tasks"] for label in t["labels"]}
    for article in articles:
        if article["split"] != "train" or article["origin"] != "written":
            continue
        rows = by_article[article["id"]]
        gains = {(t["name"], lab) for t in schema["tasks"] for r in rows
                 for lab in (r[t["name"]] if isinstance(r[t["name"]], list) else [r[t["name"]]])}
        if len(chosen) < 45 or any(seen.get(g, 0) < 6 for g in gains & wanted):
            chosen.append(article)
            for g in gains:
                seen[g] = seen.get(g, 0) + 1
        if len(chosen) >= 60:
            break
    for split, n in (("dev", 5), ("test", 8)):
        chosen += [a for a in articles if a["split"] == split and a["origin"] == "written"][:n]
    for split, n in (("train", 25), ("dev", 4), ("test", 8), ("seed", 2)):  # real passages, and the two seed articles
        chosen += [a for a in articles if a["split"] == split and a["origin"] == "real"][:n]
    ids = {a["id"] for a in chosen}
    (out / "schema.json").write_text(json.dumps(schema), encoding="utf-8")
    shutil.copytree(DATA / "actors", out / "actors")
    (out / "articles.jsonl").write_text("".join(json.dumps(a) + "\n" for a in chosen), encoding="utf-8")
    (out / "sentences.jsonl").write_text("".join(json.dumps(s) + "\n" for s in sentences if s["article_id"] in ids), encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def trained_model(small_corpus, tmp_path_factory) -> Path:
    """One model folder trained on the small corpus (no search: fast), shared by the session."""
    from tradeclf.data import load_corpus
    from tradeclf.training import train

    out = tmp_path_factory.mktemp("model") / "small"
    train(load_corpus(small_corpus), out, search=False, cv_report=False, log=lambda m: None)
    return out


@pytest.fixture
def model_copy(trained_model, tmp_path) -> Path:
    """A private copy of the trained model folder, for tests that damage it."""
    target = tmp_path / "model"
    shutil.copytree(trained_model, target)
    return target
