#!/usr/bin/env bash
# Slurm smoke test (`make slurm-smoke`): starts a one-node Slurm cluster on this machine, submits a
# 4-run sweep through submit.sh, waits for it, checks summary.csv, and compares it (timing columns
# excluded) with the same sweep run locally with `--jobs 2` and sequentially. Stops the daemons it
# started on exit. Needs root (installs slurm-wlm and munge with apt if missing, starts daemons).
#
# Environment: VAE_TRAIN (binary, default .build/release/vae-train), SMOKE_DIR (work folder, default
# a fresh /tmp/discretegrad-slurm.XXXX, removed on success unless KEEP=1), SLURMCTLD_PORT /
# SLURMD_PORT (default 6817 / 6818), SMOKE_TIMEOUT (seconds to wait for the jobs, default 900).
#
# The cluster is self-contained: its slurm.conf, state, spool, logs and pid files live in the work
# folder and the clients find it through SLURM_CONF, so /etc/slurm is not touched. munge uses the
# system key (/etc/munge/munge.key, created if absent) and an already running munged is reused.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"
VAE_TRAIN=${VAE_TRAIN:-$repo/.build/release/vae-train}
CTLD_PORT=${SLURMCTLD_PORT:-6817}
SLURMD_PORT=${SLURMD_PORT:-6818}
TIMEOUT=${SMOKE_TIMEOUT:-900}
PYTHON=${PYTHON:-python3}

say() { echo "slurm-smoke: $*"; }
die() { echo "slurm-smoke: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (installs packages and starts slurmctld/slurmd/munged)"
[ -x "$VAE_TRAIN" ] || die "$VAE_TRAIN not found: build it first (make release) or set VAE_TRAIN"

# MARK: - packages (idempotent)
need=()
for p in slurm-wlm munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    say "installing ${need[*]}"
    apt-get update -qq
    # policy-rc.d-style environments refuse to start services from postinst; we start them ourselves.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# MARK: - work folder and cleanup
if [ -n "${SMOKE_DIR:-}" ]; then work=$SMOKE_DIR; mkdir -p "$work"; else work=$(mktemp -d /tmp/discretegrad-slurm.XXXX); fi
work=$(cd "$work" && pwd)
started_munged=""
cleanup() {
    status=$?
    set +e
    for name in slurmd slurmctld; do
        pidfile=$work/$name.pid
        if [ -s "$pidfile" ]; then
            pid=$(cat "$pidfile")
            if kill -0 "$pid" 2>/dev/null; then
                kill -TERM "$pid"
                for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
                kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
            fi
        fi
    done
    if [ -n "$started_munged" ] && kill -0 "$started_munged" 2>/dev/null; then kill -TERM "$started_munged"; fi
    if [ "$status" -eq 0 ] && [ "${KEEP:-0}" != 1 ] && [ -z "${SMOKE_DIR:-}" ]; then
        rm -rf "$work"
    else
        echo "slurm-smoke: work folder kept: $work (daemon logs: $work/log/)" >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# MARK: - munge
if ! munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    if [ ! -s /etc/munge/munge.key ]; then
        say "creating /etc/munge/munge.key"
        if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key
        else dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; fi
    fi
    chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge /var/lib/munge /var/log/munge
    chown munge:munge /run/munge /var/lib/munge /var/log/munge; chmod 755 /run/munge
    say "starting munged"
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do [ -S /run/munge/munge.socket.2 ] && break; sleep 0.1; done
    started_munged=$(cat /run/munge/munged.pid 2>/dev/null || pgrep -u munge -x munged | head -1)
    munge -n </dev/null | unmunge >/dev/null || die "munge does not work (see /var/log/munge/munged.log)"
else
    say "munged already running; reusing it"
fi

# MARK: - slurm.conf for a one-node cluster
for port in "$CTLD_PORT" "$SLURMD_PORT"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        die "port $port is in use (another Slurm?); set SLURMCTLD_PORT/SLURMD_PORT"
    fi
done
node=$(hostname -s)
cpus=$(nproc)
memory=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
mkdir -p "$work/state" "$work/spool" "$work/log"
export SLURM_CONF=$work/slurm.conf
cat >"$SLURM_CONF" <<EOF
# One-node test cluster written by scripts/slurm/smoke_test.sh
ClusterName=discretegrad-smoke
SlurmctldHost=$node
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire also delays the restart of a requeued job (default 120 s); short for the requeue test.
AuthInfo=cred_expire=10
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool/slurmd-%n
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: plain process tracking, no task binding or confinement.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$work/log/jobcomp.txt
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=10
MinJobAge=600
NodeName=$node CPUs=$cpus RealMemory=${memory:-1000} State=UNKNOWN
PartitionName=smoke Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

# MARK: - daemons
say "starting slurmctld and slurmd (node $node, $cpus CPUs; conf $SLURM_CONF)"
slurmctld -f "$SLURM_CONF" -i || die "slurmctld did not start (see $work/log/slurmctld.log)"
sleep 1
slurmd -f "$SLURM_CONF" || die "slurmd did not start (see $work/log/slurmd.log)"
state=""
for _ in $(seq 60); do
    state=$(sinfo -h -n "$node" -o '%T' 2>/dev/null | head -1)
    case "$state" in idle*) break ;; esac
    sleep 1
done
case "$state" in idle*) say "node $node is $state" ;; *) die "node $node not idle after 60 s (state '$state'); see $work/log/" ;; esac

