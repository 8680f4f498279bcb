#!/usr/bin/env bash
# The weight-average probe's single-task rows (see weight-average.sh): protocol (b)'s product
# configs plus ema_decay 0.99, single-task LSTM (the row protocol (b)'s rule reads for the
# single-task models), three seeds, one run per domain; with `me-lstm` as its argument, ME-LSTM
# (run when the LSTM row's dev average passes the rule). Resumable like weight-average.sh.
# Then: python3 results/option-probes/probe-table.py weight-average ema_decay=0.99
set -euo pipefail
cd "$(dirname "$0")/../.."
launch/sweep --configs configs/variant-b --table 4 --model "${1:-lstm}" --seeds "1 2 3" \
  --set training.ema_decay=0.99 --out runs/weight-average
