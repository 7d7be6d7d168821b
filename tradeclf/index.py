"""A negotiation index over time from label output: issue salience, a progress index and stance by speaker,
per period and per any kept field, each with a bootstrap interval that resamples articles.

Why by article: sentences of one article are not independent (one wire story about tariffs has ten tariff
sentences), so intervals resample whole articles. DuckDB reads the label output (JSON Lines, CSV or Parquet)
and counts every metric per article in one streamed, parallel pass; pandas and numpy then aggregate the small
article table and bootstrap it. The engine was chosen by measurement (benchmarks/index_engines.py, the same
per-article counts from 1 GB of JSON Lines): DuckDB 1.0 s / 147 MB peak, polars 2.3 s / 1.1 GB, the json
module + numpy streamed 23 s / 346 MB, pandas 68 s / 1.7 GB.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from .errors import InputError
from .schema import Schema
from .sinks import MULTI_LABEL_SEPARATOR

PERIODS = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
MIN_ARTICLES = 5  # periods with fewer articles are marked sparse (and left out of the charts)
BOOTSTRAP_SAMPLES = 500
_BLOCK = 20_000  # articles per bootstrap block (bounds memory: samples x block weights)


def metric_columns(schema: Schema) -> list[tuple[str, str, Any]]:
    """(name, kind, spec) of every index metric the schema's summary declares: shares of each label of a
    multi-label task, each score (plus - minus over sentences not ignored), each crosstab share."""
    out: list[tuple[str, str, Any]] = []
    for name in schema.summary.get("shares", []):
        for label in schema.task(name).labels:
            out.append((f"{name}_{label}", "share", (name, label)))
    for score in schema.summary.get("scores", []):
        out.append((score["name"], "score", score))
    for first, second in schema.summary.get("crosstabs", []):
        for outer in schema.task(first).labels:
            if outer == "none":
                continue
            for inner in schema.task(second).labels:
                if inner != "neutral":
                    out.append((f"{second}_{outer}_{inner}", "crosstab", (first, outer, second, inner)))
    return out


def _quote(name: str) -> str:
    """A field name as a DuckDB identifier (user-chosen --by fields may hold any character)."""
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _fields_of(path: Path) -> set[str]:
    """The top-level fields of a label output, read from its first row (JSON Lines) or its header."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise InputError(f"{path}:{number}: broken JSON line ({exc.msg}); is this a `tradeclf label` output?") from None
                    if not isinstance(row, dict) or not isinstance(row.get("labels"), dict):
                        raise InputError(f"{path}:{number}: rows have no labels; is this a `tradeclf label` output?")
                    return set(row) | set(row["labels"])
        return set()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return set(pq.read_schema(path).names)
    if suffix == ".csv":
        import csv

        with path.open(encoding="utf-8", errors="replace", newline="") as handle:
            return set(next(csv.reader(handle), []))
    raise InputError(f"{path}: give a `tradeclf label` output (.jsonl, .csv or .parquet)")


def _relation_sql(path: Path, schema: Schema, fields: tuple[str, ...]) -> str:
    """A DuckDB query giving one row per sentence: article_id, the fields (as text) and one column per task
    (a list for multi-label tasks), whatever the output format."""
    suffix = path.suffix.lower()
    name = _literal(str(path))
    tasks = schema.tasks
    if suffix in (".jsonl", ".json", ".ndjson"):
        label_types = ", ".join(f"{_quote(t.name)} {'VARCHAR[]' if t.multi_label else 'VARCHAR'}" for t in tasks)
        columns = {"article_id": "VARCHAR", **{f: "VARCHAR" for f in fields}, "labels": f"STRUCT({label_types})"}
        spec = "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in columns.items()) + "}"
        source = f"read_json({name}, format='newline_delimited', columns={spec})"
        task_columns = [f"labels.{_quote(t.name)} AS {_quote(t.name)}" for t in tasks]
    else:
        reader = f"read_parquet({name})" if suffix == ".parquet" else f"read_csv({name}, header=true, all_varchar=true)"
        source = reader
        task_columns = [(f"string_split(coalesce(CAST({_quote(t.name)} AS VARCHAR), ''), {_literal(MULTI_LABEL_SEPARATOR)})"
                         if t.multi_label else f"CAST({_quote(t.name)} AS VARCHAR)") + f" AS {_quote(t.name)}" for t in tasks]
    field_columns = [f"CAST({_quote(f)} AS VARCHAR) AS {_quote(f)}" for f in fields]
    return f"SELECT CAST(article_id AS VARCHAR) AS article_id, {', '.join(field_columns + task_columns)} FROM {source}"


