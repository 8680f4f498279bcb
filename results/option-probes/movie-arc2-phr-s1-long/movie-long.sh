#!/bin/bash
# Movie ARC-II phrase-level, seed 1: the 14,070-step joint run continued to 28,140 steps with per-task
# early stopping (task_patience 6), then fine-tuning. Resumable: run again.
cd "$(dirname "$0")"
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 nice -n 5 mpirun -np 2 --bind-to none -x OPENBLAS_NUM_THREADS=1 \
  ../bin/smtl-long train --config movie-arc-ii-long.json --data-dir /work/shared/data --phrase-level --steps 28140 \
  --eval-every 469 --patience 8 --checkpoint-every 469 --keep-checkpoints 1 --out movie-arc2-phr-s1-long \
  --log-dir movie-arc2-phr-s1-long/logs --resume auto --allow-change task_patience
