#!/usr/bin/env bash
# Continues the unfinished parts of the fidelity study (issue 12) in the background, each job
# resumable (finished runs are skipped, interrupted ones continue from their step checkpoint):
#   1. protocol (a), movie group: the grid lr {0.1, 0.01} at L2 0 with seed 1, then seeds 2 and 3
#      at each task's point chosen on seed 1's dev, as two jobs side by side (ARC-II alone in one,
#      the other models then ARC-II's seed 3 in the other; a run's lock keeps them apart);
#   2. then protocol (b), movie group (configs/variant-b, seeds 1-3).
# First it restores the finished runs kept in the repository (docs/results/archive.sh restore),
# so a new machine trains only what is missing. Save finished runs with
# `docs/results/archive.sh save` and commit docs/results/archive. Logs: runs/continue-*.log.
# Each job uses the binary its runs started with when it is there (runs/bin/…: the same
# arithmetic on resume), else a copy of the release build made now.
# usage: docs/results/continue.sh     then: docs/results/tables.sh
set -u
cd "$(dirname "$0")/../.."
# Two copies of a job would train the same runs at once: refuse while one is running.
if pgrep -f "docs/results/study-jobs|launch/sweep --table 3|launch/reproduce --configs configs/variant-b" >/dev/null; then
  echo "continue.sh: study jobs are already running (pgrep -fa 'study-jobs|launch/sweep|launch/reproduce'); nothing started" >&2
  exit 1
fi
docs/results/archive.sh restore
[ -x .build/release/smtl ] || swift build -c release
mkdir -p runs/bin
[ -x runs/bin/smtl-m ] || cp .build/release/smtl runs/bin/smtl-m
stamp=$(date +%Y%m%d-%H%M)
grid=(--table 3 --set training.learning_rate=0.1,0.01 --set training.l2=0 --seeds 1 --out runs/sweep-movie)
export SMTL_BIN=runs/bin/smtl-m
nohup nice -n 10 bash -c "exec -a docs/results/study-jobs-a bash -c '
  launch/sweep ${grid[*]} --model arc-ii --confirm-seeds 2' " > "runs/continue-movie-a1-$stamp.log" 2>&1 &
nohup nice -n 10 bash -c "exec -a docs/results/study-jobs-b bash -c '
  launch/sweep ${grid[*]} --model lstm,me-lstm,arc-i --confirm-seeds \"2 3\" &&
  launch/sweep ${grid[*]} --model arc-ii --confirm-seeds 3 &&
  launch/sweep ${grid[*]} --confirm-seeds \"2 3\" --report-only;
  launch/reproduce --configs configs/variant-b --table 3 --seeds \"1 2 3\" --out runs/variant-b' " \
  > "runs/continue-movie-a2-b-$stamp.log" 2>&1 &
echo "started; logs: runs/continue-*-$stamp.log; progress: launch/sweep ${grid[*]} --status"