# MARK: - the sweep: 2 estimators x 2 seeds = 4 runs, tiny and fast
sweep_args=(--set training.epochs=1 --set data.train_limit=200 --set data.test_limit=100
            --set 'model.encoder_hidden=[32]' --set 'model.decoder_hidden=[32]'
            --set 'training.seed=[1,2]' --set 'estimator.name=["st","reinforce"]'
            --set estimator.temperature=null)  # quickstart's ST temperature is not a REINFORCE option
# A private copy of the config: every route below must read the same file even if someone edits
# configs/ meanwhile (submit.sh snapshots the config for the Slurm jobs in the same way).
config=$work/quickstart.json
cp configs/quickstart.json "$config"

say "submitting through submit.sh"
"$here/submit.sh" "$config" "${sweep_args[@]}" --out "$work/sweep-slurm" --partition smoke --time 10 \
    --vae-train "$VAE_TRAIN" --signal-seconds 30 | sed 's/^/  /'
read -r _ array_job < <(grep '^array' "$work/sweep-slurm/slurm/jobs.txt")
read -r _ collect_job < <(grep '^collector' "$work/sweep-slurm/slurm/jobs.txt")

say "waiting for array job $array_job and collector $collect_job (timeout ${TIMEOUT}s)"
start=$SECONDS
while :; do
    left=$(squeue -h -j "$array_job,$collect_job" -o '%i %T' 2>/dev/null || true)
    [ -z "$left" ] && break
    [ $((SECONDS - start)) -lt "$TIMEOUT" ] || { echo "$left" >&2; die "jobs still queued/running after ${TIMEOUT}s"; }
    sleep 2
