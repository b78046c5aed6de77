#!/usr/bin/env python3
"""Builds results/REPORT.md and results/plots/*.png from the CSV files under results/ (`make report`).

Reads what a user has on disk, never trains:
  - VAE sweeps: every `summary.csv` written by vae-train (columns run_index, run_id, status, ...), each
    run's `config.json` (the resolved config) and `metrics.csv`; also run folders that no summary lists.
  - gradient diagnostics: every `analysis.csv` (`vae-train analyze`).
  - toys: `results/poly/{table,curves}.csv` (`vae-train poly`) and `results/toy/{summary,curves,
    relax_control_variate}.csv` (`vae-train toy`).
  - full-protocol runs (issue 10): every run folder under `results/protocol/` (config.json + metrics.csv), reported
    in their own "Full protocol" part; the numbered sections after it cover the short runs only.
Sections whose data is missing say so in the report instead of failing.

Only the standard library, numpy and matplotlib (Debian's python3-matplotlib; run with /usr/bin/python3
if the `python3` on PATH is another installation). Usage:
    /usr/bin/python3 scripts/report.py [--results results] [--out results/REPORT.md]
"""
import argparse
import csv
import json
import math
import os
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.ticker  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

# MARK: - Published numbers
# Copied from ../shared/reference/estimators.md (that folder is not part of this repository).
# §6.1: MNIST-VAE, ReinMax protocol, epoch 160, mean ± s.e. over 10 seeds (pstdev/√n), recomputed by
# the reference from Wang & Bui's per-epoch result files (DiscreteNumericalMethodsASC @ 62697d1).
# Column labels are the papers' "C×L" = classes × variables (8×4: 4 variables with 8 classes).
PUBLISHED_SHAPES = ["8×4", "4×24", "8×16", "16×12", "64×8", "10×30"]
PUBLISHED_TRAIN = {  # method -> shape -> (mean, s.e.)
    "ST": [(136.40, 0.41), (112.21, 0.19), (113.32, 0.09), (113.31, 0.08), (113.97, 0.07), (136.73, 0.40)],
    "ST-GS": [(127.59, 0.23), (101.49, 0.09), (99.20, 0.14), (100.42, 0.15), (103.87, 0.13), (99.80, 0.11)],
    "GR-MC100": [(125.65, 0.14), (100.14, 0.12), (99.63, 0.23), (109.72, 6.83), (112.48, 0.18), (102.28, 0.19)],
    "GST-1.0": [(128.31, 0.21), (101.64, 0.11), (98.31, 0.16), (98.37, 0.17), (102.41, 0.16), (98.66, 0.14)],
    "ReinMax": [(125.08, 0.20), (99.88, 0.08), (97.80, 0.09), (97.98, 0.13), (101.09, 0.11), (98.50, 0.13)],
    "ReinMax-Rao": [(125.31, 0.28), (100.41, 0.12), (98.03, 0.14), (97.62, 0.09), (100.24, 0.16), (98.61, 0.16)],
}
PUBLISHED_TEST = {  # §6.1 "Test −ELBO (same runs)": means only
    "ST": [137.01, 113.63, 114.81, 114.46, 115.45, 136.45],
    "ST-GS": [128.72, 103.80, 101.37, 102.71, 106.03, 101.74],
    "GR-MC100": [127.62, 102.88, 102.07, 111.28, 113.71, 103.97],
    "GST-1.0": [129.15, 104.04, 101.27, 101.67, 105.34, 100.77],
    "ReinMax": [127.27, 102.26, 100.73, 100.86, 103.35, 100.80],
    "ReinMax-Rao": [126.60, 103.31, 100.74, 100.32, 102.76, 101.01],
}
PUBLISHED_NOTES = (
    "ST 10×30 used lr 7e-3 (likely a typo for 7e-4); GR-MC100 8×16 and 16×12 have n = 5 seeds; "
    "ReinMax-Rao is the best grid point per column; ReinMax-CV has no verified numbers (§6.1)."
)
# §6.2: RELAX paper, binary VAEs with 200 Bernoulli latents, highest *training* ELBO (higher is better),
# 2,000,000 iterations of batch 24. Stored here as −ELBO so it lines up with our tables.
PUBLISHED_BINARY = {  # (dataset, model) -> method -> −ELBO
    ("MNIST", "Nonlinear"): {"Concrete": 102.2, "NVIL": 101.5, "MuProp": 101.1, "REBAR": 81.01, "RELAX": 78.13},
    ("MNIST", "linear one-layer"): {"Concrete": 111.3, "NVIL": 112.5, "MuProp": 111.7, "REBAR": 111.6, "RELAX": 111.20},
    ("MNIST", "linear two-layer"): {"Concrete": 99.62, "NVIL": 99.6, "MuProp": 99.07, "REBAR": 98.22, "RELAX": 98.00},
    ("Omniglot", "Nonlinear"): {"Concrete": 110.4, "NVIL": 109.58, "MuProp": 108.72, "REBAR": 56.76, "RELAX": 56.12},
    ("Omniglot", "linear one-layer"): {"Concrete": 117.23, "NVIL": 117.44, "MuProp": 117.09, "REBAR": 116.63, "RELAX": 116.57},
    ("Omniglot", "linear two-layer"): {"Concrete": 109.95, "NVIL": 109.98, "MuProp": 109.55, "REBAR": 108.71, "RELAX": 108.54},
}
# §6.2: RELAX paper, highest *validation* ELBO (REBAR / RELAX only), as −ELBO. The nonlinear RELAX entry
# is printed without its sign in the source ("119.19"); it is read as −119.19 like its neighbours.
PUBLISHED_BINARY_VALID = {
    ("MNIST", "linear one-layer"): {"REBAR": 114.32, "RELAX": 113.62},
    ("MNIST", "linear two-layer"): {"REBAR": 101.20, "RELAX": 100.85},
    ("MNIST", "Nonlinear"): {"REBAR": 111.12, "RELAX": 119.19},
}
# §5.2: polynomial programming optimum 0.45^p (the paper's own numbers are [UNVERIFIED] there).
# §5.4: the REBAR/RELAX toy E[(b − t)²] has its optimum at θ = 0, loss t²; the paper shows curves only.

# Our registry names -> the papers' row labels.
PAPER_NAME = {
    "st": "ST", "st-gs": "ST-GS", "gr-mc": "GR-MC100", "gst": "GST-1.0", "reinmax": "ReinMax",
    "reinmax-rao": "ReinMax-Rao", "reinmax-cv": "ReinMax-CV", "gs": "Concrete", "nvil": "NVIL",
    "muprop": "MuProp", "rebar": "REBAR", "relax": "RELAX",
}
ESTIMATOR_ORDER = ["st", "st-gs", "gs", "gr-mc", "gst", "reinmax", "reinmax-rao", "reinmax-cv", "reinmax-rk",
                   "reinforce", "nvil", "rloo", "vimco", "muprop", "rebar", "relax", "arm", "disarm"]
TIMING = {"elapsed_seconds", "epoch_seconds", "examples_per_sec"}
# Colour and dash per line, so overlapping curves of many estimators stay tellable apart.
STYLES = [{"color": c, "ls": ("-", "--", "-.")[i % 3], "lw": 1.4} for i, c in enumerate(plt.get_cmap("tab10").colors)]


def order_key(name):
    return (ESTIMATOR_ORDER.index(name) if name in ESTIMATOR_ORDER else len(ESTIMATOR_ORDER), name)


# MARK: - Reading

def read_csv(path):
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except OSError:
        return None


def num(value):
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def mean_se(values):
    """Mean and standard error pstdev/√n (what the reference's numbers use)."""
    v = [x for x in values if x is not None]
    if not v:
        return None, None, 0
    m = sum(v) / len(v)
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / len(v))
    return m, sd / math.sqrt(len(v)), len(v)


def walk_files(root, name):
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d != "plots" and not d.startswith("."))
        if name in files:
            found.append(os.path.join(directory, name))
    return sorted(found)


