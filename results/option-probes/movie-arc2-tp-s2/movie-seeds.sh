#!/bin/bash
# Movie ARC-II phrase-level with per-task early stopping, from step 0, seeds 2 and 3 (seed 1: movie-long.sh).
# Resumable: run again (finished seeds are skipped by --resume auto + final).
cd "$(dirname "$0")"
for seed in 2 3; do
  out=movie-arc2-tp-s$seed
  resume=(); [ -d "$out/checkpoints" ] && resume=(--resume auto)
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 nice -n 5 mpirun -np 2 --bind-to none -x OPENBLAS_NUM_THREADS=1 \
    ../bin/smtl-long train --config movie-arc-ii-long.json --data-dir /work/shared/data --phrase-level --seed $seed \
    --steps 28140 --eval-every 469 --patience 8 --checkpoint-every 469 --keep-checkpoints 1 --out $out \
    --log-dir $out/logs "${resume[@]}" >> $out.log 2>&1 || exit 1
done