def _metric_sql(metrics: list[tuple[str, str, Any]], multi: set[str]) -> list[str]:
    """Per-article numerator and denominator of every metric, as DuckDB aggregates."""
    out = []
    for name, kind, spec in metrics:
        if kind == "share":
            task, label = spec
            hit = f"list_contains({_quote(task)}, {_literal(label)})" if task in multi else f"{_quote(task)} = {_literal(label)}"
            num, den = f"count(*) FILTER (WHERE {hit})", "count(*)"
        elif kind == "score":
            value = f"coalesce({_quote(spec['task'])}, '')"
            ignored = ", ".join(_literal(v) for v in spec.get("ignore", [])) or "NULL"
            kept = f"{value} NOT IN ({ignored})"
            num = (f"count(*) FILTER (WHERE {kept} AND {value} = {_literal(spec['plus'])}) - "
                   f"count(*) FILTER (WHERE {kept} AND {value} = {_literal(spec['minus'])})")
            den = f"count(*) FILTER (WHERE {kept})"
        else:
            first, outer, second, inner = spec
            where = f"{_quote(first)} = {_literal(outer)}"
            num, den = f"count(*) FILTER (WHERE {where} AND {_quote(second)} = {_literal(inner)})", f"count(*) FILTER (WHERE {where})"
        out += [f"CAST({num} AS DOUBLE) AS {_quote(name + '__num')}", f"CAST({den} AS DOUBLE) AS {_quote(name + '__den')}"]
    return out


def article_table(path: str | Path, schema: Schema, date_field: str = "date", by: tuple[str, ...] = ()):
    """One row per article: its date, the `by` fields, sentence count and every metric's numerator and
    denominator (as counts), aggregated by DuckDB straight from the label output (streamed, in parallel)."""
    import duckdb
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file; give the output of `tradeclf label`")
    present = _fields_of(path)
    if "article_id" not in present:
        raise InputError(f"{path}: rows have no article_id; is this a `tradeclf label` output?")
    missing = [f for f in (date_field, *by) if f not in present]
    if missing:
        raise InputError(f"{path}: rows have no {', '.join(missing)} field; label with --keep {','.join((date_field, *by))}")
    absent = [t.name for t in schema.tasks if t.name not in present]
    if absent:
        raise InputError(f"{path}: rows have no {', '.join(absent)} labels; was it labelled with this model's schema?")
    fields = tuple(dict.fromkeys((date_field, *by)))
    metrics = metric_columns(schema)
    multi = {t.name for t in schema.tasks if t.multi_label}
    query = (f"SELECT article_id, {', '.join(f'first({_quote(f)}) AS {_quote(f)}' for f in fields)}, "
             f"CAST(count(*) AS DOUBLE) AS sentences, {', '.join(_metric_sql(metrics, multi))} "
             f"FROM ({_relation_sql(path, schema, fields)}) GROUP BY article_id ORDER BY article_id")
    connection = duckdb.connect()
    try:
        connection.execute("SET preserve_insertion_order = false")  # lets DuckDB stream without keeping row order
        table = connection.execute(query).df()
    except duckdb.Error as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise InputError(f"{path}: cannot read it as a `tradeclf label` output ({first_line})") from None
    finally:
        connection.close()
    table = table[["article_id", *fields, "sentences", *[c for name, _, _ in metrics for c in (f"{name}__num", f"{name}__den")]]]
    table[date_field] = pd.to_datetime(table[date_field], errors="coerce")  # unreadable dates: undated, not an error
    return table


