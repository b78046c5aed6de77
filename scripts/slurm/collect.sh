#!/usr/bin/env bash
# Collector job of a Slurm sweep: writes <out>/summary.csv once the array job has ended (submit.sh
# submits it with --dependency=afterany:<array job>, so it runs whether tasks succeeded or not).
#
# Usage: collect.sh VAE_TRAIN --config C.json [--set k=v ...] --out DIR
#
# The summary is written by vae-train itself, so it is byte-for-byte the format of local sweeps: we pick
# a run that is finished (metrics.csv has reached the configured epoch count and checkpoint.bin exists)
# and call `vae-train ... --run-index i --resume`. A finished run is skipped after loading its
# checkpoint (a few seconds: the data set is loaded and the model rebuilt, no training), and then the
# summary of all runs is written, unfinished ones marked `incomplete` / `missing`. If no run finished,
# nothing is trained here: the collector lists the runs' states and fails, so the job's log says why.
set -euo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 VAE_TRAIN --config C.json [--set k=v ...] --out DIR" >&2
    exit 2
fi
VAE_TRAIN=$1; shift
PYTHON=${PYTHON:-python3}

listing=$("$VAE_TRAIN" "$@" --list)
sweep_dir=$(printf '%s\n' "$listing" | sed -n '1s/^[0-9]* run(s) in \(.*\):$/\1/p')
[ -n "$sweep_dir" ] || { echo "collect: cannot parse the sweep folder from --list:" >&2; printf '%s\n' "$listing" >&2; exit 1; }

# "[i] run_id  settings" lines -> "i run_id"; then the first finished run by its own files.
finished=$(printf '%s\n' "$listing" | sed -n 's/^  \[\([0-9]*\)\] \([^ ]*\).*$/\1 \2/p' | "$PYTHON" -c '
import csv, json, os, sys
sweep = sys.argv[1]
for line in sys.stdin:
    index, run_id = line.split()
    run = os.path.join(sweep, run_id)
    try:
        with open(os.path.join(run, "config.json")) as f:
            epochs = json.load(f)["training"]["epochs"]
        with open(os.path.join(run, "metrics.csv")) as f:
            rows = list(csv.DictReader(f))
    except (OSError, ValueError, KeyError):
        print(f"collect: run {index} {run_id}: no config.json/metrics.csv yet", file=sys.stderr)
        continue
    done = int(rows[-1]["epoch"]) if rows else 0
    if done >= epochs and os.path.exists(os.path.join(run, "checkpoint.bin")):
        print(index)
        break
    print(f"collect: run {index} {run_id}: {done}/{epochs} epochs", file=sys.stderr)
' "$sweep_dir")

if [ -z "$finished" ]; then
    echo "collect: no run of $sweep_dir has finished; summary.csv not written (see the tasks' logs)" >&2
    exit 1
fi
echo "collect: writing $sweep_dir/summary.csv (via finished run $finished, which is skipped)"
"$VAE_TRAIN" "$@" --run-index "$finished" --resume
status=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "status") c = i; next } { n[$c]++ }
                  END { for (s in n) printf "%s %d  ", s, n[s]; print "" }' "$sweep_dir/summary.csv")
echo "collect: runs by status: $status"
