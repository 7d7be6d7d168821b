"""Sentence splitting with character offsets, by syntok (handles "U.S.", "Feb.", "Mr." and quotes).

News text arrives one paragraph per line, with headlines and bullet points that have no final full
stop, so line breaks end sentences too, except inside a hard-wrapped sentence (a line ending in a
lowercase letter or comma followed by a line starting in lowercase).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CONTINUES = re.compile(r"[a-z,;]\s*$")
_CONTINUATION = re.compile(r"^\s*[a-z]")


@dataclass(frozen=True)
class Span:
    """One sentence of an article and where it sits in the original text."""

    text: str
    start: int
    end: int


def _blocks(text: str) -> list[tuple[int, str]]:
    """(offset, block) pairs: lines, re-joined where a sentence was hard-wrapped."""
    blocks: list[list] = []
    offset = 0
    for line in text.splitlines(keepends=True):
        if blocks and _CONTINUES.search(blocks[-1][1]) and _CONTINUATION.match(line):
            blocks[-1][1] += line
        else:
            blocks.append([offset, line])
        offset += len(line)
    return [(start, block) for start, block in blocks if block.strip()]


def split_sentences(text: str) -> list[Span]:
    """Split an article into sentences; text[start:end] == span.text for every span."""
    from syntok import segmenter

    spans = []
    for base, block in _blocks(text):
        for paragraph in segmenter.analyze(block):
            for sentence in paragraph:
                tokens = list(sentence)
                if not tokens:
                    continue
                start = base + tokens[0].offset
                end = base + tokens[-1].offset + len(tokens[-1].value)
                raw = text[start:end]
                stripped = raw.strip()
                if stripped:
                    start += len(raw) - len(raw.lstrip())
                    spans.append(Span(stripped, start, start + len(stripped)))
    return spans
