"""The plot registry (aiperf.plot.registry): each plot declared once, every list of plots
derived from it, the shipped template's lists generated from it (aiperf.plot.template)."""

from __future__ import annotations

import importlib
import inspect

import pytest

from aiperf.config import plot_config as pc
from aiperf.plot.registry import PLOTS, PLOTS_BY_NAME, SOURCES, TITLES, plot_names
from aiperf.plot.template import TEMPLATE, with_shipped_lists


def test_every_plot_is_declared_once():
    """No two rows share a name, and each has a title."""
    names = [p.name for p in PLOTS]

    assert len(names) == len(set(names))
    assert [] == [p.name for p in PLOTS if not p.title.strip()]


@pytest.mark.parametrize("plot", PLOTS, ids=lambda p: p.name)
def test_each_plot_is_drawn_by_the_function_named_after_it(plot):
    """The function is in the figure module of what the plot reads (or the module its
    row names), and is a figure function (wrapped in themed_plot)."""
    draw = plot.draw_function()

    assert plot.name == draw.__name__
    assert (plot.module or SOURCES[plot.reads].module) == draw.__module__
    assert hasattr(draw, "__wrapped__")


@pytest.mark.parametrize("module_name", sorted(
    {s.module for s in SOURCES.values()} | {p.module for p in PLOTS if p.module}))
def test_every_figure_function_is_registered(module_name):
    """A figure function without a row would never be drawn: each one has its row."""
    module = importlib.import_module(module_name)
    figures = {name for name, fn in inspect.getmembers(module, inspect.isfunction)
               if fn.__module__ == module.__name__ and hasattr(fn, "__wrapped__")}

    assert figures == {p.name for p in PLOTS
                       if (p.module or SOURCES[p.reads].module) == module_name}


def test_plot_config_lists_are_derived_from_the_registry():
    """The plot config's lists, accepted names and shipped selection are the registry's."""
    assert plot_names("single_run") == pc.SINGLE_RUN_PLOTS
    assert plot_names("multi_run") == pc.MULTI_RUN_PLOTS
    assert set(PLOTS_BY_NAME) == set(pc.PLOT_NAMES) == set(TITLES)
    assert {"single_run": pc.SINGLE_RUN_PLOTS, "multi_run": pc.MULTI_RUN_PLOTS} == \
        pc.SHIPPED_SELECTION


def test_shipped_template_lists_are_fresh():
    """The template's commented plot lists are what the registry generates today."""
    committed = TEMPLATE.read_text(encoding="utf-8")

    assert with_shipped_lists(committed) == committed, (
        "aiperf/plot/default_plot_config.yaml is stale; run `python -m aiperf.plot.template`"
    )


def test_template_lists_follow_a_new_plot():
    """A list missing a plot (or naming a retired one) is rewritten to the registry's."""
    committed = TEMPLATE.read_text(encoding="utf-8")
    stale = committed.replace("# multi_run:\n#   - ttft_vs_throughput\n",
                              "# multi_run:\n#   - retired_plot\n")

    assert stale != committed
    assert committed == with_shipped_lists(stale)
