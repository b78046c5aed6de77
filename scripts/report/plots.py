"""Plots: results/plots/*.png from loaded data (no file reading, no markdown beyond the image line `save` adds).

Conventions, so every figure reads on its own:
  - every panel title says what the panel is (model and data, quantity), never a folder path;
  - y-limits come from the values actually plotted, with a margin (`fit_ylim`); a series far above all the
    others (a diverging run) is cut at the top instead of squashing them, and the title says so;
  - legends, never text labels placed at points or line ends; a legend sits below its panel (or below the
    figure when all panels share it), never on top of the data.
"""
import math
import os
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.lines  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402

from .load import num  # noqa: E402
from .stats import Shapes  # noqa: E402

# Colour and dash per line, so overlapping curves of many estimators stay tellable apart.
STYLES = [{"color": c, "ls": ("-", "--", "-.")[i % 3], "lw": 1.4} for i, c in enumerate(plt.get_cmap("tab10").colors)]
DIVERGE = 8  # a series is cut when it reaches this many times the others' span above their lowest value
ZOOM_MIN_EPOCHS = 6  # training-curve panels with this many epochs or more leave out the first third
DATASETS = {"mnist": "MNIST", "binarized_mnist": "binarised MNIST", "fashion_mnist": "Fashion-MNIST",
            "omniglot": "Omniglot"}


def setup():
    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "figure.dpi": 110})


def save(doc, fig, name, caption):
    os.makedirs(doc.plots, exist_ok=True)
    path = os.path.join(doc.plots, name)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    doc.image(path, caption)


def dataset_name(dataset):
    return DATASETS.get(dataset, dataset)


def fit_ylim(ax, series, log=False, pad=0.05, robust=True):
    """Sets the y-limits of `ax` to cover every plotted value of `series` [(label, ys)] with a margin of `pad`
    of the range (in decades on a log axis; non-positive values are not drawn there and are ignored).

    With `robust`, a series whose maximum lies more than DIVERGE times the span of the other series above their
    lowest value (at most a third of the series, and only with three or more) is cut at the top. Returns the cut
    series as [(label, max)] for the title; [] when every value is inside the frame."""
    def ok(y):
        return y is not None and math.isfinite(y) and (y > 0 or not log)
    data = [(label, [y for y in ys if ok(y)]) for label, ys in series]
    data = [(label, ys) for label, ys in data if ys]
    if not data:
        return []
    t = math.log10 if log else (lambda y: y)
    kept = sorted(data, key=lambda d: max(d[1]))
    cut = []
    while robust and len(kept) >= 3 and len(cut) < len(data) // 3:
        top, rest = kept[-1], kept[:-1]
        low = t(min(min(ys) for _, ys in rest))
        span = t(max(max(ys) for _, ys in rest)) - low
        if span <= 0 or t(max(top[1])) - low <= DIVERGE * span:
            break
        cut.append((top[0], max(top[1])))
        kept = rest
    lo = t(min(min(ys) for _, ys in data))
    hi = t(max(max(ys) for _, ys in kept))
    margin = pad * (hi - lo) if hi > lo else (0.05 if log else 0.05 * abs(hi) or 0.5)
    lo, hi = lo - margin, hi + margin
    ax.set_ylim((10 ** lo, 10 ** hi) if log else (lo, hi))
    return cut


def cut_note(cut):
    """Title suffix naming the series cut at the top of the frame."""
    if not cut:
        return ""
    return "\n(cut at the top: " + ", ".join(f"{label} up to {y:.4g}" for label, y in cut) + ")"


def legend_below(ax, handles=None, ncol=2, **kw):
    """A legend under the axes (outside the data area); `savefig(bbox_inches="tight")` makes room for it."""
    args = (handles,) if handles is not None else ()
    return ax.legend(*args, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=ncol, fontsize=7, frameon=False,
                     **kw)


def figure_legend(fig, handles, ncol=4):
    """One legend for all panels, under the figure."""
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol, fontsize=8, frameon=False)


def estimator_colours(names, cmap="tab10"):
    """Colour per estimator, the same in every panel of a figure (names in registry order)."""
    colours = plt.get_cmap(cmap if len(names) <= 10 else "tab20").colors
    return {e: colours[i % len(colours)] for i, e in enumerate(names)}


# MARK: - Full protocol: binary VAE

