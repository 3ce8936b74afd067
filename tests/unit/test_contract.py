"""The auto-plot contract, one test per row: what auto_plot and plot_required resolve to.

Each test writes real YAML files, resolves them with ``load()`` (or ``resolve()`` for the
plugin row) and compares (value, deciding rule, origin scope) with the contract, plus
the note for the "dormant" and "breadcrumb" rows.
"""

from __future__ import annotations

from types import SimpleNamespace

from aiperf._resources import rules_dir
from aiperf.config import load
from aiperf.config.overlay import cli_layer
from aiperf.config.recipes import build_registry, from_plugin, load_builtin
from aiperf.config.resolve import resolve
from aiperf.config.rulebook import load_rulebook
from aiperf.config.sources import defaults_layer

AUTO_PLOT = "benchmark.artifacts.auto_plot"
PLOT_REQUIRED = "benchmark.artifacts.plot_required"
RECIPE = "benchmark.search.recipe"
DORMANT = "plot-required-dormant"
BREADCRUMB = "plot-envelope-without-auto-plot"

ARTIFACTS_ONLY = """\
    benchmark:
      artifacts:
        dir: ./artifacts/my-run
"""
AUTO_PLOT_TRUE = """\
    benchmark:
      artifacts:
        auto_plot: true
"""
AUTO_PLOT_FALSE = """\
    benchmark:
      artifacts:
        auto_plot: false
"""
INLINE_PLOT = """\
    benchmark:
      artifacts:
        dir: ./artifacts/my-run
    plot:
      theme: dark
"""
INLINE_PLOT_AUTO_PLOT_FALSE = """\
    benchmark:
      artifacts:
        auto_plot: false
    plot:
      theme: dark
"""


def decided(resolved, key):
    """(value, deciding rule id, origin scope) of one field."""
    p = resolved.provenance[key]
    return (p.value, p.rule.id, p.origin.scope)


def note_ids(resolved):
    return sorted(n.id for n in resolved.notes)


# --- nothing in YAML -------------------------------------------------------------------


def test_auto_plot_off_by_default(write_yaml):
    """No YAML setting and no flag: auto-plot stays off by default."""
    resolved = load([write_yaml(ARTIFACTS_ONLY)])
    expected = (False, "auto-plot-off-by-default", "default")
    assert expected == decided(resolved, AUTO_PLOT)


def test_auto_plot_off_by_default_leaves_plot_required_off(write_yaml):
    """No YAML setting and no flag: plot_required is false and no note fires."""
    resolved = load([write_yaml(ARTIFACTS_ONLY)])
    expected = ((False, "built-in-default", "default"), [])
    assert expected == (decided(resolved, PLOT_REQUIRED), note_ids(resolved))


def test_auto_plot_flag_turns_it_on(write_yaml):
    """--auto-plot alone turns auto-plot on, decided by the flag."""
    resolved = load([write_yaml(ARTIFACTS_ONLY)], cli={AUTO_PLOT: True})
    expected = ((True, "auto-plot-flag", "cli"), False)
    assert expected == (decided(resolved, AUTO_PLOT), resolved.value(PLOT_REQUIRED))


def test_plot_required_dormant_without_auto_plot(write_yaml):
    """--plot-required alone is true but dormant: auto-plot stays off."""
    resolved = load([write_yaml(ARTIFACTS_ONLY)], cli={PLOT_REQUIRED: True})
    expected = (
        (False, "auto-plot-off-by-default", "default"),
        (True, "cli-flag", "cli"),
        [DORMANT],
    )
    actual = (decided(resolved, AUTO_PLOT), decided(resolved, PLOT_REQUIRED), note_ids(resolved))
    assert expected == actual


def test_recipe_auto_plot_default_curve_recipe(write_yaml):
    """--search-recipe concurrency-ramp turns auto-plot on through the recipe default."""
    resolved = load([write_yaml(ARTIFACTS_ONLY)], cli={RECIPE: "concurrency-ramp"})
    expected = ((True, "recipe-auto-plot-default", "recipe"), False)
    assert expected == (decided(resolved, AUTO_PLOT), resolved.value(PLOT_REQUIRED))


def test_recipe_auto_plot_default_names_the_recipe(write_yaml):
    """The recipe default's origin names the recipe that supplied it."""
    resolved = load([write_yaml(ARTIFACTS_ONLY)], cli={RECIPE: "concurrency-ramp"})
    assert "concurrency-ramp" == resolved.provenance[AUTO_PLOT].origin.source


