#!/usr/bin/env bash
# Every table of the fidelity study (issue 12) from the finished runs, in Markdown on stdout:
# protocol (a) for both groups, protocol (b) for both groups, the product ablation, the IMDB
# cap, the SST-pair, read-dropout and weight-average probes, and the compute time. It reads runs/ only (it trains nothing); the commands that make the runs are in
# docs/results.md ("How to regenerate"). usage: results/tables.sh > tables.md
set -uo pipefail
cd "$(dirname "$0")/.."
# The finished runs kept in the repository, where runs/ lacks them (a new machine).
results/archive.sh restore >/dev/null
section() { printf '\n## %s\n\n' "$1"; }
# Runs lost with the machine of 2026-11-26 (never exported): their tables are in docs/notebook.md
# as they were printed from them then; say so instead of printing an empty table.
lost() {
  echo "(these runs were lost with the machine on 2026-11-26, before they were saved; their table in"
  echo "docs/notebook.md was printed from them then, and \`$1\` trains them again)"
}
section "Table 4, protocol (a): per-task grid search on dev (lr × L2), seeds 1-3"
# (the selection anew from the runs)
launch/sweep --table 4 --seeds "1 2 3" --out runs/sweep --report-only >/dev/null 2>&1 || true
python3 results/protocol-table.py runs/sweep/selection.json product
section "Table 4, protocol (a)'s grid: every point as one setting for all tasks (dev / test, seeds 1-3)"
python3 results/points-table.py runs/sweep product --best-test
section "Table 3, protocol (a): per-task choice of lr {0.1, 0.01} at L2 0 on seed 1's dev, seeds 1-3 at the chosen points"
# (the confirmation table anew from every finished run: jobs that confirmed different models or
# seeds each wrote their own part)
launch/sweep --table 3 --set training.learning_rate=0.1,0.01 --set training.l2=0 --seeds 1 \
  --confirm-seeds "2 3" --out runs/sweep-movie --report-only >/dev/null 2>&1 || true
if [ -f runs/sweep-movie/confirmed.json ]; then
  python3 results/protocol-table.py runs/sweep-movie/confirmed.json movie
else
  echo "(the confirmation seeds have not finished; the grid's selection so far — its seed-2 rows chose among the points that have seed 2:)"; echo
  python3 results/protocol-table.py runs/sweep-movie/selection.json movie
fi
section "Table 3, protocol (a)'s grid: every point as one setting for all tasks (a single-task row has a seed where all four tasks have it)"
python3 results/points-table.py runs/sweep-movie movie --best-test
section "Tables 3 and 4, protocol (b): configs/variant-b, seeds 1-3"
launch/reproduce --configs configs/variant-b --out runs/variant-b --seeds "1 2 3" --report-only >/dev/null 2>&1 || true
if [ -f runs/variant-b/tables.md ]; then sed -n '/^### Table/,/^### Runs/p' runs/variant-b/tables.md | sed '$d'; else echo "(no finished runs yet)"; fi
[ -d runs/variant-b/product ] || { echo; echo "Table 4 under protocol (b):"; lost 'launch/reproduce --configs configs/variant-b --table 4 --seeds "1 2 3" --out runs/variant-b'; }
section "Ablation, product group: each option alone at lr 0.01, L2 1e-5, seeds 1-3"
if [ -d runs/ablation ]; then python3 results/ablation-table.py; else lost results/ablation.sh; fi
section "IMDB length cap, single-task LSTM"
if [ -d runs/exp/imdb-cap ]; then python3 results/option-probes/imdb-cap-table.py; else lost results/option-probes/imdb-cap.sh; fi
section "SST-1 + SST-2 alone (ARC-II, ARC-I), beside single task, protocol (b)'s movie config"
if [ -d runs/sst-pair/movie ]; then python3 results/option-probes/sst-pair-table.py; else echo "(no finished runs; results/option-probes/sst-pair.sh trains them)"; fi
section "Dropout on the memory read, product group, protocol (b)'s configs, seeds 1-3"
if [ -d runs/read-dropout ]; then python3 results/option-probes/probe-table.py read-dropout dropout_read=0.3; else echo "(no finished runs; results/option-probes/read-dropout.sh trains them)"; fi
section "Moving average of the weights, product group, protocol (b)'s configs, seeds 1-3"
if [ -d runs/weight-average ]; then
  for d in 0.9 0.99 0.999; do
    if [ -d "runs/weight-average/ema_decay=$d" ]; then python3 results/option-probes/probe-table.py weight-average ema_decay=$d; fi
  done
else echo "(no finished runs; results/option-probes/weight-average.sh, weight-average-single.sh and weight-average-grid.sh train them)"; fi
section "Input vectors: protocol (b) with each vector option, seeds 1-3"
python3 results/vectors-table.py
section "Compute (training seconds of every finished run)"
echo '```'; python3 results/compute-time.py; echo '```'