def protocol_binary(doc, runs, estimators, pub_train, pub_valid, pub):
    if not runs:
        return
    millions = f"{pub.binary_steps / 1_000_000:g}M"
    fig, axes = plt.subplots(1, 3, figsize=(16.5, 4.6), layout="constrained")
    curves = []
    for r in sorted(runs, key=lambda r: (estimators.index(r.estimator), str(r.seed))):
        train, valid = r.curves()
        label = r.estimator + ("" if len([x for x in runs if x.estimator == r.estimator]) == 1 else f" seed {r.seed}")
        label += "" if r.full else f" (in progress, {r.steps_done:,} steps)"
        curves.append((STYLES[estimators.index(r.estimator) % len(STYLES)], label, train, valid))
    last = max((p[0] for _, _, t, _ in curves for p in t), default=1)
    published = [(e, pub_train.get(pub.paper_name[e]), pub_valid.get(pub.paper_name[e])) for e in estimators
                 if pub.paper_name.get(e) in pub_train]
    what = "Binary VAE (MNIST, linear, 200 Bernoulli)"
    panels = [
        (axes[0], f"{what}:\ntrain −ELBO (epoch mean), all steps", lambda t, v: t, 1),
        (axes[1], f"{what}:\ntrain −ELBO from step {int(last) // 2:,} (zoom, ours only)",
         lambda t, v: [p for p in t if p[0] >= last / 2], 0),
        (axes[2], f"{what}:\nvalidation −ELBO (every 10 epochs)", lambda t, v: v, 2),
    ]
    handles = {}
    for ax, title, pick, which in panels:
        series = []
        for style, label, train, valid in curves:
            pts = pick(train, valid)
            if pts:
                line, = ax.plot([p[0] for p in pts], [p[1] for p in pts], label=label,
                                marker="o" if which == 2 else None, ms=3, **style)
                handles.setdefault(label, line)
                series.append((label, [p[1] for p in pts]))
        for e, pt, pv in published:  # the published value as a dotted level in the estimator's colour
            y = pt if which == 1 else pv if which == 2 else None
            if y is not None:
                style = STYLES[estimators.index(e) % len(STYLES)]
                label = (f"{pub.paper_name[e]} in the RELAX paper: best after {millions} steps "
                         "(train left, validation right)")
                handles.setdefault(label, ax.axhline(y, color=style["color"], ls=":", lw=1.1, label=label))
                series.append((label, [y]))
        cut = fit_ylim(ax, series, robust=False)
        if not series:
            ax.text(0.5, 0.5, "no data yet", ha="center", va="center", transform=ax.transAxes)
        if ax is axes[0]:
            ax.set_xscale("log")
        ax.set_title(title + cut_note(cut))
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda x, _: f"{x / 1000:g}k"))
        ax.set_xlabel("training step (batch 24)" + (", log scale" if ax is axes[0] else ""))
        ax.set_ylabel("−ELBO (nats)")
        ax.grid(alpha=0.3, which="both")
    figure_legend(fig, list(handles.values()), ncol=3)
    fig.suptitle("Binary VAE, MNIST linear one-layer, 200 Bernoulli latents: −ELBO against training steps "
                 f"(dotted: the RELAX paper's best after {millions} steps)")
    save(doc, fig, "protocol_binary_vae_curves.png", "binary VAE learning curves at the full protocol")


# MARK: - Toys

def poly(doc, curves, ps, estimators, pub):
    t = pub.poly_target
    fig, axes = plt.subplots(1, len(ps), figsize=(5.2 * len(ps), 3.8), squeeze=False, layout="constrained")
    handles = {}
    for ax, p in zip(axes[0], ps):
        series = []
        for i, e in enumerate(estimators):
            pts = defaultdict(list)
            for r in curves:
                if r["estimator"] == e and float(r["p"]) == p and num(r.get("train_loss")) is not None:
                    pts[int(r["epoch"])].append(num(r["train_loss"]))
            if pts:
                x = sorted(pts)
                ys = [np.mean(pts[k]) - t ** p for k in x]
                handles.setdefault(e, ax.plot(x, ys, label=e, **STYLES[i % len(STYLES)])[0])
                series.append((e, ys))
        values = [y for _, ys in series for y in ys]
        log = bool(values) and min(values) > 0 and max(values) / min(values) > 20
        if log:
            ax.set_yscale("log")
        cut = fit_ylim(ax, series, log=log)
        ax.set_title(f"Polynomial programming, p = {p:g}:\ntrain loss − optimum {t:g}^p"
                     + (" (log scale)" if log else "") + cut_note(cut))
        ax.set_xlabel("epoch (200 steps)")
        ax.set_ylabel(f"train loss − optimum {t:g}^p")
        ax.grid(alpha=0.3)
    figure_legend(fig, list(handles.values()))
    fig.suptitle("Polynomial programming: training loss above the optimum (mean over seeds)")
    save(doc, fig, "poly_curves.png", "polynomial programming curves")


