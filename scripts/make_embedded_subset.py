#!/usr/bin/env python3
"""Build data/embedded/: a small, committed MNIST subset so a fresh clone can train and test
without fetching anything.

Takes the first 10,000 training and first 2,000 test records of the original MNIST IDX files and
writes them as valid IDX files, gzip-compressed with mtime=0 and no file name so that reruns
produce byte-identical output (and the checksums in data/embedded/README.md stay valid).

Usage: python3 scripts/make_embedded_subset.py [SRC_DIR] [DEST_DIR]
       defaults: ../shared/data/mnist  data/embedded
Standard library only.
"""
import gzip
import hashlib
import io
import os
import struct
import sys

TRAIN_N = 10_000
TEST_N = 2_000
IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801

# Published MD5s of the original distribution files: refuse to build from anything else.
SOURCE_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


def read_source(src, name):
    path = os.path.join(src, name)
    with open(path, "rb") as f:
        raw = f.read()
    md5 = hashlib.md5(raw).hexdigest()
    if md5 != SOURCE_MD5[name]:
        sys.exit(f"{path}: MD5 {md5} is not the published {SOURCE_MD5[name]}")
    return gzip.decompress(raw)


def take_images(data, n, path):
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    assert magic == IMAGE_MAGIC, f"{path}: bad magic {magic:#010x}"
    assert len(data) == 16 + count * rows * cols, f"{path}: length mismatch"
    assert n <= count
    return struct.pack(">IIII", IMAGE_MAGIC, n, rows, cols) + data[16:16 + n * rows * cols]


def take_labels(data, n, path):
    magic, count = struct.unpack(">II", data[:8])
    assert magic == LABEL_MAGIC, f"{path}: bad magic {magic:#010x}"
    assert len(data) == 8 + count, f"{path}: length mismatch"
    assert n <= count
    return struct.pack(">II", LABEL_MAGIC, n) + data[8:8 + n]


def deterministic_gzip(payload):
    buf = io.BytesIO()
    # filename="" and mtime=0: the header then carries nothing that changes between runs.
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buf, mtime=0) as gz:
        gz.write(payload)
    return buf.getvalue()


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/mnist"
    dest = sys.argv[2] if len(sys.argv) > 2 else "data/embedded"
    os.makedirs(dest, exist_ok=True)
    jobs = [
        ("train-images-idx3-ubyte.gz", take_images, TRAIN_N),
        ("train-labels-idx1-ubyte.gz", take_labels, TRAIN_N),
        ("t10k-images-idx3-ubyte.gz", take_images, TEST_N),
        ("t10k-labels-idx1-ubyte.gz", take_labels, TEST_N),
    ]
    for name, take, n in jobs:
        subset = take(read_source(src, name), n, os.path.join(src, name))
        out = deterministic_gzip(subset)
        path = os.path.join(dest, name)
        tmp = path + ".part"
        with open(tmp, "wb") as f:
            f.write(out)
        os.replace(tmp, path)
        print(f"{hashlib.sha256(out).hexdigest()}  {name}  ({n} records, {len(out)} bytes)")


if __name__ == "__main__":
    main()
