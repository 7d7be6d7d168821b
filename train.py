"""Rebuild the shipped model, models/default, from the corpus in data/.

    python train.py            # search, cross-validate, retrain and write models/default (about 70 minutes on 2 cores)
    python train.py --check    # refit with the committed model's searched hyper-parameters into a temporary
                               # folder and compare with the committed model, byte for byte (a few minutes)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from tradeclf.card import readme_metrics_block, replace_block
from tradeclf.data import load_corpus
from tradeclf.datacard import update_data_card
from tradeclf.persistence import METADATA_FILE, MODEL_FILE
from tradeclf.training import train

ROOT = Path(__file__).resolve().parent
SHIPPED = ROOT / "models" / "default"
SEED = 0
VOLATILE = ("created", "build_seconds")  # metadata that records when and how long, not what


def build(out: Path, reuse: dict | None = None) -> dict:
    corpus = load_corpus(ROOT / "data", strict=True)
    corpus.source = "data/"
    return train(corpus, out, seed=SEED, name="default", log=lambda m: print(m, file=sys.stderr), reuse=reuse)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare a fresh build with the committed model")
    args = parser.parse_args()
    if not args.check:
        metadata = build(SHIPPED)
        readme = ROOT / "README.md"
        readme.write_text(replace_block(readme.read_text(encoding="utf-8"), readme_metrics_block(metadata)), encoding="utf-8")
        update_data_card(ROOT / "data")
        print(f"wrote {SHIPPED}, refreshed the metrics in README.md and the statistics in data/README.md")
        return 0
    committed_meta = json.loads((SHIPPED / METADATA_FILE).read_text())
    with tempfile.TemporaryDirectory() as tmp:
        build(Path(tmp), reuse=committed_meta)
        same_model = (Path(tmp) / MODEL_FILE).read_bytes() == (SHIPPED / MODEL_FILE).read_bytes()
        fresh, committed = (json.loads((folder / METADATA_FILE).read_text()) for folder in (Path(tmp), SHIPPED))
        for key in VOLATILE:
            fresh.pop(key, None), committed.pop(key, None)
        same_metadata = fresh == committed
    print(f"model bytes identical: {same_model}; metadata identical (but for {', '.join(VOLATILE)}): {same_metadata}")
    return 0 if same_model and same_metadata else 1


if __name__ == "__main__":
    raise SystemExit(main())
