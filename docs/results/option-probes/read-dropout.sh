#!/usr/bin/env bash
# Probe (issue 12): does dropout on the memory read (training.dropout_read, added 2026-12-02)
# close the gap between ARC-II and ARC-I on the product group? Protocol (b)'s product configs
# (lr 0.01, L2 1e-5, dropout 0.2 embedding / 0.5 hidden) plus dropout_read 0.3, three seeds,
# ARC-II first, then ARC-I. Resumable: run it again and finished runs are skipped, interrupted
# ones resume from their step checkpoint. The build must know dropout_read (commit ca81d8c or
# later); SMTL_BIN names it (default: the release build). Then: python3
# docs/results/option-probes/read-dropout-table.py
set -euo pipefail
cd "$(dirname "$0")/../../.."
for model in arc-ii arc-i; do
  launch/sweep --configs configs/variant-b --table 4 --model "$model" --seeds "1 2 3" \
    --set training.dropout_read=0.3 --out runs/read-dropout
done
