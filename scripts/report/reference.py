"""What the report compares against and how it names things, read once at start-up:

  - `Published`: the published numbers, from scripts/published.json (each table carries its source);
  - `Registry`: the estimator names and their order, from `vae-train estimators --json`.

A missing or malformed input raises `ReportError` with one line that names the file or binary and the fix.
"""
import json
import math
import os
import subprocess

DEFAULT_PUBLISHED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "published.json")
DEFAULT_VAE_TRAIN = os.path.join(".build", "release", "vae-train")


class ReportError(Exception):
    """A problem with the report's inputs; `scripts/report.py` prints it as one line and exits with status 2."""


# MARK: - Published numbers

class _Reader:
    """Typed access into the parsed JSON with errors that say where in the file the problem is."""

    def __init__(self, path):
        self.path = path

    def fail(self, where, what):
        raise ReportError(f"published-numbers file {self.path} is malformed: {where}: {what}")

    def get(self, obj, key, kind, where):
        if not isinstance(obj, dict) or key not in obj:
            self.fail(where, f"missing key \"{key}\"")
        value = obj[key]
        self.check(value, kind, f"{where}.{key}")
        return value

    def check(self, value, kind, where):
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                self.fail(where, f"expected a number, found {json.dumps(value)}")
        elif kind == "text":
            if not isinstance(value, str) or not value.strip():
                self.fail(where, f"expected a non-empty string, found {json.dumps(value)}")
        elif kind == "int":
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                self.fail(where, f"expected a positive integer, found {json.dumps(value)}")
        elif not isinstance(value, kind):
            self.fail(where, f"expected a {'list' if kind is list else 'object'}, found {json.dumps(value)[:60]}")

    def table(self, obj, key, where):
        """A table object: it must have a non-empty "source" naming where its numbers come from."""
        value = self.get(obj, key, dict, where)
        self.get(value, "source", "text", f"{where}.{key}")
        return value


class Published:
    """The published numbers. Attribute names follow what the report tables need; `sources` lists every table's
    source for the report's closing section."""

    def __init__(self, data, path):
        r = _Reader(path)
        self.path = path
        self.sources = []  # (title, source)
        r.check(data, dict, "top level")

        names = r.table(data, "paper_names", "top level")
        self.paper_name = r.get(names, "names", dict, "paper_names")
        for k, v in self.paper_name.items():
            r.check(v, "text", f"paper_names.names.{k}")
        self.sources.append(("Estimator → paper row labels", names["source"]))

        t = r.table(data, "reinmax_table", "top level")
        self.reinmax_cite = r.get(t, "cite", "text", "reinmax_table")  # "estimators.md §6.1"
        self.reinmax_section = self.reinmax_cite.split()[-1]  # "§6.1"
        self.shapes = r.get(t, "shapes", list, "reinmax_table")
        for i, s in enumerate(self.shapes):
            r.check(s, "text", f"reinmax_table.shapes[{i}]")
        self.train = {}  # paper name -> [(mean, s.e.)] in shape order
        for name, cells in r.get(t, "train", dict, "reinmax_table").items():
            where = f"reinmax_table.train.{name}"
            r.check(cells, list, where)
            if len(cells) != len(self.shapes):
                r.fail(where, f"{len(cells)} entries, expected {len(self.shapes)} (one per shape)")
            row = []
            for i, cell in enumerate(cells):
                if not isinstance(cell, list) or len(cell) != 2:
                    r.fail(f"{where}[{i}]", f"expected [mean, s.e.], found {json.dumps(cell)}")
                r.check(cell[0], "number", f"{where}[{i}][0]")
                r.check(cell[1], "number", f"{where}[{i}][1]")
                row.append((float(cell[0]), float(cell[1])))
            self.train[name] = row
        self.test = {}  # paper name -> [mean] in shape order
        for name, cells in r.get(t, "test", dict, "reinmax_table").items():
            where = f"reinmax_table.test.{name}"
            r.check(cells, list, where)
            if len(cells) != len(self.shapes):
                r.fail(where, f"{len(cells)} entries, expected {len(self.shapes)} (one per shape)")
            for i, x in enumerate(cells):
                r.check(x, "number", f"{where}[{i}]")
            self.test[name] = [float(x) for x in cells]
        self.notes = r.get(t, "notes", "text", "reinmax_table")
        missing = set(self.train) ^ set(self.test)
        if missing:
            r.fail("reinmax_table", f"train and test name different methods: {', '.join(sorted(missing))}")
        nop = r.table(t, "no_published", "reinmax_table")
        self.no_published = r.get(nop, "reasons", dict, "reinmax_table.no_published")
        for k, v in self.no_published.items():
            r.check(v, "text", f"reinmax_table.no_published.reasons.{k}")
        proto = r.table(t, "protocol", "reinmax_table")
        self.epochs = r.get(proto, "epochs", "int", "reinmax_table.protocol")
        self.steps_per_epoch = r.get(proto, "steps_per_epoch", "int", "reinmax_table.protocol")
        self.batch_size = r.get(proto, "batch_size", "int", "reinmax_table.protocol")
        self.seeds = r.get(proto, "seeds", "int", "reinmax_table.protocol")
        self.sources += [("Categorical MNIST-VAE, train and test −ELBO (P1, P2, sections 1–2)", t["source"]),
                         ("Estimators without a published row", nop["source"]),
                         ("ReinMax MNIST-VAE protocol (epochs, steps, seeds)", proto["source"])]

        self.binary_train = self._binary(r, data, "relax_binary_train")
        self.binary_valid = self._binary(r, data, "relax_binary_valid")
        self.binary_cite = r.get(data["relax_binary_train"], "cite", "text", "relax_binary_train")
        self.binary_section = self.binary_cite.split()[-1]
        self.sources += [("Binary VAE, highest training ELBO (P3, section 3)", data["relax_binary_train"]["source"]),
                         ("Binary VAE, highest validation ELBO (P3, section 3)", data["relax_binary_valid"]["source"])]
        if data["relax_binary_valid"].get("notes"):
            self.sources.append(("Binary VAE validation, note", data["relax_binary_valid"]["notes"]))
        bp = r.table(data, "relax_binary_protocol", "top level")
        self.binary_steps = r.get(bp, "steps", "int", "relax_binary_protocol")
        self.binary_batch_size = r.get(bp, "batch_size", "int", "relax_binary_protocol")
        self.sources.append(("Binary VAE protocol (steps)", bp["source"]))

        poly = r.table(data, "poly", "top level")
        self.poly_section = r.get(poly, "cite", "text", "poly").split()[-1]
        self.poly_target = float(r.get(poly, "target", "number", "poly"))
        pp = r.get(poly, "protocol", dict, "poly")
        self.poly_epochs = r.get(pp, "epochs", "int", "poly.protocol")
        self.poly_steps_per_epoch = r.get(pp, "steps_per_epoch", "int", "poly.protocol")
        self.poly_seeds = r.get(pp, "seeds", "int", "poly.protocol")
        self.sources.append(("Polynomial programming optimum and protocol (section 4.1)", poly["source"]))
        toy = r.table(data, "toy", "top level")
        self.toy_section = r.get(toy, "cite", "text", "toy").split()[-1]
        self.sources.append(("REBAR/RELAX toy (section 4.2)", toy["source"]))

    @staticmethod
    def _binary(r, data, key):
        """{(dataset, model): {paper name: −ELBO}} from rows of printed ELBOs."""
        t = r.table(data, key, "top level")
        out = {}
        for i, row in enumerate(r.get(t, "rows", list, key)):
            where = f"{key}.rows[{i}]"
            dataset, model = r.get(row, "dataset", "text", where), r.get(row, "model", "text", where)
            values = r.get(row, "elbo", dict, where)
            for name, v in values.items():
                r.check(v, "number", f"{where}.elbo.{name}")
            out[(dataset, model)] = {name: -float(v) for name, v in values.items()}  # stored as printed (ELBO)
        return out

    def cell(self, paper_name, shape):
        """((train mean, s.e.), test mean) of §6.1, or None where the table has no such cell."""
        if paper_name not in self.train or shape not in self.shapes:
            return None
        i = self.shapes.index(shape)
        return self.train[paper_name][i], self.test[paper_name][i]