def negotiation_index(path: str | Path, schema: Schema | None = None, period: str = "month", by: tuple[str, ...] = (),
                      date_field: str = "date", min_articles: int = MIN_ARTICLES, seed: int = 0):
    """The index table (a pandas DataFrame): one row per period (and `by` group) with articles, sentences,
    a `sparse` flag, and each metric's value with a 95% interval (`_low`, `_high`) from resampling articles.

    >>> negotiation_index("labels.jsonl", period="quarter", by=("outlet",))  # doctest: +SKIP
    """
    import pandas as pd

    if period not in PERIODS:
        raise InputError(f"--period {period!r}: use one of {', '.join(PERIODS)}")
    if schema is None:
        from .api import get_model

        schema = get_model(None).schema
    by = tuple(by)
    articles = article_table(path, schema, date_field, by)
    undated = int(articles[date_field].isna().sum())
    articles = articles.dropna(subset=[date_field])
    if articles.empty:
        raise InputError(f"{path}: no article has a readable {date_field!r}; label with --keep {date_field} "
                         "(dates like 2024-03-01)")
    articles["period"] = articles[date_field].dt.to_period(PERIODS[period]).dt.start_time.dt.date
    metrics = metric_columns(schema)
    rng = np.random.default_rng(seed)
    out = []
    for key, cell in articles.groupby(["period", *by], sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row: dict[str, Any] = dict(zip(["period", *by], key))
        row.update(articles=len(cell), sentences=int(cell["sentences"].sum()), sparse=len(cell) < min_articles)
        num = cell[[f"{m}__num" for m, _, _ in metrics]].to_numpy()
        den = cell[[f"{m}__den" for m, _, _ in metrics]].to_numpy()
        low, high = _bootstrap(num, den, rng)
        total_den = den.sum(axis=0)
        values = np.divide(num.sum(axis=0), total_den, out=np.full(len(metrics), np.nan), where=total_den > 0)
        for k, (name, _, _) in enumerate(metrics):
            row[name], row[f"{name}_low"], row[f"{name}_high"] = values[k], low[k], high[k]
        out.append(row)
    result = pd.DataFrame(out)
    result.attrs["undated_articles"] = undated
    return result


def _bootstrap(num: np.ndarray, den: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """95% percentile interval of sum(num)/sum(den) over resampled articles (Poisson weights, in blocks)."""
    samples_num = np.zeros((BOOTSTRAP_SAMPLES, num.shape[1]))
    samples_den = np.zeros((BOOTSTRAP_SAMPLES, num.shape[1]))
    for start in range(0, len(num), _BLOCK):
        weights = rng.poisson(1.0, size=(BOOTSTRAP_SAMPLES, min(_BLOCK, len(num) - start)))
        samples_num += weights @ num[start:start + _BLOCK]
        samples_den += weights @ den[start:start + _BLOCK]
    ratios = np.divide(samples_num, samples_den, out=np.full_like(samples_num, np.nan), where=samples_den > 0)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            low, high = np.nanpercentile(ratios, [2.5, 97.5], axis=0)
    return low, high


def plot_index(table, folder: str | Path, by: tuple[str, ...] = (), top_issues: int = 5) -> list[Path]:
    """Line charts with 95% bands (PNG) and an HTML page showing them all; sparse periods are left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dense = table[~table["sparse"]]
    shares = [c for c in table.columns if c.startswith("issues_") and not c.endswith(("_low", "_high"))]
    top = sorted(shares, key=lambda c: -float(np.nan_to_num(dense[c].mean())))[:top_issues]
    charts = [("Issue salience (share of sentences)", top, "issues.png"),
              ("Progress index ((advance - setback) / sentences on progress)",
               [c for c in table.columns if c == "progress_score"], "progress.png"),
              ("Hardline share of each government's sentences",
               [c for c in table.columns if c.startswith("stance_") and c.endswith("_government_hardline")], "stance.png")]
    written = []
    groups = list(dense.groupby(list(by))) if by else [((), dense)]
    for title, columns, name in charts:
        if not columns:
            continue
        fig, ax = plt.subplots(figsize=(9, 4.5))
        for group, cell in groups:
            label_group = "" if not by else f" [{group if not isinstance(group, tuple) else ', '.join(map(str, group))}]"
            for column in columns:
                x = cell["period"].astype("datetime64[ns]")
                ax.plot(x, cell[column], marker="o", markersize=3, label=column.replace("issues_", "").replace("stance_", "") + label_group)
                ax.fill_between(x, cell[f"{column}_low"], cell[f"{column}_high"], alpha=0.15)
        ax.set_title(title)
        if name == "progress.png":
            ax.axhline(0, color="grey", linewidth=0.8)
        ax.legend(fontsize=7, ncol=2)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(folder / name, dpi=110)
        plt.close(fig)
        written.append(folder / name)
    html = ["<!doctype html><meta charset='utf-8'><title>tradeclf index</title><h1>Negotiation index</h1>",
            f"<p>{int(table['articles'].sum())} articles; periods with fewer than {MIN_ARTICLES} articles are left out "
            "of the charts (marked sparse in the table). Bands: 95% intervals from resampling articles.</p>"]
    html += [f"<h2>{path.stem}</h2><img src='{path.name}' style='max-width:100%'>" for path in written]
    (folder / "index.html").write_text("\n".join(html) + "\n", encoding="utf-8")
    return written + [folder / "index.html"]
