#!/usr/bin/env python3
"""The read-dropout probe's table (docs/results/option-probes/read-dropout.sh): product group,
protocol (b)'s configs with and without training.dropout_read 0.3, ARC-II and ARC-I, per seed
and as mean ± std over the seeds both have. Dev and test averages over the four domains at each
domain's best dev evaluation; the protocol's rule reads the dev column only.
usage: python3 docs/results/option-probes/read-dropout-table.py [RUNS_DIR]   (default: runs)"""
import json, os, statistics, sys

runs = sys.argv[1] if len(sys.argv) > 1 else "runs"
SEEDS = (1, 2, 3)


def averages(folder):
    f = os.path.join(folder, "results.json")
    if not os.path.exists(f):
        return None
    tasks = json.load(open(f))["tasks"].values()
    return (statistics.mean(t["best_dev"] for t in tasks), statistics.mean(t["test_at_best_dev"] for t in tasks))


def cell(values):
    if not values:
        return "—"
    s = f"{statistics.mean(values):.2f}"
    if len(values) > 1:
        s += f" ± {statistics.stdev(values):.2f}"
    return s + " (" + ", ".join(f"{v:.2f}" for v in values) + ")"


print("| model | dropout_read | seeds | dev avg, mean ± std (per seed) | test avg, mean ± std (per seed) |")
print("|---|---:|---|---|---|")
for model in ["arc-ii", "arc-i"]:
    base = {s: averages(os.path.join(runs, "variant-b", "product", model, f"seed-{s}")) for s in SEEDS}
    read = {s: averages(os.path.join(runs, "read-dropout", "dropout_read=0.3", "product", model, f"seed-{s}")) for s in SEEDS}
    seeds = [s for s in SEEDS if base[s] and read[s]]  # compare like with like: the seeds both have
    for rate, got in (("0", base), ("0.3", read)):
        print(f"| {model.upper()} | {rate} | {', '.join(map(str, seeds)) or '—'} | "
              f"{cell([got[s][0] for s in seeds])} | {cell([got[s][1] for s in seeds])} |")
