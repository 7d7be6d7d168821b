"""Inputs and waits shared by the batch fault and reliability tests (conftest puts this folder on sys.path)."""

from __future__ import annotations

import json
import time

ARTICLES = [
    "Washington raised tariffs on Chinese goods on Friday. Beijing vowed to retaliate.",
    "\"We have moved forward in all areas,\" a U.S. official said. Talks resume next week in Beijing.",
    "Soybean farmers in Iowa said they were worried. Prices fell 2 percent.",
    "The yuan weakened past seven per dollar. The Treasury called it manipulation.",
]


def write_input(path, n):
    with path.open("w", encoding="utf-8") as handle:
        for i in range(n):
            handle.write(json.dumps({"id": f"r{i}", "text": ARTICLES[i % len(ARTICLES)] + f" Item {i}."}) + "\n")


def wait_for_progress(checkpoint, process, timeout=300):
    """Return once the run has checkpointed at least one finished chunk (the kill must land mid-run)."""
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        try:
            if json.loads(checkpoint.read_text())["records_done"] > 0:
                return
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError("the run never checkpointed a chunk")