class Run:
    """One training run: its resolved config, final metrics and per-epoch metrics path."""

    def __init__(self, directory, root, row=None, sweep=None):
        self.directory = directory
        self.sweep = sweep or os.path.relpath(os.path.dirname(directory), root)
        self.metrics_path = os.path.join(directory, "metrics.csv")
        try:
            with open(os.path.join(directory, "config.json")) as f:
                self.config = json.load(f)
        except (OSError, ValueError):
            self.config = {}
        cfg = self.config
        latent = cfg.get("latent", {})
        metrics = read_csv(self.metrics_path) or []
        last = metrics[-1] if metrics else {}
        row = row or {}
        self.estimator = row.get("estimator") or cfg.get("estimator", {}).get("name", "?")
        self.family = latent.get("family") or ("bernoulli" if "bernoulli" in row.get("latent", "") else "categorical")
        self.variables = latent.get("variables")
        self.classes = latent.get("classes")
        if self.variables is None and "x" in row.get("latent", ""):
            self.classes, self.variables = (int(x) for x in row["latent"].split("x"))  # vae-train writes C×L
        self.seed = row.get("seed") or cfg.get("training", {}).get("seed")
        self.epochs = int(num(row.get("epochs")) or cfg.get("training", {}).get("epochs") or 0)
        self.epochs_done = int(num(row.get("epochs_done")) or num(last.get("epoch")) or 0)
        self.steps_done = int(num(last.get("step")) or 0)
        self.status = row.get("status") or ("missing" if not self.epochs_done else
                                            "finished" if self.epochs_done >= self.epochs else "incomplete")
        self.train_loss = num(row.get("train_loss", last.get("train_loss")))
        self.eval_loss = num(row.get("eval_loss", last.get("eval_loss")))
        data = cfg.get("data", {})
        self.dataset = data.get("dataset", "mnist")
        self.full_data = data.get("train_limit") is None and data.get("test_limit") is None
        self.model_type = cfg.get("model", {}).get("type", "mlp")
        self.temperature = cfg.get("estimator", {}).get("temperature")

    @property
    def shape(self):
        """The papers' C×L label (classes × variables) for categorical runs, 'N bernoulli' otherwise."""
        if self.family == "bernoulli":
            return f"{self.variables} bernoulli"
        return f"{self.classes}×{self.variables}"

    def setting(self, drop=("training.seed",)):
        """Everything that defines the run except the dropped keys, outputs and provenance (a group key)."""
        flat = {}

        def visit(prefix, value):
            if isinstance(value, dict):
                for k, v in value.items():
                    visit(f"{prefix}.{k}" if prefix else k, v)
            else:
                flat[prefix] = json.dumps(value, sort_keys=True)
        visit("", {k: v for k, v in self.config.items() if k not in ("output", "provenance", "name")})
        return tuple(sorted((k, v) for k, v in flat.items() if k not in drop))


def load_runs(root):
    runs, seen, sweeps = [], set(), []
    for path in walk_files(root, "summary.csv"):
        rows = read_csv(path) or []
        if not rows or "run_id" not in rows[0] or "status" not in rows[0]:
            continue  # e.g. results/toy/summary.csv, a different format
        base = os.path.dirname(path)
        sweeps.append((os.path.relpath(base, root), rows))
        for row in rows:
            directory = os.path.realpath(os.path.join(base, row["run_id"]))
            seen.add(directory)
            runs.append(Run(directory, root, row, sweep=os.path.relpath(base, root)))
    # Run folders no summary lists (a single run trained without a sweep summary, say).
    for path in walk_files(root, "metrics.csv"):
        directory = os.path.realpath(os.path.dirname(path))
        if directory not in seen and os.path.exists(os.path.join(directory, "config.json")):
            runs.append(Run(directory, root))
            seen.add(directory)
    return runs, sweeps


class Group:
    """Runs of one setting that differ only in the seed."""

    def __init__(self, runs):
        self.runs = sorted(runs, key=lambda r: str(r.seed))
        first = runs[0]
        self.estimator, self.shape, self.family = first.estimator, first.shape, first.family
        self.epochs = first.epochs
        self.full_data = first.full_data
        self.train = mean_se([r.train_loss for r in runs])
        self.eval = mean_se([r.eval_loss for r in runs])
        self.steps = max(r.steps_done for r in runs)
        self.config = first.config


def finished_groups(runs, keep):
    groups = defaultdict(list)
    for r in runs:
        if r.status == "finished" and r.train_loss is not None and keep(r):
            groups[r.setting()].append(r)
    return [Group(g) for g in groups.values()]


def pick_best(groups):
    """Per (estimator, shape): full data first, then the most epochs, then the lowest mean train loss
    (a hyperparameter choice on training loss, as the reference did for ReinMax-Rao)."""
    cells = defaultdict(list)
    for g in groups:
        cells[(g.estimator, g.shape)].append(g)
    best = {}
    for key, options in cells.items():
        options.sort(key=lambda g: (not g.full_data, -g.epochs, g.train[0]))
        best[key] = (options[0], len(options))
    return best


# MARK: - Formatting

def fmt(m, se=None, digits=2):
    if m is None:
        return "—"
    return f"{m:.{digits}f}" if se is None else f"{m:.{digits}f} ± {se:.{digits}f}"


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def shape_key(s):
    return (0, PUBLISHED_SHAPES.index(s), s) if s in PUBLISHED_SHAPES else (1, 0, s)


def shape_order(shapes):
    return sorted(shapes, key=shape_key)


def describe_config(cfg):
    e = cfg.get("estimator", {})
    t = cfg.get("training", {})
    opts = ", ".join(f"{k}={v}" for k, v in sorted(e.items()) if k != "name")
    return f"{t.get('optimizer', '?')} lr {t.get('learning_rate', '?')}" + (f", {opts}" if opts else "")


# MARK: - Report sections

class Report:
    def __init__(self, root, plots):
        self.root, self.plots = root, plots
        self.lines = []
        self.images = []

    def add(self, *text):
        self.lines.extend(text)

    def save(self, fig, name, caption):
        os.makedirs(self.plots, exist_ok=True)
        path = os.path.join(self.plots, name)
        fig.savefig(path, dpi=110, bbox_inches="tight")
        plt.close(fig)
        rel = os.path.relpath(path, os.path.dirname(os.path.join(self.root, "REPORT.md")))
        self.add(f"![{caption}]({rel})", "")
        self.images.append(name)


def categorical_section(rep, runs):
    rep.add("## 1. Categorical MNIST-VAE (ReinMax protocol, §6.1): short runs", "")
    protocol = lambda r: r.family == "categorical" and r.dataset == "mnist"  # noqa: E731
    groups = finished_groups(runs, protocol)
    if not groups:
        rep.add("**Not run yet**: no finished categorical MNIST runs under `results/`. "
                "A sweep over `estimator.name` × `latent.shape` × `training.seed` fills this table.", "")
        return {}
    best = pick_best(groups)
    estimators = sorted({e for e, _ in best}, key=order_key)
    shapes = shape_order({s for _, s in best})
    reduced = [g for g, _ in best.values() if not g.full_data]
    rep.add(
        "Rows are estimators, columns latent shapes in the papers' **C×L** notation (classes × variables: "
        "8×4 is 4 variables with 8 classes, written `latent.shape = \"8x4\"` in vae-train too). "
        "Entries: final-epoch value, mean ± standard error (pstdev/√n) over seeds; **bold** is the best "
        "mean per column. Where several settings of one estimator exist for a shape, the one shown has the "
        "most data and epochs, then the lowest mean training loss.", "")
    if reduced:
        rep.add(f"⚠ {len(reduced)} cell(s) use a data subset (`data.train_limit`/`test_limit`); "
                "they are not comparable with the published numbers.", "")
    for label, index, published in (("Train −ELBO", 0, PUBLISHED_TRAIN), ("Test −ELBO", 1, PUBLISHED_TEST)):
        stat = (lambda g: g.train) if index == 0 else (lambda g: g.eval)
        rep.add(f"### {label} (lower is better)", "")
        best_in_column = {}
        for s in shapes:
            values = [(stat(best[(e, s)][0])[0], e) for e in estimators if (e, s) in best and stat(best[(e, s)][0])[0] is not None]
            if values:
                best_in_column[s] = min(values)[1]
        rows = []
        for e in estimators:
            row = [f"`{e}`"]
            for s in shapes:
                if (e, s) not in best:
                    row.append("")
                    continue
                g, _ = best[(e, s)]
                m, se, n = stat(g)
                cell = fmt(m, se) + (f" (n={n})" if n != 10 else "")
                row.append(f"**{cell}**" if best_in_column.get(s) == e else cell)
            rows.append(row)
        rep.add(md_table(["estimator"] + shapes, rows), "")
        # Published numbers and the difference, for the rows and columns both have.
        pub_rows, diff_rows = [], []
        for e in estimators:
            name = PAPER_NAME.get(e)
            if name not in published:
                continue
            prow, drow = [name], [name]
            for s in shapes:
                if s not in PUBLISHED_SHAPES:
                    prow.append("")
                    drow.append("")
                    continue
                p = published[name][PUBLISHED_SHAPES.index(s)]
                pm, pse = p if isinstance(p, tuple) else (p, None)
                prow.append(fmt(pm, pse))
                ours = stat(best[(e, s)][0])[0] if (e, s) in best else None
                drow.append(f"{ours - pm:+.2f}" if ours is not None else "")
            pub_rows.append(prow)
            diff_rows.append(drow)
        if pub_rows:
            rep.add(f"Published ({'mean ± s.e.' if index == 0 else 'means'}, 160 epochs, 10 seeds, tuned "
                    "hyperparameters; estimators.md §6.1):", "",
                    md_table(["method"] + shapes, pub_rows), "",
                    "Difference, ours − published (positive = worse than published):", "",
                    md_table(["method"] + shapes, diff_rows), "")
        else:
            rep.add("No published numbers for these estimators (§6.1 covers ST, ST-GS, GR-MC100, GST-1.0, "
                    "ReinMax, ReinMax-Rao).", "")
    rep.add(f"Published-number notes: {PUBLISHED_NOTES}", "")
    # What was actually run.
    rows = []
    for (e, s), (g, options) in sorted(best.items(), key=lambda kv: (order_key(kv[0][0]), shape_key(kv[0][1]))):
        rows.append([f"`{e}`", s, g.epochs, g.steps, len(g.runs), "full" if g.full_data else "subset",
                     describe_config(g.config), options])
    rep.add("### Epochs and steps actually run", "",
            "The published protocol is 160 epochs × 600 steps (96,000 steps), 10 seeds.", "",
            md_table(["estimator", "shape", "epochs", "steps", "seeds", "data", "setting", "settings compared"], rows), "")
    return best


