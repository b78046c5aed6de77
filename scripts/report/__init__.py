"""The parts of `scripts/report.py` (the entry point; run that, not this package):

  reference  published numbers (scripts/published.json) and the estimator registry (`vae-train estimators --json`)
  load       reading results/ from disk into plain data (runs, protocol cells, toys, diagnostics)
  stats      means, standard errors and seed groups on that data
  tables     the markdown of results/REPORT.md, section by section
  plots      results/plots/*.png

Standard library, numpy and matplotlib only.
"""
