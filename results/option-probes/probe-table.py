#!/usr/bin/env python3
"""The table of a product-group option probe (results/option-probes/read-dropout.sh,
weight-average.sh): protocol (b)'s configs with and without one setting, ARC-II and ARC-I (and
single-task LSTM when the probe has its runs), per seed and as mean ± std over the seeds both
have. Dev and test averages over the four domains at each domain's best dev evaluation; the
protocol's rule reads the dev column only.
usage: python3 results/option-probes/probe-table.py PROBE POINT [RUNS_DIR]
  e.g. probe-table.py read-dropout dropout_read=0.3; probe-table.py weight-average ema_decay=0.99
  PROBE is the probe's folder under RUNS_DIR (default: runs), POINT its sweep point."""
import json, os, statistics, sys

if len(sys.argv) < 3:
    sys.exit(__doc__)
probe, point = sys.argv[1], sys.argv[2]
runs = sys.argv[3] if len(sys.argv) > 3 else "runs"
key, value = point.split("=", 1)
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


def row(root, model, seed):
    if model != "lstm":
        return averages(os.path.join(root, "product", model, f"seed-{seed}"))
    parts = [averages(os.path.join(root, "product", f"lstm-{d}", f"seed-{seed}")) for d in ("books", "dvd", "electronics", "kitchen")]
    if not all(parts):
        return None
    return (statistics.mean(p[0] for p in parts), statistics.mean(p[1] for p in parts))


print(f"| model | {key} | seeds | dev avg, mean ± std (per seed) | test avg, mean ± std (per seed) |")
print("|---|---:|---|---|---|")
for model in ["arc-ii", "arc-i", "lstm"]:
    base = {s: row(os.path.join(runs, "variant-b"), model, s) for s in SEEDS}
    got = {s: row(os.path.join(runs, probe, point), model, s) for s in SEEDS}
    seeds = [s for s in SEEDS if base[s] and got[s]]  # compare like with like: the seeds both have
    if not seeds and model == "lstm":
        continue
    for label, res in (("0 (protocol (b))", base), (value, got)):
        print(f"| {model.upper()} | {label} | {', '.join(map(str, seeds)) or '—'} | "
              f"{cell([res[s][0] for s in seeds])} | {cell([res[s][1] for s in seeds])} |")