def claim_section(rep, best):
    rep.add("## 2. The seed paper's claim: low-variance ReinMax variants gain as the latent space grows "
            "(short runs)", "")
    rep.add("\"Beyond ReinMax\" (Wang & Bui) says ReinMax-Rao / ReinMax-CV beat ReinMax on large latent spaces "
            "while ReinMax holds on small ones. Measured gap = variant − ReinMax in final train −ELBO "
            "(negative = the variant is better), ± its standard error (paired over seeds when both have the same seeds); "
            "published gap from §6.1.", "")
    rows = []
    for variant in ("reinmax-rao", "reinmax-cv"):
        for s in shape_order({s for _, s in best}):
            if ("reinmax", s) not in best or (variant, s) not in best:
                continue
            a, b = best[(variant, s)][0], best[("reinmax", s)][0]
            seeds_a = {str(r.seed): r.train_loss for r in a.runs}
            seeds_b = {str(r.seed): r.train_loss for r in b.runs}
            if set(seeds_a) == set(seeds_b) and len(seeds_a) > 1:
                # Same seeds: same initialisation and data order, so the per-seed differences are paired.
                gap, se, _ = mean_se([seeds_a[k] - seeds_b[k] for k in seeds_a])
                how = "paired"
            else:
                gap = a.train[0] - b.train[0]
                se = math.sqrt((a.train[1] or 0) ** 2 + (b.train[1] or 0) ** 2)
                how = "unpaired"
            pub = ""
            if variant == "reinmax-rao" and s in PUBLISHED_SHAPES:
                i = PUBLISHED_SHAPES.index(s)
                pub = f"{PUBLISHED_TRAIN['ReinMax-Rao'][i][0] - PUBLISHED_TRAIN['ReinMax'][i][0]:+.2f}"
            verdict = "variant better" if gap < -2 * se else "ReinMax better" if gap > 2 * se else "within 2 s.e."
            rows.append([PAPER_NAME[variant], s, f"{gap:+.2f} ± {se:.2f} ({how}, n={len(a.runs)})", verdict, pub,
                         f"{a.epochs} / {b.epochs}", "full" if a.full_data and b.full_data else "subset"])
    if rows:
        rep.add(md_table(["variant", "shape", "measured gap", "reading", "published gap", "epochs (variant / ReinMax)", "data"], rows), "")
        if any(r[5] != "160 / 160" or r[6] != "full" for r in rows):
            rep.add("Runs shorter than the published 160 epochs test the claim at a reduced budget only.", "")
    else:
        rep.add("**Not run yet**: this needs finished `reinmax` runs and `reinmax-rao` or `reinmax-cv` runs on the "
                "same shapes (8×4, 64×8, 10×30 at least).", "")
    rep.add("Published gaps (ReinMax-Rao − ReinMax, train): " + ", ".join(
        f"{s} {PUBLISHED_TRAIN['ReinMax-Rao'][i][0] - PUBLISHED_TRAIN['ReinMax'][i][0]:+.2f}"
        for i, s in enumerate(PUBLISHED_SHAPES)) + ".", "")


def binary_section(rep, runs):
    rep.add("## 3. Binary VAE (200 Bernoulli latents; RELAX paper table, §6.2): short runs", "")
    groups = finished_groups(runs, lambda r: r.family == "bernoulli")
    if not groups:
        rep.add("**Not run yet**: no finished Bernoulli-latent runs under `results/`.", "")
        rep.add("Published training −ELBO (RELAX paper, 2M iterations, batch 24; best training ELBO):", "")
        rows = [[f"{d} {m}"] + [fmt(v[k]) for k in ("Concrete", "NVIL", "MuProp", "REBAR", "RELAX")]
                for (d, m), v in PUBLISHED_BINARY.items()]
        rep.add(md_table(["setting", "Concrete", "NVIL", "MuProp", "REBAR", "RELAX"], rows), "")
        return
    def column(g):
        data = g.config.get("data", {}).get("dataset", "mnist")
        dataset = "Omniglot" if "omniglot" in data else "MNIST" if "mnist" in data and "fashion" not in data else data
        kind = "linear one-layer" if g.config.get("model", {}).get("type") == "linear" else "Nonlinear"
        return (dataset, kind, g.shape)
    cells = defaultdict(list)
    for g in groups:
        cells[(g.estimator, column(g))].append(g)
    for options in cells.values():
        options.sort(key=lambda g: (not g.full_data, -g.epochs, g.train[0]))
    columns = sorted({c for _, c in cells})
    estimators = sorted({e for e, _ in cells}, key=order_key)
    rep.add("Final-epoch training −ELBO, mean ± s.e. over seeds (lower is better); in brackets the published "
            "value (RELAX paper, best training ELBO over 2M iterations, sign flipped) and ours − published.", "")
    rows = []
    for e in estimators:
        row = [f"`{e}`"]
        for c in columns:
            if (e, c) not in cells:
                row.append("")
                continue
            g = cells[(e, c)][0]
            cell = fmt(*g.train[:2]) + f" (n={g.train[2]})"
            pub = PUBLISHED_BINARY.get(c[:2], {}).get(PAPER_NAME.get(e, ""))
            if pub is not None and g.train[0] is not None:
                cell += f" [pub {pub:.2f}, {g.train[0] - pub:+.2f}]"
            row.append(cell)
        rows.append(row)
    rep.add(md_table(["estimator"] + [f"{d} {k} ({s})" for d, k, s in columns], rows), "")
    rep.add("Final-epoch validation −ELBO (the runs' evaluation split; one stochastic pass), in brackets the "
            "published highest validation value where the RELAX paper gives one (REBAR and RELAX only):", "")
    rows = []
    for e in estimators:
        row = [f"`{e}`"]
        for c in columns:
            g = cells[(e, c)][0] if (e, c) in cells else None
            if g is None or g.eval[0] is None:
                row.append("")
                continue
            cell = fmt(*g.eval[:2]) + f" (n={g.eval[2]})"
            pub = PUBLISHED_BINARY_VALID.get(c[:2], {}).get(PAPER_NAME.get(e, ""))
            if pub is not None:
                cell += f" [pub {pub:.2f}, {g.eval[0] - pub:+.2f}]"
            row.append(cell)
        rows.append(row)
    rep.add(md_table(["estimator"] + [f"{d} {k} ({s})" for d, k, s in columns], rows), "")
    rows = [[f"`{e}`", f"{c[0]} {c[1]}", g.epochs, g.steps, len(g.runs), "full" if g.full_data else "subset",
             describe_config(g.config)] for (e, c), opts in sorted(cells.items(), key=lambda kv: order_key(kv[0][0]))
            for g in opts[:1]]
    rep.add("Epochs and steps actually run (published: 2,000,000 steps):", "",
            md_table(["estimator", "setting", "epochs", "steps", "seeds", "data", "hyperparameters"], rows), "")


# MARK: - Full protocol (issue 10)
# The runs under results/protocol/, written by `vae-train ... --set output.directory=results/protocol --resume` while
# they train: reinmax_table_<estimator>_<shape>/<run>/ (a sweep folder per config, a run folder per seed or swept
# option) and binary_vae_linear_<estimator>/run/. Everything is read from each run's config.json and metrics.csv,
# never from folder names. A run counts only when its metrics.csv reaches the config's epoch count.
PROTOCOL_DIR = "protocol"
PROTOCOL_EPOCHS = 160  # ReinMax protocol: 160 epochs × 600 steps of batch 100
# What issue 10 plans: (estimator, options that name the cell, shape, seeds). Cells not started are listed as missing.
PROTOCOL_PLAN = [
    ("st", {}, "4×24", [0]), ("st-gs", {}, "4×24", [0]), ("gs", {}, "4×24", [0]), ("gr-mc", {}, "4×24", [0]),
    ("gst", {}, "4×24", [0]), ("reinmax", {}, "4×24", [0, 1, 2]), ("reinmax-rao", {}, "4×24", [0, 1, 2]),
    ("reinmax-cv", {}, "4×24", [0, 1, 2]), ("reinmax-rk", {"alpha": 0.5}, "4×24", [0]),
    ("reinmax-rk", {"alpha": 0.6667}, "4×24", [0]),
    ("reinmax", {}, "8×4", [0, 1, 2]), ("reinmax-rao", {}, "8×4", [0, 1, 2]), ("reinmax-cv", {}, "8×4", [0, 1, 2]),
    ("reinmax", {}, "64×8", [0, 1, 2]), ("reinmax-rao", {}, "64×8", [0, 1, 2]),
    ("reinmax-cv", {}, "64×8", [0, 1, 2]),
]
PROTOCOL_SHAPES = ["4×24", "8×4", "64×8"]  # table order: the 4×24 column first, then the claim's shapes
# The claim: ReinMax-Rao / ReinMax-CV gain over ReinMax as the latent space grows. 4×24 and 64×8 both have
# 2^48 codes, 8×4 has 2^12; the verdict is read at the larger two, 8×4 is shown beside them.
CLAIM_SHAPES = ["8×4", "4×24", "64×8"]
CLAIM_LARGE = ["4×24", "64×8"]
CLAIM_VARIANTS = ["reinmax-rao", "reinmax-cv"]
# Estimators the ReinMax table has no row for, and why.
NO_PUBLISHED = {
    "gs": "none (relaxed Gumbel-Softmax is not in the ReinMax table)",
    "reinmax-cv": "none (Wang & Bui committed no ReinMax-CV results)",
    "reinmax-rk": "none (the α family is not in any published table)",
}
BINARY_PLAN = ["st", "reinmax", "rebar", "relax"]
BINARY_PUBLISHED = ("MNIST", "linear one-layer")
BINARY_PUBLISHED_STEPS = 2_000_000


