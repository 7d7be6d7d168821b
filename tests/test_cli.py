"""The tradeclf command, driven through typer's CliRunner as a user would type it."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from tradeclf.cli import app

runner = CliRunner()
ARTICLE = ("Washington raised tariffs on Chinese goods on Friday. "
           "\"We will respond firmly,\" a Chinese commerce ministry spokesman said.\n"
           "Soybean farmers in Iowa said they were worried.")


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_predict_prints_labels_and_json(trained_model):
    plain = run("predict", "Tariffs were raised again.", "--model", trained_model)
    assert plain.exit_code == 0, plain.output
    assert "issues" in plain.output and "speaker" in plain.output
    as_json = run("predict", "Tariffs were raised again.", "--model", trained_model, "--json")
    assert json.loads(as_json.output)["text"] == "Tariffs were raised again."


def test_predict_reads_stdin(trained_model):
    result = run("predict", "--model", trained_model, "--json", input="First sentence here.\n\nSecond one.\n")
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["text"] for line in result.output.splitlines()] == ["First sentence here.", "Second one."]


def test_predict_empty_text_fails_clearly(trained_model):
    result = run("predict", "   ", "--model", trained_model)
    assert result.exit_code != 0
    assert "empty" in result.output


def test_missing_model_fails_clearly(tmp_path):
    result = run("predict", "Tariffs rose.", "--model", tmp_path / "nope")
    assert result.exit_code != 0
    assert "no such model folder" in result.output


def test_label_txt_folder_to_jsonl_with_summary(trained_model, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (folder / "b.txt").write_text("Talks resumed in Geneva. Both sides praised the progress.", encoding="utf-8")
    out, summary = tmp_path / "out.jsonl", tmp_path / "summary.jsonl"
    result = run("label", folder, "-o", out, "--summary", summary, "--model", trained_model)
    assert result.exit_code == 0, result.output
    rows = read_jsonl(out)
    assert [(r["article_id"], r["sentence_index"]) for r in rows] == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1)]
    for r in rows:
        assert ARTICLE[r["start"]:r["end"]] == r["text"] if r["article_id"] == "a" else True
        assert set(r["labels"]) == set(r["probabilities"])
    spokesman, farmers = rows[1]["source"], rows[2]["source"]
    assert ARTICLE[spokesman["start"]:spokesman["end"]] == spokesman["text"] == "a Chinese commerce ministry spokesman"
    assert spokesman["type"] == "CHNGOV"
    assert farmers["text"] == "Soybean farmers in Iowa" and farmers["type"] == "USAAGR"  # a place that identifies the source stays (codebook 8)
    assert rows[0]["source"] is None
    summaries = read_jsonl(summary)
    assert [s["article_id"] for s in summaries] == ["a", "b"]
    assert summaries[0]["sentences"] == 3


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_label_table_formats(trained_model, tmp_path, fmt):
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"doc": f"d{i}", "body": ARTICLE}) + "\n" for i in range(3)), encoding="utf-8")
    out = tmp_path / f"out.{fmt}"
    result = run("label", source, "-o", out, "--text-field", "body", "--id-field", "doc", "--model", trained_model)
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
    assert len(frame) == 9
    assert list(frame["article_id"].unique()) == ["d0", "d1", "d2"]
    assert {"issues", "speaker", "stance", "progress", "p_speaker_none", "start", "end"} <= set(frame.columns)
    assert list(frame["source_text"][:3].fillna("")) == ["", "a Chinese commerce ministry spokesman", "Soybean farmers in Iowa"]
    assert frame["source_type"][1] == "CHNGOV" and ARTICLE[int(frame["source_start"][1]):int(frame["source_end"][1])] == frame["source_text"][1]


def test_bad_records_are_reported_by_line_and_the_good_ones_labelled(trained_model, tmp_path):
    source = tmp_path / "in.jsonl"
    lines = [json.dumps({"id": "ok1", "text": ARTICLE}), '{"id": "broken", "text": ', json.dumps({"id": "empty", "text": "  "}),
             json.dumps({"id": "ok2", "text": "Talks resumed."}), json.dumps({"id": "notext"})]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run("label", source, "-o", out, "--model", trained_model)
    assert result.exit_code == 1
    assert {r["article_id"] for r in read_jsonl(out)} == {"ok1", "ok2"}
    errors = read_jsonl(tmp_path / "out.jsonl.errors.jsonl")
    assert [e["location"] for e in errors] == [f"{source}:2", f"{source}:3", f"{source}:5"]
    assert f"{source}:2" in result.output


def test_strict_stops_at_first_bad_record_and_leaves_no_output(trained_model, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"text": ARTICLE}) + "\n{oops\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run("label", source, "-o", out, "--strict", "--model", trained_model)
    assert result.exit_code != 0 and f"{source}:2" in result.output
    assert not out.exists()


def test_csv_without_the_text_column(trained_model, tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("id,body\n1,Tariffs rose.\n", encoding="utf-8")
    result = run("label", source, "-o", tmp_path / "out.jsonl", "--model", trained_model)
    assert result.exit_code != 0
    assert "no column 'text'" in result.output and "--text-field" in result.output


def test_not_utf8_file_is_reported(trained_model, tmp_path):
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("Caf\u00e9 owners fear tariffs.".encode("latin-1"))
    good = tmp_path / "good.txt"
    good.write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run("label", bad, good, "-o", out, "--model", trained_model)
    assert result.exit_code == 1
    assert "not UTF-8" in result.output
    assert {r["article_id"] for r in read_jsonl(out)} == {"good"}


def test_unknown_format_and_missing_input(trained_model, tmp_path):
    source = tmp_path / "a.txt"
    source.write_text(ARTICLE, encoding="utf-8")
    bad_format = run("label", source, "-o", tmp_path / "o.xml", "--format", "xml", "--model", trained_model)
    assert bad_format.exit_code != 0 and "--format 'xml'" in bad_format.output
    missing = run("label", tmp_path / "absent.txt", "-o", tmp_path / "o.jsonl", "--model", trained_model)
    assert missing.exit_code != 0 and "absent.txt: no such file" in missing.output


def test_existing_output_is_not_overwritten_silently(trained_model, tmp_path):
    source = tmp_path / "a.txt"
    source.write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n", encoding="utf-8")
    refused = run("label", source, "-o", out, "--model", trained_model)
    assert refused.exit_code != 0 and "--overwrite" in refused.output
    assert out.read_text(encoding="utf-8") == "precious\n"
    assert run("label", source, "-o", out, "--overwrite", "--model", trained_model).exit_code == 0
    assert out.read_text(encoding="utf-8") != "precious\n"


def test_stdout_output(trained_model, tmp_path):
    source = tmp_path / "a.txt"
    source.write_text(ARTICLE, encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("   ", encoding="utf-8")
    result = runner.invoke(app, ["label", str(source), str(empty), "-o", "-", "--model", str(trained_model)])
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 3
    assert result.exit_code == 1
    assert result.stderr.count(str(empty)) == 1, "a skipped record is reported exactly once"


def test_info_and_explain(trained_model):
    info = run("info", "--model", trained_model)
    assert info.exit_code == 0 and "## Metrics" in info.output and "SHA-256" in info.output
    explained = run("explain", "China raised tariffs on soybeans.", "--model", trained_model)
    assert explained.exit_code == 0, explained.output
    assert "speaker =" in explained.output


def test_train_writes_a_loadable_model(small_corpus, tmp_path):
    out = tmp_path / "m"
    result = run("train", "--data", small_corpus, "--out", out, "--no-search")
    assert result.exit_code == 0, result.output
    assert "macro-F1" in result.output
    assert run("predict", "Tariffs rose.", "--model", out).exit_code == 0
    again = run("train", "--data", small_corpus, "--out", out, "--no-search")
    assert again.exit_code != 0 and "--overwrite" in again.output


def test_train_from_a_saved_datasets_folder(small_corpus, tmp_path):
    from tradeclf.data import load_corpus

    saved = tmp_path / "hf"
    load_corpus(small_corpus).to_datasets().save_to_disk(str(saved))
    result = run("train", "--data", saved, "--out", tmp_path / "m", "--no-search")
    assert result.exit_code == 0, result.output


def test_every_command_is_documented_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for command in app.registered_commands:
        assert f"tradeclf {command.name or command.callback.__name__}" in readme


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_keep_carries_input_fields_into_rows_and_summaries(trained_model, tmp_path, fmt):
    records = [{"id": f"d{i}", "text": ARTICLE, "date": f"2019-0{i + 1}-15", "outlet": "wire", "extra": i} for i in range(3)]
    frame = pd.DataFrame(records)
    source = tmp_path / f"in.{fmt}"
    if fmt == "jsonl":
        source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    elif fmt == "csv":
        frame.to_csv(source, index=False)
    else:
        frame.to_parquet(source)
    out, summary = tmp_path / "out.jsonl", tmp_path / "summary.jsonl"
    result = run("label", source, "-o", out, "--summary", summary, "--keep", "date,outlet", "--model", trained_model)
    assert result.exit_code == 0, result.output
    rows = read_jsonl(out)
    assert [list(r)[:4] for r in rows[:1]] == [["article_id", "date", "outlet", "sentence_index"]]
    assert {(r["article_id"], r["date"], r["outlet"]) for r in rows} == {(f"d{i}", f"2019-0{i + 1}-15", "wire") for i in range(3)}
    assert [(s["article_id"], s["date"]) for s in read_jsonl(summary)] == [(f"d{i}", f"2019-0{i + 1}-15") for i in range(3)]
    everything = tmp_path / "all.parquet"
    result = run("label", source, "-o", everything, "--keep", "*", "--model", trained_model)
    assert result.exit_code == 0, result.output
    assert {"date", "outlet", "extra", "id"} <= set(pd.read_parquet(everything).columns)


def test_keep_refuses_names_that_are_row_columns(trained_model, tmp_path):
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps({"id": "a", "text": ARTICLE, "start": 3}) + "\n", encoding="utf-8")
    result = run("label", source, "-o", tmp_path / "out.jsonl", "--keep", "start", "--model", trained_model)
    assert result.exit_code == 2 and "row columns" in result.output


def test_index_from_every_label_format_with_intervals_and_charts(trained_model, tmp_path):
    records = [{"id": f"d{i}", "text": ARTICLE if i % 2 else "Talks resumed in Geneva. Both sides praised the progress.",
                "date": f"2019-{1 + i // 6:02d}-{1 + i % 6:02d}", "outlet": "wire" if i % 3 else "daily"} for i in range(14)]
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    tables = {}
    for fmt in ("jsonl", "csv", "parquet"):
        labels = tmp_path / f"labels.{fmt}"
        assert run("label", source, "-o", labels, "--keep", "date,outlet", "--model", trained_model).exit_code == 0
        out = tmp_path / f"index-{fmt}.csv"
        result = run("index", labels, "-o", out, "--period", "month", "--model", trained_model,
                     *(["--plots", tmp_path / "charts"] if fmt == "jsonl" else []))
        assert result.exit_code == 0, result.output
        tables[fmt] = pd.read_csv(out)
    table = tables["jsonl"]
    pd.testing.assert_frame_equal(table, tables["csv"])
    pd.testing.assert_frame_equal(table, tables["parquet"])
    assert list(table["period"]) == ["2019-01-01", "2019-02-01", "2019-03-01"]
    assert list(table["articles"]) == [6, 6, 2] and list(table["sparse"]) == [False, False, True]
    for column in ("issues_tariffs", "progress_score", "stance_us_government_hardline"):
        valid = table[column].notna()
        assert ((table.loc[valid, f"{column}_low"] <= table.loc[valid, column] + 1e-9)
                & (table.loc[valid, column] <= table.loc[valid, f"{column}_high"] + 1e-9)).all()
    assert {"issues.png", "progress.png", "index.html"} <= {p.name for p in (tmp_path / "charts").iterdir()}
    by_outlet = run("index", tmp_path / "labels.jsonl", "-o", tmp_path / "by.csv", "--by", "outlet", "--model", trained_model)
    assert by_outlet.exit_code == 0
    assert set(pd.read_csv(tmp_path / "by.csv")["outlet"]) == {"wire", "daily"}
    unkept = run("index", tmp_path / "labels.jsonl", "-o", tmp_path / "x.csv", "--date-field", "published", "--model", trained_model)
    assert unkept.exit_code == 2 and "--keep published" in unkept.output
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text((tmp_path / "labels.jsonl").read_text(encoding="utf-8") + '{"article_id": "x", broken\n', encoding="utf-8")
    refused = run("index", damaged, "-o", tmp_path / "y.csv", "--model", trained_model)
    assert refused.exit_code == 2 and "damaged.jsonl" in refused.output and "Malformed JSON" in refused.output
    assert not (tmp_path / "y.csv").exists()
