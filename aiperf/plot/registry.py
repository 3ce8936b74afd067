"""Every plot aiperf draws, declared once: its name, what it is drawn from and its title.

Everything else is derived from :data:`PLOTS`: the plot config's ``single_run`` and
``multi_run`` lists and the names it accepts (``aiperf.config.plot_config``), the default
titles (:data:`TITLES`), the renderer's lookup (:func:`draw_functions`) and the commented
lists of ``default_plot_config.yaml`` (``aiperf.plot.template``). A plot's name is also
its PNG's file stem and the name of the function that draws it, in the figure module of
what it is drawn from (:data:`SOURCES`).

Adding a plot: one row here and its function in that module (tests check that both
exist), then ``python -m aiperf.plot.template`` for the shipped template.

This module imports no plotting library: the config loader reads it at start-up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Literal

import attrs

__all__ = [
    "PLOTS",
    "PLOTS_BY_NAME",
    "SOURCES",
    "TITLES",
    "Kind",
    "Plot",
    "Source",
    "draw_functions",
    "plot_names",
]

#: The plot-config list that selects a plot.
Kind = Literal["single_run", "multi_run"]


@attrs.frozen
class Source:
    """What a family of plots is drawn from, and where their functions live."""

    kind: Kind  # the plot-config list that selects these plots
    module: str  # holds one function ``(data, Style) -> Figure`` per plot, named after it
    data: str  # what the function is given


#: By the name a :class:`Plot` gives in ``reads``.
SOURCES: Mapping[str, Source] = MappingProxyType({
    "run": Source("single_run", "aiperf.plot.figures_run", "one loaded run"),
    "trials": Source("single_run", "aiperf.plot.figures_trials",
                     "the loaded trials of one configuration"),
    "table": Source("multi_run", "aiperf.plot.figures_sweep",
                    "the multi-run table (one row per run, <tag>_<stat> columns)"),
})


@attrs.frozen
class Plot:
    """One plot: ``name`` (the PNG's file stem and its function's name), what it ``reads``
    (a key of :data:`SOURCES`) and its default ``title`` (a plot config may replace it)."""

    name: str
    reads: str = attrs.field(validator=attrs.validators.in_(SOURCES))
    title: str
    #: The figure module, when not the one of what it reads (a family of figures of
    #: their own, drawn from the same data).
    module: str | None = None

    @property
    def kind(self) -> Kind:
        """The plot-config list that selects this plot."""
        return SOURCES[self.reads].kind

    def draw_function(self) -> Callable[[Any, Any], Any]:
        """The function that draws this plot (imports its figure module, and with it
        matplotlib and seaborn)."""
        module = self.module or SOURCES[self.reads].module
        return getattr(importlib.import_module(module), self.name)


#: The figures of the server's own metrics (drawn from one run, like figures_run's).
_SERVER = "aiperf.plot.figures_server"

#: Every plot, in the order of the shipped selection.
PLOTS: tuple[Plot, ...] = (
    Plot("ttft_over_time", "run", "Time to first token per request"),
    Plot("ttft_timeline", "run", "Request timeline: time to first token, then generation"),
    Plot("itl_over_time", "run", "Inter-token latency per request"),
    Plot("ttft_distribution", "run", "Distribution of time to first token"),
    Plot("itl_distribution", "run", "Distribution of inter-token latency"),
    Plot("request_latency_distribution", "run", "Distribution of request latency"),
    Plot("throughput_over_time", "run", "Output token throughput over time"),
    Plot("concurrency_over_time", "run", "Requests in flight over time"),
    Plot("timeslices_ttft", "run", "Time to first token per time slice (avg)"),
    Plot("timeslices_itl", "run", "Inter-token latency per time slice (avg)"),
    Plot("gpu_utilization_and_throughput_over_time", "run",
         "GPU utilisation and output token throughput over time"),
    Plot("gpu_power_and_throughput_over_time", "run",
         "GPU power and output token throughput over time"),
    Plot("server_queue_and_throughput_over_time", "run",
         "Server requests running and waiting, and output token throughput over time",
         module=_SERVER),
    Plot("server_kv_cache_and_throughput_over_time", "run",
         "Server KV-cache use and output token throughput over time", module=_SERVER),
    Plot("server_vs_client_ttft_over_time", "run",
         "Time to first token: the client's and the server's own over time",
         module=_SERVER),
    Plot("trial_spread", "trials", "Spread across trials (mean and 95% t-interval)"),
    Plot("ttft_vs_throughput", "table", "Time to first token vs output token throughput"),
    Plot("itl_vs_throughput_per_user", "table",
         "Inter-token latency vs output token throughput per user"),
    Plot("latency_percentiles_vs_concurrency", "table",
         "Request latency percentiles vs concurrency"),
    Plot("throughput_vs_concurrency", "table", "Throughput vs concurrency"),
    Plot("concurrency_knee", "table", "Concurrency knee: request latency p99 vs concurrency"),
    Plot("prefill_ttft_fit", "table", "Prefill: time to first token vs input sequence length"),
    Plot("decode_itl_surface", "table",
         "Decode: inter-token latency by concurrency and output length"),
    Plot("sla_boundary", "table", "SLA boundary: throughput and SLA verdict vs concurrency"),
    Plot("pareto_frontier", "table",
         "Pareto frontier: output token throughput vs request latency"),
    Plot("throughput_per_gpu_vs_latency", "table",
         "Output token throughput per GPU vs request latency"),
    Plot("throughput_per_watt_vs_latency", "table",
         "Output token throughput per watt vs request latency"),
)

PLOTS_BY_NAME: Mapping[str, Plot] = MappingProxyType({p.name: p for p in PLOTS})

#: Default title of every plot (``Style.title`` overrides it).
TITLES: Mapping[str, str] = MappingProxyType({p.name: p.title for p in PLOTS})


def plot_names(kind: Kind) -> tuple[str, ...]:
    """The names of the plots of ``kind``, in the shipped order."""
    return tuple(p.name for p in PLOTS if p.kind == kind)


def draw_functions() -> dict[str, Callable[[Any, Any], Any]]:
    """Every plot's drawing function by name (imports the figure modules)."""
    return {p.name: p.draw_function() for p in PLOTS}
