#!/usr/bin/env bash
# Do the configs of configs/ still give bit-identical results? Builds OLD (a commit) in a git
# worktree, trains every config (or the ones named) for 30 steps with the old binary and the old
# config file and with this tree's release binary and this tree's config file, and compares the
# bytes of the final model and the test accuracies.
#   results/bit-identical.sh OLD_COMMIT [CONFIG ...]     (CONFIG relative to configs/)
#   RANKS=2 results/bit-identical.sh OLD_COMMIT [CONFIG ...]   (each run under mpirun -np 2, loans included)
# Exit status 1 when any config differs. Needs ../shared/data; takes a few minutes a config.
set -u
cd "$(dirname "$0")/.."
old="${1:?usage: results/bit-identical.sh OLD_COMMIT [CONFIG ...]}"; shift
configs=("$@")
[ ${#configs[@]} -gt 0 ] || mapfile -t configs < <(cd configs && find . -name '*.json' | sed 's|^\./||' | sort)
work="${TMPDIR:-/tmp}/smtl-bit-identical"
tree="$work/old-$old"
mkdir -p "$work"
[ -d "$tree" ] || git worktree add --detach "$tree" "$old" >/dev/null || exit 2
(cd "$tree" && swift build -c release >/dev/null) || { echo "bit-identical: the build of $old failed"; exit 2; }
swift build -c release >/dev/null || { echo "bit-identical: the build of this tree failed"; exit 2; }
export OPENBLAS_NUM_THREADS=1
accuracies() { python3 -c "import json,sys;r=json.load(open(sys.argv[1]));print({t:v['test_at_best_dev'] for t,v in r['tasks'].items()})" "$1"; }
ranks="${RANKS:-1}"
run() { # run BINARY ARGS...: one process, or RANKS ranks under mpirun (as root too)
  if [ "$ranks" = 1 ]; then "$@"
  else mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$ranks" -x OPENBLAS_NUM_THREADS "$@"; fi
}
status=0
for cfg in "${configs[@]}"; do
  n="${cfg//\//_}-np$ranks"
  for side in old new; do
    rm -rf "$work/$side-$n"
    [ "$side" = old ] && bin="$tree/.build/release/smtl" cfgdir="$tree/configs" || bin=.build/release/smtl cfgdir=configs
    run "$bin" train --config "$cfgdir/$cfg" --data-dir ../shared/data --steps 30 --eval-every 15 \
      --out "$work/$side-$n" > "$work/$side-$n.log" 2>&1 || {
        if grep -q 'file not found' "$work/$side-$n.log"; then echo "$cfg: skipped, its data is not in ../shared/data"
        else echo "$cfg: the $side run failed ($work/$side-$n.log)"; status=1; fi
        continue 2; }
  done
  a=$(sha256sum "$work/old-$n/checkpoints/final/model.safetensors" | cut -c1-16)
  b=$(sha256sum "$work/new-$n/checkpoints/final/model.safetensors" | cut -c1-16)
  if [ "$a" = "$b" ]; then verdict=identical; else verdict=DIFFERENT; status=1; fi
  echo "$cfg: $verdict (model $a / $b; test old $(accuracies "$work/old-$n/results.json") new $(accuracies "$work/new-$n/results.json"))"
done
exit $status
