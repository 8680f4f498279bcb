#!/usr/bin/env python3
"""Every point of a sweep as a fixed setting for all tasks: per point and model, the average over
the group's tasks of dev (best) and of test (at the best dev), mean over the seeds that have every
task at that point, ± std of test over those seeds. No choice between points is made.
With --best-test, instead: a diagnostic upper bound that no protocol may use, per model the
average over the group's tasks of each task's best TEST accuracy over the points (per seed, then
mean ± std over the seeds that have every point of every task): how far choosing on test could go.
usage: python3 results/points-table.py SWEEP_DIR movie|product [--models arc-i,arc-ii] [--best-test]"""
import glob, json, os, statistics, sys

out, group = sys.argv[1], sys.argv[2]
models = ["lstm", "me-lstm", "arc-i", "arc-ii"]
if "--models" in sys.argv:
    models = sys.argv[sys.argv.index("--models") + 1].split(",")
TASKS = {"movie": ["sst1", "sst2", "subj", "imdb"], "product": ["books", "dvd", "electronics", "kitchen"]}[group]


def point_key(name):
    """launch/sweep's grid order: lr 0.1 before 0.01, then L2 0, 5e-05, 1e-05."""
    settings = dict(kv.split("=", 1) for kv in name.replace("-l2=", ";l2=").split(";"))
    l2_order = ["0", "5e-05", "1e-05"]
    l2 = settings.get("l2", "0")
    return (-float(settings.get("learning_rate", 0)), l2_order.index(l2) if l2 in l2_order else len(l2_order))


def tasks_of(point, model, seed):
    """task -> (dev, test) of one seed at one point, from the multi-task run or the single-task runs."""
    r = {}
    if model in ("arc-i", "arc-ii"):
        f = os.path.join(out, point, group, model, f"seed-{seed}", "results.json")
        if os.path.exists(f):
            for t, v in json.load(open(f))["tasks"].items():
                r[t] = (v["best_dev"], v["test_at_best_dev"])
    else:
        for t in TASKS:
            f = os.path.join(out, point, group, f"{model}-{t}", f"seed-{seed}", "results.json")
            if os.path.exists(f):
                v = json.load(open(f))["tasks"][t]
                r[t] = (v["best_dev"], v["test_at_best_dev"])
    return r


# every seed that any run of the sweep has
seeds = sorted({int(os.path.basename(d)[len("seed-"):]) for d in glob.glob(os.path.join(out, "*", group, "*", "seed-*"))})
points = sorted((os.path.basename(os.path.dirname(d)) for d in glob.glob(os.path.join(out, "*", group))), key=point_key)
print("| point | " + " | ".join(m.upper() for m in models) + " |")
print("|---|" + "---|" * len(models))
for p in points:
    cells = []
    for m in models:
        devs, tests = [], []
        for seed in seeds:
            r = tasks_of(p, m, seed)
            if all(t in r for t in TASKS):
                devs.append(statistics.mean(r[t][0] for t in TASKS))
                tests.append(statistics.mean(r[t][1] for t in TASKS))
        if not tests:
            cells.append("—")
            continue
        std = f" ± {statistics.stdev(tests):.2f}" if len(tests) > 1 else ""
        cells.append(f"{statistics.mean(devs):.2f} / {statistics.mean(tests):.2f}{std} ({len(tests)} seed{'s' if len(tests) != 1 else ''})")
    print(f"| {p.replace('learning_rate=', 'lr ').replace('-l2=', ', L2 ')} | " + " | ".join(cells) + " |")


if "--best-test" in sys.argv:
    print()
    print("| upper bound: each task's best test over the points (chooses on test; diagnostic only) | "
          + " | ".join(m.upper() for m in models) + " |")
    print("|---|" + "---|" * len(models))
    cells = []
    for m in models:
        avgs = []
        for seed in seeds:
            per_point = [tasks_of(p, m, seed) for p in points]
            if all(all(t in r for t in TASKS) for r in per_point):
                avgs.append(statistics.mean(max(r[t][1] for r in per_point) for t in TASKS))
        std = f" ± {statistics.stdev(avgs):.2f}" if len(avgs) > 1 else ""
        cells.append(f"{statistics.mean(avgs):.2f}{std} ({len(avgs)} seed{'s' if len(avgs) != 1 else ''})" if avgs else "—")
    print(f"| {len(points)} points | " + " | ".join(cells) + " |")
