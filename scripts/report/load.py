"""Reading: everything the report takes from disk under results/, as plain data. No formatting, no plotting.

  - VAE sweeps: every `summary.csv` written by vae-train (columns run_index, run_id, status, ...), each run's
    `config.json` (the resolved config) and `metrics.csv`; also run folders that no summary lists (`load_runs`).
  - full-protocol runs (issue 10): every run folder under `results/protocol/` (`load_protocol`).
  - toys: `results/poly/{table,curves}.csv` (`load_poly`), `results/toy/**/{summary,curves}.csv` and COMMAND.txt
    (`load_toy`), `results/toy/relax_control_variate.csv` (`load_relax`).
  - gradient diagnostics: every `analysis.csv` (`load_diagnostics`).
A missing file gives empty data (the report says "not run yet"), never an error.
"""
import csv
import json
import math
import os
from collections import defaultdict

PROTOCOL_DIR = "protocol"

# What issue 10 plans for results/protocol/: (estimator, options that name the cell, shape, seeds). Cells not started
# are listed as missing.
PROTOCOL_PLAN = [
    ("st", {}, "4×24", [0]), ("st-gs", {}, "4×24", [0]), ("gs", {}, "4×24", [0]), ("gr-mc", {}, "4×24", [0]),
    ("gst", {}, "4×24", [0]), ("reinmax", {}, "4×24", [0, 1, 2]), ("reinmax-rao", {}, "4×24", [0, 1, 2]),
    ("reinmax-cv", {}, "4×24", [0, 1, 2]), ("reinmax-rk", {"alpha": 0.5}, "4×24", [0]),
    ("reinmax-rk", {"alpha": 0.6667}, "4×24", [0]),
    ("reinmax", {}, "8×4", [0, 1, 2]), ("reinmax-rao", {}, "8×4", [0, 1, 2]), ("reinmax-cv", {}, "8×4", [0, 1, 2]),
    ("reinmax", {}, "64×8", [0, 1, 2]), ("reinmax-rao", {}, "64×8", [0, 1, 2]),
    ("reinmax-cv", {}, "64×8", [0, 1, 2]),
]
BINARY_PLAN = ["st", "reinmax", "rebar", "relax"]  # the binary-VAE runs issue 10 plans


def read_csv(path):
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except OSError:
        return None


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def num(value):
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def walk_files(root, name):
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if d != "plots" and not d.startswith("."))
        if name in files:
            found.append(os.path.join(directory, name))
    return sorted(found)


# MARK: - VAE runs

class Run:
    """One training run: its resolved config, its metrics.csv rows and the final values."""

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
        self.rows = read_csv(self.metrics_path) or []  # metrics.csv, one dict per epoch
        last = self.rows[-1] if self.rows else {}
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

    def per_epoch(self):
        """{epoch: (train_loss or None, eval_loss or None)} from metrics.csv."""
        out = {}
        for row in self.rows:
            epoch = num(row.get("epoch"))
            if epoch is not None:
                out[int(epoch)] = (num(row.get("train_loss")), num(row.get("eval_loss")))
        return out


def load_runs(root):
    """(every VAE run under root, [(sweep folder, summary rows)])."""
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


def is_protocol(run):
    return run.sweep.split(os.sep)[0] == PROTOCOL_DIR


# Studies: folders whose runs answer one question, explained in their own README.md (linked from the report).
# Their runs use deliberately changed settings, so they stay out of the short-run tables.
STUDY_DIRS = ("reinmax_cv_noise",)


def is_study(run):
    return run.sweep.split(os.sep)[0] in STUDY_DIRS


# MARK: - Full protocol (issue 10)
# The runs under results/protocol/, written by `vae-train ... --set output.directory=results/protocol --resume` while
# they train: reinmax_table_<estimator>_<shape>/<run>/ (a sweep folder per config, a run folder per seed or swept
# option) and binary_vae_linear_<estimator>/run/. Everything is read from each run's config.json and metrics.csv,
# never from folder names. A run counts only when its metrics.csv reaches the config's epoch count.

def option_text(value):
    return f"{value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


class ProtocolRun(Run):
    """A run under results/protocol/: a Run plus its rows by epoch and whether it reached its configured epochs."""

    def __init__(self, directory, root):
        super().__init__(directory, root)
        self.by_epoch = {}
        for row in self.rows:
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

    def curves(self):
        """(steps, training −ELBO) per epoch and (steps, validation −ELBO) at the epochs that evaluated."""
        rows = [self.by_epoch[k] for k in sorted(self.by_epoch)]
        train = [(num(r.get("step")), num(r.get("train_loss"))) for r in rows]
        valid = [(num(r.get("step")), num(r.get("eval_loss"))) for r in rows]
        return ([p for p in train if None not in p], [p for p in valid if None not in p])


