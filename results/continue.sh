#!/usr/bin/env bash
# Continues the unfinished parts of the fidelity study (issue 12) in the background, each job
# resumable (finished runs are skipped, interrupted ones continue from their step checkpoint):
#   1. protocol (a), movie group: the grid lr {0.1, 0.01} at L2 0 with seed 1, then seeds 2 and 3
#      at each task's point chosen on seed 1's dev, as two jobs side by side (ARC-II in one, the
#      other models and then whatever ARC-II run is left in the other; a run's lock keeps them
#      from training one run twice);
#   2. then protocol (b), movie group (configs/variant-b, seeds 1-3), each job as its part of (a)
#      is done (the runs' locks split the work between them);
#   3. then protocol (b), product group again (its runs were lost with the machine of 2026-11-26).
# First it restores the finished runs kept in the repository (results/archive.sh restore),
# so a new machine trains only what is missing. Save finished runs with
# `results/archive.sh save` and commit results/archive. Logs: runs/continue-*.log.
# Each job uses the binary its runs started with when it is there (runs/bin/…: the same
# arithmetic on resume), else a copy of the release build made now.
# usage: results/continue.sh     then: results/tables.sh
set -u
cd "$(dirname "$0")/.."
# A second copy of the jobs would only queue behind their runs' locks: refuse while they run.
if pgrep -f "results/study-jobs|launch/sweep --table 3|launch/reproduce --configs configs/variant-b" >/dev/null; then
  echo "continue.sh: study jobs are already running (pgrep -fa 'study-jobs|launch/sweep|launch/reproduce'); nothing started" >&2
  echo "  (a second copy would only wait for their runs' locks)" >&2
  exit 1
fi
results/archive.sh restore
[ -x .build/release/smtl ] || swift build -c release
mkdir -p runs/bin
[ -x runs/bin/smtl-m ] || cp .build/release/smtl runs/bin/smtl-m
stamp=$(date +%Y%m%d-%H%M)
export SMTL_BIN=runs/bin/smtl-m
nohup nice -n 10 results/study-jobs.sh a > "runs/continue-a-$stamp.log" 2>&1 &
nohup nice -n 10 results/study-jobs.sh b > "runs/continue-b-$stamp.log" 2>&1 &
echo "started; logs: runs/continue-{a,b}-$stamp.log; progress: launch/sweep --table 3 --set training.learning_rate=0.1,0.01 --set training.l2=0 --out runs/sweep-movie --status"