def load_published(path=DEFAULT_PUBLISHED):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise ReportError(f"published-numbers file {path} not found (it ships as scripts/published.json; "
                          "pass --published PATH for another copy)") from None
    except OSError as e:
        raise ReportError(f"cannot read published-numbers file {path}: {e.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ReportError(f"published-numbers file {path} is not valid JSON: {e}") from None
    return Published(data, path)


# MARK: - Estimator registry

class Registry:
    """The estimators vae-train knows, in registry order (the order of the report's rows)."""

    def __init__(self, entries, binary):
        self.binary = binary  # the vae-train that listed them
        self.entries = entries
        self.names = [e["name"] for e in entries]

    def order_key(self, name):
        """Registry order; names the registry does not know (runs of a removed estimator) sort last, by name."""
        return (self.names.index(name) if name in self.names else len(self.names), name)


def load_registry(vae_train=DEFAULT_VAE_TRAIN):
    """Runs `vae-train estimators --json`; no fallback: without the binary there is no estimator order."""
    hint = "run `make release` to build it, or pass --vae-train PATH"
    if not os.path.isfile(vae_train):
        raise ReportError(f"vae-train binary not found at {vae_train}: {hint}")
    if not os.access(vae_train, os.X_OK):
        raise ReportError(f"vae-train at {vae_train} is not executable: {hint}")
    command = f"{vae_train} estimators --json"
    try:
        done = subprocess.run([os.path.abspath(vae_train), "estimators", "--json"], capture_output=True, text=True,
                              timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        raise ReportError(f"`{command}` could not run ({e}): {hint}") from None
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise ReportError(f"`{command}` failed with exit status {done.returncode}"
                          + (f" ({detail[-1]})" if detail else "")
                          + "; an older binary may lack `estimators --json`: rebuild with `make release`")
    try:
        entries = json.loads(done.stdout)
    except ValueError as e:
        raise ReportError(f"`{command}` did not print JSON ({e}); rebuild with `make release`") from None
    if not isinstance(entries, list) or not entries or not all(
            isinstance(e, dict) and isinstance(e.get("name"), str) and e["name"] for e in entries):
        raise ReportError(f"`{command}` printed JSON that is not a non-empty list of {{\"name\": ...}} objects")
    names = [e["name"] for e in entries]
    if len(set(names)) != len(names):
        raise ReportError(f"`{command}` lists an estimator twice: {names}")
    return Registry(entries, vae_train)
