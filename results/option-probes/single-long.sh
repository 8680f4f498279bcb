#!/bin/bash
# Single-task movie baselines for SUBJ and IMDB with the ARC-II long recipe's early stopping
# (evaluate every 469 steps, patience 8, at most 28,140 steps): LSTM and ME-LSTM, seeds 1-3.
# Output: runs/exp/single-long/<model>-<task>/seed-N/ (results.json when finished).
# Resumable: run again; finished runs (results.json) are skipped, others resume from their step
# checkpoint. SMTL_BIN names the smtl binary (default: the release build; the runs of 2026-11-26
# used runs/bin/smtl-k, the memory-kernel build).
set -u
cd "$(dirname "$0")/../.."
BIN=${SMTL_BIN:-.build/release/smtl}
for seed in 1 2 3; do
  for task in subj imdb; do
    for model in lstm me-lstm; do
      out=runs/exp/single-long/$model-$task/seed-$seed
      [ -f $out/results.json ] && continue
      mkdir -p $out
      resume=(); [ -d "$out/checkpoints" ] && resume=(--resume auto)
      OPENBLAS_NUM_THREADS=1 nice -n 5 $BIN train --config configs/study/movie-$model.json --data-dir ../shared/data \
        --task $task --seed $seed --steps 28140 --eval-every 469 --patience 8 --checkpoint-every 469 \
        --keep-checkpoints 1 --out $out "${resume[@]}" >> $out.log 2>&1 || echo "failed: $out"
    done
  done
done
