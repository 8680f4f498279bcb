#!/usr/bin/env bash
# Does the shared memory help the two closest tasks? ARC-II (and ARC-I) on SST-1 and SST-2 alone
# (the same sentences, 5 and 2 classes), protocol (b)'s movie config otherwise (phrase-level
# training, per-task early stopping, fine-tuning), seeds 1-3, one process each. Compare with
# the single-task rows of Table 3 under protocol (b) (runs/variant-b/movie/{lstm,me-lstm}-sst*).
# Resumable: a finished run is skipped, an interrupted one resumes from its step checkpoint.
# usage: docs/results/option-probes/sst-pair.sh [MODEL...]   (default: arc-ii arc-i)
set -euo pipefail
cd "$(dirname "$0")/../../.."
SMTL="${SMTL_BIN:-.build/release/smtl}"
export OPENBLAS_NUM_THREADS=1
models=("$@"); [ ${#models[@]} -gt 0 ] || models=(arc-ii arc-i)
for seed in 1 2 3; do
  for m in "${models[@]}"; do
    out="runs/sst-pair/$m/seed-$seed"
    [ -f "$out/results.json" ] && { echo "== $out: done, skipped"; continue; }
    resume=(); [ -d "$out/checkpoints" ] && resume=(--resume auto)
    echo "== $out"
    mkdir -p "$out"
    # (an interrupted run's output first, so train.log keeps every part)
    [ -f "$out/train.log.part" ] && { cat "$out/train.log.part" >> "$out/train.log"; rm -f "$out/train.log.part"; }
    "$SMTL" train --config "configs/variant-b/movie-$m.json" --data-dir ../shared/data --task sst1 --task sst2 \
      --seed "$seed" --checkpoint-every 1000 --keep-checkpoints 1 --out "$out" "${resume[@]}" > "$out/train.log.part" 2>&1
    cat "$out/train.log.part" >> "$out/train.log"; rm -f "$out/train.log.part"
    grep -A3 "model selection" "$out/train.log" | tail -3
  done
done
