#!/usr/bin/env bash
# Does the shared memory help the two closest tasks? ARC-II (and ARC-I) on SST-1 and SST-2 alone
# (the same sentences, 5 and 2 classes), protocol (b)'s movie config otherwise (phrase-level
# training, per-task early stopping, fine-tuning), seeds 1-3, one rank per task. Compare with
# the single-task rows of Table 3 under protocol (b) (runs/variant-b/movie/{lstm,me-lstm}-sst*):
# `python3 results/option-probes/sst-pair-table.py`.
# launch/reproduce runs it (--tasks): finished runs are skipped, interrupted ones resume, and the
# runs go to runs/sst-pair/movie/MODEL-sst1+sst2/seed-S.
# usage: results/option-probes/sst-pair.sh [MODEL...]   (default: arc-ii arc-i)
set -euo pipefail
cd "$(dirname "$0")/../.."
models=("$@"); [ ${#models[@]} -gt 0 ] || models=(arc-ii arc-i)
list="${models[*]}"
exec launch/reproduce --configs configs/variant-b --table 3 --model "${list// /,}" --tasks sst1,sst2 \
  --seeds "1 2 3" --out runs/sst-pair
