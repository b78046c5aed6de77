# DiscreteGrad — common tasks. `make run` and `make test` are the two set-up commands in the README.
SWIFT      ?= swift
CONFIG     ?= configs/quickstart.json
RELEASE    := .build/release/vae-train
JOBS       ?= 1

.PHONY: all setup build release test test-debug example run sweep data data-mnist data-binarized data-fashion-mnist bench clean help reinmax-table reinmax-table-shape

all: build

help:
	@echo "make setup     install system packages (OpenBLAS, LAPACKE, SLEEF, libxsmm, zlib, matplotlib) — idempotent"
	@echo "make run       setup + release build + train configs/quickstart.json on the embedded data (into runs/)"
	@echo "make test      the test suite (release mode: the statistical tests need the speed), make example, the scripts' tests, make readme-check"
	@echo "make readme-check   run every command the README shows in a smoke mode (1 epoch of 2 steps; nothing of yours touched)"
	@echo "make example   build and run Examples/DiscreteToy, a non-VAE model using the estimator registry"
	@echo "make data      fetch or locate full MNIST and binarized MNIST into data/ (MNIST_SRC=dir to copy)"
	@echo "make data-fashion-mnist   the same for Fashion-MNIST (FASHION_MNIST_SRC=dir, or Debian's dataset-fashion-mnist)"
	@echo "make bench     training throughput, step time vs. the sgemm-only ideal and its breakdown (writes runs/bench.csv)"
	@echo "make sweep CONFIG=configs/sweep_example.json JOBS=2   run a sweep (JOBS processes in parallel)"
	@echo "make reinmax-table[-shape] SHAPE=4x24 EPOCHS=160 SEEDS=[0,...] JOBS=2   the ReinMax MNIST-VAE protocol"
	@echo "make report    results/REPORT.md and results/plots/ from the CSVs under results/"
	@echo "make slurm-smoke   one-node Slurm on this machine: submit a tiny sweep, check its summary"

setup:
	@scripts/setup.sh

build:
	$(SWIFT) build

release:
	$(SWIFT) build -c release

# Statistical estimator tests draw ~1e5 samples; debug builds are ~70x slower, so tests run in release.
# Then the library example (a package that depends on DiscreteGrad by path) is built and run, so the
# guide in docs/library.md cannot rot. Then the scripts' own tests, and every command the README shows,
# run in a smoke mode (scripts/check_readme_commands.py), so the README cannot drift from the tool.
test: setup
	$(SWIFT) test -c release
	$(MAKE) example
	$(MAKE) test-scripts
	$(MAKE) readme-check

# The scripts' tests: report.py on a synthetic results tree with a stand-in vae-train, and the README
# checker on small READMEs (a few seconds).
.PHONY: test-scripts readme-check
test-scripts:
	/usr/bin/python3 -m unittest discover -s scripts/tests -v

readme-check: release
	/usr/bin/python3 scripts/check_readme_commands.py

example:
	$(SWIFT) run -c release --package-path Examples/DiscreteToy discrete-toy

test-debug:
	$(SWIFT) test

run: setup release
	$(RELEASE) --config $(CONFIG)

sweep: release
	$(RELEASE) --config $(CONFIG) --jobs $(JOBS) --resume

data: data-mnist data-binarized

data-mnist:
	@scripts/fetch_data.sh mnist $(MNIST_SRC)

data-binarized:
	@scripts/fetch_data.sh binarized_mnist $(BINARIZED_MNIST_SRC)

# Fashion-MNIST (data.dataset = "fashion_mnist"): from FASHION_MNIST_SRC, Debian's dataset-fashion-mnist, or the mirrors.
data-fashion-mnist:
	@scripts/fetch_data.sh fashion_mnist $(FASHION_MNIST_SRC)

# Writes runs/bench.csv (git-ignored); pass BENCH_CSV=... to keep it elsewhere.
BENCH_CSV ?= runs/bench.csv
bench: setup release
	@mkdir -p $(dir $(BENCH_CSV))
	$(RELEASE) bench --samples 8,32 --csv $(BENCH_CSV)

clean:
	rm -rf .build

# --- reports and cluster sweeps (issue 6) ---
.PHONY: report slurm-smoke

# Debian's matplotlib lives in the system Python; a pyenv `python3` on PATH may not have it.
REPORT_PYTHON ?= /usr/bin/python3

# results/REPORT.md and results/plots/*.png from the CSVs under results/ (no training).
report: setup release
	$(REPORT_PYTHON) scripts/report.py --vae-train $(RELEASE)

# One-node Slurm on this machine (root; installs slurm-wlm and munge), a 4-run sweep through
# scripts/slurm/submit.sh, summary checked against local --jobs 2 and sequential runs.
slurm-smoke: release
	VAE_TRAIN=$(RELEASE) scripts/slurm/smoke_test.sh

# The ReinMax MNIST-VAE table (full data: run `make data` first). SHAPE=4x24 EPOCHS=160 SEEDS=[0,...,9].
SHAPE   ?= 4x24
EPOCHS  ?= 160
SEEDS   ?= [0,1,2,3,4,5,6,7,8,9]
reinmax-table-shape: release
	scripts/run_reinmax_table.sh $(SHAPE) $(EPOCHS) "$(SEEDS)" $(JOBS)

reinmax-table: release
	for s in 8x4 4x24 8x16 16x12 64x8 10x30; do scripts/run_reinmax_table.sh $$s $(EPOCHS) "$(SEEDS)" $(JOBS) || exit 1; done
