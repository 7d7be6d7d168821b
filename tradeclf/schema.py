"""The label schema: tasks and their label sets, declared once in a JSON file.

Nothing else in tradeclf names a task or a label; everything iterates over a Schema.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import DataError

SCHEMA_FILE = "schema.json"
MULTI_LABEL = "multi_label"
SINGLE_LABEL = "single_label"
KINDS = (MULTI_LABEL, SINGLE_LABEL)


@dataclass(frozen=True)
class Task:
    """One labelling task: a name, its kind, and its ordered labels with descriptions."""

    name: str
    kind: str
    labels: tuple[str, ...]
    description: str = ""
    label_descriptions: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def multi_label(self) -> bool:
        return self.kind == MULTI_LABEL


@dataclass(frozen=True)
class Schema:
    """The tasks of a corpus, in declaration order."""

    name: str
    tasks: tuple[Task, ...]
    text_field: str = "text"
    version: int = 1
    summary: dict[str, Any] = field(default_factory=dict, compare=False)

    def task(self, name: str) -> Task:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(f"no task {name!r} in schema {self.name!r}; tasks: {', '.join(self.task_names)}")

    @property
    def task_names(self) -> list[str]:
        return [task.name for task in self.tasks]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "text_field": self.text_field,
            "tasks": [
                {
                    "name": t.name,
                    "kind": t.kind,
                    "description": t.description,
                    "labels": {label: t.label_descriptions.get(label, "") for label in t.labels},
                }
                for t in self.tasks
            ],
            "summary": self.summary,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "schema") -> "Schema":
        """Build and validate a schema; every problem names the source and the field."""
        if not isinstance(raw, dict) or not isinstance(raw.get("tasks"), list) or not raw["tasks"]:
            raise DataError(f"{source}: expected an object with a non-empty 'tasks' list")
        tasks, seen = [], set()
        for i, t in enumerate(raw["tasks"]):
            where = f"{source}: tasks[{i}]"
            if not isinstance(t, dict) or not isinstance(t.get("name"), str) or not t["name"]:
                raise DataError(f"{where}: each task needs a 'name'")
            if t["name"] in seen:
                raise DataError(f"{where}: task {t['name']!r} is declared twice")
            seen.add(t["name"])
            if t.get("kind") not in KINDS:
                raise DataError(f"{where}: 'kind' must be one of {', '.join(KINDS)}, got {t.get('kind')!r}")
            labels = t.get("labels")
            if isinstance(labels, list):
                labels = {label: "" for label in labels}
            if not isinstance(labels, dict) or len(labels) < 2 and t["kind"] == SINGLE_LABEL or not labels:
                raise DataError(f"{where}: 'labels' must list at least two labels (one for multi_label)")
            tasks.append(
                Task(
                    name=t["name"],
                    kind=t["kind"],
                    labels=tuple(labels),
                    description=t.get("description", ""),
                    label_descriptions=dict(labels),
                )
            )
        return cls(
            name=raw.get("name", "tradeclf"),
            tasks=tuple(tasks),
            text_field=raw.get("text_field", "text"),
            version=int(raw.get("version", 1)),
            summary=_check_summary(raw.get("summary", {}), {t.name: t for t in tasks}, source),
        )


def _check_summary(summary: dict[str, Any], tasks: dict[str, Task], source: str) -> dict[str, Any]:
    """The article-summary declaration must name tasks and labels that exist."""
    def need(name: str, multi: bool | None = None) -> Task:
        if name not in tasks or (multi is not None and tasks[name].multi_label != multi):
            raise DataError(f"{source}: summary names task {name!r}, which is not a {'multi' if multi else 'single'}-label task of the schema")
        return tasks[name]

    for name in summary.get("shares", []):
        need(name)
    for pair in summary.get("crosstabs", []):
        for name in pair:
            need(name, multi=False)
    for score in summary.get("scores", []):
        task = need(score.get("task", ""), multi=False)
        for label in [score.get("plus"), score.get("minus"), *score.get("ignore", [])]:
            if label not in task.labels:
                raise DataError(f"{source}: summary score {score.get('name')!r} names label {label!r}, not in task {task.name!r}")
    return summary


def load_schema(path: str | Path) -> Schema:
    """Read a schema file, or the schema.json inside a corpus folder."""
    path = Path(path)
    if path.is_dir():
        path = path / SCHEMA_FILE
    if not path.is_file():
        raise DataError(f"{path}: no schema file; a corpus folder needs a {SCHEMA_FILE} declaring its tasks")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{path}: not valid UTF-8 JSON ({exc})") from exc
    return Schema.from_dict(raw, source=str(path))


def datasets_features(schema: Schema):
    """The `datasets` Features of a sentence table: ClassLabel / Sequence(ClassLabel) per task."""
    import datasets

    columns = {
        "id": datasets.Value("string"),
        "article_id": datasets.Value("string"),
        "index": datasets.Value("int32"),
        schema.text_field: datasets.Value("string"),
    }
    for task in schema.tasks:
        label = datasets.ClassLabel(names=list(task.labels))
        columns[task.name] = datasets.Sequence(label) if task.multi_label else label
    return datasets.Features(columns)
