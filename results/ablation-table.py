#!/usr/bin/env python3
"""The ablation table of issue 12 (product group): for each option of results/ablation.sh,
the ARC-II and single-task LSTM averages (test accuracy at each task's best dev evaluation, mean
over the four domains) per seed, their mean ± std over the seeds that finished, and the change
against the baseline (the sweep's point lr 0.01, L2 1e-5). Prints a Markdown table.
usage: python3 results/ablation-table.py [RUNS_DIR]   (default: runs)"""
import glob, json, os, statistics, sys

runs = sys.argv[1] if len(sys.argv) > 1 else "runs"
DOMAINS = ["books", "dvd", "electronics", "kitchen"]
OPTIONS = [("dropout", "dropout 0.2 embedding / 0.5 hidden", True),
           ("clip-5", "gradient-norm clipping at 5", True),
           ("frozen-emb", "frozen embedding", True),
           ("uniform-tasks", "one random task per step (uniform)", False),
           ("task-patience", "per-task early stopping (task_patience 5)", False),
           ("fine-tune", "per-task fine-tuning, 5 epochs, shared trainable", False),
           ("embedding-100", "embedding width 100, GloVe 50-d in its first half (SPEC's E)", True),
           ("read-dropout", "dropout 0.3 on the memory read (fusion-gate input)",
            "not applicable (an LSTM has no memory read)"),
           ("embedding-l2", "L2 1e-5 on the embedding too (`embedding_l2`)", True)]


def point(base):
    dirs = [d for d in glob.glob(os.path.join(base, "*")) if os.path.isdir(os.path.join(d, "product"))]
    return dirs[0] if len(dirs) == 1 else None


def averages(pt):
    """Per seed: (ARC-II test average, LSTM test average, ARC-II dev average, LSTM dev average);
    None where a run is missing."""
    out = {}
    for seed in (1, 2, 3):
        arc, lstm, dev, ldev = None, None, None, None
        f = os.path.join(pt, "product", "arc-ii", f"seed-{seed}", "results.json")
        if os.path.exists(f):
            t = json.load(open(f))["tasks"]
            arc = statistics.mean(t[d]["test_at_best_dev"] for d in DOMAINS)
            dev = statistics.mean(t[d]["best_dev"] for d in DOMAINS)
        fs = [os.path.join(pt, "product", f"lstm-{d}", f"seed-{seed}", "results.json") for d in DOMAINS]
        if all(os.path.exists(x) for x in fs):
            ts = [json.load(open(x))["tasks"][d] for x, d in zip(fs, DOMAINS)]
            lstm = statistics.mean(t["test_at_best_dev"] for t in ts)
            ldev = statistics.mean(t["best_dev"] for t in ts)
        out[seed] = (arc, lstm, dev, ldev)
    return out


def cell(values, base=None):
    v = [x for x in values if x is not None]
    if not v:
        return "—"
    s = f"{statistics.mean(v):.2f}"
    s += f" ± {statistics.stdev(v):.2f}" if len(v) > 1 else ""
    s += f" ({len(v)} seed{'s' if len(v) > 1 else ''})"
    if base:
        b = [x for x in base if x is not None]
        if b:
            s += f", {statistics.mean(v) - statistics.mean(b):+.2f}"
    return s


base = averages(os.path.join(runs, "sweep", "learning_rate=0.01-l2=1e-05"))
b_arc = [base[s][0] for s in base]
b_lstm = [base[s][1] for s in base]
b_dev = [base[s][2] for s in base]
b_ldev = [base[s][3] for s in base]
print("| option (alone, on lr 0.01, L2 1e-5) | ARC-II test avg, mean ± std (seeds), change | ARC-II dev avg (what protocol (b) chooses on) | single-task LSTM test avg, mean ± std (seeds), change | single-task LSTM dev avg |")
print("|---|---|---|---|---|")
print(f"| none (the baseline) | {cell(b_arc)} | {cell(b_dev)} | {cell(b_lstm)} | {cell(b_ldev)} |")
for name, label, single in OPTIONS:
    pt = point(os.path.join(runs, "ablation", name))
    if pt is None:
        print(f"| {label} | not run | not run | not run | not run |")
        continue
    a = averages(pt)
    arc = cell([a[s][0] for s in a], b_arc)
    # single: True when the option changes a single-task LSTM run, else why the LSTM cells are empty
    one = single if isinstance(single, str) else "unchanged (a single-task run has one task)"
    lstm = cell([a[s][1] for s in a], b_lstm) if single is True else one
    ldev = cell([a[s][3] for s in a], b_ldev) if single is True else one
    dev = cell([a[s][2] for s in a], b_dev)
    print(f"| {label} | {arc} | {dev} | {lstm} | {ldev} |")
