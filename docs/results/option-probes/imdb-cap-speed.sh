#!/bin/bash
# usage: run.sh model cap steps [extra]
cd /work/main
m=$1; cap=$2; steps=$3; shift 3
out=/tmp/capbench/out-$m-$cap-$RANDOM
OPENBLAS_NUM_THREADS=1 .build/release/smtl train --config /tmp/capbench/$m-$cap.json --data-dir ../shared/data --steps $steps --eval-every 0 --patience 0 --checkpoint-every 0 --out $out "$@" > $out.log 2>&1
grep -m1 "step time per rank" $out.log; grep "^done" $out.log
