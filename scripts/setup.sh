#!/usr/bin/env bash
# Installs the system packages DiscreteGrad needs on Debian/Ubuntu. Idempotent: does nothing when
# everything is present. Works as root (CI, containers) or through sudo.
set -euo pipefail

PACKAGES=(
    libopenblas-dev   # BLAS behind the tensor type (cblas.h + libblas.so via alternatives)
    liblapacke-dev    # part of the design card's BLAS stack
    zlib1g-dev        # reading gzip-compressed MNIST files directly
    libsleef-dev      # SLEEF: vectorised exp/log/log1p/tanh behind Sources/CKernels
    libxsmm-dev       # libxsmm: generated kernels for small matrix products (Sources/CKernels/xsmm.c)
    python3-matplotlib # plots in `make report`
)

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all system packages present (${PACKAGES[*]})"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "setup: need root to install: ${missing[*]} (run as root or install sudo)" >&2
        exit 1
    fi
fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