def mean_sample_se(values):
    """Mean, standard error with the sample standard deviation (sd with n − 1, over √n) and n; the s.e. is None
    for n = 1. Issue 10 asks for this one; the published §6.1 numbers use pstdev/√n (√(9/10) ≈ 0.95 of it
    at n = 10)."""
    v = [x for x in values if x is not None]
    if not v:
        return None, None, 0
    m = sum(v) / len(v)
    if len(v) < 2:
        return m, None, 1
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
    return m, sd / math.sqrt(len(v)), len(v)


def fmt_n(m, se, n, digits=2, sign=""):
    """`m ± se (n=k)`, or `m (n=1)` for a single run, or an em dash; sign="+" for differences."""
    if not n:
        return "—"
    return f"{m:{sign}.{digits}f} (n=1)" if n == 1 else f"{m:{sign}.{digits}f} ± {se:.{digits}f} (n={n})"


def option_text(value):
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


class ProtocolRun(Run):
    """A run under results/protocol/: a Run plus its rows by epoch and whether it reached its configured epochs."""

    def __init__(self, directory, root):
        super().__init__(directory, root)
        self.by_epoch = {}
        for row in read_csv(self.metrics_path) or []:
            epoch = num(row.get("epoch"))
            if epoch is not None:  # a line being written as we read has no epoch yet
                self.by_epoch[int(epoch)] = row
        self.epochs_done = max(self.by_epoch, default=0)
        self.steps_done = int(num(self.by_epoch.get(self.epochs_done, {}).get("step")) or 0)
        self.full = self.epochs > 0 and self.epochs_done >= self.epochs
        final = self.by_epoch.get(self.epochs, {}) if self.full else {}
        self.final_train, self.final_eval = num(final.get("train_loss")), num(final.get("eval_loss"))
        self.options = {k: v for k, v in self.config.get("estimator", {}).items() if k != "name"}
        self.folder = os.path.relpath(directory, root)

    @property
    def progress(self):
        if self.full:
            return "finished"
        if not self.epochs_done:
            return "started, no epoch logged yet"
        return f"in progress (epoch {self.epochs_done}/{self.epochs})"


class ProtocolCell:
    """One estimator (with the options that name it, e.g. reinmax-rk's alpha) on one shape: its planned seeds and
    the runs found for it."""

    def __init__(self, estimator, options, shape, planned=()):
        self.estimator, self.options, self.shape = estimator, options, shape  # options: ((key, text), ...)
        self.planned = list(planned)
        self.runs = []

    @property
    def name(self):
        return f"`{self.estimator}`" + (" (" + ", ".join(f"{k} = {v}" for k, v in self.options) + ")"
                                         if self.options else "")

    def finished(self):
        """The runs that reached 160 epochs, one per seed (the first folder wins if a seed was run twice)."""
        by_seed = {}
        for r in sorted(self.runs, key=lambda r: r.folder):
            if r.full and r.epochs >= PROTOCOL_EPOCHS and r.final_train is not None:
                by_seed.setdefault(r.seed, r)
        return [by_seed[s] for s in sorted(by_seed, key=str)]

    def pending(self):
        """Planned seeds without a finished run, as text: in progress (epoch k/160) or not started."""
        done = {r.seed for r in self.finished()}
        notes = []
        for r in sorted(self.runs, key=lambda r: str(r.seed)):
            if r.seed not in done:
                short = f", config has {r.epochs} epochs, not {PROTOCOL_EPOCHS}" if r.epochs < PROTOCOL_EPOCHS else ""
                notes.append(f"seed {r.seed}: {r.progress}{short}")
        started = {r.seed for r in self.runs}
        missing = [s for s in self.planned if s not in started]
        if missing:
            notes.append(f"seed{'s' if len(missing) > 1 else ''} {', '.join(str(s) for s in missing)}: not started")
        return "; ".join(notes)


def load_protocol(root):
    """The runs under <root>/protocol/: (categorical cells keyed (estimator, options, shape), binary-VAE runs)."""
    runs = [ProtocolRun(os.path.dirname(p), root) for p in walk_files(os.path.join(root, PROTOCOL_DIR), "config.json")]
    categorical = [r for r in runs if r.family == "categorical"]
    binary = [r for r in runs if r.family == "bernoulli"]
    # The options that name a cell: those the plan names, and any that differ between runs of one estimator and shape.
    naming = defaultdict(set)
    for e, opts, _, _ in PROTOCOL_PLAN:
        naming[e] |= set(opts)
    by_estimator_shape = defaultdict(list)
    for r in categorical:
        by_estimator_shape[(r.estimator, r.shape)].append(r)
    for (e, _), rs in by_estimator_shape.items():
        for k in set().union(*(r.options for r in rs)):
            if len({json.dumps(r.options.get(k)) for r in rs}) > 1:
                naming[e].add(k)

    def key(estimator, options, shape):
        return estimator, tuple((k, option_text(options.get(k))) for k in sorted(naming[estimator])), shape

    cells = {}
    for e, opts, s, seeds in PROTOCOL_PLAN:
        k = key(e, opts, s)
        cells[k] = ProtocolCell(*k, planned=seeds)
    for r in categorical:
        k = key(r.estimator, r.options, r.shape)
        cells.setdefault(k, ProtocolCell(*k)).runs.append(r)
    return cells, binary


def protocol_shape_key(shape):
    if shape in PROTOCOL_SHAPES:
        return PROTOCOL_SHAPES.index(shape), 0, shape
    return (len(PROTOCOL_SHAPES),) + shape_key(shape)[1:]


def published_cell(estimator, shape):
    """(paper name, (train mean, s.e.), test mean) from §6.1, or None where the paper has no such cell."""
    name = PAPER_NAME.get(estimator)
    if name not in PUBLISHED_TRAIN or shape not in PUBLISHED_SHAPES:
        return None
    i = PUBLISHED_SHAPES.index(shape)
    return name, PUBLISHED_TRAIN[name][i], PUBLISHED_TEST[name][i]


def protocol_categorical_section(rep, cells):
    rep.add("### P1. Categorical MNIST-VAE at the full ReinMax protocol (160 epochs; estimators.md §6.1)", "")
    finished = sum(len(c.finished()) for c in cells.values())
    planned = sum(len(c.planned) for c in cells.values())
    in_progress = sum(1 for c in cells.values() for r in c.runs if not r.full)
    rep.add(f"Runs finished: **{finished}** (of {planned} planned by issue 10); in progress: {in_progress}. "
            "Settings per cell from `configs/reinmax_table/` (full non-binarised MNIST, batch 100, 160 epochs × 600 "
            "steps). **Ours** is the training −ELBO of the 160th epoch row of `metrics.csv` (the running mean over "
            "that epoch, as the paper reports) and the test −ELBO (`eval_loss`) after it: mean ± s.e. over seeds, "
            "s.e. = sample sd/√n; a single seed shows its value and n=1. **Published** is Wang & Bui's recomputed "
            "mean ± s.e. over 10 seeds (pstdev/√10) at epoch 160; test means only. *Within ±1 nat* compares the "
            "training means. A run counts only once its `metrics.csv` reaches 160 epochs.", "")
    shapes = sorted({c.shape for c in cells.values()}, key=protocol_shape_key)
    misses, unpublished = [], set()
    for s in shapes:
        rows = []
        for c in sorted((c for c in cells.values() if c.shape == s), key=lambda c: (order_key(c.estimator), c.options)):
            done = c.finished()
            train = mean_sample_se([r.final_train for r in done])
            test = mean_sample_se([r.final_eval for r in done])
            pub = published_cell(c.estimator, s)
            seeds = f"{len(done)} / {len(c.planned)}" if c.planned else f"{len(done)} (not planned)"
            if pub:
                name, (pm, pse), ptest = pub
                diff = train[0] - pm if train[2] else None
                within = "" if diff is None else "yes" if abs(diff) <= 1 else "**no**"
                tdiff = test[0] - ptest if test[2] else None
                row = [fmt_n(*train), f"{fmt(pm, pse)} ({name})", "" if diff is None else f"{diff:+.2f}", within,
                       fmt_n(*test), fmt(ptest), "" if tdiff is None else f"{tdiff:+.2f}"]
                if diff is not None and abs(diff) > 1:
                    misses.append(f"{c.name} {s}: {diff:+.2f} nats (n={train[2]})")
            else:
                unpublished.add(c.estimator)
                row = [fmt_n(*train), "none", "", "", fmt_n(*test), "none", ""]
            rows.append([c.name, seeds] + row + [c.pending() or "—"])
        rep.add(f"#### {s} (C×L)", "",
                md_table(["estimator", "seeds finished / planned", "train −ELBO, ours", "train, published",
                          "ours − published", "within ±1 nat", "test −ELBO, ours", "test, published",
                          "ours − published (test)", "not yet counted"], rows), "")
    if unpublished:
        rep.add("No published numbers: " + "; ".join(
            f"`{e}`: {NO_PUBLISHED.get(e, 'none in §6.1')}" for e in sorted(unpublished, key=order_key)) + ".", "")
    if misses:
        rep.add("Cells whose training −ELBO misses the published mean by more than 1 nat (issue 10 asks for the "
                "cause of each): " + "; ".join(misses) + ".", "")
    elif finished:
        rep.add("Every finished cell with a published number is within 1 nat of it.", "")
    # Every run found, finished or not, with its setting and the commit that trained it.
    rows = []
    for c in sorted(cells.values(), key=lambda c: (protocol_shape_key(c.shape), order_key(c.estimator), c.options)):
        for r in sorted(c.runs, key=lambda r: str(r.seed)):
            rows.append([f"`{r.folder}`", c.name, c.shape, r.seed, r.progress, f"{r.epochs_done}/{r.epochs}",
                         f"{r.steps_done:,}", describe_config(r.config),
                         f"`{r.config.get('provenance', {}).get('git_commit', '?')}`"])
    if rows:
        rep.add("Runs found under `results/protocol/` (categorical):", "",
                md_table(["folder", "estimator", "shape", "seed", "status", "epochs", "steps", "setting", "commit"],
                         rows), "")
    rep.add(f"Published-number notes: {PUBLISHED_NOTES}", "")


