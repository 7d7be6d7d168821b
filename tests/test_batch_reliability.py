"""Batch labelling against everyday accidents, each tested as a user meets it: two runs into one output,
a giant article, an input changed before --resume, errors found after start-up, existing side files, an
output inside the input folder, a killed parent, a bad row in a CSV, ambiguous ids, a damaged checkpoint."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from typer.testing import CliRunner

from tradeclf import chunking
from tradeclf.cli import app
from tradeclf.errors import InputError
from tradeclf.labelling import MAX_ARTICLE_CHARS, label_files

from batch_helpers import ARTICLES, wait_for_progress, write_input  # noqa: E402


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def hidden(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def rows_of(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# 1. two runs into the same output
def test_a_second_run_into_a_locked_output_is_refused_naming_the_holder(trained_model, tmp_path):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_input(source, 5)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from tradeclf.sinks import FileSink
        from tradeclf.api import get_model
        sink = FileSink({str(out)!r}, "jsonl", get_model({str(trained_model)!r}).schema, None)
        print("locked", flush=True)
        time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        for extra in ([], ["--resume"], ["--overwrite"]):
            result = run("label", source, "-o", out, "--model", trained_model, *extra)
            assert result.exit_code == 6, result.output
            assert f"pid {holder.pid}" in result.output and "another tradeclf run" in result.output
    finally:
        holder.kill()
        holder.wait()
    result = run("label", source, "-o", out, "--model", trained_model, "--overwrite")  # the lock died with its holder
    assert result.exit_code == 0, result.output
    assert len({r["article_id"] for r in rows_of(out)}) == 5
    assert hidden(tmp_path) == []


# 2. a giant article
@pytest.mark.slow
def test_a_50_mb_article_is_refused_in_bounded_memory_and_the_others_labelled(trained_model, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text(ARTICLES[0], encoding="utf-8")
    sentence = "Washington raised tariffs on Chinese goods on Friday. "
    (folder / "giant.txt").write_text(sentence * (50_000_000 // len(sentence)), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    script = (f"import resource, sys\nfrom tradeclf.cli import app\nsys.argv = ['tradeclf', 'label', {str(folder)!r}, '-o', "
              f"{str(out)!r}, '--model', {str(trained_model)!r}]\ntry:\n    app()\nfinally:\n    "
              "print('peak', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)")
    started = time.time()
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 1, result.stderr  # some records skipped
    assert "giant.txt" in result.stderr and f"limit of {MAX_ARTICLE_CHARS:,}" in result.stderr
    peak_mb = int(result.stderr.split("peak ")[-1]) / 1024
    assert peak_mb < 1500, f"peak memory {peak_mb:.0f} MB"
    assert time.time() - started < 120
    assert {r["article_id"] for r in rows_of(out)} == {"a"}
    assert "giant.txt" in (tmp_path / "out.jsonl.errors.jsonl").read_text()


# 3. a changed input is noticed by --resume
def test_resume_refuses_an_input_changed_since_the_interruption(trained_model, tmp_path, monkeypatch):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_input(source, 40)
    real_chunk, calls = chunking.label_chunk, {"n": 0}

    def dies_on_third_chunk(items, model=None):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real_chunk(items, model)

    monkeypatch.setattr(chunking, "label_chunk", dies_on_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        label_files([str(source)], str(out), model=trained_model, chunk_records=5, progress=False)
    monkeypatch.setattr(chunking, "label_chunk", real_chunk)
    lines = source.read_text(encoding="utf-8")
    source.write_text(json.dumps({"id": "new", "text": ARTICLES[1]}) + "\n" + lines, encoding="utf-8")  # one record on top
    with pytest.raises(InputError, match="changed since"):
        label_files([str(source)], str(out), model=trained_model, chunk_records=5, resume=True, progress=False)
    report = label_files([str(source)], str(out), model=trained_model, chunk_records=5, overwrite=True, progress=False)
    assert report.records == 41
    ids = [r["article_id"] for r in rows_of(out)]
    assert ids[0] == "new" and len(set(ids)) == 41


# 4. an error found after start-up leaves nothing behind
@pytest.mark.parametrize("case", ["missing input", "empty folder", "csv without the column", "bad parquet", "strict"])
def test_an_error_after_start_up_leaves_nothing_and_the_corrected_rerun_needs_no_flag(trained_model, tmp_path, case):
    out = tmp_path / "out" / "labels.jsonl"
    out.parent.mkdir()
    good = tmp_path / "good.jsonl"
    write_input(good, 3)
    bad = {"missing input": tmp_path / "nope.jsonl", "empty folder": tmp_path / "empty",
           "csv without the column": tmp_path / "t.csv", "bad parquet": tmp_path / "t.parquet",
           "strict": tmp_path / "broken.jsonl"}[case]
    if case == "empty folder":
        bad.mkdir()
    elif case == "csv without the column":
        bad.write_text("id,body\n1,Tariffs rose.\n", encoding="utf-8")
    elif case == "bad parquet":
        bad.write_bytes(b"not parquet at all")
    elif case == "strict":
        bad.write_text('{"id": "x", "text": "Fine."}\n{broken\n', encoding="utf-8")
    result = run("label", good, bad, "-o", out, "--model", trained_model, *(["--strict"] if case == "strict" else []))
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert list(out.parent.iterdir()) == [], "no output, partial file, checkpoint or lock left"
    result = run("label", good, "-o", out, "--model", trained_model)
    assert result.exit_code == 0, result.output


# 5. side files are never overwritten without --overwrite
def test_existing_summary_and_errors_files_are_not_overwritten(trained_model, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": ARTICLES[0]}) + "\n{broken\n", encoding="utf-8")
    summary, errors = tmp_path / "summary.jsonl", tmp_path / "errors.jsonl"
    for existing in (summary, errors):
        existing.write_text("precious\n", encoding="utf-8")
        result = run("label", source, "-o", tmp_path / "out.jsonl", "--summary", summary, "--errors", errors,
                     "--model", trained_model)
        assert result.exit_code == 2 and "already exists" in result.output and str(existing.name) in result.output
        assert existing.read_text() == "precious\n"
        existing.unlink()
    result = run("label", source, "-o", tmp_path / "out.jsonl", "--model", trained_model)
    assert result.exit_code == 1 and (tmp_path / "out.jsonl.errors.jsonl").exists()
    source.write_text(json.dumps({"id": "a", "text": ARTICLES[0]}) + "\n", encoding="utf-8")
    result = run("label", source, "-o", tmp_path / "out.jsonl", "--model", trained_model, "--overwrite")
    assert result.exit_code == 0
    assert not (tmp_path / "out.jsonl.errors.jsonl").exists(), "a clean rerun leaves no stale errors file"
    result = run("label", source, "-o", "-", "--errors", errors, "--model", trained_model)
    assert result.exit_code == 2 and "--errors need an output file" in result.output


# 6. outputs are never inputs; folders hold .txt (and table) files, hidden ones skipped
def test_an_output_inside_the_input_folder_is_not_read_back(trained_model, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    for i, text in enumerate(ARTICLES):
        (folder / f"{i}.txt").write_text(text, encoding="utf-8")
    (folder / ".notes.txt").write_text("A hidden file.", encoding="utf-8")
    (folder / "README.md").write_text("# Not an article", encoding="utf-8")
    out = folder / "labels.jsonl"
    for extra in ([], ["--overwrite"]):
        result = run("label", folder, "-o", out, "--summary", folder / "summary.jsonl", "--model", trained_model, *extra)
        assert result.exit_code == 0, result.output
        assert sorted({r["article_id"] for r in rows_of(out)}) == ["0", "1", "2", "3"]
    result = run("label", out, "-o", out, "--model", trained_model, "--overwrite")
    assert result.exit_code == 2 and "own output" in result.output


# 7. workers die with their parent
@pytest.mark.slow
def test_workers_exit_when_the_parent_is_killed(trained_model, tmp_path):
    psutil = pytest.importorskip("psutil")
    source = tmp_path / "in.jsonl"
    write_input(source, 3000)
    command = [sys.executable, "-m", "tradeclf.cli", "label", str(source), "-o", str(tmp_path / "out.jsonl"),
               "--jobs", "2", "--model", str(trained_model)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_progress(tmp_path / ".out.jsonl.checkpoint.json", process)
    workers = psutil.Process(process.pid).children(recursive=True)
    assert workers
    process.send_signal(signal.SIGKILL)
    process.wait()
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"orphan workers still running: {[p.pid for p in alive]}"


# 8. a bad row inside a CSV
def test_a_non_utf8_row_in_a_csv_is_skipped_and_reported_by_line(trained_model, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(b"id,text\na,Tariffs rose on Friday.\nb,Caf\xe9 owners complained.\nc,Talks resumed in Geneva.\n")
    out = tmp_path / "out.jsonl"
    result = run("label", source, "-o", out, "--model", trained_model)
    assert result.exit_code == 1, result.output
    assert {r["article_id"] for r in rows_of(out)} == {"a", "c"}
    errors = rows_of(tmp_path / "out.jsonl.errors.jsonl")
    assert errors == [{"location": f"{source}:3", "error": "not UTF-8 (bad bytes in this row); re-save the CSV as UTF-8"}]


# 9. messages, not tracebacks
def test_user_errors_in_train_evaluate_and_model_files_are_messages(trained_model, small_corpus, tmp_path):
    corpus = tmp_path / "one-stance.jsonl"
    rows = [{"text": f"Sentence number {i} about tariffs.", "issues": ["tariffs"], "speaker": "none", "stance": "neutral",
             "progress": "none" if i % 2 else "advance", "split": "train", "article_id": f"a{i // 3}"} for i in range(30)]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = run("train", "--data", corpus, "--schema", small_corpus / "schema.json", "--out", tmp_path / "m")
    assert result.exit_code == 4 and "Traceback" not in result.output
    assert "stance" in result.output and "only" in result.output
    result = run("evaluate", "--baselines", "bogus", "--model", trained_model, "--data", small_corpus, "--no-curve")
    assert result.exit_code == 2 and "bogus" in result.output and "majority" in result.output
    wrong = tmp_path / "wrong"
    wrong.mkdir()
    for name in ("model.npz", "metadata.json"):
        (wrong / name).write_bytes((trained_model / name).read_bytes())
    (wrong / "model.npz").write_text("this is text, not arrays", encoding="utf-8")
    result = run("predict", "Tariffs rose.", "--model", wrong)
    assert result.exit_code == 3 and "Traceback" not in result.output and "model.npz" in result.output


# 10. ids are unique and formats explicit
def test_ids_are_path_qualified_when_names_collide_and_duplicates_are_reported(trained_model, tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.txt").write_text(ARTICLES[0], encoding="utf-8")
    table = tmp_path / "t.jsonl"
    table.write_text("".join(json.dumps(r) + "\n" for r in [{"id": None, "text": ARTICLES[1]}, {"id": "d", "text": ARTICLES[2]},
                                                             {"id": "d", "text": ARTICLES[3]}]), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run("label", tmp_path / "a", tmp_path / "b", table, "-o", out, "--keep", "path,id", "--model", trained_model)
    assert result.exit_code == 0, result.output  # a renamed duplicate is a warning, not a skipped record
    assert [r["id"] for r in rows_of(out) if r["article_id"] == "d#2"][:1] == ["d"], "a renamed record keeps its fields"
    ids = list(dict.fromkeys(r["article_id"] for r in rows_of(out)))
    assert ids == [str(tmp_path / "a" / "x"), str(tmp_path / "b" / "x"), "t:1", "d", "d#2"]
    warnings = rows_of(tmp_path / "out.jsonl.errors.jsonl")
    assert warnings == [{"location": f"{table}:3", "error": "duplicate id 'd'; labelled as 'd#2'", "warning": True}]


@pytest.mark.parametrize("args, message", [(["-o", "x.txt"], "cannot tell the format"),
                                           (["-o", "y.parquet", "-f", "csv"], "suffix says parquet")])
def test_output_format_must_be_clear(trained_model, tmp_path, args, message):
    source = tmp_path / "in.jsonl"
    write_input(source, 2)
    os.chdir(tmp_path)
    result = run("label", source, *args, "--model", trained_model)
    assert result.exit_code == 2 and message in result.output
    assert not any(tmp_path.glob("x.txt")) and not any(tmp_path.glob("y.parquet"))


# 11. a damaged checkpoint
def test_a_damaged_checkpoint_gets_a_message(trained_model, tmp_path, monkeypatch):
    source, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    write_input(source, 20)
    monkeypatch.setattr(chunking, "label_chunk", lambda items, model=None: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        label_files([str(source)], str(out), model=trained_model, progress=False)
    monkeypatch.undo()
    (tmp_path / ".out.jsonl.checkpoint.json").write_bytes(b"")  # what a power cut could leave without fsync
    result = run("label", source, "-o", out, "--model", trained_model, "--resume")
    assert result.exit_code == 2 and "checkpoint" in result.output and "damaged" in result.output
    assert "Traceback" not in result.output
