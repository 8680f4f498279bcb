#!/usr/bin/env python3
"""The IMDB length-cap table (docs/results.md): single-task LSTM on IMDB, study config, uncapped
(the movie sweep's lr-0.01 runs) and capped (imdb-cap.sh). usage: python3 results/option-probes/imdb-cap-table.py"""
import json, os, statistics
os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
rows = [("no cap (baseline)", "runs/sweep-movie/learning_rate=0.01-l2=0/movie/lstm-imdb/seed-{}")] + \
       [(f"first and last {n//2} tokens (N = {n})", f"runs/exp/imdb-cap/cap-{n}/seed-{{}}") for n in (400, 200)]
print("| IMDB reviews | seed 1 dev / test | seed 2 dev / test | test, mean | training time (s), with other jobs running |")
print("|---|---|---|---:|---|")
for label, pat in rows:
    cells, tests, times = [], [], []
    for s in (1, 2):
        f = os.path.join(pat.format(s), "results.json")
        if not os.path.exists(f):
            cells.append("running"); continue
        r = json.load(open(f)); t = r["tasks"]["imdb"]
        cells.append(f"{t['best_dev']:.2f} / {t['test_at_best_dev']:.2f}"); tests.append(t["test_at_best_dev"])
        times.append(f"{r['training_seconds']:.0f}")
    print(f"| {label} | {cells[0]} | {cells[1]} | {statistics.mean(tests):.2f} | {', '.join(times)} |")