def toy(doc, toy_data, estimators):
    target = toy_data.target
    what = f"REBAR/RELAX toy (t = {target:g})" if target is not None else "REBAR/RELAX toy"
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2), layout="constrained")
    columns = [("loss", "exact expected loss", False), ("theta", "θ = P(b = 1), log scale", True),
               ("grad_var", "variance of the gradient estimate, log scale", True)]
    series = {col: [] for col, _, _ in columns}
    handles = []
    for i, e in enumerate(estimators):
        style = STYLES[i % len(STYLES)]
        for ax, (col, _, log) in zip(axes, columns):
            s = toy_data.series(e, col)
            if s:
                x = sorted(s)
                ys = [float(np.mean(s[k])) for k in x]
                # A log axis cannot show 0: leave a gap there rather than a line running off the bottom.
                line, = ax.plot(x, [y if y > 0 or not log else np.nan for y in ys], label=e, **style)
                series[col].append((e, ys))
                if ax is axes[0]:
                    handles.append(line)
    axes[0].set_ylabel("exact expected loss")
    axes[1].set_ylabel("θ = P(b = 1)")
    axes[2].set_ylabel("gradient variance (log)")
    for ax, (col, title, log) in zip(axes, columns):
        if log:
            ax.set_yscale("log")
        cut = fit_ylim(ax, series[col], log=log)
        zeros = sum(1 for _, ys in series[col] for y in ys if y <= 0)
        ax.set_title(f"{what}:\n{title}" + (f" ({zeros} zero values left as gaps)" if log and zeros else "")
                     + cut_note(cut))
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    figure_legend(fig, handles, ncol=min(len(handles), 8))
    fig.suptitle("REBAR/RELAX toy, mean over seeds")
    save(doc, fig, "toy_curves.png", "toy loss, theta and gradient variance")
    extras = [r for r in toy_data.curves if num(r.get("eta")) is not None or num(r.get("log_temperature")) is not None]
    if not extras:
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained")
    params = [("eta", "η (control-variate scale)"), ("log_temperature", "log λ (relaxation temperature)")]
    series = {col: [] for col, _ in params}
    handles = {}
    def index(e):  # the colour of the estimator in the figure above
        return estimators.index(e) if e in estimators else len(estimators)
    for e in sorted({r["estimator"] for r in extras}, key=lambda e: (index(e), e)):
        for ax, (col, _) in zip(axes, params):
            s = toy_data.series(e, col)
            if s:
                x = sorted(s)
                ys = [float(np.mean(s[k])) for k in x]
                handles.setdefault(e, ax.plot(x, ys, label=e, **STYLES[index(e) % len(STYLES)])[0])
                series[col].append((e, ys))
    for ax, (col, title) in zip(axes, params):
        cut = fit_ylim(ax, series[col])
        ax.set_title(f"{what}: learned {title},\nmean over seeds" + cut_note(cut))
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    figure_legend(fig, list(handles.values()))
    save(doc, fig, "toy_estimator_parameters.png", "learned estimator parameters on the toy")


def relax(doc, rows):
    def value(r, key):
        try:
            return float(r[key])
        except (KeyError, TypeError, ValueError):
            return None
    seed = min(r["seed"] for r in rows)
    steps = sorted({int(r["step"]) for r in rows if r["seed"] == seed})
    fig, axes = plt.subplots(1, len(steps), figsize=(4.3 * len(steps), 3.8), squeeze=False, sharey=True,
                             layout="constrained")
    series = []
    for ax, step in zip(axes[0], steps):
        pts = sorted((value(r, "z"), value(r, "f_relaxed"), value(r, "c"), value(r, "theta"))
                     for r in rows if r["seed"] == seed and int(r["step"]) == step)
        z = [p[0] for p in pts]
        fixed, = ax.plot(z, [p[1] for p in pts], label="fixed Concrete: f(σ_λ(z))")
        learned, = ax.plot(z, [p[2] for p in pts], label="RELAX learned: c_φ(z) = f(σ_λ(z)) + r_ρ")
        series += [("fixed", [p[1] for p in pts]), ("learned", [p[2] for p in pts])]
        ax.set_title(f"Toy, seed {seed}, step {step}: θ = {pts[0][3]:.3g}")
        ax.set_xlabel("z (relaxation input, column z)")
        ax.grid(alpha=0.3)
    cut = fit_ylim(axes[0][0], series, robust=False)  # shared y: one fit covers every panel
    axes[0][0].set_ylabel("surrogate value")
    figure_legend(fig, [fixed, learned], ncol=2)
    fig.suptitle(f"Toy, seed {seed}: RELAX's learned control variate vs the fixed Concrete relaxation" + cut_note(cut))
    save(doc, fig, "relax_vs_concrete.png", "RELAX learned relaxation vs Concrete")


