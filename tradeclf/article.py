"""Whole articles: split into sentences, label each, and summarise as the schema's `summary` declares."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .api import ModelLike, Prediction, check_text, get_model, predict_many
from .schema import Schema
from .segment import split_sentences


@dataclass(frozen=True)
class SentenceLabels:
    """One sentence of an article with its position and prediction."""

    index: int
    start: int
    end: int
    prediction: Prediction

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "start": self.start, "end": self.end, **self.prediction.to_dict()}

    def to_row(self, article_id: str, fields: tuple = ()) -> dict[str, Any]:
        """The row every batch writer takes: JSON Lines as is, CSV and Parquet flattened by sinks.flat_row;
        `fields` are input fields kept for the row (--keep), placed after the article id."""
        return {"article_id": article_id, **dict(fields), "sentence_index": self.index, "start": self.start,
                "end": self.end, **self.prediction.to_dict()}


@dataclass(frozen=True)
class ArticleLabels:
    """The sentences of an article and the article-level summary."""

    sentences: list[SentenceLabels]
    summary: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"sentences": [s.to_dict() for s in self.sentences], "summary": self.summary}


def label_article(text: str, model: ModelLike = None) -> ArticleLabels:
    """Split `text` into sentences, label each, and summarise the article.

    The summary has, as data/schema.json declares: label shares for multi-label tasks (issue shares),
    cross-tabulations of two tasks (stance by speaker), and scores such as
    progress_score = (advance - setback) / sentences reporting on progress.
    """
    check_text(text, "article")
    saved = get_model(model)
    spans = split_sentences(text)
    predictions = predict_many([s.text for s in spans], saved, article_ids=[0] * len(spans), starts=[s.start for s in spans])
    sentences = [SentenceLabels(i, s.start, s.end, p) for i, (s, p) in enumerate(zip(spans, predictions))]
    return ArticleLabels(sentences, summarise([p.labels for p in predictions], saved.schema))


def summarise(labels: list[dict[str, Any]], schema: Schema) -> dict[str, Any]:
    """Article summary from per-sentence labels, generic over the schema's summary declaration."""
    n = len(labels)
    summary: dict[str, Any] = {"sentences": n}
    for name in schema.summary.get("shares", []):
        task = schema.task(name)
        counts = Counter(label for row in labels for label in (row[name] if task.multi_label else [row[name]]))
        summary[f"{name}_shares"] = {label: round(counts[label] / n, 4) if n else 0.0 for label in task.labels}
    for first, second in schema.summary.get("crosstabs", []):
        table: dict[str, dict[str, int]] = {}
        for row in labels:
            table.setdefault(row[first], Counter())[row[second]] += 1
        summary[f"{second}_by_{first}"] = {k: dict(v) for k, v in sorted(table.items())}
    for score in schema.summary.get("scores", []):
        values = [row[score["task"]] for row in labels if row[score["task"]] not in score.get("ignore", [])]
        plus, minus = values.count(score["plus"]), values.count(score["minus"])
        summary[score["name"]] = round((plus - minus) / len(values), 4) if values else None
        summary[f"{score['name']}_sentences"] = len(values)
    return summary
