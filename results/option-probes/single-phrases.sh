#!/bin/bash
# Single-task movie baselines at phrase level (SST-1, SST-2): LSTM and ME-LSTM, seeds 1-2.
set -u
BIN=../bin/smtl-exp3
for model in lstm me-lstm; do
  for task in sst1 sst2; do
    for seed in 1 2; do
      out=single-phr/$model-$task/seed-$seed
      [ -f $out/results.json ] && continue
      OPENBLAS_NUM_THREADS=1 nice -n 5 $BIN train --config ../../configs/study/movie-$model.json --data-dir /work/shared/data \
        --task $task --phrase-level --seed $seed --epochs 4 --eval-every 1000 --patience 0 --checkpoint-every 2000 \
        --keep-checkpoints 1 --out $out > $out.log 2>&1 || { mkdir -p $(dirname $out); OPENBLAS_NUM_THREADS=1 nice -n 5 $BIN train --config ../../configs/study/movie-$model.json --data-dir /work/shared/data \
        --task $task --phrase-level --seed $seed --epochs 4 --eval-every 1000 --patience 0 --checkpoint-every 2000 \
        --keep-checkpoints 1 --out $out --resume auto >> $out.log 2>&1; }
    done
  done
done
