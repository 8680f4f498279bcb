#!/usr/bin/env python3
"""Table 3 or 4 under a protocol, from a sweep's selection.json (`smtl select` / launch/sweep
--report-only): per model, the test accuracy of each task at its chosen point (chosen on dev),
mean over seeds ± std, and the average over the group's tasks per seed, then mean ± std over
seeds. Single-task runs (<group>-<model>-<task>) and multi-task runs (<group>-<model>) alike.
usage: python3 results/protocol-table.py SELECTION.json movie|product"""
import json, statistics, sys

sel = json.load(open(sys.argv[1]))
group = sys.argv[2]
TASKS = {"movie": ["sst1", "sst2", "subj", "imdb"], "product": ["books", "dvd", "electronics", "kitchen"]}[group]
PAPER = {"movie": {"lstm": [45.9, 85.8, 91.6, 88.5, 77.9], "me-lstm": [46.4, 85.5, 91.0, 88.7, 77.9],
                   "arc-i": [48.6, 87.0, 93.8, 89.8, 79.8], "arc-ii": [49.5, 87.8, 95.0, 91.2, 80.9]},
         "product": {"lstm": [78.0, 79.5, 81.2, 81.8, 80.1], "me-lstm": [77.5, 80.2, 81.5, 82.1, 80.3],
                     "arc-i": [81.2, 82.0, 84.5, 84.3, 83.0], "arc-ii": [82.8, 83.0, 85.5, 84.0, 83.8]}}[group]
test = {}  # (model, task, seed) -> test
for e in sel:
    run = e["run"]
    assert run.startswith(group + "-"), run
    rest = run[len(group) + 1:]
    model = next(m for m in ("me-lstm", "lstm", "arc-ii", "arc-i") if rest == m or rest.startswith(m + "-"))
    test[(model, e["task"], e["seed"])] = e["test"]


def ms(v):
    return f"{statistics.mean(v):.2f}" + (f" ± {statistics.stdev(v):.2f}" if len(v) > 1 else "")


print("| model | | " + " | ".join(TASKS) + " | Avg. (per seed) | Avg. |")
print("|---|---|" + "---:|" * (len(TASKS) + 2))
for model in ("lstm", "me-lstm", "arc-i", "arc-ii"):
    seeds = sorted({s for (m, t, s) in test if m == model})
    if not seeds:
        continue
    cols = [ms([test[(model, t, s)] for s in seeds if (model, t, s) in test]) for t in TASKS]
    full = [s for s in seeds if all((model, t, s) in test for t in TASKS)]
    avgs = [statistics.mean(test[(model, t, s)] for t in TASKS) for s in full]
    per = ", ".join(f"{a:.2f}" for a in avgs)
    print(f"| {model.upper()} | ours, {len(full)} seed{'s' if len(full) != 1 else ''} | " + " | ".join(cols)
          + f" | {per} | **{ms(avgs) if avgs else '—'}** |")
    print("| | paper | " + " | ".join(f"{v}" for v in PAPER[model][:-1]) + f" | | {PAPER[model][-1]} |")
