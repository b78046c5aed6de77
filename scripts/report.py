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

Two inputs besides results/, both required (a clear error names the missing one; there is no built-in fallback):
  - scripts/published.json: the published numbers, each table with its source (--published to use another copy);
  - the vae-train binary: `vae-train estimators --json` gives the estimator names and the row order
    (--vae-train, default .build/release/vae-train; `make release` builds it).

The work is split into modules under scripts/report/: reference (the two inputs above), load (results/ into plain
data), stats, tables (the markdown) and plots (the PNGs). Only the standard library, numpy and matplotlib
(Debian's python3-matplotlib; run with /usr/bin/python3 if the `python3` on PATH is another installation). Usage:
    /usr/bin/python3 scripts/report.py [--results results] [--out results/REPORT.md]
                                       [--vae-train .build/release/vae-train] [--published scripts/published.json]
"""
import argparse
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ folders in scripts/ from `make report`

from report import load, plots, tables  # noqa: E402  (the package scripts/report/, next to this file)
from report.reference import (DEFAULT_PUBLISHED, DEFAULT_VAE_TRAIN, ReportError, load_published,  # noqa: E402
                              load_registry)


def build(results, out, vae_train, published_path):
    """Writes the report and its plots; returns (report path, number of plots). Raises ReportError."""
    pub = load_published(published_path)
    reg = load_registry(vae_train)
    for name in sorted(set(pub.paper_name) - set(reg.names)):
        print(f"report: warning: {published_path} maps `{name}`, which `vae-train estimators` does not list",
              file=sys.stderr)
    plots_dir = os.path.join(os.path.dirname(out) or ".", "plots")
    plots.setup()

    runs, _ = load.load_runs(results)
    cells, binary = load.load_protocol(results, pub.epochs)
    # The full-protocol runs have their own part; the numbered sections are the short runs only.
    short = [r for r in runs if not load.is_protocol(r) and not load.is_study(r)]

    doc = tables.Document(os.path.dirname(out) or ".", plots_dir)
    shown = "scripts/published.json" if os.path.abspath(published_path) == DEFAULT_PUBLISHED else published_path
    tables.header(doc, pub, shown)
    tables.protocol_section(doc, cells, binary, pub, reg)
    estimators, pub_train, pub_valid = tables.protocol_binary_section(doc, binary, pub, reg)
    plots.protocol_binary(doc, binary, estimators, pub_train, pub_valid, pub)
    tables.studies_section(doc, results, load.STUDY_DIRS)
    tables.short_runs_header(doc)
    best = tables.categorical_section(doc, short, pub, reg)
    tables.claim_section(doc, best, pub)
    tables.binary_section(doc, short, pub, reg)

    poly_table, poly_curves = load.load_poly(results)
    poly = tables.poly_section(doc, poly_table, poly_curves, pub, reg)
    if poly:
        plots.poly(doc, poly_curves, *poly, pub)
    toy = load.load_toy(results)
    toy_estimators = tables.toy_section(doc, toy, pub, reg)
    if toy_estimators:
        plots.toy(doc, toy, toy_estimators)
    relax_rows = load.load_relax(results)
    if tables.relax_section(doc, relax_rows):
        plots.relax(doc, relax_rows)

    panels = tables.diagnostics_section(doc, load.load_diagnostics(results))
    plots.bias_variance(doc, panels, reg)
    plots.training_curves(doc, tables.curves_section(doc, best), pub, reg)
    plots.temperature(doc, tables.temperature_section(doc, short, pub), pub)
    tables.inventory_section(doc, runs, pub, reg)
    tables.sources_section(doc, pub, reg, shown)

    # Remove plots of sections that no longer have data, so the folder matches the report.
    if os.path.isdir(plots_dir):
        for name in os.listdir(plots_dir):
            if name.endswith(".png") and name not in doc.images:
                os.remove(os.path.join(plots_dir, name))
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    with open(out + ".tmp", "w") as f:
        f.write(doc.text())
    os.replace(out + ".tmp", out)
    return out, len(doc.images), plots_dir


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", default="results", help="folder with the CSVs (default results)")
    parser.add_argument("--out", default=None, help="report path (default <results>/REPORT.md)")
    parser.add_argument("--vae-train", default=DEFAULT_VAE_TRAIN,
                        help="vae-train binary, asked for the estimator registry (default %(default)s; "
                             "`make release` builds it)")
    parser.add_argument("--published", default=DEFAULT_PUBLISHED,
                        help="published-numbers file (default scripts/published.json)")
    args = parser.parse_args(argv)
    try:
        out, images, plots_dir = build(args.results, args.out or os.path.join(args.results, "REPORT.md"),
                                       args.vae_train, args.published)
    except ReportError as e:
        print(f"report: error: {e}", file=sys.stderr)
        return 2
    print(f"report: wrote {out} and {images} plot(s) in {plots_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
