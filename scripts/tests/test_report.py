"""Tests of scripts/report.py on a small synthetic results tree (`make test-report`).

Standard library unittest; the report itself needs numpy and matplotlib (run with /usr/bin/python3 on Debian):
    /usr/bin/python3 -m unittest discover -s scripts/tests -v
"""
import csv
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPORT = os.path.join(SCRIPTS, "report.py")
PUBLISHED = os.path.join(SCRIPTS, "published.json")
sys.path.insert(0, SCRIPTS)
sys.dont_write_bytecode = True

# The fake registry lists reinmax before st, the opposite of the real one, so row order shows where it comes from.
REGISTRY = [
    {"name": "reinmax", "summary": "ReinMax", "families": ["bernoulli", "categorical"],
     "options": [{"key": "temperature", "default": 1.3, "requirement": "must be >= 1"}]},
    {"name": "st", "summary": "straight-through", "families": ["bernoulli", "categorical"],
     "options": [{"key": "temperature", "default": 1, "requirement": "must be a number > 0"}]},
    {"name": "reinmax-rao", "summary": "ReinMax-Rao", "families": ["categorical"], "options": []},
    {"name": "reinmax-cv", "summary": "ReinMax-CV", "families": ["categorical"], "options": []},
    {"name": "relax", "summary": "RELAX", "families": ["bernoulli"], "options": []},
]
METRICS = ["epoch", "step", "train_loss", "eval_loss"]


def write_csv(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def write_run(folder, estimator, classes, variables, seed, epochs, final_train, final_eval, steps_per_epoch=600,
              dataset="mnist", temperature=1.5, family="categorical", model="mlp"):
    """A run folder as vae-train writes it: config.json and metrics.csv (losses fall linearly to the final values)."""
    os.makedirs(folder, exist_ok=True)
    latent = {"family": family, "variables": variables}
    if family == "categorical":
        latent["classes"] = classes
    config = {
        "name": "synthetic",
        "data": {"dataset": dataset, "train_limit": None, "test_limit": None},
        "estimator": {"name": estimator, "temperature": temperature},
        "latent": latent,
        "model": {"type": model},
        "training": {"seed": seed, "epochs": epochs, "optimizer": "radam", "learning_rate": 0.0005},
        "output": {"directory": "results"},
        "provenance": {"git_commit": "0123456789ab"},
    }
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(config, f)
    rows = []
    for e in range(1, epochs + 1):
        extra = 40.0 * (epochs - e) / epochs
        rows.append([e, e * steps_per_epoch, f"{final_train + extra:.6f}", f"{final_eval + extra:.6f}"])
    write_csv(os.path.join(folder, "metrics.csv"), METRICS, rows)


def make_results(root):
    """Short runs (a sweep with a summary.csv: reinmax 4×24 with 2 seeds, st 4×24 with 1; a temperature sweep of st
    on Fashion-MNIST; one binary-VAE relax run) and protocol runs (reinmax 8×4 with 2 seeds, reinmax-rao 8×4 with 1
    seed, all at 160 epochs)."""
    sweep = os.path.join(root, "short_sweep")
    summary = []
    runs = [("reinmax", 0, 100.0, 102.0), ("reinmax", 1, 101.0, 103.0), ("st", 0, 111.11, 112.22)]
    for i, (estimator, seed, train, test) in enumerate(runs):
        run_id = f"{estimator}_seed-{seed}"
        write_run(os.path.join(sweep, run_id), estimator, 4, 24, seed, 3, train, test)
        summary.append([i, run_id, "finished", estimator, "4x24", seed, 3, 3, f"{train:.6f}", f"{test:.6f}"])
    write_csv(os.path.join(sweep, "summary.csv"),
              ["run_index", "run_id", "status", "estimator", "latent", "seed", "epochs_done", "epochs",
               "train_loss", "eval_loss"], summary)
    # Unlisted run folders (no summary.csv): a temperature sweep (τ 0.5 with 2 seeds, τ 1 with 1) and a binary VAE.
    for tau, seed, train in ((0.5, 0, 130.0), (0.5, 1, 131.0), (1.0, 0, 128.0)):
        write_run(os.path.join(root, "tau_sweep", f"tau-{tau}_seed-{seed}"), "st", 4, 24, seed, 2, train, train + 1,
                  dataset="fashion_mnist", temperature=tau)
    write_run(os.path.join(root, "binary", "relax"), "relax", None, 200, 0, 2, 150.55, 148.0, steps_per_epoch=2084,
              dataset="binarized_mnist", family="bernoulli", model="linear")
    # A study (its own README; its runs stay out of the short-run tables): an 8×4 reinmax run with a made-up loss.
    write_run(os.path.join(root, "reinmax_cv_noise", "study_run"), "reinmax", 8, 4, 0, 20, 177.77, 178.88)
    with open(os.path.join(root, "reinmax_cv_noise", "README.md"), "w") as f:
        f.write("# A study of something\n\nText.\n")
    protocol = os.path.join(root, "protocol")
    write_run(os.path.join(protocol, "reinmax_table_reinmax_8x4", "seed-0"), "reinmax", 8, 4, 0, 160, 124.0, 126.0)
    write_run(os.path.join(protocol, "reinmax_table_reinmax_8x4", "seed-1"), "reinmax", 8, 4, 1, 160, 125.0, 127.0)
    write_run(os.path.join(protocol, "reinmax_table_reinmax-rao_8x4", "seed-0"), "reinmax-rao", 8, 4, 0, 160,
              123.21, 125.43)


def write_fake_vae_train(path, entries=REGISTRY, exit_status=0):
    """A stand-in for `vae-train`: `estimators --json` prints the registry (or fails with exit_status)."""
    with open(path, "w") as f:
        f.write("#!/bin/sh\n"
                "if [ \"$1\" = estimators ] && [ \"$2\" = --json ]; then\n"
                f"  cat <<'EOF'\n{json.dumps(entries, indent=2)}\nEOF\n"
                f"  exit {exit_status}\n"
                "fi\n"
                "echo \"unexpected arguments: $*\" >&2\nexit 64\n")
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def run_report(results, out, vae_train, published):
    args = [sys.executable, REPORT, "--results", results, "--out", out, "--vae-train", vae_train]
    if published is not None:
        args += ["--published", published]
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg")
    return subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)


