#!/usr/bin/env bash
# The ablation of issue 12 on the product group: each training option alone added to the study
# config at the protocol-(a) point lr 0.01, L2 1e-5, three seeds. Single-task LSTM runs only for
# the options that change a single-task run (dropout, clipping, a frozen embedding, SPEC's
# embedding width 100 with the 50-d vectors in its first half); the
# multi-task options (task schedule, per-task early stopping, fine-tuning) only change ARC-II,
# and dropout on the memory read (added 2026-12-02; the LSTM has no memory read) is ARC-II only.
# L2 on the embedding (added 2026-12-02, seventh session) is the point's own L2, 1e-5, put on the embedding too.
# The baseline is the sweep's point learning_rate=0.01-l2=1e-05 (runs/sweep). Resumable: run it
# again and finished runs are skipped. Then: python3 results/ablation-table.py
set -euo pipefail
cd "$(dirname "$0")/.."
base=(--set training.learning_rate=0.01 --set training.l2=1e-05)
run() {  # name models settings…
  local name="$1" models="$2"; shift 2
  local sets=(); for s in "$@"; do sets+=(--set "$s"); done
  launch/sweep --table 4 --model "$models" --seeds "1 2 3" "${base[@]}" "${sets[@]}" --out "runs/ablation/$name"
}
run dropout        lstm,arc-ii training.dropout_embedding=0.2 training.dropout_hidden=0.5
run clip-5         lstm,arc-ii training.clip_norm=5
run frozen-emb     lstm,arc-ii training.freeze_embeddings=true
run uniform-tasks  arc-ii      training.task_schedule=uniform
run task-patience  arc-ii      training.task_patience=5
run fine-tune      arc-ii      training.fine_tune_epochs=5
run embedding-100  lstm,arc-ii model.embedding_dim=100 model.pretrained_dim=50
run read-dropout   arc-ii      training.dropout_read=0.3
run embedding-l2   lstm,arc-ii training.embedding_l2=1e-05
