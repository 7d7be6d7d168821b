"""Which sentences to annotate next: the ones the model is least sure of, spread across articles and labels.

Why: a user retraining on their own news gets most from sentences near the model's decision boundaries
(uncertainty sampling); taking them from many articles and predicted labels keeps the batch from being
ten near-identical sentences of one story. The model's labels come along as pre-annotations.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .api import ModelLike, get_model, predict_many
from .persistence import SavedModel
from .segment import split_sentences
from .sources import Item, Record

CANDIDATES_PER_PICK = 20  # candidates kept in memory per sentence asked for (bounded, whatever the input size)


@dataclass(frozen=True)
class Suggestion:
    """One sentence to annotate, with its neighbours, the model's labels and why it was picked."""

    article_id: str
    sentence_index: int
    text: str
    previous: str
    following: str
    labels: dict[str, Any]
    task: str  # the task the model is least sure of
    uncertainty: float  # 0 sure .. 1 on the decision boundary

    def to_dict(self) -> dict[str, Any]:
        return {"article_id": self.article_id, "sentence_index": self.sentence_index, "text": self.text,
                "previous": self.previous, "next": self.following, "predictions": self.labels,
                "uncertain_task": self.task, "uncertainty": round(self.uncertainty, 4)}


def uncertainty(saved: SavedModel, scores: dict[str, np.ndarray]) -> dict[str, float]:
    """Per task: 1 - margin between the two most probable labels (single-label), or 1 - the smallest distance
    of a label's probability to its decision threshold, scaled to [0, 1] (multi-label)."""
    out = {}
    predictor = saved.predictor
    for task in predictor.schema.tasks:
        p = np.asarray(scores[task.name], dtype=float)
        if task.multi_label:
            thresholds = predictor.context_thresholds_.get(task.name, predictor.thresholds_.get(task.name))
            t = np.asarray(thresholds if thresholds is not None else np.full(len(p), 0.5), dtype=float)
            distance = np.abs(p - t) / np.maximum(t, 1 - t)
            out[task.name] = float(1 - distance.min())
        else:
            top = np.sort(p)[-2:]
            out[task.name] = float(1 - (top[-1] - top[0]))
    return out


def suggest(items: Iterable[Item], n: int = 50, model: ModelLike = None, exclude: set[str] | None = None,
            per_article: int = 2, chunk_records: int = 64) -> list[Suggestion]:
    """Pick `n` sentences: the most uncertain first, at most `per_article` from one article, taking turns
    across (task, predicted label) so every kind of doubt is represented; sentences whose text is in
    `exclude` (already annotated) are skipped."""
    saved = get_model(model)
    exclude = exclude or set()
    keep = max(n * CANDIDATES_PER_PICK, 100)
    heap: list[tuple[float, int, Suggestion]] = []
    counter = 0
    batch: list[Record] = []

    def score(records: list[Record]) -> None:
        nonlocal counter
        texts, owners = [], []
        for number, record in enumerate(records):
            spans = split_sentences(record.text)
            for index, span in enumerate(spans):
                texts.append(span.text)
                owners.append((number, record, index, spans))
        if not texts:
            return
        predictions = predict_many(texts, saved, [o[0] for o in owners])
        for (number, record, index, spans), prediction in zip(owners, predictions):
            if normalise(prediction.text) in exclude:
                continue
            doubts = uncertainty(saved, prediction.scores)
            task = max(doubts, key=doubts.__getitem__)
            item = Suggestion(record.id, index, prediction.text, spans[index - 1].text if index else "",
                              spans[index + 1].text if index + 1 < len(spans) else "", prediction.labels, task, doubts[task])
            counter += 1
            entry = (item.uncertainty, -counter, item)
            if len(heap) < keep:
                heapq.heappush(heap, entry)
            elif entry > heap[0]:
                heapq.heapreplace(heap, entry)

    for item in items:
        if isinstance(item, Record):
            batch.append(item)
            if len(batch) >= chunk_records:
                score(batch)
                batch = []
    score(batch)
    ranked = [entry[2] for entry in sorted(heap, reverse=True)]
    strata: dict[tuple[str, str], list[Suggestion]] = defaultdict(list)
    for s in ranked:
        label = s.labels[s.task]
        strata[(s.task, "|".join(label) if isinstance(label, list) else label)].append(s)
    queues = sorted(strata.values(), key=lambda q: -q[0].uncertainty)
    chosen: list[Suggestion] = []
    per: dict[str, int] = defaultdict(int)
    while len(chosen) < n and any(queues):
        for queue in queues:
            while queue and per[queue[0].article_id] >= per_article:
                queue.pop(0)
            if queue and len(chosen) < n:
                s = queue.pop(0)
                chosen.append(s)
                per[s.article_id] += 1
    return chosen


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def corpus_texts(folder: Path) -> set[str]:
    """Normalised texts of a corpus's sentences (to skip what is annotated already)."""
    import json

    path = Path(folder) / "sentences.jsonl"
    if not path.is_file():
        return set()
    return {normalise(json.loads(line)["text"]) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def label_studio_task(s: Suggestion, schema: Any, model_version: str) -> dict[str, Any]:
    """A Label Studio task: the sentence and its context as data, the model's labels as a prediction."""
    result = []
    for task in schema.tasks:
        value = s.labels[task.name]
        choices = list(value) if isinstance(value, list) else [value]
        if choices:
            result.append({"from_name": task.name, "to_name": "sentence", "type": "choices", "value": {"choices": choices}})
    return {"data": {"sentence": s.text, "previous": s.previous, "next": s.following, "article_id": s.article_id,
                     "sentence_index": s.sentence_index},
            "predictions": [{"model_version": model_version, "score": round(1 - s.uncertainty, 4), "result": result}]}