# MARK: - Gradient diagnostics

def diagnostic_title(d):
    """What the model of an analysis.csv is: e.g. "8×4 MNIST VAE trained with reinmax, 3 epochs; exact gradient"."""
    first, run = d.rows[0], d.run
    family = first.get("family") or (run.family if run else "")
    latent = first.get("latent") or (run.shape if run else "?")
    dataset = dataset_name(run.dataset) if run else "MNIST"
    if family == "bernoulli":
        kind = f", {run.model_type}" if run else ""
        what = f"Binary VAE ({latent} Bernoulli latents{kind}) on {dataset}"
    else:
        what = f"{latent.replace('x', '×')} {dataset} VAE"
    trained = f"trained with {run.estimator}, {run.epochs_done} epochs" if run else \
        (f"checkpoint after epoch {first['epoch']}" if first.get("epoch") else "")
    reference = first.get("reference", "")
    ref = "exact gradient" if reference == "exact" else f"reference {reference}" if reference else ""
    return what + "\n" + "; ".join(x for x in (trained, ref) if x)


def bias_variance(doc, panels, reg):
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 5), squeeze=False, layout="constrained")
    names = sorted({p.estimator for _, pts in panels for p in pts}, key=reg.order_key)
    colours = estimator_colours(names, "tab20")
    markers = {e: "os^Dvp<>h"[i % 9] for i, e in enumerate(names)}  # with the colour, tells 18 estimators apart
    for ax, (d, pts) in zip(axes[0], panels):
        for p in pts:
            colour = colours[p.estimator]
            x, y = max(p.variance, 1e-12), max(p.bias, 1e-6)
            if p.bias_se:  # the noise floor: an unbiased estimator sits at about one s.e.
                # On a log axis a lower bar reaching 0 would run off the plot; cap it at a decade below.
                ax.errorbar(x, y, yerr=[[min(p.bias_se, 0.9 * y)], [p.bias_se]], color=colour, lw=0.8, capsize=2)
            ax.scatter(x, y, s=60 if p.tuned else 36, marker=markers[p.estimator], color=colour,
                       edgecolors="black" if p.tuned else "none", linewidths=1.2,
                       label=p.label + (" (tuned)" if p.tuned else ""))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("variance (trace of the covariance)")
        ax.set_ylabel("relative bias ‖E[ĝ] − g‖ / ‖g‖")
        ax.set_title(diagnostic_title(d), fontsize=9)
        ax.grid(alpha=0.3, which="both")
        legend_below(ax, ncol=2)
    fig.suptitle("Bias against variance of the encoder-logit gradient estimates (black edge: tuned; bars: ± 1 s.e. "
                 "of the bias, the noise floor)")
    save(doc, fig, "bias_variance.png", "bias vs variance")


# MARK: - Short runs: training curves and temperature sweeps

