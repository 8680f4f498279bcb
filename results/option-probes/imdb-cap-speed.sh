#!/bin/bash
# IMDB length cap, training step time (imdb-cap-speed.txt). Usage, from anywhere:
#   imdb-cap-speed.sh MODEL CAP STEPS [extra train options]   e.g. imdb-cap-speed.sh lstm 400 400 --task imdb
# MODEL: lstm, me-lstm, arc-i, arc-ii (configs/study/movie-MODEL.json); CAP 0: no cap. Prints the
# run's training step time. Stop other jobs first (kill -STOP) for a one-core figure.
set -eu
cd "$(dirname "$0")/../.."
m=$1; cap=$2; steps=$3; shift 3
dir=$(mktemp -d)
python3 - "$m" "$cap" "$dir/config.json" <<'PY'
import json, sys
m, cap, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = json.load(open(f"configs/study/movie-{m}.json"))
for t in c["tasks"]:
    if t["name"] == "imdb" and cap: t["max_tokens"] = cap; t["truncate"] = "head_tail"
json.dump(c, open(out, "w"))
PY
OPENBLAS_NUM_THREADS=1 ${SMTL_BIN:-.build/release/smtl} train --config "$dir/config.json" --data-dir ../shared/data \
  --steps "$steps" --eval-every 0 --patience 0 --checkpoint-every 0 --out "$dir/out" "$@" > "$dir/train.log" 2>&1
grep -m1 "step time per rank" "$dir/train.log"
rm -rf "$dir"
