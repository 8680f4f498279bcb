#!/usr/bin/env python3
"""The vectors study's table (issue 28): per group, model and vector option, the mean over the four
tasks of dev and test accuracy at each task's best dev evaluation, mean ± std over the seeds that
have finished, and the option each model would choose on dev (never on test).

usage: python3 results/vectors-table.py [runs]     (reads RUNS/vectors-{product,movie}/)
A single-task model (LSTM, ME-LSTM) is one run per task: its group mean needs all four tasks of a
seed. Rows with fewer than three seeds say how many they have."""
import glob, json, os, statistics, sys

runs = sys.argv[1] if len(sys.argv) > 1 else "runs"
GROUPS = {"product": ["books", "dvd", "electronics", "kitchen"], "movie": ["sst1", "sst2", "subj", "imdb"]}
MODELS = ["lstm", "me-lstm", "arc-i", "arc-ii"]
NAMES = {"lstm": "LSTM", "me-lstm": "ME-LSTM", "arc-i": "ARC-I", "arc-ii": "ARC-II"}
PAPER = {"product": {"lstm": 80.1, "me-lstm": 80.3, "arc-i": 83.0, "arc-ii": 83.8},
         "movie": {"lstm": 77.9, "me-lstm": 77.9, "arc-i": 79.8, "arc-ii": 80.9}}
ORDER = ["glove50", "in50", "in100", "glove50+in50"]


def option(point):
    return point.split("embeddings=", 1)[1] if "embeddings=" in point else point


def seed_means(study, group, model):
    """{seed: (dev mean, test mean, hours)} over the group's four tasks, for complete seeds only."""
    per_seed = {}
    for f in glob.glob(os.path.join(study, group, f"{model}*", "seed-*", "results.json")):
        run = f.split(os.sep)[-3]
        if run != model and not run.startswith(model + "-"):
            continue
        seed = int(f.split(os.sep)[-2].split("-")[1])
        r = json.load(open(f))
        d = per_seed.setdefault(seed, {"dev": {}, "test": {}, "s": 0.0})
        for t, v in r["tasks"].items():
            d["dev"][t] = v["best_dev"]
            d["test"][t] = v["test_at_best_dev"]
        d["s"] += r.get("training_seconds", 0)
    out = {}
    for seed, d in per_seed.items():
        if all(t in d["test"] for t in GROUPS[group]):
            out[seed] = (statistics.mean(d["dev"][t] for t in GROUPS[group]),
                         statistics.mean(d["test"][t] for t in GROUPS[group]), d["s"] / 3600)
    return out


def fmt(xs):
    if not xs:
        return "–"
    m = statistics.mean(xs)
    s = f"{m:.2f}"
    if len(xs) > 1:
        s += f" ± {statistics.stdev(xs):.2f}"
    if len(xs) < 3:
        s += f" ({len(xs)} seed{'s' if len(xs) > 1 else ''})"
    return s


total_h = 0.0
for group in GROUPS:
    study = os.path.join(runs, f"vectors-{group}")
    points = sorted(glob.glob(os.path.join(study, "*embeddings=*")), key=lambda p: ORDER.index(option(os.path.basename(p))) if option(os.path.basename(p)) in ORDER else 99)
    points = [p for p in points if os.path.isdir(p)]
    if not points:
        continue
    print(f"\n{group} group: mean test accuracy (dev in brackets) over the four tasks, mean ± std over seeds\n")
    print("| vectors | " + " | ".join(NAMES[m] for m in MODELS) + " |")
    print("|---|" + "---:|" * len(MODELS))
    best = {}
    for p in points:
        o = option(os.path.basename(p))
        cells = []
        for m in MODELS:
            s = seed_means(p, group, m)
            total_h += sum(v[2] for v in s.values())
            if s:
                dev = statistics.mean(v[0] for v in s.values())
                cells.append(f"{fmt([v[1] for v in s.values()])} ({dev:.2f})")
                if len(s) == 3 and (m not in best or dev > best[m][1]):
                    best[m] = (o, dev, statistics.mean(v[1] for v in s.values()))
            else:
                cells.append("–")
        print(f"| {o} | " + " | ".join(cells) + " |")
    print("| paper | " + " | ".join(f"{PAPER[group][m]}" for m in MODELS) + " |")
    if best:
        print("\nchosen on dev (three seeds only): " + "; ".join(
            f"{NAMES[m]} {best[m][0]} (dev {best[m][1]:.2f}, test {best[m][2]:.2f}, {best[m][2] - PAPER[group][m]:+.2f} against the paper)"
            for m in MODELS if m in best))
print(f"\ntraining time of the finished runs: {total_h:.1f} h")