def claim_verdict(readings):
    """The verdict over the larger shapes from their (mean, s.e., n) paired differences; see CLAIM_RULE."""
    large = [readings.get(s, (None, None, 0)) for s in CLAIM_LARGE]
    if any(n < 2 for _, _, n in large):
        return "inconclusive at this n"
    if any(m > 2 * se for m, se, _ in large):
        return "not reproduced"
    if all(m < -2 * se for m, se, _ in large):
        return "reproduced"
    return "inconclusive at this n"


CLAIM_RULE = (
    "Rule: per variant, over the larger latent spaces (" + " and ".join(CLAIM_LARGE) + ", 2^48 codes each; 8×4 has "
    "2^12 and is shown for context, it does not enter the verdict): **reproduced** if the mean paired difference "
    "(variant − ReinMax, final training −ELBO) is below −2 s.e. at every larger shape; **not reproduced** if it is "
    "above +2 s.e. at any larger shape (the variant is worse); otherwise, or if any larger shape has fewer than 2 "
    "paired seeds, **inconclusive at this n**. Pairs are runs with the same `training.seed` (same initialisation and "
    "data order); s.e. = sample sd of the differences/√n."
)


def protocol_claim_section(rep, cells):
    rep.add("### P2. The seed paper's claim: ReinMax-Rao and ReinMax-CV gain over ReinMax as the latent space grows", "")
    rep.add("\"Beyond ReinMax\" (Wang & Bui) reports that its low-variance variants beat ReinMax on large latent "
            "spaces. Entries are paired differences in final (epoch-160) training −ELBO, variant − ReinMax "
            "(negative = the variant is better), by seed, then their mean ± s.e.", "", CLAIM_RULE, "")

    def cell(estimator, shape):
        return cells.get((estimator, (), shape)) or next(
            (c for c in cells.values() if c.estimator == estimator and c.shape == shape), None)

    rows, verdicts = [], []
    for variant in CLAIM_VARIANTS:
        readings = {}
        for s in CLAIM_SHAPES:
            a, b = cell(variant, s), cell("reinmax", s)
            va = {r.seed: r.final_train for r in a.finished()} if a else {}
            vb = {r.seed: r.final_train for r in b.finished()} if b else {}
            seeds = sorted(set(va) & set(vb), key=str)
            diffs = [va[k] - vb[k] for k in seeds]
            m, se, n = mean_sample_se(diffs)
            readings[s] = (m, se, n)
            if n == 0:
                reading = "no pair yet"
            elif n < 2:
                reading = "inconclusive at this n"
            else:
                reading = ("variant better" if m < -2 * se else "ReinMax better" if m > 2 * se
                           else "no difference beyond 2 s.e.")
            pub = ""
            if PAPER_NAME[variant] in PUBLISHED_TRAIN and s in PUBLISHED_SHAPES:
                i = PUBLISHED_SHAPES.index(s)
                pub = f"{PUBLISHED_TRAIN[PAPER_NAME[variant]][i][0] - PUBLISHED_TRAIN['ReinMax'][i][0]:+.2f}"
            rows.append([f"{PAPER_NAME[variant]} − ReinMax", s,
                         ", ".join(f"seed {k}: {d:+.2f}" for k, d in zip(seeds, diffs)) or "—",
                         n, fmt_n(m, se, n, sign="+"), reading, pub or "none",
                         f"{len(va)} / {len(vb)}"])
        verdicts.append(f"**{PAPER_NAME[variant]}: {claim_verdict(readings)}**")
    rep.add(md_table(["difference", "shape", "by seed", "pairs", "mean ± s.e.", "reading at this shape",
                      "published gap (means, 10 seeds)", "finished runs (variant / ReinMax)"], rows), "")
    rep.add("Verdict: " + "; ".join(verdicts) + ".", "")
    rep.add("For comparison, the published means themselves show ReinMax-Rao ahead of ReinMax only at 64×8 among "
            "these shapes (and at 16×12), and behind it at 8×4 and 4×24 (see the published-gap column); there are no "
            "published ReinMax-CV numbers.", "")


def binary_curve(run):
    """(steps, training −ELBO) per epoch and (steps, validation −ELBO) at the epochs that evaluated."""
    rows = [run.by_epoch[k] for k in sorted(run.by_epoch)]
    train = [(num(r.get("step")), num(r.get("train_loss"))) for r in rows]
    valid = [(num(r.get("step")), num(r.get("eval_loss"))) for r in rows]
    return ([p for p in train if None not in p], [p for p in valid if None not in p])


def protocol_binary_section(rep, runs):
    rep.add("### P3. Binary VAE at length: REBAR vs RELAX (linear one-layer, 200 Bernoulli latents; estimators.md §6.2)", "")
    pub_train = PUBLISHED_BINARY[BINARY_PUBLISHED]
    pub_valid = PUBLISHED_BINARY_VALID.get(BINARY_PUBLISHED, {})
    rep.add("`configs/binary_vae_linear.json`: binarised MNIST (50,000 training, 10,000 validation images), batch 24, "
            "Adam, one run per estimator, planned 240 epochs × 2,084 steps ≈ 500,000 steps. Training −ELBO is the "
            "running mean over each epoch; validation −ELBO is evaluated every 10 epochs. **Published** is the RELAX "
            f"paper's MNIST linear one-layer row after **{BINARY_PUBLISHED_STEPS:,} steps** (4× our length): its "
            "highest training ELBO and highest validation ELBO, sign flipped. So our difference column compares our "
            "lowest epoch-mean training −ELBO, at a quarter of the published budget, with that best value. "
            "ST and ReinMax have no published row. Runs still training show their latest values.", "")
    estimators = BINARY_PLAN + sorted({r.estimator for r in runs} - set(BINARY_PLAN), key=order_key)
    rows = []
    for e in estimators:
        mine = sorted((r for r in runs if r.estimator == e), key=lambda r: str(r.seed))
        pt, pv = pub_train.get(PAPER_NAME.get(e, "")), pub_valid.get(PAPER_NAME.get(e, ""))
        if not mine:
            rows.append([f"`{e}`", "—", "not started", "", "", "", fmt(pt) if pt else "none", "", "",
                         fmt(pv) if pv else "none", ""])
            continue
        for r in mine:
            train, valid = binary_curve(r)
            last = train[-1][1] if train else None
            low = min(train, key=lambda p: p[1]) if train else None
            best = min(valid, key=lambda p: p[1]) if valid else None
            rows.append([f"`{e}`", r.seed, r.progress, f"{r.steps_done:,}", fmt(last),
                         f"{low[1]:.2f} (step {int(low[0]):,})" if low else "—", fmt(pt) if pt else "none",
                         f"{low[1] - pt:+.2f}" if low and pt else "",
                         f"{best[1]:.2f} (step {int(best[0]):,})" if best else "— (none yet)",
                         fmt(pv) if pv else "none", f"{best[1] - pv:+.2f}" if best and pv else ""])
    rep.add(md_table(["estimator", "seed", "status", "steps", "final train −ELBO", "lowest train −ELBO",
                      f"published train ({BINARY_PUBLISHED_STEPS // 1_000_000}M steps)", "lowest − published",
                      "best validation −ELBO", f"published validation ({BINARY_PUBLISHED_STEPS // 1_000_000}M steps)",
                      "best − published (validation)"], rows), "")
    if runs:
        protocol_binary_plot(rep, runs, pub_train, pub_valid)