class ProtocolCell:
    """One estimator (with the options that name it, e.g. reinmax-rk's alpha) on one shape: its planned seeds and
    the runs found for it. `epochs` is the published protocol's epoch count: only runs that reach it count."""

    def __init__(self, estimator, options, shape, planned=(), epochs=160):
        self.estimator, self.options, self.shape = estimator, options, shape  # options: ((key, text), ...)
        self.planned = list(planned)
        self.epochs = epochs
        self.runs = []

    @property
    def name(self):
        return f"`{self.estimator}`" + (" (" + ", ".join(f"{k} = {v}" for k, v in self.options) + ")"
                                         if self.options else "")

    def finished(self):
        """The runs that reached the protocol's epochs, one per seed (the first folder wins if a seed was run twice)."""
        by_seed = {}
        for r in sorted(self.runs, key=lambda r: r.folder):
            if r.full and r.epochs >= self.epochs and r.final_train is not None:
                by_seed.setdefault(r.seed, r)
        return [by_seed[s] for s in sorted(by_seed, key=str)]

    def pending(self):
        """Planned seeds without a finished run, as text: in progress (epoch k/160) or not started."""
        done = {r.seed for r in self.finished()}
        notes = []
        for r in sorted(self.runs, key=lambda r: str(r.seed)):
            if r.seed not in done:
                short = f", config has {r.epochs} epochs, not {self.epochs}" if r.epochs < self.epochs else ""
                notes.append(f"seed {r.seed}: {r.progress}{short}")
        started = {r.seed for r in self.runs}
        missing = [s for s in self.planned if s not in started]
        if missing:
            notes.append(f"seed{'s' if len(missing) > 1 else ''} {', '.join(str(s) for s in missing)}: not started")
        return "; ".join(notes)


def load_protocol(root, epochs):
    """The runs under <root>/protocol/: (categorical cells keyed (estimator, options, shape), binary-VAE runs).
    `epochs` is the published protocol's epoch count (a run counts once it reaches it)."""
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
        cells[k] = ProtocolCell(*k, planned=seeds, epochs=epochs)
    for r in categorical:
        k = key(r.estimator, r.options, r.shape)
        cells.setdefault(k, ProtocolCell(*k, epochs=epochs)).runs.append(r)
    return cells, binary


# MARK: - Toys

def load_poly(root):
    """(results/poly/table.csv rows or None, curves.csv rows)."""
    return read_csv(os.path.join(root, "poly", "table.csv")), read_csv(os.path.join(root, "poly", "curves.csv")) or []


class ToyData:
    """`vae-train toy` output folders: results/toy and any folder below it (e.g. results/toy/others). An estimator run
    in two folders is taken from the first."""

    def __init__(self, root):
        self.summary, self.curves, self.commands, self.targets = [], [], [], {}
        for path in walk_files(os.path.join(root, "toy"), "summary.csv"):
            rows = read_csv(path) or []
            if not rows or "first_step_theta_below_0.1" not in rows[0]:
                continue
            folder = os.path.dirname(path)
            known = {r["estimator"] for r in self.summary}
            fresh = [r for r in rows if r["estimator"] not in known]
            names = {r["estimator"] for r in fresh}
            self.summary += fresh
            self.curves += [r for r in read_csv(os.path.join(folder, "curves.csv")) or [] if r["estimator"] in names]
            command = (read_text(os.path.join(folder, "COMMAND.txt")) or "").strip()
            if command:
                self.commands.append(command)
                if "--target" in command:
                    for name in names:
                        self.targets[name] = num(command.split("--target")[1].split()[0])

    @property
    def target(self):
        """The target t if every run used the same one, else None."""
        distinct = sorted({t for t in self.targets.values() if t is not None})
        return distinct[0] if len(distinct) == 1 else None

    def series(self, estimator, column):
        """{step: [values over seeds]} of one curves.csv column for one estimator."""
        out = defaultdict(list)
        for r in self.curves:
            if r["estimator"] == estimator:
                v = num(r.get(column))
                if v is not None:
                    out[int(r["step"])].append(v)
        return out


def load_toy(root):
    return ToyData(root)


def load_relax(root):
    """results/toy/relax_control_variate.csv rows, or None."""
    return read_csv(os.path.join(root, "toy", "relax_control_variate.csv"))


# MARK: - Gradient diagnostics

class Diagnostic:
    """One `analysis.csv` (`vae-train analyze`): its rows and, if its folder is a run, that run."""

    def __init__(self, path, root):
        self.path = path
        self.where = os.path.relpath(path, root)
        self.rows = read_csv(path) or []
        run_dir = os.path.dirname(path)
        self.run = Run(run_dir, root) if os.path.exists(os.path.join(run_dir, "config.json")) else None


def load_diagnostics(root):
    return [d for d in (Diagnostic(p, root) for p in walk_files(root, "analysis.csv")) if d.rows]
