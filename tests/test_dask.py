"""The Dask engine: a LocalCluster of 2 worker processes gives exactly the local engine's output."""

from __future__ import annotations

import json

import pytest

from tradeclf.errors import InputError
from tradeclf.labelling import label_files

pytest.importorskip("distributed")


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_dask_output_equals_local_output(trained_model, tmp_path, fmt):
    parts = tmp_path / "parts"
    parts.mkdir()
    texts = ["Washington raised tariffs on Chinese goods on Friday. Beijing vowed to retaliate.",
             "Talks resumed in Geneva.\nBoth sides praised the progress, officials said.",
             "", "The yuan weakened past seven per dollar; the Treasury called it manipulation."]
    for p in range(3):  # a partitioned JSON Lines input, one bad record per part
        with (parts / f"part-{p}.jsonl").open("w", encoding="utf-8") as handle:
            for i in range(40):
                handle.write(json.dumps({"id": f"{p}-{i}", "text": texts[i % len(texts)] + (f" Note {i}." if texts[i % len(texts)] else "")}) + "\n")
            handle.write('{"id": "broken",\n')
    local, distributed = tmp_path / f"local.{fmt}", tmp_path / f"dask.{fmt}"
    expected = label_files([str(parts)], str(local), model=trained_model, chunk_records=9, progress=False)
    report = label_files([str(parts)], str(distributed), model=trained_model, chunk_records=9, progress=False, engine="dask")
    assert report.sentences == expected.sentences and report.errors == expected.errors
    assert distributed.read_bytes() == local.read_bytes()


def test_unreachable_scheduler_is_a_clear_error(trained_model, tmp_path):
    source = tmp_path / "a.txt"
    source.write_text("Tariffs rose.", encoding="utf-8")
    with pytest.raises(InputError, match="could not connect"):
        label_files([str(source)], str(tmp_path / "o.jsonl"), model=trained_model, engine="dask",
                    scheduler="tcp://127.0.0.1:9", progress=False)
