#!/usr/bin/env bash
# Submits a DiscreteGrad sweep to Slurm: one job-array task per run, plus a collector job that writes
# summary.csv after the array has ended. See scripts/slurm/README.md.
#
#   scripts/slurm/submit.sh CONFIG [--set k=v ...] [--out DIR] [--partition P] [--time T] [--cpus N]
#                           [--max-parallel N] [--account A] [--qos Q] [--signal-seconds S]
#                           [--vae-train PATH] [--no-snapshot] [--dry-run] [-- extra sbatch options]
#
# Prints the array job id and the collector job id (also saved in <out>/slurm/jobs.txt).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

[ $# -ge 1 ] || usage
case "$1" in -h|--help) usage 0 ;; esac
config=$1; shift
[ -f "$config" ] || { echo "submit: no config file $config" >&2; exit 2; }
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")

overrides=() out="" partition="" time_limit="" cpus=1 max_parallel="" account="" qos=""
signal_seconds=120 snapshot=1 dry_run=0 extra=()
vae_train=${VAE_TRAIN:-$repo/.build/release/vae-train}
while [ $# -gt 0 ]; do
    case "$1" in
        --set) overrides+=(--set "$2"); shift 2 ;;
        --set=*) overrides+=(--set "${1#--set=}"); shift ;;
        --out) out=$2; shift 2 ;;
        --partition|-p) partition=$2; shift 2 ;;
        --time|-t) time_limit=$2; shift 2 ;;
        --cpus|-c) cpus=$2; shift 2 ;;
        --max-parallel) max_parallel=$2; shift 2 ;;
        --account|-A) account=$2; shift 2 ;;
        --qos) qos=$2; shift 2 ;;
        --signal-seconds) signal_seconds=$2; shift 2 ;;
        --vae-train) vae_train=$2; shift 2 ;;
        --no-snapshot) snapshot=0; shift ;;
        --dry-run) dry_run=1; shift ;;
        --) shift; extra=("$@"); break ;;
        -h|--help) usage 0 ;;
        *) echo "submit: unknown option $1" >&2; usage ;;
    esac
done
[ -x "$vae_train" ] || { echo "submit: $vae_train is not executable (build it: swift build -c release, or pass --vae-train)" >&2; exit 2; }
vae_train=$(cd "$(dirname "$vae_train")" && pwd)/$(basename "$vae_train")

# Resolve the sweep folder and count the runs the way vae-train does.
list_args=(--config "$config" "${overrides[@]}")
[ -n "$out" ] && list_args+=(--out "$out")
listing=$("$vae_train" "${list_args[@]}" --list)
count=$(printf '%s\n' "$listing" | sed -n '1s/^\([0-9]*\) run(s) in .*$/\1/p')
sweep_dir=$(printf '%s\n' "$listing" | sed -n '1s/^[0-9]* run(s) in \(.*\):$/\1/p')
[ -n "$count" ] && [ "$count" -gt 0 ] || { echo "submit: cannot count runs from --list:" >&2; printf '%s\n' "$listing" >&2; exit 1; }
mkdir -p "$sweep_dir/slurm/logs"
sweep_dir=$(cd "$sweep_dir" && pwd)
slurm_dir=$sweep_dir/slurm

# Snapshot the binary and the config, so rebuilding or editing them while the sweep waits in the queue
# cannot mix two versions in one sweep. The config keeps its file name (the default sweep name).
if [ "$snapshot" = 1 ]; then
    cp -f "$vae_train" "$slurm_dir/vae-train.tmp" && mv -f "$slurm_dir/vae-train.tmp" "$slurm_dir/vae-train"
    mkdir -p "$slurm_dir/config"
    cp -f "$config" "$slurm_dir/config/$(basename "$config")"
    vae_train=$slurm_dir/vae-train
    config=$slurm_dir/config/$(basename "$config")
fi
run_args=(--config "$config" "${overrides[@]}" --out "$sweep_dir")

common=(--chdir "$PWD" --parsable)
[ -n "$partition" ] && common+=(--partition "$partition")
[ -n "$account" ] && common+=(--account "$account")
[ -n "$qos" ] && common+=(--qos "$qos")
array="0-$((count - 1))"
[ -n "$max_parallel" ] && array+="%$max_parallel"
array_opts=(--array "$array" --job-name "dg-$(basename "$sweep_dir")" --cpus-per-task "$cpus"
            --requeue --open-mode append --signal "B:USR1@$signal_seconds"
            --output "$slurm_dir/logs/%A_%a.out")
[ -n "$time_limit" ] && array_opts+=(--time "$time_limit")
collect_opts=(--job-name "dg-$(basename "$sweep_dir")-collect" --cpus-per-task 1
              --output "$slurm_dir/logs/%j-collect.out" --time 30)

echo "submit: $count run(s) in $sweep_dir"
if [ "$dry_run" = 1 ]; then
    echo "sbatch ${common[*]} ${array_opts[*]} ${extra[*]} $here/sweep_array.sbatch $vae_train ${run_args[*]}"
    echo "sbatch ${common[*]} ${collect_opts[*]} --dependency=afterany:<array> ${extra[*]} $here/collect.sh $vae_train ${run_args[*]}"
    exit 0
fi
array_job=$(sbatch "${common[@]}" "${array_opts[@]}" "${extra[@]}" "$here/sweep_array.sbatch" "$vae_train" "${run_args[@]}")
array_job=${array_job%%;*}
collect_job=$(sbatch "${common[@]}" "${collect_opts[@]}" --dependency "afterany:$array_job" "${extra[@]}" \
                     "$here/collect.sh" "$vae_train" "${run_args[@]}")
collect_job=${collect_job%%;*}
printf 'array %s\ncollector %s\n' "$array_job" "$collect_job" | tee "$slurm_dir/jobs.txt"
echo "logs: $slurm_dir/logs/   summary (after the collector): $sweep_dir/summary.csv"
