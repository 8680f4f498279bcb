#!/usr/bin/env bash
# Continues every unfinished part of the fidelity study (issue 12) in the background, each job
# resumable (finished runs are skipped, interrupted ones continue from their step checkpoint):
# the product ablation, the movie confirmation seeds of protocol (a), and protocol (b) for both
# groups. Logs: runs/continue-*.log. Each job uses the binary its runs started with when it is
# there (runs/bin/…; the same arithmetic on resume), else the release build.
# usage: docs/results/continue.sh     then: docs/results/tables.sh
set -u
cd "$(dirname "$0")/../.."
# Two copies of a job would train the same runs at once: refuse while one is running.
if pgrep -f "docs/results/ablation.sh|launch/sweep --table 3|launch/reproduce --configs configs/variant-b" >/dev/null; then
  echo "continue.sh: study jobs are already running (pgrep -fa 'ablation.sh|launch/sweep|launch/reproduce'); nothing started" >&2
  exit 1
fi
bin() { [ -x "runs/bin/$1" ] && echo "runs/bin/$1" || echo .build/release/smtl; }
[ -x .build/release/smtl ] || swift build -c release
stamp=$(date +%Y%m%d-%H%M)
SMTL_BIN=$(bin smtl-study) nohup nice -n 10 docs/results/ablation.sh > "runs/continue-ablation-$stamp.log" 2>&1 &
SMTL_BIN=$(bin smtl-k) nohup nice -n 15 launch/sweep --table 3 --set training.learning_rate=0.1,0.01 \
  --set training.l2=0 --seeds 1 --confirm-seeds "2 3" --out runs/sweep-movie > "runs/continue-sweep-movie-$stamp.log" 2>&1 &
SMTL_BIN=$(bin smtl-b) nohup nice -n 10 launch/reproduce --configs configs/variant-b --seeds "1 2 3" \
  --out runs/variant-b > "runs/continue-variant-b-$stamp.log" 2>&1 &
echo "started; logs: runs/continue-*-$stamp.log"
