#!/usr/bin/env python3
"""The SST-pair probe's table (results/option-probes/sst-pair.sh): test accuracy at each
task's chosen point (after fine-tuning where it won on dev) of ARC-II and ARC-I trained on
SST-1 and SST-2 alone (runs/sst-pair/movie/MODEL-sst1+sst2), beside the single-task rows of
Table 3 under protocol (b) (the same config and schedule, one task each), per seed and as
mean ± std over the seeds present.
usage: python3 results/option-probes/sst-pair-table.py [RUNS_DIR]   (default: runs)"""
import json, os, statistics, sys

runs = sys.argv[1] if len(sys.argv) > 1 else "runs"
TASKS = ["sst1", "sst2"]


def result(path, task):
    f = os.path.join(path, "results.json")
    if not os.path.exists(f):
        return None
    t = json.load(open(f))["tasks"].get(task)
    return None if t is None else (t["best_dev"], t["test_at_best_dev"])


def row(label, paths):
    """paths: seed -> {task: run folder}."""
    cells, avgs = [], {}
    for task in TASKS:
        per = {s: result(p[task], task) for s, p in paths.items()}
        got = {s: v for s, v in per.items() if v is not None}
        if not got:
            cells.append("—"); continue
        tests = [v[1] for v in got.values()]
        c = f"{statistics.mean(tests):.2f}" + (f" ± {statistics.stdev(tests):.2f}" if len(tests) > 1 else "")
        c += " (" + ", ".join(f"{got[s][1]:.2f}" for s in sorted(got)) + ")"
        cells.append(c)
        for s in got:
            avgs.setdefault(s, []).append(got[s][1])
    both = [statistics.mean(v) for s, v in sorted(avgs.items()) if len(v) == len(TASKS)]
    seeds = [s for s, v in sorted(avgs.items()) if len(v) == len(TASKS)]
    mean = (f"{statistics.mean(both):.2f}" + (f" ± {statistics.stdev(both):.2f}" if len(both) > 1 else "")) if both else "—"
    print(f"| {label} | {cells[0]} | {cells[1]} | {mean} | {', '.join(map(str, seeds)) or '—'} |")


print("| model (protocol (b)'s movie config) | SST-1 test, mean ± std (per seed) | SST-2 test | mean of the two | seeds |")
print("|---|---|---|---|---|")
for m in ["arc-ii", "arc-i"]:
    row(f"{m.upper()} on SST-1 + SST-2 alone",
        {s: {t: os.path.join(runs, "sst-pair", "movie", f"{m}-sst1+sst2", f"seed-{s}") for t in TASKS} for s in (1, 2, 3)})
for m in ["lstm", "me-lstm"]:
    row(f"{m.upper()} single task",
        {s: {t: os.path.join(runs, "variant-b", "movie", f"{m}-{t}", f"seed-{s}") for t in TASKS} for s in (1, 2, 3)})
row("ARC-II on all four movie tasks",
    {s: {t: os.path.join(runs, "variant-b", "movie", "arc-ii", f"seed-{s}") for t in TASKS} for s in (1, 2, 3)})
row("ARC-I on all four movie tasks",
    {s: {t: os.path.join(runs, "variant-b", "movie", "arc-i", f"seed-{s}") for t in TASKS} for s in (1, 2, 3)})