def table_rows(text, first_cell):
    """The markdown table rows of `text` whose first cell is `first_cell`."""
    return [line for line in text.splitlines() if line.startswith(f"| {first_cell} |")]


class ReportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="report-test-")
        cls.results = os.path.join(cls.tmp, "results")
        make_results(cls.results)
        cls.vae_train = os.path.join(cls.tmp, "vae-train")
        write_fake_vae_train(cls.vae_train)
        # The published numbers: a copy of the real file with ReinMax 8×4 (train) changed, so the report can only
        # show 123.45 if it reads the file.
        with open(PUBLISHED) as f:
            data = json.load(f)
        i = data["reinmax_table"]["shapes"].index("8×4")
        cls.real_reinmax_8x4 = data["reinmax_table"]["train"]["ReinMax"][i]
        data["reinmax_table"]["train"]["ReinMax"][i] = [123.45, 0.67]
        data["reinmax_table"]["test"]["ReinMax"][i] = 126.54
        cls.published = os.path.join(cls.tmp, "published.json")
        with open(cls.published, "w") as f:
            json.dump(data, f, ensure_ascii=False)
        cls.out = os.path.join(cls.tmp, "out", "REPORT.md")
        cls.done = run_report(cls.results, cls.out, cls.vae_train, cls.published)
        cls.text = ""
        if os.path.exists(cls.out):
            with open(cls.out) as f:
                cls.text = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_renders(self):
        self.assertEqual(self.done.returncode, 0, self.done.stderr)
        for heading in ("# DiscreteGrad results", "### P1. Categorical MNIST-VAE at the full ReinMax protocol",
                        "### P2.", "### P3.", "## 1. Categorical MNIST-VAE", "## 2. The seed paper's claim",
                        "## 3. Binary VAE", "## 4. Toy problems", "## 5. Gradient diagnostics",
                        "## 6. Training curves", "## 7. Temperature sweeps", "## 8. What is under `results/`",
                        "## Sources of the published numbers"):
            self.assertIn(heading, self.text)
        for plot in ("training_curves.png", "temperature_sweep.png"):
            self.assertTrue(os.path.exists(os.path.join(self.tmp, "out", "plots", plot)), plot)
            self.assertIn(f"](plots/{plot})", self.text)

    def test_studies_are_linked_and_kept_out_of_the_tables(self):
        self.assertIn("### Studies", self.text)
        self.assertIn("**A study of something**: `reinmax_cv_noise/README.md`", self.text)
        self.assertNotIn("177.77", self.text)

    def test_single_seed_has_no_standard_error(self):
        self.assertNotIn("± 0.00", self.text)
        # Short-run table (section 1): st 4×24 is one seed.
        st = table_rows(self.text, "`st`")
        self.assertTrue(any("| 111.11 (n=1) |" in row for row in st), st)
        # Protocol table (P1): reinmax-rao 8×4 is one seed.
        rao = table_rows(self.text, "`reinmax-rao`")
        self.assertTrue(any("123.21 (n=1)" in row for row in rao), rao)
        # Binary VAE (section 3): one relax run, with the published RELAX value (ELBO −111.20 in the file).
        relax = table_rows(self.text, "`relax`")
        self.assertTrue(any("150.55 (n=1) [pub 111.20, +39.35]" in row for row in relax), relax)
        # Temperature sweep (section 7): the best τ is a single seed.
        st = [row for row in table_rows(self.text, "`st`") if "0.5, 1" in row]
        self.assertTrue(st and "| 1 | 128.00 (n=1) |" in st[0], st)

    def test_two_seeds_mean_and_standard_error(self):
        # Short runs use the reference's pstdev/√n: 100 and 101 give 100.50 ± 0.5/√2 = 0.35.
        short = [row for row in table_rows(self.text, "`reinmax`") if "100.50" in row]
        self.assertTrue(short, "no short-run reinmax row with the mean 100.50")
        self.assertIn("100.50 ± 0.35 (n=2)", short[0])
        # The protocol table uses the sample sd/√n: 124 and 125 give 124.50 ± 0.50; the test −ELBO 126.50 ± 0.50.
        protocol = [row for row in table_rows(self.text, "`reinmax`") if "124.50" in row]
        self.assertTrue(protocol, "no protocol reinmax row with the mean 124.50")
        self.assertIn("124.50 ± 0.50 (n=2)", protocol[0])
        self.assertIn("126.50 ± 0.50 (n=2)", protocol[0])

    def test_published_numbers_come_from_the_data_file(self):
        protocol = [row for row in table_rows(self.text, "`reinmax`") if "124.50" in row]
        self.assertTrue(protocol)
        self.assertIn("123.45 ± 0.67 (ReinMax)", protocol[0])
        self.assertIn("+1.05", protocol[0])  # ours − published = 124.50 − 123.45
        self.assertIn("126.54", protocol[0])
        real = f"{self.real_reinmax_8x4[0]:.2f}"
        self.assertNotIn(f"{real} ± ", protocol[0])

    def test_row_order_follows_the_registry(self):
        # The fake registry puts reinmax before st; the real one (and any hard-coded list) has st first.
        reinmax = self.text.index("100.50 ± 0.35 (n=2)")
        st = self.text.index("111.11 (n=1)")
        self.assertLess(reinmax, st)
        self.assertIn("| `reinmax` | **100.50 ± 0.35 (n=2)** |\n| `st` | 111.11 (n=1) |", self.text)

    def test_missing_binary_is_a_clear_error(self):
        missing = os.path.join(self.tmp, "no-such-dir", "vae-train")
        done = run_report(self.results, os.path.join(self.tmp, "o1", "REPORT.md"), missing, self.published)
        self.assertEqual(done.returncode, 2, done.stdout + done.stderr)
        self.assertIn(missing, done.stderr)
        self.assertIn("make release", done.stderr)
        self.assertNotIn("Traceback", done.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "o1", "REPORT.md")))

    def test_failing_binary_is_a_clear_error(self):
        broken = os.path.join(self.tmp, "vae-train-old")
        write_fake_vae_train(broken, exit_status=64)
        done = run_report(self.results, os.path.join(self.tmp, "o2", "REPORT.md"), broken, self.published)
        self.assertEqual(done.returncode, 2, done.stdout + done.stderr)
        self.assertIn("estimators --json", done.stderr)
        self.assertIn("make release", done.stderr)
        self.assertNotIn("Traceback", done.stderr)

    def test_missing_data_file_is_a_clear_error(self):
        missing = os.path.join(self.tmp, "nowhere", "published.json")
        done = run_report(self.results, os.path.join(self.tmp, "o3", "REPORT.md"), self.vae_train, missing)
        self.assertEqual(done.returncode, 2, done.stdout + done.stderr)
        self.assertIn(missing, done.stderr)
        self.assertIn("not found", done.stderr)
        self.assertNotIn("Traceback", done.stderr)

    def test_malformed_data_file_is_a_clear_error(self):
        bad_json = os.path.join(self.tmp, "bad.json")
        with open(bad_json, "w") as f:
            f.write('{"paper_names": ')
        done = run_report(self.results, os.path.join(self.tmp, "o4", "REPORT.md"), self.vae_train, bad_json)
        self.assertEqual(done.returncode, 2, done.stdout + done.stderr)
        self.assertIn(bad_json, done.stderr)
        self.assertIn("not valid JSON", done.stderr)
        # Valid JSON with a table row of the wrong length, and a table without its source.
        with open(PUBLISHED) as f:
            data = json.load(f)
        data["reinmax_table"]["train"]["ST"] = data["reinmax_table"]["train"]["ST"][:-1]
        short_row = os.path.join(self.tmp, "short_row.json")
        with open(short_row, "w") as f:
            json.dump(data, f)
        done = run_report(self.results, os.path.join(self.tmp, "o5", "REPORT.md"), self.vae_train, short_row)
        self.assertEqual(done.returncode, 2, done.stdout + done.stderr)
        self.assertIn(short_row, done.stderr)
        self.assertIn("reinmax_table.train.ST", done.stderr)
        with open(PUBLISHED) as f:
            data = json.load(f)
        del data["relax_binary_train"]["source"]
        no_source = os.path.join(self.tmp, "no_source.json")
        with open(no_source, "w") as f:
            json.dump(data, f)
        done = run_report(self.results, os.path.join(self.tmp, "o6", "REPORT.md"), self.vae_train, no_source)
        self.assertEqual(done.returncode, 2, done.stdout + done.stderr)
        self.assertIn("relax_binary_train", done.stderr)
        self.assertIn("source", done.stderr)


