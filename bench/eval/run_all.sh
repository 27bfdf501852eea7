#!/usr/bin/env bash
# Reproduce every figure in docs/evaluation.md: query sets from the fixed test split, every
# model × mode × query set, the query-side prompt templates, the raw-feature photo baseline and
# the attribute-oracle ceilings of the targets.
#
#   bench/eval/run_all.sh                 # base, plus default once its checkpoint exists
#   MODELS="base hf:/path/to/clip" bench/eval/run_all.sh
#
# Outputs go under var/eval/ (git-ignored: they hold the data set's product ids).
set -euo pipefail
cd "$(dirname "$0")/../.."

DATA=${DATA:-/work/shared/data/myntra-footwear}
OUT=${OUT:-var/eval}
if [[ -z "${MODELS:-}" ]]; then
  MODELS="base"
  # Until the trained checkpoint lands, "default" is base under another name.
  [[ -f encoder/checkpoints/default/config.json ]] && MODELS="base default"
fi
# glibc otherwise re-maps the image tower's activation buffers on every batch (docs/facts.md).
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=4294967296

clipshoe eval build-queries --catalog "$DATA/styles.csv" --split test --out "$OUT/test"

Q="$OUT/test"
model_args=(); for m in $MODELS; do model_args+=(--model "$m"); done
set_args() { for s in "$@"; do printf -- '--queries\n%s\n' "$Q/$s.jsonl"; done; }

# 1. Every model × mode × query set (one ingest per model).
mapfile -t all_sets < <(set_args titles attributes_en attributes_vi attributes_vi_nodiac filtered photos)
clipshoe eval --catalog "$Q/styles.csv" "${all_sets[@]}" "${model_args[@]}" \
  --mode image --mode dense --mode lexical --mode hybrid \
  --json "$OUT/modes.json" --per-query "$OUT/modes.queries.jsonl" --report "$OUT/report-modes"

# 2. Query-side prompt templates, text → photo only (mode image: the encoder alone).
mapfile -t text_sets < <(set_args titles attributes_en attributes_vi attributes_vi_nodiac)
clipshoe eval --catalog "$Q/styles.csv" "${text_sets[@]}" "${model_args[@]}" --mode image \
  --template "{q}" --template "a photo of {q}" --template "a product photo of {q}, a shoe" \
  --template "{q} shoes" --template "ảnh {q}" --template "giày {q}" \
  --json "$OUT/templates.json" --report "$OUT/report-templates"

# 3. Photo → photo with the raw ImageNet features (no head, exact search).
python bench/eval/raw_features.py --catalog "$Q/styles.csv" --queries "$Q/photos.jsonl" \
  --json "$OUT/raw_features.json"

# 4. What the targets ask: attribute-oracle and perfect-ranking scores on the same split.
python bench/eval/ceilings.py --catalog "$DATA/styles.csv" --split test > "$OUT/ceilings.json"