def test_auto_plot_off_by_default_with_search_recipe(write_yaml):
    """--search-recipe pareto-sweep leaves auto_plot_default unset, so auto-plot is off."""
    resolved = load([write_yaml(ARTIFACTS_ONLY)], cli={RECIPE: "pareto-sweep"})
    expected = ((False, "auto-plot-off-by-default", "default"), False)
    assert expected == (decided(resolved, AUTO_PLOT), resolved.value(PLOT_REQUIRED))


def test_auto_plot_flag_beats_recipe_default(write_yaml):
    """--no-auto-plot beats prefill-ttft-curve's recipe default of on."""
    resolved = load(
        [write_yaml(ARTIFACTS_ONLY)], cli={RECIPE: "prefill-ttft-curve", AUTO_PLOT: False}
    )
    expected = ((False, "auto-plot-flag", "cli"), False)
    assert expected == (decided(resolved, AUTO_PLOT), resolved.value(PLOT_REQUIRED))


# --- auto_plot in YAML -------------------------------------------------------------------


def test_auto_plot_flag_beats_yaml(write_yaml):
    """--no-auto-plot beats auto_plot: true in the YAML file."""
    resolved = load([write_yaml(AUTO_PLOT_TRUE)], cli={AUTO_PLOT: False})
    expected = ((False, "auto-plot-flag", "cli"), False)
    assert expected == (decided(resolved, AUTO_PLOT), resolved.value(PLOT_REQUIRED))


def test_auto_plot_yaml_true_survives_recipe(write_yaml):
    """auto_plot: true in YAML stays on with pareto-sweep: a recipe never overrides the user."""
    resolved = load([write_yaml(AUTO_PLOT_TRUE)], cli={RECIPE: "pareto-sweep"})
    expected = ((True, "auto-plot-yaml", "file"), False)
    assert expected == (decided(resolved, AUTO_PLOT), resolved.value(PLOT_REQUIRED))


def test_auto_plot_yaml_false_beats_recipe_default(write_yaml):
    """auto_plot: false in YAML stays off with concurrency-ramp, whose default is on."""
    resolved = load([write_yaml(AUTO_PLOT_FALSE)], cli={RECIPE: "concurrency-ramp"})
    expected = ((False, "auto-plot-yaml", "file"), False)
    assert expected == (decided(resolved, AUTO_PLOT), resolved.value(PLOT_REQUIRED))


# --- the plot: envelope ------------------------------------------------------------------


def test_plot_envelope_implies_auto_plot_inline(write_yaml):
    """An inline plot: section turns auto-plot on (origin: the envelope)."""
    resolved = load([write_yaml(INLINE_PLOT)])
    expected = ((True, "plot-envelope-implies-auto-plot", "envelope"), False, [])
    actual = (decided(resolved, AUTO_PLOT), resolved.value(PLOT_REQUIRED), note_ids(resolved))
    assert expected == actual


def test_plot_envelope_implies_auto_plot_path(write_yaml):
    """plot: ./p.yaml (a path to a plot config) turns auto-plot on (origin: the envelope)."""
    write_yaml("theme: dark\n", "p.yaml")
    resolved = load([write_yaml(ARTIFACTS_ONLY + "    plot: ./p.yaml\n")])
    expected = ((True, "plot-envelope-implies-auto-plot", "envelope"), False, [])
    actual = (decided(resolved, AUTO_PLOT), resolved.value(PLOT_REQUIRED), note_ids(resolved))
    assert expected == actual


def test_plot_envelope_path_reads_the_plot_config(write_yaml):
    """plot: ./p.yaml resolves relative to the YAML file and carries p.yaml's settings."""
    plot_file = write_yaml("theme: dark\n", "sub/p.yaml")
    resolved = load([write_yaml(ARTIFACTS_ONLY + "    plot: ./p.yaml\n", "sub/config.yaml")])
    expected = (str(plot_file), "dark")
    assert expected == (resolved.config.plot.source, resolved.config.plot.settings.theme)


def test_plot_envelope_origin_names_file_and_line(write_yaml):
    """The envelope origin is the file and line of plot:, and the reason names x.yaml:7."""
    path = write_yaml(
        """\
        # a comment
        benchmark:
          artifacts:
            dir: ./artifacts/my-run
          load:
            concurrency: 2
        plot:
          theme: dark
        """,
        "x.yaml",
    )
    p = load([path]).provenance[AUTO_PLOT]
    expected = ("envelope", str(path), 7, True)
    assert expected == (p.origin.scope, p.origin.source, p.origin.line, "x.yaml:7" in p.because)


