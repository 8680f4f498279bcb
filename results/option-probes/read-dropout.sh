#!/usr/bin/env bash
# Probe (issue 12): does dropout on the memory read (training.dropout_read, added 2026-12-02)
# lift ARC-II on the product group, where it stays under ARC-I? Protocol (b)'s product configs
# (lr 0.01, L2 1e-5, dropout 0.2 embedding / 0.5 hidden) plus dropout_read 0.3, ARC-II, three
# seeds; the baseline is protocol (b)'s own ARC-II runs (runs/variant-b). Resumable: run it again
# and finished runs are skipped, interrupted ones resume from their step checkpoint. The build
# must know dropout_read (commit ca81d8c or later); SMTL_BIN names it (default: the release
# build). Then: python3 results/option-probes/probe-table.py read-dropout dropout_read=0.3
# (ARC-I with the same setting, which the table also shows when its runs exist, was started and
# stopped at seed 1 once ARC-II's dev average came out lower: `launch/sweep --configs
# configs/variant-b --table 4 --model arc-i --seeds "1 2 3" --set training.dropout_read=0.3 --out
# runs/read-dropout` resumes it.)
set -euo pipefail
cd "$(dirname "$0")/../.."
launch/sweep --configs configs/variant-b --table 4 --model arc-ii --seeds "1 2 3" \
  --set training.dropout_read=0.3 --out runs/read-dropout
