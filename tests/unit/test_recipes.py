"""The recipe registry: built-ins from rules/recipes.yaml, plugins from entry points."""

from __future__ import annotations

import importlib
import sys
import textwrap

from aiperf.config import load
from aiperf.config.recipes import (
    ENTRY_POINT_GROUP,
    build_registry,
    builtin_registry,
    discover_plugins,
    from_plugin,
)

CURVE_RECIPES = {"concurrency-ramp", "prefill-ttft-curve", "decode-itl-curve"}
SEARCH_RECIPES = {"max-throughput-ttft-sla", "max-throughput-itl-sla",
                  "max-concurrency-under-sla", "max-goodput-under-slo", "pareto-sweep"}


def test_eight_builtins_with_their_auto_plot_default():
    """Curve recipes default auto-plot on; the five search recipes leave it unset."""
    recipes = builtin_registry().recipes

    assert CURVE_RECIPES | SEARCH_RECIPES == set(recipes)
    assert all(recipes[n].auto_plot_default is True for n in CURVE_RECIPES)
    assert all(recipes[n].auto_plot_default is None for n in SEARCH_RECIPES)
    assert all(r.description for r in recipes.values())


def test_plugin_without_attribute_reads_as_false():
    """A plugin object with no auto_plot_default is read with a default of False."""

    class Bare:
        name = "bare"
        description = "no attribute"

    assert from_plugin(Bare, "bare", "dist").auto_plot_default is False


def test_plugin_cannot_replace_a_builtin():
    """A plugin named like a built-in is refused and reported, the built-in stays."""

    class Impostor:
        name = "concurrency-ramp"
        auto_plot_default = False

    registry = build_registry(builtin_registry().recipes.values(),
                              [from_plugin(Impostor, "x", "evil")])

    assert registry.get("concurrency-ramp").source == "built-in"
    assert any("name taken" in f for f in registry.load_failures)


def _install_fake_plugin(tmp_path, monkeypatch, body: str) -> None:
    """A real distribution on sys.path: a module plus dist-info with an entry point."""
    (tmp_path / "fake_recipes.py").write_text(textwrap.dedent(body), encoding="utf-8")
    info = tmp_path / "fake_recipes-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-recipes\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nmy-ramp = fake_recipes:MyRamp\nbroken = fake_recipes:Missing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    sys.modules.pop("fake_recipes", None)


def test_plugins_are_discovered_through_entry_points(tmp_path, monkeypatch):
    """An installed package's aiperf.recipes entry point becomes a recipe; a broken one is
    reported, not fatal."""
    _install_fake_plugin(tmp_path, monkeypatch, """\
        class MyRamp:
            name = "my-ramp"
            description = "a plugin recipe"
            settings = {"benchmark.load.concurrency": 3}
        """)

    recipes, failures = discover_plugins()

    mine = next(r for r in recipes if r.name == "my-ramp")
    assert "plugin fake-recipes" == mine.source
    assert mine.auto_plot_default is False
    assert any(f.startswith("broken (fake-recipes)") for f in failures)


def test_plugin_recipe_settings_form_the_recipe_layer(tmp_path, monkeypatch):
    """Selecting a plugin recipe applies its settings as the recipe layer, auto-plot off."""
    _install_fake_plugin(tmp_path, monkeypatch, """\
        class MyRamp:
            name = "my-ramp"
            description = "a plugin recipe"
            settings = {"benchmark.load.concurrency": 3}
        """)
    from aiperf.config import recipes

    recipes.load_registry.cache_clear()
    try:
        resolved = load(cli={"benchmark.search.recipe": "my-ramp"})
    finally:
        recipes.load_registry.cache_clear()

    assert 3 == resolved.value("benchmark.load.concurrency")
    assert "concurrency-recipe" == resolved.provenance["benchmark.load.concurrency"].rule.id
    assert resolved.value("benchmark.artifacts.auto_plot") is False
    auto_plot = resolved.provenance["benchmark.artifacts.auto_plot"]
    assert "recipe-auto-plot-default" == auto_plot.rule.id
