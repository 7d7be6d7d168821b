"""The `tradeclf` command: argument parsing only; the work is done by library functions."""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from . import __version__
from .errors import TradeclfError

app = typer.Typer(help="Label trade-negotiation news, sentence by sentence: issues, speaker, stance, progress.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
data_app = typer.Typer(help="Check and describe annotated corpora.", no_args_is_help=True)
app.add_typer(data_app, name="data")

ModelOption = Annotated[Optional[Path], typer.Option("--model", "-m", help="Model folder (default: $TRADECLF_MODEL, else the shipped model).", show_default=False)]


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def handles_errors(command: Callable) -> Callable:
    """Turn user-caused errors into one message and a non-zero exit instead of a traceback."""
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except TradeclfError as exc:
            _fail(str(exc), exc.exit_code)
        except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly
            sys.stderr = open(os.devnull, "w")
            raise typer.Exit(0)
        except KeyboardInterrupt:
            _fail("interrupted; rerun the same command with --resume to continue where it stopped", 130)
        except OSError as exc:
            _fail(f"{exc.filename or ''}: {exc.strerror or exc}", 5)
    return wrapper


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tradeclf {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False) -> None:
    """Label trade-negotiation news, sentence by sentence: issues, speaker, stance, progress."""


def _format_labels(labels: dict[str, Any], probabilities: dict[str, dict[str, float]]) -> str:
    parts = []
    for task, value in labels.items():
        if isinstance(value, list):
            shown = ", ".join(f"{v} ({probabilities[task][v]:.2f})" for v in value) or "-"
        else:
            shown = f"{value} ({probabilities[task][value]:.2f})"
        parts.append(f"  {task:<10} {shown}")
    return "\n".join(parts)


@app.command()
@handles_errors
def predict(
    text: Annotated[Optional[str], typer.Argument(help="The sentence; read from stdin (one sentence per line) when omitted.", show_default=False)] = None,
    model: ModelOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (one object per line for stdin input).")] = False,
) -> None:
    """Label sentences given as an argument or on stdin."""
    from .api import predict as predict_api
    from .errors import InputError

    if text is None:
        if sys.stdin.isatty():
            raise InputError("no sentence given; pass it as an argument or pipe sentences on stdin")
        raw = sys.stdin.buffer.read()
        try:
            lines = [line for line in raw.decode("utf-8-sig").splitlines() if line.strip()]
        except UnicodeDecodeError as exc:
            raise InputError(f"stdin: not UTF-8 text (bad byte at offset {exc.start})") from None
        if not lines:
            raise InputError("stdin: empty; there is nothing to label")
        results = predict_api(lines, model=model)
    else:
        results = [predict_api(text, model=model)]
    for result in results:
        if as_json:
            typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        else:
            typer.echo(result.text)
            typer.echo(_format_labels(result.labels, result.probabilities))


@app.command()
@handles_errors
def label(
    inputs: Annotated[list[str], typer.Argument(help=".txt files, .jsonl/.csv/.parquet files with a text column, folders of these (recursive, hidden files skipped), or - for stdin.", show_default=False)],
    output: Annotated[str, typer.Option("--output", "-o", help="Output file (.jsonl, .csv or .parquet), or - for stdout.")] = "-",
    fmt: Annotated[Optional[str], typer.Option("--format", "-f", help="jsonl, csv, parquet, or text (readable, stdout only); default: from the output's suffix, else jsonl.", show_default=False)] = None,
    text_field: Annotated[str, typer.Option(help="Column or field holding the article text in table inputs.")] = "text",
    id_field: Annotated[str, typer.Option(help="Column or field holding the article id (default: file:line).")] = "id",
    summary: Annotated[Optional[Path], typer.Option(help="Also write one summary per article (JSON Lines) here.", show_default=False)] = None,
    errors: Annotated[Optional[Path], typer.Option(help="Where to list records that could not be labelled (default: OUTPUT.errors.jsonl).", show_default=False)] = None,
    resume: Annotated[bool, typer.Option(help="Continue an interrupted run into the same output.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output (or an interrupted run's partial output).")] = False,
    jobs: Annotated[int, typer.Option(min=1, help="Worker processes (local engine).")] = 1,
    engine: Annotated[str, typer.Option(help="local, or dask to run on a Dask cluster.")] = "local",
    scheduler: Annotated[Optional[str], typer.Option(help="Dask scheduler address (default: a new LocalCluster of 2 workers).", show_default=False)] = None,
    strict: Annotated[bool, typer.Option(help="Stop at the first bad record instead of reporting it and going on.")] = False,
    keep: Annotated[Optional[str], typer.Option(help="Input fields to carry into every row and summary, comma-separated (e.g. date,outlet), or '*' for all but the text; a .txt file has 'path'.", show_default=False)] = None,
    model: ModelOption = None,
) -> None:
    """Batch-label articles: one row per sentence with offsets, labels and probabilities."""
    from .labelling import LabelOptions, label_files

    kept = tuple(k.strip() for k in keep.split(",") if k.strip()) if keep else ()
    options = LabelOptions(output, fmt, text_field, id_field, str(summary) if summary else None,
                           str(errors) if errors else None, resume, overwrite, jobs, strict, kept, engine=engine, scheduler=scheduler)
    report = label_files(inputs, output, model=model, options=options)
    for error in report.errors[:20]:
        typer.echo(f"{'warning' if error.get('warning') else 'skipped'} {error['location']}: {error['error']}", err=True)
    if len(report.errors) > 20:
        typer.echo(f"... and {len(report.errors) - 20} more", err=True)
    skipped = report.skipped
    typer.echo(f"labelled {report.records - len(skipped) - report.resumed_from} articles "
               f"({report.sentences} sentences) in {report.seconds:.1f}s"
               + (f", resumed after {report.resumed_from}" if report.resumed_from else "")
               + (f"; {len(skipped)} skipped, listed in {errors or str(output) + '.errors.jsonl'}" if skipped and output != "-" else "")
               + (f" -> {output}" if output != "-" else ""), err=True)
    if skipped:  # the good records are labelled; the exit code still tells a script that some were not
        raise typer.Exit(1)


@app.command()
@handles_errors
def index(
    labels: Annotated[Path, typer.Argument(help="Output of `tradeclf label` (.jsonl, .csv or .parquet) labelled with --keep DATE_FIELD[,GROUP...].")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Index table to write (.csv or .parquet).")] = Path("index.csv"),
    period: Annotated[str, typer.Option(help="day, week, month, quarter or year.")] = "month",
    by: Annotated[Optional[str], typer.Option(help="Kept fields to break the index down by, comma-separated (e.g. outlet).", show_default=False)] = None,
    date_field: Annotated[str, typer.Option(help="Kept field holding each article's date.")] = "date",
    plots: Annotated[Optional[Path], typer.Option(help="Folder for line charts with bands (PNG) and an HTML page.", show_default=False)] = None,
    min_articles: Annotated[int, typer.Option(min=1, help="Periods with fewer articles are marked sparse and left out of the charts.")] = 5,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing index file.")] = False,
    model: ModelOption = None,
) -> None:
    """Aggregate labelled articles into a negotiation index by period: issue salience, progress index, stance by speaker."""
    from .api import get_model
    from .errors import InputError
    from .index import negotiation_index, plot_index
    from .persistence import atomic_write_bytes

    if output.suffix.lower() not in (".csv", ".parquet"):
        raise InputError(f"{output}: name the index .csv or .parquet")
    if output.exists() and not overwrite:
        raise InputError(f"{output}: already exists; choose another -o, or add --overwrite to replace it")
    groups = tuple(f.strip() for f in by.split(",") if f.strip()) if by else ()
    table = negotiation_index(labels, get_model(model).schema, period, groups, date_field, min_articles)
    import io

    buffer = io.BytesIO()
    if output.suffix.lower() == ".csv":
        table.to_csv(buffer, index=False)
    else:
        table.to_parquet(buffer, index=False)
    atomic_write_bytes(output, buffer.getvalue())
    sparse = int(table["sparse"].sum())
    typer.echo(f"{len(table)} periods ({sparse} sparse: fewer than {min_articles} articles) from {int(table['articles'].sum())} "
               f"articles -> {output}" + (f"; {table.attrs['undated_articles']} articles without a readable date left out"
                                          if table.attrs.get("undated_articles") else ""), err=True)
    if plots is not None:
        written = plot_index(table, plots, groups)
        typer.echo(f"charts: {', '.join(str(p) for p in written)}", err=True)


@app.command()
@handles_errors
def train(
    data: Annotated[Path, typer.Option(help="Corpus: a data/-style folder, a save_to_disk folder, or a .jsonl/.csv/.parquet file.")] = Path("data"),
    out: Annotated[Path, typer.Option(help="Model folder to write.")] = Path("models/my-model"),
    schema: Annotated[Optional[Path], typer.Option(help="Schema file when the corpus has none.", show_default=False)] = None,
    seed: Annotated[int, typer.Option(help="Random seed; same data and seed give the same model.")] = 0,
    search: Annotated[bool, typer.Option(help="Choose C and the use of neighbouring sentences per task by cross-validation.")] = True,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing model in --out.")] = False,
) -> None:
    """Train a model from a corpus and print cross-validated and held-out metrics."""
    from .data import load_corpus
    from .errors import InputError
    from .persistence import METADATA_FILE
    from .training import train as train_model

    if (out / METADATA_FILE).exists() and not overwrite:
        raise InputError(f"{out}: already holds a model; choose another --out or add --overwrite")
    corpus = load_corpus(data, schema)
    metadata = train_model(corpus, out, seed=seed, search=search, log=lambda m: typer.echo(m, err=True))
    typer.echo(_metrics_text(metadata))
    typer.echo(f"saved to {out}")


def _metrics_text(metadata: dict[str, Any]) -> str:
    from .card import _metrics_table, attribution_lines, flat_metrics

    metrics = metadata.get("metrics", {})
    return "\n".join(_metrics_table(flat_metrics(metrics)) + attribution_lines(metrics))


@app.command()
@handles_errors
def info(model: ModelOption = None) -> None:
    """Show the model card: schema, labels, training data hash, metrics, versions."""
    from .card import render_model_card
    from .persistence import read_metadata, resolve_model_path

    typer.echo(render_model_card(read_metadata(resolve_model_path(model))))


@app.command()
@handles_errors
def explain(
    text: Annotated[str, typer.Argument(help="A sentence, or an article (several sentences: each is explained in article mode).")],
    top: Annotated[int, typer.Option(min=1, help="Features to show per label.")] = 8,
    model: ModelOption = None,
) -> None:
    """Show the attributed source and, per task, the features that pushed the model toward each predicted label.

    A lone sentence is explained with the heads `predict` uses; an article sentence by sentence with the
    heads `label` uses (neighbouring sentences and sources resolved across the article)."""
    from .api import check_text, get_model
    from .segment import split_sentences

    saved = get_model(model)
    predictor = saved.predictor
    sentences = [s.text for s in split_sentences(check_text(text))] or [text]
    article = sentences if len(sentences) > 1 else None
    sources = predictor.sources(sentences, None if article is None else [0] * len(sentences))
    for i, sentence in enumerate(sentences):
        if article is not None:
            typer.echo(f"[{i}] {sentence}")
        source = sources[i]
        if source is None:
            typer.echo("source: none (narration)")
        else:
            entry = f"; actor table: {source.actor.phrase!r} -> {source.actor.code}" if source.actor else "; not in the actor table"
            where = f" in sentence {source.sentence}" if article is not None and source.sentence != i else ""
            refers = f", refers to {source.refers_to!r}" if source.refers_to else ""
            typer.echo(f"source: {source.text!r}{where} ({source.type or 'untyped'}; found by {source.how}"
                       f"{', verb ' + repr(source.verb) if source.verb else ''}{refers}{entry})")
        explanation = predictor.explain(sentence, top=top, article=article, index=i)
        for task, by_label in explanation.items():
            if not by_label:
                typer.echo(f"{task}: (no label)")
            for label, pairs in by_label.items():
                shown = ", ".join(f"{name!r} +{weight:.2f}" for name, weight in pairs) or "(intercept only)"
                typer.echo(f"{task} = {label}: {shown}")


@app.command()
@handles_errors
def evaluate(
    data: Annotated[Path, typer.Option(help="Labelled corpus to evaluate on (any format `train` accepts).")] = Path("data"),
    split: Annotated[Optional[list[str]], typer.Option(help="Split(s) to evaluate: a split (test), or one origin of it (real-test, written-test); repeat the option. Default: real-test, written-test, seed.", show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option(help="Write report.md, report.json and PNG plots to this folder.", show_default=False)] = None,
    baselines: Annotated[str, typer.Option(help="Comma-separated baselines: majority, lexicon, fasttext, minilm (the last two need `.[bench]`); '' for none.")] = "majority,lexicon,fasttext,minilm",
    lexicon: Annotated[Optional[Path], typer.Option(help="Keyword lexicon for the lexicon baseline (default: lexicon.json in the corpus folder).", show_default=False)] = None,
    curve: Annotated[bool, typer.Option(help="Compute the learning curve (retrains on 10%..100% of the training articles).")] = True,
    html: Annotated[bool, typer.Option(help="Also write report.html.")] = False,
    schema: Annotated[Optional[Path], typer.Option(help="Schema file when the corpus has none.", show_default=False)] = None,
    model: ModelOption = None,
) -> None:
    """Evaluate a model against baselines on labelled splits, with intervals, plots and error analysis."""
    from .api import get_model
    from .data import load_corpus
    from .evaluation import comparison_table, run_evaluation

    saved = get_model(model)
    corpus = load_corpus(data, schema or None)
    names = tuple(name.strip() for name in baselines.split(",") if name.strip())
    report = run_evaluation(corpus, saved, out, split, names, lexicon, curve, html, log=lambda m: typer.echo(m, err=True))
    for name in report["splits"]:
        typer.echo("\n".join(comparison_table(report["comparison"], name, corpus.schema.task_names)) + "\n")
    for name, why in report["comparison"]["skipped"].items():
        typer.echo(f"skipped {name}: {why}")
    if out:
        typer.echo(f"report written to {out / 'report.md'}")


@data_app.command("check")
@handles_errors
def data_check(
    path: Annotated[Path, typer.Argument(help="Corpus folder (schema.json, articles.jsonl, sentences.jsonl).")],
    strict: Annotated[bool, typer.Option(help="Treat warnings (near-duplicates within a split) as errors.")] = False,
) -> None:
    """Validate a corpus against its schema; report every problem with file, line and field."""
    from .schema import load_schema
    from .validate import check_corpus

    schema = load_schema(path)
    problems, articles, sentences = check_corpus(path, schema)
    for problem in problems:
        typer.echo(str(problem))
    failing = [p for p in problems if p.level == "error" or strict]
    typer.echo(f"{path}: {len(articles)} articles, {len(sentences)} sentences, "
               f"{sum(p.level == 'error' for p in problems)} errors, {sum(p.level == 'warning' for p in problems)} warnings")
    if failing:
        raise typer.Exit(4)


@data_app.command("card")
@handles_errors
def data_card(
    path: Annotated[Path, typer.Argument(help="Corpus folder whose README.md statistics to regenerate.")] = Path("data"),
    check: Annotated[bool, typer.Option(help="Only check that README.md is up to date (exit 1 if not).")] = False,
) -> None:
    """Regenerate the counts and agreement figures in the corpus data card (README.md)."""
    from .datacard import update_data_card

    changed = update_data_card(path, write=not check)
    if check and changed:
        _fail(f"{path / 'README.md'} is out of date; run `tradeclf data card {path}`", 1)
    typer.echo(f"{path / 'README.md'}: {'updated' if changed else 'up to date'}")


@data_app.command("import")
@handles_errors
def data_import(
    export: Annotated[Path, typer.Argument(help="A Label Studio JSON export, or doccano JSON Lines (text + label).")],
    into: Annotated[Path, typer.Option(help="Corpus folder to add the annotated sentences to.")] = Path("data"),
    split: Annotated[str, typer.Option(help="Split for the new sentences.")] = "train",
    fmt: Annotated[Optional[str], typer.Option("--format", help="labelstudio or doccano (default: .json is Label Studio, .jsonl doccano).", show_default=False)] = None,
) -> None:
    """Add annotated sentences to a corpus (validated, duplicates skipped), ready for `tradeclf train`."""
    from .annotation_io import merge_into_corpus, read_doccano, read_label_studio
    from .errors import DataError, InputError
    from .schema import load_schema
    from .validate import check_corpus

    if not export.is_file():
        raise InputError(f"{export}: no such file; export the annotations first")
    kind = fmt or ("labelstudio" if export.suffix.lower() == ".json" else "doccano")
    if kind not in ("labelstudio", "doccano"):
        raise InputError(f"--format {kind!r}: use labelstudio or doccano")
    schema = load_schema(into)
    rows, problems = (read_label_studio if kind == "labelstudio" else read_doccano)(export, schema)
    if problems:
        raise DataError(f"{export}: {len(problems)} annotation(s) do not fit the schema; fix them and export again:\n  "
                        + "\n  ".join(problems[:20]))
    counts = merge_into_corpus(rows, into, schema, export.name, split)
    errors = [p for p in check_corpus(into, schema, near_duplicates=False)[0] if p.level == "error"]
    if errors:
        raise DataError(f"{into}: the corpus does not validate after the import:\n  " + "\n  ".join(map(str, errors[:20])))
    typer.echo(f"{counts['imported']} sentences in {counts['articles']} articles added to {into} ({split}); "
               f"{counts['duplicates']} already in the corpus skipped. Retrain: tradeclf train --data {into} --out models/NAME")


@data_app.command("labelstudio-config")
@handles_errors
def data_labelstudio_config(
    path: Annotated[Path, typer.Argument(help="Corpus folder or schema.json whose tasks the form asks for.")] = Path("data"),
) -> None:
    """Print a Label Studio labelling config generated from the schema (every task and label)."""
    from .annotation_io import labeling_config
    from .schema import load_schema

    typer.echo(labeling_config(load_schema(path)), nl=False)


@app.command()
@handles_errors
def suggest(
    inputs: Annotated[list[str], typer.Argument(help="Unlabelled articles: the inputs `tradeclf label` takes.", show_default=False)],
    n: Annotated[int, typer.Option("-n", min=1, help="Sentences to pick.")] = 50,
    output: Annotated[Path, typer.Option("--output", "-o", help="Tasks to write (.json: Label Studio tasks with predictions; .jsonl: one suggestion per line).")] = Path("suggestions.json"),
    text_field: Annotated[str, typer.Option(help="Text column in table inputs.")] = "text",
    id_field: Annotated[str, typer.Option(help="Id column in table inputs.")] = "id",
    per_article: Annotated[int, typer.Option(min=1, help="At most this many sentences from one article.")] = 2,
    exclude: Annotated[Optional[Path], typer.Option(help="Corpus folder whose sentences are never suggested (default: data/ if it exists).", show_default=False)] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output.")] = False,
    model: ModelOption = None,
) -> None:
    """Pick the sentences most worth annotating: least certain per task, spread across articles and labels."""
    from .api import get_model
    from .errors import InputError
    from .persistence import atomic_write_bytes
    from .sources import read_records
    from .suggest import corpus_texts, label_studio_task, suggest as pick

    if output.exists() and not overwrite:
        raise InputError(f"{output}: already exists; choose another -o, or add --overwrite to replace it")
    if output.suffix.lower() not in (".json", ".jsonl"):
        raise InputError(f"{output}: name it .json (Label Studio tasks) or .jsonl")
    saved = get_model(model)
    folder = exclude if exclude is not None else (Path("data") if (Path("data") / "sentences.jsonl").is_file() else None)
    chosen = pick(read_records(inputs, text_field, id_field), n, saved, corpus_texts(folder) if folder else set(), per_article)
    if output.suffix.lower() == ".json":
        version = str(saved.metadata.get("model_sha256", ""))[:12]
        data = json.dumps([label_studio_task(s, saved.schema, version) for s in chosen], ensure_ascii=False, indent=1) + "\n"
    else:
        data = "".join(json.dumps(s.to_dict(), ensure_ascii=False) + "\n" for s in chosen)
    atomic_write_bytes(output, data.encode())
    typer.echo(f"{len(chosen)} sentences from {len({s.article_id for s in chosen})} articles -> {output}", err=True)


if __name__ == "__main__":  # pragma: no cover
    app()
