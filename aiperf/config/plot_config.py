"""The plot-config format (ours): its fields and the names of the plots it can request.

A plot config is what ``plot:`` holds inline, what a ``plot: ./file.yaml`` points at,
and what ``aiperf plot --config`` reads. It is validated when the configuration is
loaded, so a typo fails before a long benchmark rather than after it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from aiperf.config.kinds import (
    BoolKind,
    EnumKind,
    FloatKind,
    IntKind,
    ListKind,
    MapKind,
    StrKind,
)
from aiperf.config.layer import Origin
from aiperf.plot.registry import plot_names

#: Plots drawn for one run directory, and across the cells of a sweep or recipe: both
#: derived from the plot registry (``aiperf.plot.registry``), where each plot is declared.
SINGLE_RUN_PLOTS = plot_names("single_run")
MULTI_RUN_PLOTS = plot_names("multi_run")

PLOT_NAMES = SINGLE_RUN_PLOTS + MULTI_RUN_PLOTS

#: The plots drawn when a plot config does not pin a list: the shipped selection. A plot
#: added to the registry is drawn for every user whose plot config leaves the list out.
SHIPPED_SELECTION: dict[str, tuple[str, ...]] = {
    "single_run": SINGLE_RUN_PLOTS,
    "multi_run": MULTI_RUN_PLOTS,
}

#: Lists that earlier releases copied into ``~/.aiperf/plot_config.yaml`` on first use.
#: A home file holding one of these did not choose it, so it is read as the shipped
#: selection. Append the old list here whenever the shipped selection changes.
FORMER_SHIPPED_SELECTIONS: Mapping[str, tuple[tuple[str, ...], ...]] = MappingProxyType({
    "single_run": ((
        "ttft_over_time", "ttft_timeline", "itl_over_time", "ttft_distribution",
        "itl_distribution", "request_latency_distribution", "throughput_over_time",
        "concurrency_over_time", "timeslices_ttft", "timeslices_itl",
        "gpu_utilization_and_throughput_over_time", "trial_spread"),),
    "multi_run": ((
        "ttft_vs_throughput", "itl_vs_throughput_per_user",
        "latency_percentiles_vs_concurrency", "throughput_vs_concurrency",
        "concurrency_knee", "prefill_ttft_fit", "decode_itl_surface", "sla_boundary",
        "pareto_frontier"),),
})
THEMES = ("light", "dark")


@attrs.frozen
class PlotField:
    """One key of a plot config."""

    key: str
    kind: Any
    default: Any
    doc: str


PLOT_FIELDS: tuple[PlotField, ...] = (
    PlotField("theme", EnumKind(THEMES), "light", "Colour theme of the figures."),
    PlotField("dpi", IntKind(min=50, max=600), 150, "Resolution of the PNG files."),
    PlotField("width", FloatKind(gt=1, le=40), 10.0, "Figure width in inches."),
    PlotField("height", FloatKind(gt=1, le=40), 6.0, "Figure height in inches."),
    PlotField("single_run", ListKind(EnumKind(SINGLE_RUN_PLOTS)), list(SINGLE_RUN_PLOTS),
              "Plots to draw for a single run."),
    PlotField("multi_run", ListKind(EnumKind(MULTI_RUN_PLOTS)), list(MULTI_RUN_PLOTS),
              "Plots to draw across sweep cells or recipe probes."),
    PlotField("exclude", ListKind(EnumKind(PLOT_NAMES)), [],
              "Plots never to draw, whatever the lists above say."),
    PlotField("titles", MapKind(StrKind(), keys=PLOT_NAMES), {},
              "Custom figure titles by plot name."),
    PlotField("html", BoolKind(), False,
              "Also write report.html beside the PNGs: one self-contained, interactive "
              "page (no network needed) with the summaries, charts, an SLO panel and the "
              "resolved configuration."),
)

PLOT_FIELDS_BY_KEY: Mapping[str, PlotField] = MappingProxyType({f.key: f for f in PLOT_FIELDS})


def plot_kind_at(path: tuple[str, ...]) -> Any:
    """The kind of the plot-config key at ``path`` (plot configs are flat)."""
    if len(path) == 1 and path[0] in PLOT_FIELDS_BY_KEY:
        return PLOT_FIELDS_BY_KEY[path[0]].kind
    return None


def plot_children(prefix: tuple[str, ...]) -> set[str]:
    """Keys allowed below ``prefix`` in a plot config."""
    return set(PLOT_FIELDS_BY_KEY) if not prefix else set()


@attrs.frozen
class PlotEnvelopeSpec:
    """What a ``plot:`` envelope said: its file (None when inline) and the keys it set."""

    source: str | None
    settings: Mapping[str, Any]
    #: Where each key was written: (file, line, column). Not part of the value.
    places: Mapping[str, tuple[str, int | None, int | None]] = attrs.field(
        factory=dict, eq=False, repr=False)


#: The file name ``aiperf profile`` materializes a run's ``plot:`` envelope to, inside the
#: artifact directory, so ``aiperf plot <run>`` reproduces the run's plots later.
RECEIPT_NAME = ".aiperf-plot-config.yaml"
#: The value the plot-config rule gives when the run's envelope decides.
#: A path starting with this is inside the run's artifact directory, wherever that is.
ARTIFACT_DIR_PREFIX = "<artifact_dir>/"
RECEIPT_PLACEHOLDER = ARTIFACT_DIR_PREFIX + RECEIPT_NAME
PLOT_CONFIG_KEY = "benchmark.artifacts.plot_config"


#: Moves the folder of the user's own aiperf files (``~/.aiperf``).
AIPERF_HOME_ENV = "AIPERF_HOME"


def home_plot_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """The user's own plot config (may not exist): ``$AIPERF_HOME/plot_config.yaml``
    when ``AIPERF_HOME`` is set, else ``~/.aiperf/plot_config.yaml``."""
    environ = os.environ if environ is None else environ
    base = environ.get(AIPERF_HOME_ENV, "").strip()
    folder = Path(os.path.expanduser(base)) if base else Path.home() / ".aiperf"
    return folder / "plot_config.yaml"


# ---- which plots are on: the shipped selection merged with one plot config ----

#: The plot-config keys that list plots, one per kind of plot.
SELECTION_KEYS = ("single_run", "multi_run")
SELECTION_TABLE = "plot-selection"


@attrs.frozen
class SelectionRule:
    """One row of the plot-selection table (first match wins), with where it is written."""

    id: str
    because: str
    hint: str
    line: int


def _row(id: str, because: str, hint: str) -> SelectionRule:
    return SelectionRule(id, because, hint, sys._getframe(1).f_lineno)


#: How a plot config's lists combine with the shipped selection, in order; the first row
#: that holds decides. ``exclude`` then drops plots from whatever the row chose.
SELECTION_RULES: tuple[SelectionRule, ...] = (
    _row("plot-selection-later",
         "{source} is inside the artifact directory; it is read when the run is plotted",
         "pass --plot-config FILE to decide it now"),
    _row("plot-selection-missing",
         "{source} does not exist (yet); it is read when the run is plotted",
         "create the file, or pass --plot-config with a file that exists"),
    _row("plot-selection-pinned",
         "{key} in {where} pins the set: only these plots{excluded}; plots added by "
         "later aiperf versions are not drawn",
         "delete the {key} list to follow the shipped selection (use exclude: to turn "
         "plots off)"),
    _row("plot-selection-former-copy",
         "{where} holds the {key} list an earlier aiperf copied there, not a choice: "
         "read as the shipped selection{excluded}",
         "delete the {key} list from {source} to silence this"),
    _row("plot-selection-shipped",
         "the shipped selection{excluded}; {source} does not list {key}",
         "add a plot to exclude: in {source} to turn it off, or list {key} there to pin "
         "the set"),
)
SELECTION_RULES_BY_ID: Mapping[str, SelectionRule] = MappingProxyType(
    {r.id: r for r in SELECTION_RULES})


@attrs.frozen
class PlotSelection:
    """Which plots of one kind are on, and the row and place that decided it."""

    key: str
    #: None while the plot config is unread (a file inside the artifact directory).
    plots: tuple[str, ...] | None
    rule: SelectionRule
    #: Where the deciding list (or the exclude list) was written; None for the shipped.
    place: tuple[str, int | None, int | None] | None
    because: str
    hint: str


def select_plots(key: str, settings: Mapping[str, Any], source: str,
                 places: Mapping[str, tuple[str, int | None, int | None]] | None = None,
                 home: bool = False) -> PlotSelection:
    """The plots of kind ``key`` a plot config turns on (the plot-selection table).

    ``settings`` are the keys the config set; ``source`` names it for people; ``home``
    is true for the user's home file, whose lists may be a former release's copy.
    """
    places = places or {}
    shipped = SHIPPED_SELECTION[key]
    given = settings.get(key)
    if given is not None and not (home and tuple(given) in FORMER_SHIPPED_SELECTIONS[key]):
        rule, base, place = SELECTION_RULES_BY_ID["plot-selection-pinned"], tuple(given), \
            places.get(key)
    elif given is not None:
        rule, base, place = SELECTION_RULES_BY_ID["plot-selection-former-copy"], shipped, \
            places.get(key)
    else:
        rule, base, place = SELECTION_RULES_BY_ID["plot-selection-shipped"], shipped, None
    exclude = tuple(settings.get("exclude") or ())
    dropped = [n for n in base if n in exclude]
    if dropped and place is None:
        place = places.get("exclude")
    excluded = ""
    if dropped:
        at = places.get("exclude")
        at_text = f" at {_place_text(at)}" if at else ""
        excluded = f", minus {', '.join(dropped)} (exclude:{at_text})"
    where = _place_text(places[key]) if key in places else source
    values = {"key": key, "source": source, "where": where, "excluded": excluded}
    return PlotSelection(key, tuple(n for n in base if n not in exclude), rule, place,
                         rule.because.format(**values), rule.hint.format(**values))


def deferred_selection(key: str, source: str, *, missing: bool = False) -> PlotSelection:
    """The selection of a plot config read only when the run is plotted (inside the
    artifact directory, or a file that does not exist yet: ``missing``)."""
    rule = SELECTION_RULES_BY_ID["plot-selection-missing" if missing
                                 else "plot-selection-later"]
    values = {"key": key, "source": source}
    return PlotSelection(key, None, rule, None, rule.because.format(**values),
                         rule.hint.format(**values))


def _place_text(place: tuple[str, int | None, int | None]) -> str:
    return Origin("file", *place).describe()
