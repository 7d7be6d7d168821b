"""Batch labelling under faults: interrupted runs resume to the same output, kills, bad disks, threads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from tradeclf import chunking
from tradeclf.api import get_model, predict
from tradeclf.errors import InputError
from tradeclf.labelling import label_files

from batch_helpers import ARTICLES, wait_for_progress, write_input  # noqa: E402


def read(path):
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_interrupted_run_resumes_to_the_uninterrupted_output(trained_model, tmp_path, monkeypatch, fmt):
    source = tmp_path / "in.jsonl"
    write_input(source, 50)
    reference = tmp_path / f"reference.{fmt}"
    label_files([str(source)], str(reference), model=trained_model, chunk_records=7, progress=False)

    out = tmp_path / f"out.{fmt}"
    real_chunk, calls = chunking.label_chunk, {"n": 0}

    def dies_on_fourth_chunk(items, model=None):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return real_chunk(items, model)

    monkeypatch.setattr(chunking, "label_chunk", dies_on_fourth_chunk)
    with pytest.raises(KeyboardInterrupt):
        label_files([str(source)], str(out), model=trained_model, chunk_records=7, progress=False)
    assert not out.exists(), "an interrupted run must not leave a partial output under the final name"
    with pytest.raises(InputError, match="--resume"):
        label_files([str(source)], str(out), model=trained_model, chunk_records=7, progress=False)
    monkeypatch.setattr(chunking, "label_chunk", real_chunk)
    report = label_files([str(source)], str(out), model=trained_model, chunk_records=7, resume=True, progress=False)
    assert report.resumed_from == 21
    assert out.read_bytes() == reference.read_bytes()
    assert not list(tmp_path.glob(".out*")), "partial files and checkpoint are cleaned up"


def test_resume_refuses_other_inputs(trained_model, tmp_path, monkeypatch):
    source, other = tmp_path / "in.jsonl", tmp_path / "other.jsonl"
    write_input(source, 30)
    write_input(other, 30)
    monkeypatch.setattr(chunking, "label_chunk", lambda items, model=None: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        label_files([str(source)], str(tmp_path / "out.jsonl"), model=trained_model, progress=False)
    monkeypatch.undo()
    with pytest.raises(InputError, match="other inputs"):
        label_files([str(other)], str(tmp_path / "out.jsonl"), model=trained_model, resume=True, progress=False)


@pytest.mark.slow
def test_killed_process_resumes_without_loss_or_duplicates(trained_model, tmp_path):
    source = tmp_path / "in.jsonl"
    write_input(source, 4000)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "tradeclf.cli", "label", str(source), "-o", str(out), "--model", str(trained_model)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_progress(tmp_path / ".out.jsonl.checkpoint.json", process)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not out.exists()
    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed after" in resumed.stderr
    rows = [json.loads(line) for line in read(out).splitlines()]
    keys = [(r["article_id"], r["sentence_index"]) for r in rows]
    assert len(keys) == len(set(keys)), "no sentence written twice"
    assert {r["article_id"] for r in rows} == {f"r{i}" for i in range(4000)}, "no record lost"
    reference = tmp_path / "reference.jsonl"
    label_files([str(source)], str(reference), model=trained_model, progress=False)
    assert out.read_bytes() == reference.read_bytes()


def test_parallel_jobs_keep_input_order(trained_model, tmp_path):
    source = tmp_path / "in.jsonl"
    write_input(source, 60)
    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    label_files([str(source)], str(one), model=trained_model, chunk_records=5, progress=False)
    label_files([str(source)], str(two), model=trained_model, chunk_records=5, jobs=2, progress=False)
    assert one.read_bytes() == two.read_bytes()


def test_unwritable_output_folder_fails_before_work_and_leaves_nothing(trained_model, tmp_path, monkeypatch):
    source = tmp_path / "in.jsonl"
    write_input(source, 3)
    from tradeclf import sinks

    monkeypatch.setattr(sinks.os, "access", lambda path, mode: False)  # as for a non-root user in a read-only folder
    with pytest.raises(InputError, match="not writable"):
        label_files([str(source)], str(tmp_path / "out.jsonl"), model=trained_model, progress=False)
    monkeypatch.undo()
    assert not list(tmp_path.glob("*out*"))
    with pytest.raises(InputError, match="does not exist"):
        label_files([str(source)], str(tmp_path / "missing" / "out.jsonl"), model=trained_model, progress=False)


def test_disk_full_leaves_no_partial_output(trained_model, tmp_path, monkeypatch):
    source = tmp_path / "in.jsonl"
    write_input(source, 20)
    out = tmp_path / "out.csv"
    from tradeclf import sinks

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sinks, "_write_csv", disk_full)
    with pytest.raises(OSError, match="No space"):
        label_files([str(source)], str(out), model=trained_model, progress=False)
    assert not out.exists()
    assert not list(tmp_path.glob(".out.csv.final"))


def test_eight_threads_get_the_same_answers_as_one(trained_model):
    texts = [a + f" Variant {i}." for i, a in enumerate(ARTICLES * 10)]
    saved = get_model(trained_model)
    expected = [p.to_dict() for p in predict(texts, model=saved)]
    results, errors = [None] * 8, []

    def worker(k):
        try:
            results[k] = [predict(t, model=saved).to_dict() for t in texts]
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(result == expected for result in results)


@pytest.mark.slow
def test_killed_worker_process_stops_the_run_cleanly_and_resume_completes_it(trained_model, tmp_path):
    psutil = pytest.importorskip("psutil")
    source = tmp_path / "in.jsonl"
    write_input(source, 3000)
    out = tmp_path / "out.jsonl"
    command = [sys.executable, "-m", "tradeclf.cli", "label", str(source), "-o", str(out), "--jobs", "2",
               "--model", str(trained_model)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for_progress(tmp_path / ".out.jsonl.checkpoint.json", process)
    workers = [p for p in psutil.Process(process.pid).children(recursive=True) if "resource_tracker" not in " ".join(p.cmdline())]
    assert workers, "expected worker processes"
    workers[-1].kill()
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 75, stderr  # EX_TEMPFAIL: resumable, not "bad input"
    assert "worker process died" in stderr and "--resume" in stderr
    assert not out.exists()
    resumed = subprocess.run(command + ["--resume"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    reference = tmp_path / "reference.jsonl"
    label_files([str(source)], str(reference), model=trained_model, progress=False)
    assert out.read_bytes() == reference.read_bytes()


def test_a_wait_for_a_chunk_notices_a_dead_worker_even_if_the_pool_does_not():
    """A worker killed while sending its result can leave the pool waiting forever for the rest of the message;
    the run must still stop with the resume advice instead of hanging."""
    import multiprocessing
    from concurrent.futures import Future
    from types import SimpleNamespace

    from tradeclf.engines import _result_while_workers_live
    from tradeclf.errors import WorkerError

    worker = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(60,))
    worker.start()
    worker.kill()
    worker.join()
    assert worker.exitcode == -signal.SIGKILL
    pool = SimpleNamespace(_processes={worker.pid: worker})
    started = time.monotonic()
    with pytest.raises(WorkerError, match="--resume"):
        _result_while_workers_live(Future(), pool)  # a future nobody will ever complete
    assert time.monotonic() - started < 10
