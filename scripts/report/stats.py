"""Statistics and grouping on the loaded runs (no I/O): means with standard errors, seed groups, best settings.

A standard error needs two values: for n = 1 every function here returns None as the s.e., never 0.
"""
import math
from collections import defaultdict


def _mean_se(values, ddof):
    """(mean, sd/√n, n) with sd's denominator n − ddof; s.e. None for n = 1."""
    v = [x for x in values if x is not None]
    if not v:
        return None, None, 0
    m = sum(v) / len(v)
    if len(v) < 2:
        return m, None, 1
    sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - ddof))
    return m, sd / math.sqrt(len(v)), len(v)


def mean_se(values):
    """(mean, standard error pstdev/√n, n): the convention of the reference's numbers. s.e. is None for n = 1."""
    return _mean_se(values, ddof=0)


def mean_sample_se(values):
    """(mean, standard error with the sample standard deviation (sd with n − 1, over √n), n); s.e. None for n = 1.
    Issue 10 asks for this one; the published §6.1 numbers use pstdev/√n (√(9/10) ≈ 0.95 of it at n = 10)."""
    return _mean_se(values, ddof=1)


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


def difference(a, b):
    """a − b for two (mean, s.e., n) with independent errors: (mean, s.e. or None if either has none)."""
    if a[0] is None or b[0] is None:
        return None, None
    se = math.sqrt(a[1] ** 2 + b[1] ** 2) if a[1] is not None and b[1] is not None else None
    return a[0] - b[0], se


class Shapes:
    """Column order for latent shapes: the published table's order first, then the rest by name."""

    def __init__(self, pub):
        self.published = pub.shapes

    def key(self, s):
        return (0, self.published.index(s), s) if s in self.published else (1, 0, s)

    def order(self, shapes):
        return sorted(shapes, key=self.key)
