#!/usr/bin/env bash
# The decay of the weight average (training.ema_decay) chosen on dev: protocol (b)'s product
# ARC-II config with β = 0.9 and 0.999 beside weight-average.sh's 0.99, three seeds each
# (β = 0 is protocol (b)'s own runs). Resumable. Tables:
#   python3 results/option-probes/probe-table.py weight-average ema_decay=0.9   (and 0.999)
cd "$(dirname "$0")/../.."
for decay in 0.9 0.999; do
  launch/sweep --configs configs/variant-b --table 4 --model arc-ii --seeds "1 2 3" \
    --set training.ema_decay=$decay --out runs/weight-average
done
