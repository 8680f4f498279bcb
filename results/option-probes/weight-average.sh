#!/usr/bin/env bash
# Probe (issue 12): does a moving average of the weights (training.ema_decay, added 2026-12-02)
# lift the product group's ARC-II, whose dev-selected checkpoints are single points of a noisy
# AdaGrad path judged on 200 dev reviews? Protocol (b)'s product configs (lr 0.01, L2 1e-5,
# dropout 0.2 embedding / 0.5 hidden) plus ema_decay 0.99 (a time constant of 100 steps, about
# one epoch of 88 steps, the evaluation interval), ARC-II then ARC-I, three seeds; the baseline
# is protocol (b)'s own runs (runs/variant-b). Resumable: run it again and finished runs are
# skipped, interrupted ones resume from their step checkpoint. The build must know ema_decay
# (commit 0808da6 or later); SMTL_BIN names it (default: the release build).
# Then: python3 results/option-probes/probe-table.py weight-average ema_decay=0.99
set -euo pipefail
cd "$(dirname "$0")/../.."
for model in arc-ii arc-i; do
  launch/sweep --configs configs/variant-b --table 4 --model "$model" --seeds "1 2 3" \
    --set training.ema_decay=0.99 --out runs/weight-average
done
