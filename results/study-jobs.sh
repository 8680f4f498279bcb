#!/usr/bin/env bash
# The two background jobs of results/continue.sh (which starts them; see there).
#   a: protocol (a), movie group, ARC-II: the grid with seed 1, then seeds 2 and 3 at its chosen
#      points; then protocol (b), movie group
#   b: protocol (a), movie group, the other models: the grid with seed 1, seeds 2 and 3 at the
#      chosen points; then ARC-II's (what job a has not done: its runs are skipped, or waited for
#      while job a trains them); the confirmation table; then protocol (b), movie group
# Then both jobs train protocol (b)'s product rows again (their runs were lost with the machine
# of 2026-11-26; docs/notebook.md keeps the numbers measured then), so that results/tables.sh
# can print that table from runs again.
# The runs' locks (launch/reproduce) keep the two jobs from training one run twice, and split
# protocol (b)'s runs between them.
set -u
cd "$(dirname "$0")/.."
grid=(--table 3 --set training.learning_rate=0.1,0.01 --set training.l2=0 --seeds 1 --out runs/sweep-movie)
movie_b=(--configs configs/variant-b --table 3 --seeds "1 2 3" --out runs/variant-b)
product_b=(--configs configs/variant-b --table 4 --seeds "1 2 3" --out runs/variant-b)
case "${1:-}" in
  a)
    launch/sweep "${grid[@]}" --model arc-ii --confirm-seeds "2 3"
    launch/reproduce "${movie_b[@]}"
    launch/reproduce "${product_b[@]}"
    ;;
  b)
    launch/sweep "${grid[@]}" --model lstm,me-lstm,arc-i --confirm-seeds "2 3" &&
      launch/sweep "${grid[@]}" --model arc-ii --confirm-seeds "2 3" &&
      launch/sweep "${grid[@]}" --confirm-seeds "2 3" --report-only
    launch/reproduce "${movie_b[@]}"
    launch/reproduce "${product_b[@]}"
    ;;
  *) echo "usage: results/study-jobs.sh a|b (started by results/continue.sh)" >&2; exit 2 ;;
esac