class PublishedFileTest(unittest.TestCase):
    """The shipped scripts/published.json itself."""

    def test_every_table_names_its_source(self):
        from report.reference import load_published
        pub = load_published(PUBLISHED)
        self.assertEqual(pub.shapes, ["8×4", "4×24", "8×16", "16×12", "64×8", "10×30"])
        self.assertEqual(pub.train["ReinMax"][0], (125.08, 0.20))
        self.assertEqual(pub.binary_train[("MNIST", "linear one-layer")]["RELAX"], 111.20)  # ELBO −111.20 flipped
        with open(PUBLISHED) as f:
            data = json.load(f)
        for key, table in data.items():
            if isinstance(table, dict):
                self.assertTrue(table.get("source"), f"{key} has no source")


class PlotLimitsTest(unittest.TestCase):
    """fit_ylim: every plotted value inside the frame, or the cut series named."""

    def setUp(self):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from report import plots
        self.plt, self.plots = plt, plots
        self.fig, self.ax = plt.subplots()

    def tearDown(self):
        self.plt.close(self.fig)

    def test_all_values_inside(self):
        series = [("a", [100, 120, 140]), ("b", [101, 125, 150]), ("c", [99, 110, 130])]
        self.assertEqual(self.plots.fit_ylim(self.ax, series), [])
        lo, hi = self.ax.get_ylim()
        self.assertLess(lo, 99)
        self.assertGreater(hi, 150)

    def test_diverging_series_is_cut_and_named(self):
        series = [("a", [100, 101, 102]), ("b", [100.5, 101.5, 102.5]), ("c", [100, 101, 100.8]),
                  ("diverged", [101, 180, 400])]
        cut = self.plots.fit_ylim(self.ax, series)
        self.assertEqual([label for label, _ in cut], ["diverged"])
        lo, hi = self.ax.get_ylim()
        self.assertGreater(hi, 102.5)
        self.assertLess(hi, 110)
        self.assertIn("diverged up to 400", self.plots.cut_note(cut))

    def test_log_axis_ignores_non_positive(self):
        self.ax.set_yscale("log")
        self.plots.fit_ylim(self.ax, [("a", [0.0, 1e-3, 1e-1]), ("b", [1e-2, 1e-2])], log=True)
        lo, hi = self.ax.get_ylim()
        self.assertTrue(0 < lo < 1e-3 and hi > 1e-1)


if __name__ == "__main__":
    unittest.main()
