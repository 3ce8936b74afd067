"""The search recipes' families: what each runs (a grid of cells, or probes chosen one at
a time) and what it concludes from them.

The recipes themselves are data (``rules/recipes.yaml``, read by
:mod:`aiperf.config.recipes`): each names its family and, for the searches, its SLAs.
This package holds the families' code, pure functions of settings and run summaries:

- :mod:`aiperf.recipes.curves`: the curve recipes' answers (knee, TTFT fit, ITL surface,
  Pareto frontier) from the sweep aggregate's rows;
- :mod:`aiperf.recipes.sla`: the SLA searches (probe-bisect, grid) and their answers;
- :mod:`aiperf.recipes.degraded`: the verdict that keeps a failing cell's numbers out.

The runner (:mod:`aiperf.bench`) drives them and writes each answer once, to
``sweep_aggregate/<recipe>.json``; the renderer draws that answer. Neither is imported
here.
"""
