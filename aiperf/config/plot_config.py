"""The plot-config format (ours): its fields and the names of the plots it can request.

A plot config is what ``plot:`` holds inline, what a ``plot: ./file.yaml`` points at,
and what ``aiperf plot --config`` reads. It is validated when the configuration is
loaded, so a typo fails before a long benchmark rather than after it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs

from aiperf.config.kinds import EnumKind, FloatKind, IntKind, ListKind, MapKind, StrKind

#: Plots drawn for one run directory.
SINGLE_RUN_PLOTS = (
    "ttft_over_time",
    "ttft_timeline",
    "itl_over_time",
    "ttft_distribution",
    "itl_distribution",
    "request_latency_distribution",
    "throughput_over_time",
    "concurrency_over_time",
    "timeslices_ttft",
    "timeslices_itl",
    "gpu_utilization_and_throughput_over_time",
    "trial_spread",
)

#: Plots drawn across the cells of a sweep or recipe.
MULTI_RUN_PLOTS = (
    "ttft_vs_throughput",
    "itl_vs_throughput_per_user",
    "latency_percentiles_vs_concurrency",
    "throughput_vs_concurrency",
    "concurrency_knee",
    "prefill_ttft_fit",
    "decode_itl_surface",
    "sla_boundary",
    "pareto_frontier",
)

PLOT_NAMES = SINGLE_RUN_PLOTS + MULTI_RUN_PLOTS
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


#: The file name ``aiperf profile`` materializes a run's ``plot:`` envelope to, inside the
#: artifact directory, so ``aiperf plot <run>`` reproduces the run's plots later.
RECEIPT_NAME = ".aiperf-plot-config.yaml"
#: The value the plot-config rule gives when the run's envelope decides.
#: A path starting with this is inside the run's artifact directory, wherever that is.
ARTIFACT_DIR_PREFIX = "<artifact_dir>/"
RECEIPT_PLACEHOLDER = ARTIFACT_DIR_PREFIX + RECEIPT_NAME
PLOT_CONFIG_KEY = "benchmark.artifacts.plot_config"


def home_plot_config_path() -> Path:
    """The user's own plot config, ``~/.aiperf/plot_config.yaml`` (may not exist)."""
    return Path.home() / ".aiperf" / "plot_config.yaml"