def protocol_binary_plot(rep, runs, pub_train, pub_valid):
    fig, axes = plt.subplots(1, 3, figsize=(16.5, 4.6))
    estimators = BINARY_PLAN + sorted({r.estimator for r in runs} - set(BINARY_PLAN), key=order_key)
    curves = []
    for r in sorted(runs, key=lambda r: (estimators.index(r.estimator), str(r.seed))):
        train, valid = binary_curve(r)
        label = r.estimator + ("" if len([x for x in runs if x.estimator == r.estimator]) == 1 else f" seed {r.seed}")
        label += "" if r.full else f" (in progress, {r.steps_done:,} steps)"
        curves.append((STYLES[estimators.index(r.estimator) % len(STYLES)], label, train, valid))
    last = max((p[0] for _, _, t, _ in curves for p in t), default=1)
    published = [(e, pub_train.get(PAPER_NAME[e]), pub_valid.get(PAPER_NAME[e])) for e in estimators
                 if PAPER_NAME.get(e) in pub_train]
    panels = [
        (axes[0], "training −ELBO (epoch mean), all steps", lambda t, v: t, 1),
        (axes[1], f"training −ELBO from step {int(last) // 2:,} (zoom, ours only)",
         lambda t, v: [p for p in t if p[0] >= last / 2], 0),
        (axes[2], "validation −ELBO (every 10 epochs)", lambda t, v: v, 2),
    ]
    for ax, title, pick, which in panels:
        ys = []
        for style, label, train, valid in curves:
            pts = pick(train, valid)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label,
                        marker="o" if which == 2 else None, ms=3, **style)
                ys += [p[1] for p in pts]
        for e, pt, pv in published:  # the published value as a dotted level in the estimator's colour
            y = pt if which == 1 else pv if which == 2 else None
            if y is not None:
                style = STYLES[estimators.index(e) % len(STYLES)]
                ax.axhline(y, color=style["color"], ls=":", lw=1.1,
                           label=f"{PAPER_NAME[e]} (RELAX paper, best of {BINARY_PUBLISHED_STEPS // 1_000_000}M steps)")
                ys.append(y)
        if ys:  # every line and level inside the frame
            lo, hi = min(ys), max(ys)
            pad = 0.05 * (hi - lo) + 0.3
            ax.set_ylim(lo - pad, hi + pad)
        else:
            ax.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=ax.transAxes)
        if ax is axes[0]:
            ax.set_xscale("log")
        ax.set_title(title)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x / 1000:g}k"))
        ax.set_xlabel("training step (batch 24)" + (", log scale" if ax is axes[0] else ""))
        ax.set_ylabel("−ELBO (nats)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.suptitle("Binary VAE, MNIST linear one-layer, 200 Bernoulli latents: −ELBO against training steps "
                 "(dotted: the RELAX paper's best after 2M steps)")
    fig.tight_layout()
    rep.save(fig, "protocol_binary_vae_curves.png", "binary VAE learning curves at the full protocol")


def protocol_section(rep, root):
    """The "Full protocol" part of the report (issue 10); the short runs follow it in their own part."""
    rep.add("## Full protocol (issue 10): runs under `results/protocol/`", "")
    cells, binary = load_protocol(root)
    if not any(c.runs for c in cells.values()) and not binary:
        rep.add("**Not run yet**: nothing under `results/protocol/`.", "")
    rep.add("These are the published protocols at full length, kept apart from the short runs below. The tables cover "
            "whatever has finished when the report was generated and list every planned run that has not.", "")
    protocol_categorical_section(rep, cells)
    protocol_claim_section(rep, cells)
    protocol_binary_section(rep, binary)


def toy_section(rep, root):
    rep.add("## 4. Toy problems", "")
    # ReinMax polynomial programming (§5.2).
    rep.add("### 4.1 Polynomial programming (ReinMax §5.2): minimise E[(1/128) Σ |z_l − 0.45|^p]", "")
    table = read_csv(os.path.join(root, "poly", "table.csv"))
    curves = read_csv(os.path.join(root, "poly", "curves.csv")) or []
    if not table:
        rep.add("**Not run yet** (`vae-train poly` writes `results/poly/table.csv`).", "")
    else:
        ps = sorted({float(r["p"]) for r in table})
        estimators = sorted({r["estimator"] for r in table}, key=order_key)
        by = {(r["estimator"], float(r["p"])): r for r in table}
        best = {p: min((num(by[(e, p)]["final_train_loss_mean"]), e) for e in estimators if (e, p) in by)[1] for p in ps}
        rows = []
        for e in estimators:
            row = [f"`{e}`"]
            for p in ps:
                r = by.get((e, p))
                if not r:
                    row.append("")
                    continue
                m, se, opt = num(r["final_train_loss_mean"]), num(r["final_train_loss_se"]), num(r["optimum"])
                cell = f"{m:.5f} ± {se:.5f} (n={r['seeds']}; +{m - opt:.5f})"
                row.append(f"**{cell}**" if best[p] == e else cell)
            rows.append(row)
        opt_row = ["optimum 0.45^p"] + [f"{0.45 ** p:.5f}" for p in ps]
        steps = max((int(num(r["step"]) or 0) for r in curves), default=None)
        epochs = max((int(num(r["epoch"]) or 0) for r in curves), default=None)
        rep.add("Last-epoch mean training loss, mean ± s.e. over seeds, and its excess over the optimum "
                "(lower is better; **bold** = best per column).", "",
                md_table(["estimator"] + [f"p = {p:g}" for p in ps], [opt_row] + rows), "",
                f"Run: {epochs} epochs, {steps} steps per seed (published protocol: 40 epochs × 200 = 8000 steps, "
                "10 seeds). Published: the reference gives only the optimum 0.45^p; the ReinMax paper's "
                "values are [UNVERIFIED] there, so no difference column.", "")
        if curves:
            fig, axes = plt.subplots(1, len(ps), figsize=(5.2 * len(ps), 3.8), squeeze=False)
            for ax, p in zip(axes[0], ps):
                spans = []
                for e in estimators:
                    pts = defaultdict(list)
                    for r in curves:
                        if r["estimator"] == e and float(r["p"]) == p:
                            pts[int(r["epoch"])].append(num(r["train_loss"]))
                    if pts:
                        x = sorted(pts)
                        ys = [np.mean(pts[k]) - 0.45 ** p for k in x]
                        ax.plot(x, ys, label=e)
                        spans.extend(ys)
                if spans and min(spans) > 0 and max(spans) / min(spans) > 20:
                    ax.set_yscale("log")
                ax.set_title(f"p = {p:g}")
                ax.set_xlabel("epoch (200 steps)")
                ax.set_ylabel("train loss − optimum 0.45^p")
                ax.grid(alpha=0.3)
                ax.legend(fontsize=8)
            fig.suptitle("Polynomial programming: training loss above the optimum (mean over seeds)")
            fig.tight_layout()
            rep.save(fig, "poly_curves.png", "polynomial programming curves")

    # REBAR/RELAX Bernoulli toy (§5.4).
    rep.add("### 4.2 REBAR/RELAX toy (§5.4): minimise E_{b~Bern(θ)}[(b − t)²]", "")
    # `vae-train toy` output folders: results/toy and any folder below it (e.g. results/toy/others).
    summary, curves, commands, targets = [], [], [], {}
    for path in walk_files(os.path.join(root, "toy"), "summary.csv"):
        rows = read_csv(path) or []
        if not rows or "first_step_theta_below_0.1" not in rows[0]:
            continue
        folder = os.path.dirname(path)
        known = {r["estimator"] for r in summary}
        fresh = [r for r in rows if r["estimator"] not in known]  # an estimator run twice: the first folder wins
        names = {r["estimator"] for r in fresh}
        summary += fresh
        curves += [r for r in read_csv(os.path.join(folder, "curves.csv")) or [] if r["estimator"] in names]
        try:
            with open(os.path.join(folder, "COMMAND.txt")) as f:
                command = f.read().strip()
        except OSError:
            command = ""
        if command:
            commands.append(command)
            if "--target" in command:
                for name in names:
                    targets[name] = num(command.split("--target")[1].split()[0])
    if not summary:
        rep.add("**Not run yet** (`vae-train toy` writes `results/toy/summary.csv`, `curves.csv`, "
                "`relax_control_variate.csv`).", "")
        relax_section(rep, root, None)
        return
    distinct = sorted({t for t in targets.values() if t is not None})
    target = distinct[0] if len(distinct) == 1 else None
    estimators = sorted({r["estimator"] for r in summary}, key=order_key)
    steps = max((int(num(r["step"]) or 0) for r in curves), default=None)
    rows = []
    for e in estimators:
        rs = [r for r in summary if r["estimator"] == e]
        theta = mean_se([num(r["final_theta"]) for r in rs])
        loss = mean_se([num(r["final_loss"]) for r in rs])
        reached = [num(r.get("first_step_theta_below_0.1")) for r in rs]
        hit = [x for x in reached if x is not None]
        rows.append([f"`{e}`", len(rs), f"{theta[0]:.3g} ± {theta[1]:.2g}", f"{loss[0]:.6f} ± {loss[1]:.1g}",
                     f"{len(hit)}/{len(rs)}", f"{np.median(hit):.0f}" if hit else "never"])
    target_text = f"{target}" if target is not None else ", ".join(f"{e}: {t}" for e, t in sorted(targets.items()))
    opt = f"{target ** 2:.6f} (θ = 0)" if target is not None else "t² (θ = 0)"
    rep.add(f"Target t = {target_text or '?'}, {steps} steps per seed; optimum loss {opt}. "
            "Published: the RELAX paper shows curves only (no numbers in the reference); its qualitative claim is "
            "that RELAX drives θ to 0 faster and with lower gradient variance than REBAR and REINFORCE.", "",
            md_table(["estimator", "seeds", "final θ", "final exact loss", "seeds reaching θ < 0.1", "median first step θ < 0.1"], rows), "")
    for command in commands:
        rep.add(f"Command: `{command}`", "")
    if curves:
        fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
        for e in estimators:
            series = defaultdict(lambda: defaultdict(list))
            for r in curves:
                if r["estimator"] == e:
                    for col in ("theta", "loss", "grad_var"):
                        v = num(r.get(col))
                        if v is not None:
                            series[col][int(r["step"])].append(v)
            style = STYLES[estimators.index(e) % len(STYLES)]
            for ax, col in zip(axes, ("loss", "theta", "grad_var")):
                if series[col]:
                    x = sorted(series[col])
                    ax.plot(x, [np.mean(series[col][k]) for k in x], label=e, **style)
        axes[0].set_ylabel("exact expected loss")
        axes[1].set_ylabel("θ = P(b = 1)")
        axes[1].set_yscale("log")
        axes[2].set_ylabel("gradient variance (log)")
        axes[2].set_yscale("log")
        for ax, title in zip(axes, ("loss", "θ", "variance of the gradient estimate")):
            ax.set_xlabel("step")
            ax.set_title(title)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
        fig.suptitle("REBAR/RELAX toy, mean over seeds")
        rep.save(fig, "toy_curves.png", "toy loss, theta and gradient variance")
        extras = [r for r in curves if num(r.get("eta")) is not None or num(r.get("log_temperature")) is not None]
        if extras:
            fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
            for e in sorted({r["estimator"] for r in extras}, key=order_key):
                for ax, col in zip(axes, ("eta", "log_temperature")):
                    pts = defaultdict(list)
                    for r in extras:
                        if r["estimator"] == e and num(r.get(col)) is not None:
                            pts[int(r["step"])].append(num(r[col]))
                    if pts:
                        x = sorted(pts)
                        ax.plot(x, [np.mean(pts[k]) for k in x], label=e)
            for ax, title in zip(axes, ("η (control-variate scale)", "log λ (relaxation temperature)")):
                ax.set_title(title)
                ax.set_xlabel("step")
                ax.grid(alpha=0.3)
                ax.legend(fontsize=8)
            rep.save(fig, "toy_estimator_parameters.png", "learned estimator parameters on the toy")
    relax_section(rep, root, target)


