#!/usr/bin/env bash
# Fetch the full data sets into data/<kind>/ (git-ignored), verifying checksums.
#
# usage: scripts/fetch_data.sh mnist|binarized_mnist|fashion_mnist [SRC_DIR]
#
# With SRC_DIR (or MNIST_SRC / BINARIZED_MNIST_SRC / FASHION_MNIST_SRC in the environment) the files
# are copied from that local directory; fashion_mnist is also copied from Debian's dataset-fashion-mnist
# package (/usr/share/datasets/fashion-mnist) when it is installed; otherwise they are downloaded from the
# public mirrors. Every file
# is written to NAME.part, verified, and only then renamed, so a failed or interrupted run never
# leaves a bad file under its final name. Re-running with verified files in place does nothing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() {
    echo "usage: $0 mnist|binarized_mnist|fashion_mnist [SRC_DIR]" >&2
    echo "  SRC_DIR (or MNIST_SRC / BINARIZED_MNIST_SRC / FASHION_MNIST_SRC): local directory to copy the files from" >&2
    exit 2
}

[[ $# -ge 1 && $# -le 2 ]] || usage
KIND="$1"
SRC_ARG="${2:-}"

# --- checksums ---------------------------------------------------------------------------------
# MNIST: the published MD5s of the original .gz files (the ones torchvision checks), plus the
# SHA-256 of the decompressed content so an already-gunzipped copy can be verified too.
declare -A MNIST_MD5=(
    [train-images-idx3-ubyte.gz]=f68b3c2dcbeaaa9fbdd348bbdeb94873
    [train-labels-idx1-ubyte.gz]=d53e105ee54ea40749a09fcbcd1e9432
    [t10k-images-idx3-ubyte.gz]=9fb629c4189551a2d022fa330f9573f3
    [t10k-labels-idx1-ubyte.gz]=ec29112dd5afa0611ce80d1b7f02629c
)
declare -A MNIST_CONTENT_SHA256=(
    [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
    [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
    [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
    [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
MNIST_MIRRORS=(
    https://ossci-datasets.s3.amazonaws.com/mnist/
    https://storage.googleapis.com/cvdf-datasets/mnist/
    http://yann.lecun.com/exdb/mnist/
)

# Fashion-MNIST (Zalando): the published MD5s of the .gz files, and the SHA-256 of their decompressed
# content (Debian's dataset-fashion-mnist package recompresses the files: its .gz differ, the content does not).
declare -A FASHION_MD5=(
    [train-images-idx3-ubyte.gz]=8d4fb7e6c68d591d4c3dfef9ec88bf0d
    [train-labels-idx1-ubyte.gz]=25c81989df183df01b3e8a0aad5dffbe
    [t10k-images-idx3-ubyte.gz]=bef4ecab320f06d8554ea6380940ec79
    [t10k-labels-idx1-ubyte.gz]=bb300cfdad3c16e7a12a480ee83cd310
)
declare -A FASHION_CONTENT_SHA256=(
    [train-images-idx3-ubyte]=c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
    [train-labels-idx1-ubyte]=bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
    [t10k-images-idx3-ubyte]=5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
    [t10k-labels-idx1-ubyte]=0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34
)
FASHION_MIRRORS=(
    http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/
    https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/
)
FASHION_DEBIAN_DIR=/usr/share/datasets/fashion-mnist

# Binarized MNIST: SHA-256 of the decompressed .amat (the ones TensorFlow Datasets pins for the
# original downloads; they verify a raw download as well as a gunzipped copy), and of the .gz
# files in the shared copy (a fast check that avoids decompressing).
declare -A BMNIST_CONTENT_SHA256=(
    [binarized_mnist_train.amat]=ad693b29f94c14277b095f5238ddefbbdaaae0939789dd2f4f0205278cee3e4d
    [binarized_mnist_valid.amat]=1de3d397c40fe8eeb33dafd4099a1f665ec01e96d9be234aaeeac8a34930e2e2
    [binarized_mnist_test.amat]=e6687bfea3f820c174f33b7865140b2a2dd2930ef786f35d45795fc193b5ab2c
)
declare -A BMNIST_GZ_SHA256=(
    [binarized_mnist_train.amat.gz]=af247bd6075cf9adc4715459dcd5f13eaa99a2c92d8d81379a05da94770b6c0e
    [binarized_mnist_valid.amat.gz]=533b71bc0198f4d73c54ae5fe6c96fc08dc3cf1b3fae24c5521dbc0452507e38
    [binarized_mnist_test.amat.gz]=32a3c54d03504632bf9f131b4a148c7567aa6fc87da017049b044bdc14c2a0f2
)
BMNIST_URL=http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/

# --- helpers -----------------------------------------------------------------------------------
PART_FILES=()
# Removes any NAME.part left by an interrupted copy or download. It must not change the exit status:
# with nothing to remove (a re-run finding every file verified) the old `[[ -n "$f" ]] && rm` form
# returned 1 from the trap and made the whole script fail. The status is saved and re-raised.
cleanup() {
    local f
    for f in ${PART_FILES[@]+"${PART_FILES[@]}"}; do rm -f -- "$f"; done
    return 0
}
trap 'status=$?; cleanup; exit $status' EXIT

log() { echo "fetch_data: $*" >&2; }

md5_of() { md5sum -- "$1" | cut -d' ' -f1; }
sha256_of() { sha256sum -- "$1" | cut -d' ' -f1; }
# SHA-256 of the content, gunzipping first if the file is gzip (gzip -f passes other data through).
content_sha256_of() { gzip -cdf -- "$1" 2>/dev/null | sha256sum | cut -d' ' -f1; }

# download URL OUT: curl or wget, whichever exists, with timeouts. Returns non-zero on failure.
download() {
    local url="$1" out="$2"
    if command -v curl >/dev/null 2>&1; then
        curl -fsSL --connect-timeout 20 --max-time 900 --retry 2 --retry-delay 2 -o "$out" "$url"
    elif command -v wget >/dev/null 2>&1; then
        wget -q --timeout=20 --tries=3 -O "$out" "$url"
    else
        log "neither curl nor wget is installed"
        return 1
    fi
}

# verify_idx MD5_TABLE SHA_TABLE NAME FILE: NAME is the .gz name; FILE may be the .gz or a gunzipped copy.
verify_idx() {
    local -n md5s="$1" shas="$2"
    local name="$3" file="$4"
    [[ -f "$file" ]] || return 1
    [[ "$(md5_of "$file")" == "${md5s[$name]}" ]] && return 0
    [[ "$(content_sha256_of "$file")" == "${shas[${name%.gz}]}" ]]
}
verify_mnist() { verify_idx MNIST_MD5 MNIST_CONTENT_SHA256 "$@"; }
verify_fashion() { verify_idx FASHION_MD5 FASHION_CONTENT_SHA256 "$@"; }

# verify_bmnist BASE FILE: BASE is the .amat name; FILE is the .amat or .amat.gz.
verify_bmnist() {
    local base="$1" file="$2"
    [[ -f "$file" ]] || return 1
    if [[ "$file" == *.gz && "$(sha256_of "$file")" == "${BMNIST_GZ_SHA256[$base.gz]}" ]]; then
        return 0
    fi
    [[ "$(content_sha256_of "$file")" == "${BMNIST_CONTENT_SHA256[$base]}" ]]
}

# install_file VERIFY KEY SRC DEST: copy SRC to DEST.part, verify, rename to DEST.
install_copy() {
    local verify="$1" key="$2" src="$3" dest="$4"
    local part="$dest.part"
    PART_FILES+=("$part")
    cp -- "$src" "$part"
    chmod u+w -- "$part"
    if ! "$verify" "$key" "$part"; then
        rm -f -- "$part"
        return 1
    fi
    mv -f -- "$part" "$dest"
}

install_download() {
    local verify="$1" key="$2" url="$3" dest="$4"
    local part="$dest.part"
    PART_FILES+=("$part")
    rm -f -- "$part"
    if ! download "$url" "$part"; then
        rm -f -- "$part"
        TRIED+=("$url (download failed)")
        return 1
    fi
    if ! "$verify" "$key" "$part"; then
        rm -f -- "$part"
        TRIED+=("$url (checksum mismatch)")
        return 1
    fi
    mv -f -- "$part" "$dest"
}

# --- mnist and fashion_mnist (the same four IDX files) ---------------------------------------
# fetch_idx KIND VERIFY SRC_VAR LABEL MIRRORS_ARRAY [EXTRA_LOCAL_DIR]
fetch_idx() {
    local kind="$1" verify="$2" src_var="$3" label="$4" extra="${6:-}"
    local -n mirrors="$5"
    local dest="$ROOT/data/$kind" src="${SRC_ARG:-${!src_var:-}}"
    local names=(train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz)
    if [[ -z "$src" && -n "$extra" && -d "$extra" ]]; then
        src="$extra"
        log "using $extra (installed by a Debian package)"
    fi
    mkdir -p "$dest"
    local missing=() name
    for name in "${names[@]}"; do
        "$verify" "$name" "$dest/$name" || missing+=("$name")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        log "data/$kind already has all four files, checksums verified; nothing to do"
        return 0
    fi
    TRIED=()
    for name in "${missing[@]}"; do
        if [[ -n "$src" ]]; then
            if [[ -f "$src/$name" ]] && install_copy "$verify" "$name" "$src/$name" "$dest/$name"; then
                log "copied $name from $src (checksum verified)"
                continue
            fi
            TRIED+=("$src/$name ($([[ -f "$src/$name" ]] && echo "checksum mismatch" || echo "not found"))")
        else
            local mirror ok=0
            for mirror in "${mirrors[@]}"; do
                log "downloading $mirror$name"
                if install_download "$verify" "$name" "$mirror$name" "$dest/$name"; then
                    log "downloaded $name (MD5 verified)"
                    ok=1
                    break
                fi
            done
            [[ $ok -eq 1 ]] && continue
        fi
        fail "$kind" "$src_var" "the four files ${names[*]}"
    done
    log "data/$kind ready ($label)"
}

# --- binarized mnist ---------------------------------------------------------------------------
fetch_binarized_mnist() {
    local dest="$ROOT/data/binarized_mnist" src="${SRC_ARG:-${BINARIZED_MNIST_SRC:-}}"
    local bases=(binarized_mnist_train.amat binarized_mnist_valid.amat binarized_mnist_test.amat)
    mkdir -p "$dest"
    local missing=() base
    for base in "${bases[@]}"; do
        verify_bmnist "$base" "$dest/$base.gz" || verify_bmnist "$base" "$dest/$base" || missing+=("$base")
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        log "data/binarized_mnist already has all three files, checksums verified; nothing to do"
        return 0
    fi
    TRIED=()
    for base in "${missing[@]}"; do
        if [[ -n "$src" ]]; then
            local cand done_=0
            for cand in "$base.gz" "$base"; do
                if [[ -f "$src/$cand" ]]; then
                    if install_copy verify_bmnist "$base" "$src/$cand" "$dest/$cand"; then
                        log "copied $cand from $src (SHA-256 verified)"
                        done_=1
                        break
                    fi
                    TRIED+=("$src/$cand (checksum mismatch)")
                else
                    TRIED+=("$src/$cand (not found)")
                fi
            done
            [[ $done_ -eq 1 ]] && continue
        else
            log "downloading $BMNIST_URL$base"
            if install_download verify_bmnist "$base" "$BMNIST_URL$base" "$dest/$base"; then
                log "downloaded $base (SHA-256 verified)"
                continue
            fi
        fi
        fail binarized_mnist "BINARIZED_MNIST_SRC" "binarized_mnist_{train,valid,test}.amat (or .amat.gz)"
    done
    log "data/binarized_mnist ready"
}

fail() {
    local kind="$1" var="$2" files="$3" t
    {
        echo "fetch_data: error: could neither find nor download $kind."
        echo "Tried:"
        for t in "${TRIED[@]}"; do echo "  - $t"; done
        echo "To supply it, put $files in a directory and run"
        echo "  $var=/path/to/dir make data        or        scripts/fetch_data.sh $kind /path/to/dir"
        echo "(Every file is checksum-verified; no partial or unverified file was left in data/$kind/.)"
    } >&2
    exit 1
}

case "$KIND" in
    mnist) fetch_idx mnist verify_mnist MNIST_SRC "MNIST" MNIST_MIRRORS ;;
    fashion_mnist) fetch_idx fashion_mnist verify_fashion FASHION_MNIST_SRC "Fashion-MNIST" FASHION_MIRRORS "$FASHION_DEBIAN_DIR" ;;
    binarized_mnist) fetch_binarized_mnist ;;
    *) usage ;;
esac
