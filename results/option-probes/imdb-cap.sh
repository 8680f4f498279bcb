#!/bin/bash
# Issue 12, the IMDB length cap: single-task LSTM on IMDB with the study config (lr 0.01, L2 0,
# 15 epochs, patience 3) and every review cut to its first and last N/2 tokens (`max_tokens` N,
# `truncate` head_tail; train, dev and test alike), N = 400 and 200, seeds 1 and 2. The baseline
# is the same config uncapped: runs/sweep-movie/learning_rate=0.01-l2=0/movie/lstm-imdb/seed-{1,2}.
# Output: runs/exp/imdb-cap/cap-N/seed-S/ (results.json when finished). Resumable: run again.
# SMTL_BIN names the smtl binary (default: the release build).
set -u
cd "$(dirname "$0")/../.."
BIN=${SMTL_BIN:-.build/release/smtl}
mkdir -p runs/exp/imdb-cap
for cap in 400 200; do
  python3 - "$cap" <<'PY'
import json, sys
cap = int(sys.argv[1])
c = json.load(open("configs/study/movie-lstm.json"))
for t in c["tasks"]:
    if t["name"] == "imdb":
        t["max_tokens"] = cap; t["truncate"] = "head_tail"
c["name"] = f"movie-lstm-imdb-cap{cap}"
json.dump(c, open(f"runs/exp/imdb-cap/movie-lstm-cap{cap}.json", "w"), indent=2)
PY
done
for seed in 1 2; do
  for cap in 400 200; do
    out=runs/exp/imdb-cap/cap-$cap/seed-$seed
    [ -f $out/results.json ] && continue
    mkdir -p $out
    resume=(); [ -d "$out/checkpoints" ] && resume=(--resume auto)
    OPENBLAS_NUM_THREADS=1 nice -n 5 $BIN train --config runs/exp/imdb-cap/movie-lstm-cap$cap.json \
      --data-dir ../shared/data --task imdb --seed $seed --checkpoint-every 500 --keep-checkpoints 1 \
      --out $out "${resume[@]}" >> $out.log 2>&1 || echo "failed: $out"
  done
done