def relax_section(rep, root, target):
    rep.add("### 4.3 RELAX's learned relaxation against the fixed Concrete relaxation", "")
    rows = read_csv(os.path.join(root, "toy", "relax_control_variate.csv"))
    if not rows:
        rep.add("**Not run yet** (`results/toy/relax_control_variate.csv` is written when `relax` is in the toy run).", "")
        return
    seed = min(r["seed"] for r in rows)
    steps = sorted({int(r["step"]) for r in rows if r["seed"] == seed})
    fig, axes = plt.subplots(1, len(steps), figsize=(4.3 * len(steps), 3.8), squeeze=False, sharey=True)
    for ax, step in zip(axes[0], steps):
        pts = sorted((num(r["z"]), num(r["f_relaxed"]), num(r["c"]), num(r["theta"]))
                     for r in rows if r["seed"] == seed and int(r["step"]) == step)
        z = [p[0] for p in pts]
        ax.plot(z, [p[1] for p in pts], label="fixed Concrete: f(σ_λ(z))")
        ax.plot(z, [p[2] for p in pts], label="RELAX learned: c_φ(z) = f(σ_λ(z)) + r_ρ")
        ax.set_title(f"step {step}, θ = {pts[0][3]:.3g}")
        ax.set_xlabel("z (relaxation input, column z)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("surrogate value")
    axes[0][0].legend(fontsize=8)
    fig.suptitle(f"Toy, seed {seed}: RELAX's learned control variate vs the fixed Concrete relaxation")
    rep.add("The Concrete relaxation evaluates f at the relaxed sample σ(z/λ); RELAX learns c_φ(z) "
            "(relaxation plus a small net) to minimise the variance of its estimator. Snapshots of one seed:", "")
    rep.save(fig, "relax_vs_concrete.png", "RELAX learned relaxation vs Concrete")


DIAG_COLUMNS = [  # (label, candidate column names in analysis.csv; `vae-train analyze` writes the first)
    ("relative bias", ["rel_bias", "relative_bias"]),
    ("rel. bias − noise floor", ["rel_bias_debiased"]),
    ("variance", ["variance", "variance_trace"]),
    ("relative std", ["rel_std", "relative_std"]),
    ("MSE", ["mse"]),
    ("cos(E[ĝ], g)", ["cos_mean", "cosine_mean", "cosine"]),
    ("mean cos(ĝ, g)", ["cos_single", "cosine_single"]),
    ("ms / draw", ["ms_per_draw", "time_per_draw_ms"]),
]


def find_column(header, names):
    lower = {h.lower(): h for h in header}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def diagnostics_section(rep, root):
    rep.add("## 5. Gradient diagnostics (`vae-train analyze`)", "")
    files = walk_files(root, "analysis.csv")
    if not files:
        rep.add("**Not run yet**: no `analysis.csv` under `results/`. `vae-train analyze` on a checkpoint writes "
                "it next to the run.", "")
        return
    rep.add("Per estimator, N seeded draws of the encoder-logit gradient on a fixed batch of a frozen trained "
            "model, against the reference gradient g (exact by enumerating all codes where C^L is small, else a "
            "high-sample unbiased estimate whose relative standard error is given). Entries are value ± standard "
            "error. Lower bias, variance and MSE and higher cosines are better; an unbiased estimator shows a "
            "relative bias about equal to its standard error (the noise floor). \"tuned\" rows come after "
            "optimising the estimator's own parameters for variance on the frozen model. Published: the ReinMax "
            "code computes relative bias, relative std and cosine on 8×4 (§5.1), but the reference has no "
            "verified numbers, so there is no difference column.", "")
    panels = []
    for path in files:
        rows = read_csv(path) or []
        if not rows:
            continue
        header = list(rows[0].keys())
        run_dir = os.path.dirname(path)
        run = Run(run_dir, root) if os.path.exists(os.path.join(run_dir, "config.json")) else None
        est_col = find_column(header, ["estimator", "name"])
        cols = [(label, find_column(header, names)) for label, names in DIAG_COLUMNS]
        where = os.path.relpath(path, root)
        first = rows[0]
        facts = []
        if run:
            facts.append(f"model trained with `{run.estimator}`, {run.epochs_done}/{run.epochs} epochs in metrics.csv")
        if first.get("latent"):
            latent = first["latent"]
            if "x" in latent:
                latent = latent.replace("x", "×") + " (C×L)"
            facts.append(f"latent {latent}")
        if first.get("epoch"):
            facts.append(f"checkpoint after epoch {first['epoch']}")
        if first.get("batch"):
            facts.append(f"batch {first['batch']}")
        if first.get("draws"):
            facts.append(f"{first['draws']} draws")
        if first.get("reference"):
            ref_se = num(first.get("reference_se"))
            facts.append(f"reference {first['reference']}" + (f" (relative s.e. {ref_se:.2g})" if ref_se else ""))
        rep.add(f"### `{where}`", "", "; ".join(facts) + ".", "")
        table = []
        points = []
        for r in rows:
            name = r.get(est_col, "?")
            label = name + (f" [{r['options']}]" if r.get("options") else "")
            tuned = r.get("tuned") in ("1", "true", "yes")
            row = [f"`{label}`", "yes" if tuned else ""]
            if r.get("objective") == "bound":
                row[0] += "¹"
            for _, c in cols:
                v, se = (num(r.get(c)), num(r.get(c + "_se"))) if c else (None, None)
                row.append("—" if v is None else (f"{v:.4g} ± {se:.2g}" if se is not None else f"{v:.4g}"))
            table.append(row)
            bias, var = num(r.get(cols[0][1] or "")), num(r.get(cols[2][1] or ""))
            if bias is not None and var is not None:
                points.append((label, var, bias, tuned, num(r.get((cols[0][1] or "") + "_se"))))
        rep.add(md_table(["estimator", "tuned"] + [label for label, _ in cols], table), "")
        if any(r.get("objective") == "bound" for r in rows):
            rep.add("¹ the estimator's surrogate carries its own objective (a multi-sample bound with the KL), so g "
                    "is not exactly its target and its bias is not comparable.", "")
        if points:
            panels.append((where, points))
    if panels:
        fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 5), squeeze=False)
        for ax, (where, pts) in zip(axes[0], panels):
            cmap = plt.get_cmap("tab20")
            for i, (name, var, bias, tuned, bias_se) in enumerate(pts):
                y = max(bias, 1e-6)
                if bias_se:  # the noise floor: an unbiased estimator sits at about one s.e.
                    # On a log axis a lower bar reaching 0 would run off the plot; cap it at a decade below.
                    ax.errorbar(max(var, 1e-12), y, yerr=[[min(bias_se, 0.9 * y)], [bias_se]], color=cmap(i % 20),
                                lw=0.8, capsize=2)
                ax.scatter(max(var, 1e-12), y, s=36, marker="s" if tuned else "o", color=cmap(i % 20))
                ax.annotate(name + (" (tuned)" if tuned else ""), (max(var, 1e-12), y), fontsize=7,
                            xytext=(4, 3), textcoords="offset points")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("variance (trace of the covariance)")
            ax.set_ylabel("relative bias ‖E[ĝ] − g‖ / ‖g‖")
            ax.set_title(os.path.dirname(where) or where, fontsize=9)
            ax.grid(alpha=0.3, which="both")
        fig.suptitle("Bias against variance of the encoder-logit gradient estimates (squares: tuned)")
        fig.tight_layout()
        rep.save(fig, "bias_variance.png", "bias vs variance")


