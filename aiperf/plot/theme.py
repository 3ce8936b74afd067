"""How a figure looks: its :class:`Style` (theme, resolution, size, title) and the two
colour themes, applied per figure.

The theme is applied inside ``matplotlib.rc_context`` held under a module lock, and the
colours that matter are also set explicitly on every axes (:func:`paint`), so nothing
leaks into rcParams.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any

import attrs
import matplotlib as mpl
import seaborn as sns
from cycler import cycler
from matplotlib.axes import Axes

__all__ = ["THEMES", "Style", "Theme", "paint", "theme_of", "themed"]


@attrs.frozen
class Style:
    """How a figure looks: theme, resolution, size in inches and an optional title."""

    theme: str = "light"  # "light" | "dark" (THEMES)
    dpi: int = 150
    width: float = 10.0  # inches
    height: float = 6.0
    title: str | None = None  # overrides the plot's default title (TITLES)


@attrs.frozen
class Theme:
    """The colours of one theme; ``palette`` starts with NVIDIA green."""

    background: str  # the figure
    panel: str  # inside the axes
    text: str
    grid: str
    palette: tuple[str, ...]


_NVIDIA_GREEN = "#76b900"


def _palette(name: str) -> tuple[str, ...]:
    """NVIDIA green first, then a seaborn palette without its own green (index 2)."""
    colours = sns.color_palette(name).as_hex()
    return (_NVIDIA_GREEN, *(c for i, c in enumerate(colours) if i != 2))


THEMES: Mapping[str, Theme] = MappingProxyType({
    "light": Theme("#ffffff", "#ffffff", "#0a0a0a", "#cccccc", _palette("deep")),
    "dark": Theme("#1a1a1a", "#252525", "#e0e0e0", "#333333", _palette("bright")),
})

#: rcParams changes are process-wide; plot functions hold this while theirs are active.
_RC_LOCK = threading.RLock()


def theme_of(style: Style) -> Theme:
    """The colours of ``style``'s theme; ValueError naming the themes when unknown."""
    try:
        return THEMES[style.theme]
    except KeyError:
        msg = f"unknown theme {style.theme!r}; expected one of {', '.join(THEMES)}"
        raise ValueError(msg) from None


def _rc(theme: Theme) -> dict[str, Any]:
    """seaborn's whitegrid style in ``theme``'s colours, as rcParams."""
    rc: dict[str, Any] = dict(sns.axes_style("whitegrid"))
    rc.update(sns.plotting_context("notebook", font_scale=0.9))
    rc.update({
        "figure.facecolor": theme.background,
        "figure.edgecolor": theme.background,
        "savefig.facecolor": theme.background,
        "savefig.edgecolor": theme.background,
        "axes.facecolor": theme.panel,
        "axes.edgecolor": theme.grid,
        "axes.labelcolor": theme.text,
        "axes.titlecolor": theme.text,
        "axes.grid": True,
        "axes.prop_cycle": cycler(color=list(theme.palette)),
        "text.color": theme.text,
        "xtick.color": theme.text,
        "ytick.color": theme.text,
        "xtick.labelcolor": theme.text,
        "ytick.labelcolor": theme.text,
        "grid.color": theme.grid,
        "legend.facecolor": theme.panel,
        "legend.edgecolor": theme.grid,
        "legend.labelcolor": theme.text,
        "legend.framealpha": 0.85,
        "patch.edgecolor": theme.panel,
        "lines.solid_capstyle": "butt",
    })
    return rc


@contextmanager
def themed(style: Style) -> Iterator[Theme]:
    """``style``'s theme as matplotlib's rcParams while the block runs (under the lock)."""
    theme = theme_of(style)
    # rc_context's stubs want a Literal key type; ours are seaborn's rcParams names.
    with _RC_LOCK, mpl.rc_context(_rc(theme)):  # type: ignore[arg-type]
        yield theme


def paint(ax: Axes, theme: Theme) -> None:
    """Set the theme's colours on ``ax`` explicitly (they then survive any rcParams)."""
    ax.set_facecolor(theme.panel)
    for spine in ax.spines.values():
        spine.set_color(theme.grid)
    ax.tick_params(colors=theme.text, labelcolor=theme.text, grid_color=theme.grid)
    ax.xaxis.label.set_color(theme.text)
    ax.yaxis.label.set_color(theme.text)
    ax.title.set_color(theme.text)
