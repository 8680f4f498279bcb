#!/usr/bin/env bash
# The vectors study (issue 28; plan and results in docs/results.md, "Input vectors"): protocol (b)
# (configs/variant-b) with each vector option, three seeds, chosen on dev. Resumable: finished
# runs are skipped, interrupted ones resume from their step checkpoint, and the vectors are made
# again (the same bytes: one fastText thread, seed 1) where runs/vectors lacks them. Run it in the
# background; it first restores the finished runs kept in results/archive.
#   results/vectors-study.sh [product|me-lstm|movie|movie-rest|all]   (default all: product, then movie)
# Save finished runs with `results/archive.sh save` and commit results/archive.
# The order is the plan's priority: ARC-II on every option first, then ARC-I, then the
# single-task models; the movie group last (its runs are 5 times as long).
set -u
cd "$(dirname "$0")/.."
results/archive.sh restore >/dev/null
[ -x .build/release/smtl ] || swift build -c release
mkdir -p runs/bin runs/vectors
# One binary for every run of the study (a resumed run keeps its arithmetic).
[ -x runs/bin/smtl-v ] || cp .build/release/smtl runs/bin/smtl-v
export SMTL_BIN=runs/bin/smtl-v
V="$PWD/runs/vectors"
GLOVE=embeddings/glove.6B.50d.restricted.txt.gz

vectors() { # vectors GROUP DIM: runs/vectors/GROUP-DIM.vec from the group's protocol (b) config
  local group="$1" dim="$2"
  [ -s "$V/$group-$dim.vec" ] && return 0
  runs/bin/smtl-v prepare vectors --config "configs/variant-b/$group-arc-ii.json" --data-dir ../shared/data \
    --dim "$dim" --out "$V/$group-$dim.vec.tmp" > "$V/$group-$dim.log" 2>&1 &&
    mv "$V/$group-$dim.vec.tmp" "$V/$group-$dim.vec"
}

options() { # the vector options of a group as launch/sweep's --set-json object
  local g="$1"
  printf '{"glove50": "%s", "in50": "%s", "in100": "%s", "glove50+in50": ["%s", "%s"]}' \
    "$GLOVE" "$V/$g-50.vec" "$V/$g-100.vec" "$GLOVE" "$V/$g-50.vec"
}

sweep() { # sweep GROUP-TABLE MODELS OPTIONS-JSON [SEEDS]
  local table="$1" models="$2" opts="$3" seeds="${4:-1 2 3}" group
  [ "$table" = 4 ] && group=product || group=movie
  launch/sweep --configs configs/variant-b --table "$table" --model "$models" --seeds "$seeds" \
    --set model.embedding_dim=0 --set-json "embeddings=$opts" --out "runs/vectors-$group"
}

one() { # one GROUP-TABLE OPTION-NAME: the options JSON of one option
  python3 -c 'import json,sys; print(json.dumps({sys.argv[2]: json.loads(sys.argv[1])[sys.argv[2]]}))' "$(options "$1")" "$2"
}

# The budget (10 h of machine time) does not hold the whole plan (docs/results.md, "What the budget
# cut"): product ME-LSTM runs on the dev-chosen option only (glove50+in50, chosen by ARC-I, ARC-II
# and the LSTM), and the movie group on that option with seed 1, ARC-II and the LSTM (`movie`);
# `movie-rest` is the rest of the movie plan (ARC-I, ME-LSTM, seeds 2 and 3), outside the budget.
product() {
  vectors product 50 && vectors product 100 || { echo "vectors-study: product vectors failed (runs/vectors/*.log)"; exit 1; }
  local o
  o="$(options product)"
  sweep 4 arc-ii "$o"
  sweep 4 arc-i "$o"
  sweep 4 lstm "$o"
  me_lstm
}

me_lstm() { sweep 4 me-lstm "$(one product glove50+in50)" "1 2 3"; }

movie() {
  vectors movie 50 || { echo "vectors-study: movie vectors failed (runs/vectors/*.log)"; exit 1; }
  local o model
  o="$(one movie glove50+in50)"
  for model in arc-ii lstm; do sweep 3 "$model" "$o" 1; done
}

movie_rest() {
  movie
  local o seed model
  o="$(one movie glove50+in50)"
  for seed in 1 2 3; do
    for model in arc-ii lstm arc-i me-lstm; do sweep 3 "$model" "$o" "$seed"; done
  done
}

case "${1:-all}" in
  product) product ;;
  me-lstm) vectors product 50 && me_lstm ;;
  movie) movie ;;
  movie-rest) movie_rest ;;
  all) product; movie ;;
  *) echo "usage: results/vectors-study.sh [product|me-lstm|movie|movie-rest|all]" >&2; exit 2 ;;
esac