def curves_plot(rep, runs, best):
    rep.add("## 6. Training curves (short runs)", "")
    chosen = [(e, s, g) for (e, s), (g, _) in best.items()]
    if not chosen:
        rep.add("**Not run yet**: no finished categorical MNIST runs.", "")
        return
    shapes = shape_order({s for _, s, _ in chosen})
    cols = min(3, len(shapes))
    nrows = math.ceil(len(shapes) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5.6 * cols, 4.2 * nrows), squeeze=False)
    cmap = plt.get_cmap("tab10")
    colors = {e: cmap(i % 10) for i, e in enumerate(sorted({e for e, _, _ in chosen}, key=order_key))}
    for ax, s in zip(axes.flat, shapes):
        lows = []
        for e, _, g in sorted((c for c in chosen if c[1] == s), key=lambda c: order_key(c[0])):
            per_epoch = defaultdict(lambda: ([], []))
            for r in g.runs:
                for row in read_csv(r.metrics_path) or []:
                    t, v = num(row.get("train_loss")), num(row.get("eval_loss"))
                    if t is not None:
                        per_epoch[int(row["epoch"])][0].append(t)
                    if v is not None:
                        per_epoch[int(row["epoch"])][1].append(v)
            x = sorted(per_epoch)
            if not x:
                continue
            train = [np.mean(per_epoch[k][0]) for k in x]
            ax.plot(x, train, color=colors[e], label=f"{e} train")
            xe = [k for k in x if per_epoch[k][1]]
            if xe:
                ax.plot(xe, [np.mean(per_epoch[k][1]) for k in xe], color=colors[e], ls="--", lw=1, label=f"{e} test")
            lows.extend(train[len(train) // 3:])
        if lows:  # zoom on the later epochs: the first ones are far above the rest
            lo, hi = min(lows), max(lows)
            pad = 0.15 * (hi - lo) + 0.5
            ax.set_ylim(lo - pad, hi + 3 * pad)
        ax.set_title(f"{s} (C×L)")
        ax.set_xlabel("epoch")
        ax.set_ylabel("−ELBO (nats)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    for ax in list(axes.flat)[len(shapes):]:
        ax.axis("off")
    fig.suptitle("Categorical MNIST-VAE: −ELBO per epoch, mean over seeds (solid train, dashed test)")
    fig.tight_layout()
    rep.add("Each panel is one latent shape, lines are the settings in the table of section 1.", "")
    rep.save(fig, "training_curves.png", "training curves")


def temperature_plot(rep, runs):
    rep.add("## 7. Temperature sweeps", "")
    groups = finished_groups(runs, lambda r: r.temperature is not None)
    families = defaultdict(list)
    for g in groups:
        key = tuple(kv for kv in g.runs[0].setting(drop=("training.seed", "estimator.temperature")))
        families[key].append(g)
    sweeps = [sorted(v, key=lambda g: g.config["estimator"]["temperature"]) for v in families.values()
              if len({g.config["estimator"]["temperature"] for g in v}) >= 2]
    if not sweeps:
        rep.add("**Not run yet**: no sweep over `estimator.temperature` (two or more temperatures of one "
                "otherwise identical setting) with finished runs.", "")
        return
    shapes = shape_order({v[0].shape for v in sweeps})
    fig, axes = plt.subplots(1, len(shapes), figsize=(5.4 * len(shapes), 4), squeeze=False)
    rows = []
    for ax, s in zip(axes[0], shapes):
        for v in sweeps:
            if v[0].shape != s:
                continue
            t = [g.config["estimator"]["temperature"] for g in v]
            m = [g.train[0] for g in v]
            se = [g.train[1] or 0 for g in v]
            ax.errorbar(t, m, yerr=se, marker="o", capsize=3, label=f"{v[0].estimator} ({v[0].epochs} ep)")
            best = min(v, key=lambda g: g.train[0])
            rows.append([f"`{v[0].estimator}`", s, ", ".join(f"{x:g}" for x in t),
                         f"{best.config['estimator']['temperature']:g}", fmt(*best.train[:2]), v[0].epochs])
        ax.set_title(f"{s}")
        ax.set_xlabel("temperature τ")
        ax.set_ylabel("final train −ELBO")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Final training −ELBO against the estimator temperature (mean ± s.e. over seeds)")
    rep.add(md_table(["estimator", "shape", "temperatures", "best τ", "train −ELBO at best τ", "epochs"], rows), "")
    rep.save(fig, "temperature_sweep.png", "temperature sweep")


def inventory_section(rep, runs, sweeps):
    rep.add("## 8. What is under `results/`", "")
    by_sweep = defaultdict(list)
    for r in runs:
        by_sweep[r.sweep].append(r)
    if not by_sweep:
        rep.add("No VAE runs.", "")
        return
    rows = []
    for sweep, rs in sorted(by_sweep.items()):
        status = defaultdict(int)
        for r in rs:
            status[r.status] += 1
        rows.append([f"`{sweep}`", len(rs), ", ".join(f"{k} {v}" for k, v in sorted(status.items())),
                     ", ".join(sorted({r.estimator for r in rs}, key=order_key)),
                     ", ".join(shape_order({r.shape for r in rs})),
                     ", ".join(sorted({r.dataset + ("" if r.full_data else " (subset)") for r in rs})),
                     ", ".join(str(x) for x in sorted({r.epochs_done for r in rs}))])
    rep.add(md_table(["folder", "runs", "status", "estimators", "shapes (C×L)", "data", "epochs done"], rows), "")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", default="results", help="folder with the CSVs (default results)")
    parser.add_argument("--out", default=None, help="report path (default <results>/REPORT.md)")
    args = parser.parse_args()
    root = args.results
    out = args.out or os.path.join(root, "REPORT.md")
    plots = os.path.join(os.path.dirname(out) or ".", "plots")
    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "figure.dpi": 110})

    runs, sweeps = load_runs(root)
    # The full-protocol runs have their own part; the numbered sections are the short runs only.
    short = [r for r in runs if r.sweep.split(os.sep)[0] != PROTOCOL_DIR]
    rep = Report(os.path.dirname(out) or ".", plots)
    rep.add("# DiscreteGrad results", "",
            "Generated by `make report` (`scripts/report.py`) from the CSV files under `results/`; do not edit by "
            "hand. Published numbers are copied from the project's estimator reference (sections cited per table). "
            "Every table states the epochs or steps actually run; runs shorter than a published protocol are "
            "not directly comparable with its numbers.", "",
            "Two parts: **Full protocol** (the published protocols at full length, `results/protocol/`: P1 the "
            "ReinMax table at 160 epochs, P2 the Beyond-ReinMax claim paired by seed, P3 the binary VAE at ~500,000 "
            "steps) and **Short runs and other experiments** (sections 1–8: 1–20-epoch runs, toys, gradient "
            "diagnostics; their numbers are not comparable with the published ones).", "")
    protocol_section(rep, root)
    rep.add("---", "", "## Short runs and other experiments", "",
            "Everything below comes from runs outside `results/protocol/`: 1–20 epochs for the categorical VAE and "
            "a few epochs for the binary VAE, so the comparisons with published numbers are indicative only.", "")
    best = categorical_section(rep, short)
    claim_section(rep, best)
    binary_section(rep, short)
    toy_section(rep, root)
    diagnostics_section(rep, root)
    curves_plot(rep, short, best)
    temperature_plot(rep, short)
    inventory_section(rep, runs, sweeps)

    # Remove plots of sections that no longer have data, so the folder matches the report.
    if os.path.isdir(plots):
        for name in os.listdir(plots):
            if name.endswith(".png") and name not in rep.images:
                os.remove(os.path.join(plots, name))
    with open(out + ".tmp", "w") as f:
        f.write("\n".join(rep.lines).rstrip() + "\n")
    os.replace(out + ".tmp", out)
    print(f"report: wrote {out} and {len(rep.images)} plot(s) in {plots}")


if __name__ == "__main__":
    sys.exit(main())
