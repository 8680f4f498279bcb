#!/usr/bin/env python3
"""The machine time the study has used: training_seconds (joint training, plus fine-tuning where
a run fine-tuned) summed over every finished run's results.json under the given folders, per
folder. Wall-clock of one run, whatever its number of ranks; runs that shared the 2 cores with
others ran slower than alone, so this is the time the study took, not the time it needs. A run
copied into a second folder (protocol (b) reuses ablation runs) counts once, in the first.
usage: python3 results/compute-time.py [DIR ...]   (default: runs/sweep runs/sweep-movie runs/ablation runs/variant-b runs/sst-pair runs/read-dropout runs/weight-average runs/exp)"""
import hashlib, json, os, sys

dirs = sys.argv[1:] or ["runs/sweep", "runs/sweep-movie", "runs/ablation", "runs/variant-b", "runs/sst-pair", "runs/read-dropout", "runs/weight-average", "runs/exp"]
total, count = 0.0, 0
seen = set()
for d in dirs:
    secs, n = 0.0, 0
    for root, _, files in os.walk(d):
        if "results.json" not in files or "/fine-tune/" in root + "/":
            continue
        raw = open(os.path.join(root, "results.json"), "rb").read()
        digest = hashlib.sha256(raw).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        r = json.loads(raw)
        secs += r.get("training_seconds", 0) + (r.get("fine_tune") or {}).get("training_seconds", 0)
        n += 1
    print(f"{d}: {n} runs, {secs / 3600:.1f} h")
    total += secs; count += n
print(f"total: {count} runs, {total / 3600:.1f} h")
