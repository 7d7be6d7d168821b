#!/usr/bin/env bash
# The README's index picture: label the dated White House briefing-room passages of 2021-2026 in
# ../shared/realtext/pool.jsonl (US government works) with the shipped model, then index them by quarter.
set -euo pipefail
cd "$(dirname "$0")/.."
POOL=${1:-../shared/realtext/pool.jsonl}
OUT=${2:-docs/whitehouse-index}
mkdir -p "$OUT"
python - "$POOL" > "$OUT/passages.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    record = json.loads(line)
    if record["source"].startswith("whitehouse") and "2021" <= record["date"][:4] <= "2026":
        print(json.dumps({"id": record["id"], "text": record["text"], "date": record["date"], "genre": record["genre"]}))
PY
tradeclf label "$OUT/passages.jsonl" -o "$OUT/labels.jsonl" --keep date,genre --overwrite
tradeclf index "$OUT/labels.jsonl" -o "$OUT/index.csv" --period quarter --plots "$OUT" --overwrite
rm -f "$OUT/passages.jsonl" "$OUT/labels.jsonl" "$OUT/labels.jsonl.errors.jsonl"   # the text stays in ../shared; the index and charts are what we keep