def training_curves(doc, chosen, pub, reg):
    if not chosen:
        return
    shapes = Shapes(pub).order({s for _, s, _ in chosen})
    cols = min(3, len(shapes))
    nrows = math.ceil(len(shapes) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(5.6 * cols, 4.2 * nrows), squeeze=False, layout="constrained")
    names = sorted({e for e, _, _ in chosen}, key=reg.order_key)
    colours = estimator_colours(names)
    handles = {}
    for ax, s in zip(axes.flat, shapes):
        lines = []
        for e, _, g in sorted((c for c in chosen if c[1] == s), key=lambda c: reg.order_key(c[0])):
            per_epoch = defaultdict(lambda: ([], []))
            for r in g.runs:
                for epoch, (t, v) in r.per_epoch().items():
                    if t is not None:
                        per_epoch[epoch][0].append(t)
                    if v is not None:
                        per_epoch[epoch][1].append(v)
            x = sorted(k for k in per_epoch if per_epoch[k][0])
            if x:
                lines.append((e, g, x, per_epoch))
        epochs = sorted({k for _, _, x, _ in lines for k in x})
        # Long runs: the first third of the epochs is the initial descent, far above the rest; leave it out.
        start = epochs[len(epochs) // 3] if len(epochs) >= ZOOM_MIN_EPOCHS else (epochs[0] if epochs else 1)
        series, seeds = [], set()
        for e, g, x, per_epoch in lines:
            seeds.add(len(g.runs))
            xs = [k for k in x if k >= start]
            train = [float(np.mean(per_epoch[k][0])) for k in xs]
            handles.setdefault(e, ax.plot(xs, train, color=colours[e], label=e)[0])
            series.append((f"{e} train", train))
            xe = [k for k in xs if per_epoch[k][1]]
            if xe:
                test = [float(np.mean(per_epoch[k][1])) for k in xe]
                ax.plot(xe, test, color=colours[e], ls="--", lw=1)
                series.append((f"{e} test", test))
        cut = fit_ylim(ax, series)
        window = (f"epochs {start}–{epochs[-1]} (1–{start - 1} left out: initial descent)" if start > epochs[0]
                  else f"all {len(epochs)} epochs") if epochs else "no epochs"
        n = f"n={min(seeds)}" if len(seeds) == 1 else f"n={min(seeds)}–{max(seeds)}" if seeds else "n=0"
        ax.set_title(f"{s} MNIST VAE (short runs): −ELBO per epoch\n{window}; {n} seed(s) per line" + cut_note(cut))
        ax.set_xlabel("epoch")
        ax.set_ylabel("−ELBO (nats)")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    key = [matplotlib.lines.Line2D([], [], color="black", label="train (solid)"),
           matplotlib.lines.Line2D([], [], color="black", ls="--", lw=1, label="test (dashed)")]
    entries = [handles[e] for e in names if e in handles] + key
    spare = list(axes.flat)[len(shapes):]
    for ax in spare:
        ax.axis("off")
    if spare:  # the legend in the first empty panel slot
        spare[0].legend(handles=entries, loc="center", ncol=2, fontsize=9, frameon=False, title="estimator")
    else:
        figure_legend(fig, entries, ncol=6)
    fig.suptitle("Categorical MNIST-VAE, short runs: −ELBO per epoch, mean over seeds (solid train, dashed test)")
    save(doc, fig, "training_curves.png", "training curves")


def temperature(doc, sweeps, pub):
    if not sweeps:
        return
    shapes = Shapes(pub).order({v[0].shape for v in sweeps})
    fig, axes = plt.subplots(1, len(shapes), figsize=(5.4 * len(shapes), 4), squeeze=False, layout="constrained")
    for ax, s in zip(axes[0], shapes):
        series, datasets = [], set()
        for v in sweeps:
            if v[0].shape != s:
                continue
            datasets.add(dataset_name(v[0].config.get("data", {}).get("dataset", "mnist")))
            t = [g.config["estimator"]["temperature"] for g in v]
            m = [g.train[0] for g in v]
            se = [g.train[1] for g in v]
            n = sorted({g.train[2] for g in v})
            label = f"{v[0].estimator} ({v[0].epochs} ep, n={n[0] if len(n) == 1 else f'{n[0]}–{n[-1]}'})"
            if all(x is None for x in se):  # single seeds: no error bars
                ax.plot(t, m, marker="o", label=label)
                series.append((label, m))
            else:
                err = [x or 0 for x in se]
                ax.errorbar(t, m, yerr=err, marker="o", capsize=3, label=label)
                series.append((label, [a - b for a, b in zip(m, err)] + [a + b for a, b in zip(m, err)]))
        cut = fit_ylim(ax, series)
        ax.set_title(f"{s} {' / '.join(sorted(datasets))} VAE: final train −ELBO against τ" + cut_note(cut))
        ax.set_xlabel("temperature τ")
        ax.set_ylabel("final train −ELBO")
        ax.grid(alpha=0.3)
        legend_below(ax, ncol=1)
    fig.suptitle("Final training −ELBO against the estimator temperature (mean ± s.e. over seeds; no bar for n=1)")
    save(doc, fig, "temperature_sweep.png", "temperature sweep")
