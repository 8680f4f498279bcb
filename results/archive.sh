#!/usr/bin/env bash
# Keeps the fidelity study's finished runs in the repository, so that a lost machine loses only
# the runs in progress (runs/ is not committed: checkpoints are tens of MB).
#
#   results/archive.sh save      copy every finished run's results.json, train.log and
#                                     logs/metrics.jsonl from runs/ to results/archive/
#                                     (then commit results/archive)
#   results/archive.sh restore   copy them back into runs/ where a run has no results.json,
#                                     so launch/reproduce and launch/sweep skip those runs and the
#                                     tables (results/tables.sh) can be made again
#
# restore also lays out the earlier committed copies where the study's jobs look for them:
# results/sweep-product (protocol (a), product) as runs/sweep, and the movie runs of the
# Table 3 study (results/runs/movie: configs/study, i.e. lr 0.01 and L2 0) as the lr-0.01
# point of the movie sweep, runs/sweep-movie/learning_rate=0.01-l2=0 (see results.md).
# (SMTL_RUNS and SMTL_ARCHIVE name other folders than runs and results/archive; the tests
# use them, and SMTL_ARCHIVE_EARLIER=0 leaves the earlier copies out.)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${SMTL_RUNS:-runs}"
ARCHIVE="${SMTL_ARCHIVE:-results/archive}"

# copy_run SRC DST: one finished run's small files (either layout: logs/metrics.jsonl or metrics.jsonl).
copy_run() {
  local src="$1" dst="$2" to_runs="$3"
  mkdir -p "$dst"
  cp "$src/results.json" "$dst/"
  [ -f "$src/train.log" ] && cp "$src/train.log" "$dst/"
  local m=""
  [ -f "$src/logs/metrics.jsonl" ] && m="$src/logs/metrics.jsonl"
  [ -f "$src/metrics.jsonl" ] && m="$src/metrics.jsonl"
  if [ -n "$m" ]; then
    if [ "$to_runs" = 1 ]; then mkdir -p "$dst/logs"; cp "$m" "$dst/logs/"; else cp "$m" "$dst/"; fi
  fi
  return 0
}

# restore_tree SRC DST: every run of SRC (a folder with results.json) into DST, where DST has none.
restore_tree() {
  local src="$1" dst="$2" n=0
  [ -d "$src" ] || return 0
  while read -r run; do
    [ -f "$dst/$run/results.json" ] && continue
    copy_run "$src/$run" "$dst/$run" 1
    n=$((n + 1))
  done < <(cd "$src" && find . -name results.json -printf '%h\n' | sort)
  echo "restored $n run(s) from $src into $dst"
}

# The earlier committed copies, "committed-folder runs-folder", restored like the archive and
# never saved into it a second time.
EARLIER=(
  "results/sweep-product $RUNS/sweep"
  "results/runs/movie $RUNS/sweep-movie/learning_rate=0.01-l2=0/movie"
)
[ "${SMTL_ARCHIVE_EARLIER:-1}" = 0 ] && EARLIER=()

# committed_elsewhere RUN: RUN (runs/...) is a restored copy of an earlier committed run.
committed_elsewhere() {
  local run="$1" pair src dst
  for pair in ${EARLIER[@]+"${EARLIER[@]}"}; do
    read -r src dst <<<"$pair"
    case "$run" in
      "$dst"/*) cmp -s "$run/results.json" "$src/${run#"$dst"/}/results.json" && return 0 ;;
    esac
  done
  return 1
}

case "${1:-}" in
  save)
    n=0
    while read -r run; do
      # (a finished run: results.json written at the end; skip runs that are still training)
      dst="$ARCHIVE/${run#"$RUNS"/}"
      if [ -f "$dst/results.json" ] && cmp -s "$run/results.json" "$dst/results.json"; then continue; fi
      committed_elsewhere "$run" && continue
      copy_run "$run" "$dst" 0
      n=$((n + 1))
    done < <(find "$RUNS" -path "$RUNS/bin" -prune -o -name results.json -printf '%h\n' 2>/dev/null | sort)
    echo "saved $n new or changed run(s) into $ARCHIVE (commit it: git add $ARCHIVE)"
    ;;
  restore)
    restore_tree "$ARCHIVE" "$RUNS"
    for pair in ${EARLIER[@]+"${EARLIER[@]}"}; do
      read -r src dst <<<"$pair"
      restore_tree "$src" "$dst"
    done
    ;;
  *)
    echo "usage: results/archive.sh save|restore" >&2
    exit 2
    ;;
esac