def test_auto_plot_flag_beats_envelope_with_breadcrumb(write_yaml):
    """--no-auto-plot beats a plot: section and leaves an INFO breadcrumb."""
    resolved = load([write_yaml(INLINE_PLOT)], cli={AUTO_PLOT: False})
    expected = ((False, "auto-plot-flag", "cli"), False, [BREADCRUMB])
    actual = (decided(resolved, AUTO_PLOT), resolved.value(PLOT_REQUIRED), note_ids(resolved))
    assert expected == actual


def test_plot_envelope_without_auto_plot_is_info_level(write_yaml):
    """The breadcrumb is an info-level note about auto_plot that names the envelope."""
    path = write_yaml(INLINE_PLOT)
    (note,) = load([path], cli={AUTO_PLOT: False}).notes
    expected = ("info", AUTO_PLOT, True)
    assert expected == (note.level, note.about, f"{path}:4" in note.message)


def test_auto_plot_yaml_false_beats_envelope_with_breadcrumb(write_yaml):
    """plot: with auto_plot: false in the same file stays off and leaves an INFO breadcrumb."""
    resolved = load([write_yaml(INLINE_PLOT_AUTO_PLOT_FALSE)])
    expected = ((False, "auto-plot-yaml", "file"), False, [BREADCRUMB])
    actual = (decided(resolved, AUTO_PLOT), resolved.value(PLOT_REQUIRED), note_ids(resolved))
    assert expected == actual


def test_auto_plot_flag_beats_yaml_false_with_envelope(write_yaml):
    """plot: with auto_plot: false, plus --auto-plot: on, and no breadcrumb."""
    resolved = load([write_yaml(INLINE_PLOT_AUTO_PLOT_FALSE)], cli={AUTO_PLOT: True})
    expected = ((True, "auto-plot-flag", "cli"), False, [])
    actual = (decided(resolved, AUTO_PLOT), resolved.value(PLOT_REQUIRED), note_ids(resolved))
    assert expected == actual


def test_plot_envelope_implies_auto_plot_over_recipe(write_yaml):
    """plot: with pareto-sweep (no recipe default): the envelope turns auto-plot on."""
    resolved = load([write_yaml(INLINE_PLOT)], cli={RECIPE: "pareto-sweep"})
    expected = ((True, "plot-envelope-implies-auto-plot", "envelope"), False)
    assert expected == (decided(resolved, AUTO_PLOT), resolved.value(PLOT_REQUIRED))


# --- plot_required and several files -------------------------------------------------------


def test_plot_required_dormant_after_no_auto_plot(write_yaml):
    """YAML auto_plot and plot_required true, --no-auto-plot: off, plot_required dormant."""
    path = write_yaml(
        """\
        benchmark:
          artifacts:
            auto_plot: true
            plot_required: true
        """
    )
    resolved = load([path], cli={AUTO_PLOT: False})
    expected = ((False, "auto-plot-flag", "cli"), (True, "config-file", "file"), [DORMANT])
    actual = (decided(resolved, AUTO_PLOT), decided(resolved, PLOT_REQUIRED), note_ids(resolved))
    assert expected == actual


def test_auto_plot_yaml_later_file_wins(write_yaml):
    """a.yaml says auto_plot: true, then b.yaml says false: the later file decides."""
    a = write_yaml(AUTO_PLOT_TRUE, "a.yaml")
    b = write_yaml(AUTO_PLOT_FALSE, "b.yaml")
    resolved = load([a, b])
    p = resolved.provenance[AUTO_PLOT]
    expected = ((False, "auto-plot-yaml", "file"), str(b), False)
    actual = (decided(resolved, AUTO_PLOT), p.origin.source, resolved.value(PLOT_REQUIRED))
    assert expected == actual


def test_recipe_auto_plot_default_plugin_without_attribute():
    """A plugin recipe without auto_plot_default counts as False: auto-plot stays off."""
    plugin = SimpleNamespace(name="my-plugin-recipe", description="a plugin recipe")
    registry = build_registry(
        load_builtin(rules_dir() / "recipes.yaml"),
        [from_plugin(plugin, "my-plugin-recipe", "my-plugin-dist")],
    )
    layers = [defaults_layer(), cli_layer({RECIPE: "my-plugin-recipe"})]
    resolved = resolve(layers, registry.recipes, load_rulebook())
    expected = ((False, "recipe-auto-plot-default", "recipe"), False)
    assert expected == (decided(resolved, AUTO_PLOT), resolved.value(PLOT_REQUIRED))
