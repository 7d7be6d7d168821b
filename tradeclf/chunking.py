"""One chunk of articles labelled in one vectorised call: the unit of work every engine runs.

Its own module so that the engines (local, processes, Dask) and the writer all depend on it and not on each
other (no import cycle).
"""

from __future__ import annotations

from collections import deque
from itertools import islice
from typing import Any, Callable, Iterable, Iterator

from .api import ModelLike, get_model, predict_many
from .article import SentenceLabels
from .segment import split_sentences
from .sources import Item, RecordError

MAX_ARTICLE_CHARS = 1_000_000  # one article is labelled in one pass; longer ones are refused (memory grows with length)


def label_chunk(items: list[Item], model: ModelLike = None) -> tuple[list[dict], list[dict]]:
    """Label the records of one chunk in a single vectorised call; errors pass through."""
    saved = get_model(model)
    rows, errors, texts, owners, article_ids, starts = [], [], [], [], [], []
    for number, item in enumerate(items):
        if isinstance(item, RecordError):
            errors.append(item.to_dict())
            continue
        if len(item.text) > MAX_ARTICLE_CHARS:
            errors.append(RecordError(item.location, f"the article has {len(item.text):,} characters, over the limit of "
                                      f"{MAX_ARTICLE_CHARS:,} for one article; split it into parts (one record each) "
                                      "and label those").to_dict())
            continue
        spans = split_sentences(item.text)
        if not spans:
            errors.append(RecordError(item.location, "no sentences found in the text").to_dict())
            continue
        for index, span in enumerate(spans):
            texts.append(span.text)
            owners.append((item, index, span))
            article_ids.append(number)
            starts.append(span.start)
    for (record, index, span), prediction in zip(owners, predict_many(texts, saved, article_ids, starts)):
        rows.append(SentenceLabels(index, span.start, span.end, prediction).to_row(record.id, record.fields))
    return rows, errors


def chunks(items: Iterable[Item], size: int) -> Iterator[list[Item]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def ordered(futures_of: Iterable, in_flight: int, result: Callable[[Any], Any] | None = None) -> Iterator:
    """Results of submitted futures in submission order, with at most `in_flight` pending (flat memory);
    `result(future)` waits for one (default: future.result())."""
    wait = result or (lambda future: future.result())
    pending: deque = deque()
    for future in futures_of:
        pending.append(future)
        if len(pending) >= in_flight:
            yield wait(pending.popleft())
    while pending:
        yield wait(pending.popleft())
