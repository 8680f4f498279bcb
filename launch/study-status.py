#!/usr/bin/env python3
"""Study progress for launch/reproduce (and launch/sweep): runs done, running, left, and an ETA.

usage: study-status.py OUT RUNNING PLAN_FILE [JOB]
  PLAN_FILE lists the study's runs, one folder (relative to OUT) a line. A run is done when its
  folder holds results.json. The ETA sums, over the runs left, the mean training time of finished
  runs of the same cell (same folder but the seed), else of the same group and model, else of the
  same group and kind (single- or multi-task); until each kind has a finished run it is unknown.
  A run in progress counts for the part it has left: its last logged step against the mean step
  count of the finished runs it is estimated from (at least 5% of its time, for the fine-tuning
  and evaluations still to come). A run of the plan whose lock another job holds (two jobs on one
  folder) counts as running too; with k runs training side by side the ETA is the time left
  divided by k (each run's time was measured with the others beside it), marked "about".
  Prints the status and writes it to OUT/status.txt. With JOB (the job's selection, e.g. "table 3,
  seeds 1 2 3"), the status is the job's own, OUT/status-<JOB>.txt, and OUT/status.txt gathers
  those of every job that has run on OUT, so that two jobs sharing a folder (movie and product
  at once) do not overwrite each other's line.
"""
import glob, json, os, re, sys, time

out, running, plan_file = sys.argv[1], sys.argv[2], sys.argv[3]
job = sys.argv[4] if len(sys.argv) > 4 else ""
plan = [l.strip() for l in open(plan_file) if l.strip()]


def result(run, key):
    try:
        with open(os.path.join(out, run, "results.json")) as f:
            return float(json.load(f).get(key, 0)) or None
    except (OSError, ValueError, TypeError):
        return None


def step_now(run):
    """The last step a run in progress has logged (OUT/<run>/logs/metrics.jsonl), None before its
    first; a run that has reached its fine-tuning (logs/fine-tune-*) has finished its joint steps."""
    logs = os.path.join(out, run, "logs")
    if glob.glob(os.path.join(logs, "fine-tune-*")):
        return float("inf")
    try:
        with open(os.path.join(logs, "metrics.jsonl"), "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 65536))
            tail = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    for line in reversed(tail):
        try:
            step = json.loads(line).get("step")
        except ValueError:
            continue
        if isinstance(step, (int, float)):
            return float(step)
    return None


def cell(run):  # group/name (seed dropped)
    return os.path.dirname(run)


def held_locks():
    """(major, minor, inode) of every file lock held on this machine (Linux's /proc/locks), so a
    run that another job on the same folder is training counts as running, not as left: its
    lock (launch/reproduce takes OUT/<run>/.lock while the run trains) is held. Read only: the
    locks are not touched. Empty where /proc/locks does not exist."""
    held = set()
    try:
        with open("/proc/locks") as f:
            for line in f:
                for field in line.split():
                    parts = field.split(":")
                    if len(parts) == 3 and all(parts):
                        try:
                            held.add((int(parts[0], 16), int(parts[1], 16), int(parts[2])))
                        except ValueError:
                            pass
    except OSError:
        pass
    return held


def locked(run, held):
    try:
        st = os.stat(os.path.join(out, run, ".lock"))
    except OSError:
        return False
    return (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino) in held


known = {r: result(r, "training_seconds") for r in plan}
done = [r for r in plan if os.path.exists(os.path.join(out, r, "results.json"))]
held = held_locks()
# This job's run, then any other run of the plan whose lock another job holds.
runs_now = ([running] if running else []) + [r for r in plan if r not in done and r != running and locked(r, held)]
left = [r for r in plan if r not in done and r not in runs_now]


def mean(xs):
    xs = [x for x in xs if x]
    return sum(xs) / len(xs) if xs else None


MODELS = ("me-lstm", "lstm", "arc-ii", "arc-i")


def kind(run):  # group, model, and whether it is a multi-task run (its name is the bare model)
    group, name = run.split("/")[:2]
    model = next((m for m in MODELS if name == m or name.startswith(m + "-")), name)
    return group, model, name == model


def estimate(run):
    """Mean training time of finished runs of the same cell (other seeds), else of the same group
    and model, else of the same group and kind (single- or multi-task); None when none finished.
    For a run in progress, the share of that time it has left (by its steps, at least 5%)."""
    for same in (lambda r: cell(r) == cell(run),
                 lambda r: kind(r)[:2] == kind(run)[:2],
                 lambda r: (kind(r)[0], kind(r)[2]) == (kind(run)[0], kind(run)[2])):
        m = mean(known[r] for r in done if same(r))
        if m:
            if run in runs_now:
                steps, now = mean(result(r, "steps") for r in done if same(r)), step_now(run)
                if steps and now is not None:
                    return m * max(0.05, 1 - now / steps)
            return m
    return None


def fmt(s):
    s = int(round(s))
    return f"{s // 3600}h{(s % 3600) // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


todo = left + runs_now
estimates = [estimate(r) for r in todo]
if not todo:
    eta = "finished"
elif all(e is not None for e in estimates) and len(runs_now) > 1:
    eta = (f"ETA about {fmt(sum(estimates) / len(runs_now))} with {len(runs_now)} runs side by side "
           f"({fmt(sum(estimates))} of training left, from the training times of the finished runs)")
elif all(e is not None for e in estimates):
    eta = "ETA " + fmt(sum(estimates)) + " (from the training times of the finished runs)"
else:
    eta = "ETA unknown until a run of each kind has finished"
now = time.strftime("%Y-%m-%d %H:%M:%S")
label = f" ({job})" if job else ""
lines = [f"study {out}{label}: {len(done)} of {len(plan)} runs done, {len(runs_now)} running, {len(left)} left; {eta}"]
if runs_now:
    lines.append(f"running: {', '.join(runs_now)}")
lines.append(f"updated {now}")
text = "\n".join(lines) + "\n"
os.makedirs(out, exist_ok=True)


def write(path, content):  # atomically, with a temporary name of this job's own
    tmp = os.path.join(out, "." + os.path.basename(path) + "." + str(os.getpid()) + ".tmp")
    with open(tmp, "w") as f:
        f.write(content)
    os.replace(tmp, path)


if job:
    write(os.path.join(out, "status-" + re.sub(r"[^A-Za-z0-9.]+", "-", job).strip("-") + ".txt"), text)
    parts = sorted(glob.glob(os.path.join(out, "status-*.txt")))
    write(os.path.join(out, "status.txt"), "".join(open(p).read() for p in parts))
else:
    write(os.path.join(out, "status.txt"), text)
sys.stdout.write(text)
