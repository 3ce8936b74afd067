"""The figure of repeated trials of one configuration: each trial's key summary values,
with their mean and 95% Student-t interval.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from aiperf.plot.figure import Skip, metric_label, new_panels, themed_plot
from aiperf.plot.interval import t_interval
from aiperf.plot.registry import TITLES
from aiperf.plot.theme import Style, paint, theme_of

if TYPE_CHECKING:
    from aiperf.plot.frames import LoadedRun as LoadedRunLike


# --------------------------------------------------------------------------- trials

#: (tag, stat) drawn by ``trial_spread``, one panel each.
TRIAL_METRICS: tuple[tuple[str, str], ...] = (
    ("time_to_first_token", "p50"),
    ("time_to_first_token", "p99"),
    ("inter_token_latency", "p50"),
    ("request_latency", "p50"),
    ("request_throughput", "avg"),
)


def _summary_value(run: LoadedRunLike, tag: str, stat: str) -> tuple[float, str | None]:
    block = (run.summary or {}).get(tag)
    if not isinstance(block, Mapping) or block.get(stat) is None:
        return math.nan, None
    try:
        return float(block[stat]), block.get("unit")
    except (TypeError, ValueError):
        return math.nan, None


@themed_plot
def trial_spread(runs: Sequence[LoadedRunLike], style: Style) -> Figure:
    """Each trial's value of key summary metrics, with their mean and 95% t-interval."""
    runs = list(runs)
    if len(runs) < 2:
        raise Skip(f"needs at least 2 trials of one configuration; got {len(runs)}")
    panels = []
    for tag, stat in TRIAL_METRICS:
        found = [_summary_value(run, tag, stat) for run in runs]
        values = np.array([v for v, _ in found])
        if (~np.isnan(values)).sum() >= 2:
            unit = next((u for _, u in found if u), None)
            panels.append((tag, stat, unit, values))
    if not panels:
        wanted = ", ".join(f"{tag} {stat}" for tag, stat in TRIAL_METRICS)
        raise Skip(f"needs at least 2 trials with any of {wanted} in their summaries")
    theme = theme_of(style)
    fig, axes = new_panels(style, len(panels))
    fig.suptitle(style.title if style.title is not None else TITLES["trial_spread"],
                 color=theme.text)
    positions = np.arange(1, len(runs) + 1)
    for ax, (tag, stat, unit, values) in zip(axes, panels, strict=True):
        has = ~np.isnan(values)
        sns.scatterplot(x=positions[has], y=values[has], ax=ax, s=40,
                        color=theme.palette[0], label="trial")
        lo, hi = t_interval(values[has])
        mean = float(values[has].mean())
        at = len(runs) + 1.5
        ax.errorbar([at], [mean], yerr=[[mean - lo], [hi - mean]], fmt="D",
                    color=theme.palette[1], capsize=5, label="mean, 95% t-interval")
        ax.set_xlim(0.4, at + 0.6)
        ax.xaxis.set_major_locator(FixedLocator([*positions, at]))
        ax.xaxis.set_major_formatter(FuncFormatter(
            lambda x, _pos, at=at: "mean" if x == at else str(round(x))))
        ax.xaxis.set_minor_locator(NullLocator())
        old = ax.get_legend()
        if old is not None:
            old.remove()
        ax.set_xlabel("trial")
        ax.set_ylabel(metric_label(tag, stat, unit))
        paint(ax, theme)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize="small")
    return fig
