"""Plots for evaluation reports (matplotlib, headless) and the HTML rendering of the Markdown report."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        from .errors import InputError

        raise InputError("plots need matplotlib: `pip install .[report]`") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def confusion_matrix(gold: Sequence[str], predicted: Sequence[str], labels: Sequence[str], title: str, path: Path) -> None:
    from sklearn.metrics import ConfusionMatrixDisplay

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2.5, 1.0 * len(labels) + 2))
    ConfusionMatrixDisplay.from_predictions(gold, predicted, labels=list(labels), ax=ax, colorbar=False,
                                            xticks_rotation=35, cmap="Blues")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def per_label_f1(per_label: dict[str, dict[str, Any]], title: str, path: Path) -> None:
    plt = _pyplot()
    labels = list(per_label)
    values = [per_label[label]["f1"] for label in labels]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(labels) + 1.5))
    ax.barh(labels[::-1], values[::-1], color="#3b75af")
    for y, value in enumerate(values[::-1]):
        ax.text(value + 0.01, y, f"{value:.2f}", va="center", fontsize=8)
    ax.set_xlim(0, 1.08)
    ax.set_xlabel("F1")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def learning_curve(curve: dict[str, Any], path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    sizes = [p.get("varied_sentences", p["sentences"]) for p in curve["points"]]
    for task in curve["points"][0]["macro_f1"]:
        ax.plot(sizes, [p["macro_f1"][task] for p in curve["points"]], marker="o", label=task)
    ax.set_xlabel("training sentences")
    ax.set_ylabel(f"macro-F1 on {curve['split']}")
    ax.set_title("Learning curve")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown_to_html(markdown_text: str) -> str:
    try:
        import markdown
    except ImportError:
        from .errors import InputError

        raise InputError("--html needs the markdown package: `pip install .[report]`") from None
    body = markdown.markdown(markdown_text, extensions=["tables"])
    return ("<!doctype html><meta charset='utf-8'><title>tradeclf evaluation</title>"
            "<style>body{font-family:sans-serif;max-width:1000px;margin:auto}table{border-collapse:collapse}"
            "td,th{border:1px solid #ccc;padding:3px 6px}img{max-width:100%}</style>" + body)
