#!/usr/bin/env bash
# Runs the ReinMax MNIST-VAE table (configs/reinmax_table/<estimator>_<shape>.json) for one latent
# shape, all estimators, with the given epochs and seeds, JOBS configs at a time.
# Usage: scripts/run_reinmax_table.sh SHAPE [EPOCHS] [SEEDS] [JOBS] [ESTIMATORS]
#   e.g. scripts/run_reinmax_table.sh 4x24 20 "[0]" 2
#        scripts/run_reinmax_table.sh 4x24 160 "[0,1,2,3,4,5,6,7,8,9]" 2      # the full protocol
# Results go to results/reinmax_table/<config name>/ (resumable: rerun to continue or extend; a run folder
# holding a different configuration is refused, never overwritten). Each config's log is appended to
# results/reinmax_table/<config name>.log under a dated header, so a rerun never erases an earlier log.
set -euo pipefail
cd "$(dirname "$0")/.."
SHAPE=${1:?shape, e.g. 4x24}
EPOCHS=${2:-160}
SEEDS=${3:-"[0,1,2,3,4,5,6,7,8,9]"}
JOBS=${4:-1}
ESTIMATORS=${5:-"st gs st-gs gr-mc gst reinmax reinmax-rao reinmax-cv reinmax-rk"}
BIN=${VAE_TRAIN:-.build/release/vae-train}
[ -x "$BIN" ] || swift build -c release
configs=()
for e in $ESTIMATORS; do
    c="configs/reinmax_table/${e}_${SHAPE}.json"
    [ -f "$c" ] || { echo "no config $c" >&2; exit 1; }
    configs+=("$c")
done
mkdir -p results/reinmax_table
for c in "${configs[@]}"; do
    printf '\n== %s  epochs %s  seeds %s\n' "$(date -u +%FT%TZ)" "$EPOCHS" "$SEEDS" >> "results/reinmax_table/$(basename "$c" .json).log"
done
printf '%s\n' "${configs[@]}" | xargs -P "$JOBS" -I{} sh -c \
    "name=\$(basename {} .json); \"$BIN\" train --config {} --set training.epochs=$EPOCHS --set 'training.seed=$SEEDS' --set output.progress=never --resume >> results/reinmax_table/\$name.log 2>&1 && echo \"done \$name\" || echo \"FAILED \$name (see results/reinmax_table/\$name.log)\""
