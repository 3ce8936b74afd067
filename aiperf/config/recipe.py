"""The Recipe type: what the resolution engine knows about a search recipe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen
class Recipe:
    """A search recipe as the engine sees it (the registry builds these)."""

    name: str
    description: str
    auto_plot_default: bool | None = None
    settings: Mapping[str, Any] = attrs.field(factory=dict)
    #: Each entry is a group of field keys of which at least one must be set.
    requires: tuple[tuple[str, ...], ...] = ()
    requires_streaming: bool = False
    #: Load dimensions the recipe drives itself (concurrency, isl, osl).
    sweeps: tuple[str, ...] = ()
    source: str = "built-in"
    #: How it runs: ``curve`` (a grid of cells from ``sweeps``, then an answer from
    #: their rows) or ``sla-search`` (probes chosen one at a time by a search style).
    #: None: it names neither, and runs as a grid when it sweeps something.
    family: str | None = None
    #: The family's answer it gives: for a curve ``knee``, ``ttft-fit``, ``itl-surface``
    #: or ``pareto``; for a search ``max-concurrency``, ``max-throughput`` or
    #: ``max-goodput``. None: no answer beyond the sweep aggregate.
    answer: str | None = None
    #: The SLA settings a search judges (those of them that are set), by name under
    #: ``benchmark.search`` (see ``slas:`` in rules/recipes.yaml).
    slas: tuple[str, ...] = ()


@attrs.frozen
class SlaDefinition:
    """What one SLA setting limits (``slas:`` in rules/recipes.yaml): a statistic of a
    summary metric, the words for it, and the SLO a goodput search counts per request."""

    setting: str
    metric: str
    statistic: str
    label: str
    #: The summary's value times ``scale`` is compared with the limit (the error rate is
    #: summarised in percent and limited as a fraction).
    scale: float = 1.0
    unit: str = ""
    #: The per-request SLO (a metric tag) this limit becomes in a goodput search; None
    #: for a limit that is no property of one request (the error rate).
    goodput_slo: str | None = None


@attrs.frozen
class SearchStyle:
    """A way to choose a search's probes (``search_styles:`` in rules/recipes.yaml): the
    function that runs it (``module:function``), the words the console uses for it, and
    the optional extra it needs."""

    name: str
    function: str
    describe: str
    extra: str | None = None
    #: The module the style imports when it runs (its optional library), checked before
    #: the first probe.
    needs: str | None = None