done
say "jobs left the queue after $((SECONDS - start)) s; job records:"
# jobcomp/filetxt keeps one line per finished job (no slurmdbd needed for this).
sed -n 's/.*JobId=\([0-9]*\).*Name=\([^ ]*\).*JobState=\([A-Z]*\).*ExitCode=\([0-9:]*\).*/  job \1 \2 \3 exit \4/p' "$work/log/jobcomp.txt"
if grep -q 'JobState=' "$work/log/jobcomp.txt" && grep 'JobState=' "$work/log/jobcomp.txt" | grep -vq 'JobState=COMPLETED'; then
    for f in "$work"/sweep-slurm/slurm/logs/*; do echo "--- $f"; cat "$f"; done >&2
    die "a job did not complete"
fi

summary=$work/sweep-slurm/summary.csv
[ -f "$summary" ] || { cat "$work"/sweep-slurm/slurm/logs/*collect.out >&2 || true; die "no summary.csv from the collector"; }
finished=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "status") c = i; next } $c == "finished"' "$summary" | wc -l)
rows=$(($(wc -l <"$summary") - 1))
say "summary.csv: $rows rows, $finished finished"
sed 's/^/  /' "$summary"
[ "$rows" -eq 4 ] && [ "$finished" -eq 4 ] || die "expected 4 finished runs"

# MARK: - the same sweep locally: --jobs 2 and sequential
say "running the same sweep locally with --jobs 2 and sequentially"
"$VAE_TRAIN" --config "$config" "${sweep_args[@]}" --out "$work/sweep-jobs2" --jobs 2 >"$work/log/jobs2.log" 2>&1 \
    || { cat "$work/log/jobs2.log" >&2; die "--jobs 2 sweep failed"; }
"$VAE_TRAIN" --config "$config" "${sweep_args[@]}" --out "$work/sweep-seq" >"$work/log/seq.log" 2>&1 \
    || { cat "$work/log/seq.log" >&2; die "sequential sweep failed"; }

# Compare everything except timing columns (elapsed_seconds: the only columns that differ between
# identical runs, per the README), summaries and each run's metrics.csv.
"$PYTHON" - "$work/sweep-slurm" "$work/sweep-jobs2" "$work/sweep-seq" <<'EOF' || die "summaries differ"
import csv, os, sys
TIMING = {"elapsed_seconds", "epoch_seconds", "examples_per_sec"}
def table(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]
ref_dir, others = sys.argv[1], sys.argv[2:]
ref = table(os.path.join(ref_dir, "summary.csv"))
ok = True
for other in others:
    same = True
    got = table(os.path.join(other, "summary.csv"))
    if got != ref:
        same = False
        print(f"summary.csv of {other} differs from {ref_dir}:", file=sys.stderr)
        for a, b in zip(ref, got):
            for k in a:
                if a[k] != b.get(k):
                    print(f"  run {a['run_id']} {k}: {a[k]} vs {b.get(k)}", file=sys.stderr)
    for row in ref:
        m_ref = table(os.path.join(ref_dir, row["run_id"], "metrics.csv"))
        m_got = table(os.path.join(other, row["run_id"], "metrics.csv"))
        if m_ref != m_got:
            same = False
            print(f"metrics.csv of {row['run_id']} differs between {ref_dir} and {other}", file=sys.stderr)
    if same:
        print(f"  {other}: summary.csv and metrics.csv identical to the Slurm sweep (timing columns excluded)")
    ok = ok and same
sys.exit(0 if ok else 1)
EOF
# MARK: - requeue: interrupt a running task, check that it resumes and ends as an uninterrupted run
# One run long enough (12 epochs of 5000 images, ~1 s each) to be caught mid-run twice. First
# `scontrol requeue` (what preemption does: SIGTERM to the batch shell, which stops vae-train; the task
# goes back to the queue), then USR1 (the time-limit warning: the task requeues itself). Each start
# resumes from checkpoint.bin; the result must equal the same run done locally in one go.
requeue_args=(--set training.epochs=12 --set data.train_limit=5000 --set data.test_limit=500 --set training.seed=3)
say "requeue test: submitting a single 12-epoch run"
"$here/submit.sh" "$config" "${requeue_args[@]}" --out "$work/requeue-slurm" --partition smoke --time 10 \
    --vae-train "$VAE_TRAIN" --signal-seconds 30 | sed 's/^/  /'
read -r _ rq_job < <(grep '^array' "$work/requeue-slurm/slurm/jobs.txt")
read -r _ rq_collect < <(grep '^collector' "$work/requeue-slurm/slurm/jobs.txt")
rq_metrics=$work/requeue-slurm/run/metrics.csv
start=$SECONDS
until [ -f "$rq_metrics" ] && [ "$(wc -l <"$rq_metrics")" -ge 3 ]; do  # header + 2 epochs
    [ $((SECONDS - start)) -lt "$TIMEOUT" ] || die "requeue test: the run never reached epoch 2"
    sleep 0.2
done
done_before=$(($(wc -l <"$rq_metrics") - 1))
say "requeueing task ${rq_job}_0 after epoch $done_before"
scontrol requeue "${rq_job}_0" || die "scontrol requeue failed"
# Then the time-limit path: USR1 to the batch shell is what `--signal=B:USR1@S` sends before the limit;
# the task stops vae-train and requeues itself.
start=$SECONDS
until grep -q "restart 1" "$work/requeue-slurm/slurm/logs/${rq_job}_0.out" 2>/dev/null \
      && [ "$(wc -l <"$rq_metrics")" -ge $((done_before + 3)) ]; do
    [ $((SECONDS - start)) -lt "$TIMEOUT" ] || die "requeue test: no progress after the requeue"
    sleep 0.2
done
say "sending USR1 (the time-limit warning) to task ${rq_job}_0 after epoch $(($(wc -l <"$rq_metrics") - 1))"
scancel --batch --signal=USR1 "${rq_job}_0" || die "scancel --signal=USR1 failed"
start=$SECONDS
while [ -n "$(squeue -h -j "$rq_job,$rq_collect" 2>/dev/null)" ]; do
    [ $((SECONDS - start)) -lt "$TIMEOUT" ] || die "requeue test: jobs still in the queue after ${TIMEOUT}s"
    sleep 1
done
rq_log=$(ls "$work"/requeue-slurm/slurm/logs/"${rq_job}"_0.out)
sed 's/^/  | /' "$rq_log" | grep -E 'task|resuming' || true
grep -q "restart 1" "$rq_log" || die "requeue test: the task did not start a second time (see $rq_log)"
grep -q "time limit near" "$rq_log" && grep -q "restart 2" "$rq_log" \
    || die "requeue test: USR1 did not make the task requeue itself (see $rq_log)"
[ "$(grep -c "^resuming " "$rq_log")" -eq 2 ] || die "requeue test: the restarts did not resume from the checkpoint"
grep -q "finished" "$work/requeue-slurm/summary.csv" || die "requeue test: run not finished in summary.csv"
"$VAE_TRAIN" --config "$config" "${requeue_args[@]}" --out "$work/requeue-local" >"$work/log/requeue-local.log" 2>&1 \
    || die "requeue test: local run failed"
"$PYTHON" - "$work/requeue-slurm" "$work/requeue-local" <<'EOF2' || die "requeue test: the requeued run differs from an uninterrupted one"
import csv, os, sys
TIMING = {"elapsed_seconds", "epoch_seconds", "examples_per_sec"}
def table(path):
    with open(path) as f:
        return [{k: v for k, v in r.items() if k not in TIMING} for r in csv.DictReader(f)]
a, b = (table(os.path.join(d, name)) for d in sys.argv[1:] for name in ["run/metrics.csv"])
if a != b:
    sys.exit("metrics differ")
print(f"  requeued run: {len(a)} epochs, metrics.csv identical to an uninterrupted local run (timing excluded)")
EOF2

say "PASS (Slurm array + collector; local --jobs 2 and sequential give the same summary; requeue resumes)"
