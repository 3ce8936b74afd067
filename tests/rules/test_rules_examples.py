"""Every ``examples:`` entry of every rules table, run through the resolution engine.

An example says what a user gives (``files``, ``env``, ``cli``, ``recipe``,
``plugin_recipe`` with its ``plugin_settings``) and what must come out (``expect``, the
deciding ``rule`` of the ``decides`` field, ``notes``, ``errors``). Values are strictyaml
strings; they are typed with the field's kind. Layers are built directly and handed to
``resolve()``, so these tests exercise the tables and the engine without the file reader.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest

from aiperf._resources import rules_dir
from aiperf.config import fields as F
from aiperf.config.kinds import ListKind, MapKind, RecordKind
from aiperf.config.layer import Layer, Origin, Value
from aiperf.config.plot_config import PlotEnvelopeSpec
from aiperf.config.recipes import build_registry, from_plugin, load_builtin
from aiperf.config.resolve import resolve
from aiperf.config.rulebook import load_rulebook_from
from aiperf.config.schema import type_plain, type_text
from aiperf.config.sources import defaults_layer

RECIPE_KEY = "benchmark.search.recipe"
INPUT_KEYS = {"name", "home", "cell", "files", "env", "cli", "recipe", "plugin_recipe",
              "plugin_settings", "decides"}
CHECK_KEYS = {"expect", "rule", "notes", "errors"}

#: The shipped tables with their examples (the engine's own load_rulebook() skips them).
RULEBOOK = load_rulebook_from(rules_dir(), with_examples=True)
BUILTIN_RECIPES = load_builtin(rules_dir() / "recipes.yaml")

EXAMPLES = [
    pytest.param(table, example, id=f"{table.name}: {example.get('name', f'#{i}')}")
    for table in RULEBOOK.tables
    for i, example in enumerate(table.examples)
]


def typed(key: str, raw: Any) -> Any:
    """An example's string value typed with the field's kind (lists item by item);
    the word ``none`` is an unset value."""
    if raw == "none":
        return None
    kind = F.field(key).kind
    if isinstance(kind, ListKind) and isinstance(kind.item, RecordKind):
        # A sweep's scenarios: records of a name and a mapping of field -> value.
        return [{"name": item["name"],
                 "values": {k: type_text(F.field(k).kind, str(v))
                            for k, v in item["values"].items()}} for item in raw]
    if isinstance(kind, ListKind):
        return [type_text(kind.item, str(item)) for item in raw]
    if isinstance(kind, MapKind) and isinstance(kind.value, ListKind):
        # A sweep's parameters (field -> list of values) nest a list in the mapping.
        return type_plain(kind, raw)
    if isinstance(kind, MapKind):
        return {name: type_text(kind.value, str(text)) for name, text in raw.items()}
    return type_text(kind, str(raw))


def file_layer(index: int, values: Mapping[str, Any]) -> Layer:
    """One ``files:`` entry as a file layer; ``plot: inline`` / ``plot: <path>`` is an envelope."""
    label = f"example-{index}.yaml"
    out: dict[str, Value] = {}
    for line, (key, raw) in enumerate(values.items(), 1):
        if key == "plot":
            spec = PlotEnvelopeSpec(None if raw == "inline" else str(raw), {})
            out[key] = Value(spec, Origin("envelope", label, line, 1))
        else:
            out[key] = Value(typed(key, raw), Origin("file", label, line, 1))
    return Layer("file", label, out)


def example_inputs(example: Mapping[str, Any]) -> tuple[list[Layer], dict]:
    """The layers and the recipe registry an example describes."""
    cli = {key: typed(key, raw) for key, raw in (example.get("cli") or {}).items()}
    plugins = []
    if "recipe" in example:
        cli[RECIPE_KEY] = example["recipe"]
    if "plugin_recipe" in example:
        name = example["plugin_recipe"]
        settings = {k: typed(k, v) for k, v in (example.get("plugin_settings") or {}).items()}
        plugin = SimpleNamespace(name=name, description="a plugin recipe without auto_plot_default",
                                 settings=settings)
        plugins.append(from_plugin(plugin, name, "example-plugin"))
        cli[RECIPE_KEY] = name
    layers = [defaults_layer()]
    home = example.get("home") or {}
    if home:
        layers.append(Layer("home", "your plot config", {
            key: Value(typed(key, raw), Origin("home", str(raw))) for key, raw in home.items()
        }))
    layers += [file_layer(i, values) for i, values in enumerate(example.get("files") or [], 1)]
    env = example.get("env") or {}
    layers.append(Layer("env", "environment", {
        key: Value(typed(key, raw), Origin("env", F.field(key).env or key))
        for key, raw in env.items()
    }))
    layers.append(Layer("cli", "command line", {
        key: Value(value, Origin("cli", F.field(key).flag or key)) for key, value in cli.items()
    }))
    cell = example.get("cell") or {}
    if cell:
        layers.append(Layer("cell", "sweep cell example", {
            key: Value(typed(key, raw), Origin("cell", "example")) for key, raw in cell.items()
        }))
    registry = build_registry(BUILTIN_RECIPES, plugins)
    return layers, dict(registry.recipes)


def id_list(raw: Any) -> list[str]:
    """``notes:`` / ``errors:`` as a sorted list of ids (``none`` is the empty list)."""
    return [] if raw == "none" else sorted(raw)


@pytest.mark.parametrize(("table", "example"), EXAMPLES)
def test_rules_example(table, example):
    """The engine gives what the example says, for every field, rule, note and error it names."""
    unknown = set(example) - INPUT_KEYS - CHECK_KEYS
    assert not unknown, f"{table.file}: example has unknown keys {sorted(unknown)}"
    assert CHECK_KEYS & set(example), f"{table.file}: example checks nothing"
    decides = example.get("decides") or (table.applies_to[0] if table.applies_to else None)
    assert "rule" not in example or decides, f"{table.file}: 'rule' needs 'decides' here"

    layers, registry = example_inputs(example)
    resolved = resolve(layers, registry, RULEBOOK)

    expected: dict[str, Any] = {}
    actual: dict[str, Any] = {}
    for key, raw in (example.get("expect") or {}).items():
        expected[key] = typed(key, raw)
        actual[key] = resolved.value(key)
    if "rule" in example:
        expected["rule"] = (decides, example["rule"])
        actual["rule"] = (decides, resolved.provenance[decides].rule.id)
    if "notes" in example:
        expected["notes"] = id_list(example["notes"])
        actual["notes"] = sorted(n.id for n in resolved.notes)
    if "errors" in example:
        expected["errors"] = id_list(example["errors"])
        actual["errors"] = sorted(e.code for e in resolved.problems)
    assert expected == actual


# --- coverage of the tables by their examples -------------------------------------------------


@pytest.mark.parametrize("table", RULEBOOK.tables, ids=lambda t: t.name)
def test_every_table_has_an_example(table):
    """Every rules table carries at least one example."""
    assert table.examples, f"{table.file} has no examples:"


def _claimed(table) -> set[str]:
    """Rule ids an example of ``table`` claims: its ``rule``, ``notes`` and ``errors``."""
    out: set[str] = set()
    for example in table.examples:
        if "rule" in example:
            out.add(example["rule"])
        for key in ("notes", "errors"):
            if example.get(key) not in (None, "none"):
                out.update(example[key])
    return out


def _rule_params(tables):
    for table in tables:
        for rule in table.rules:
            yield pytest.param(table, rule.id, id=f"{table.name}: {rule.id}")


@pytest.mark.parametrize(("table", "rule_id"), list(_rule_params(RULEBOOK.field_tables)))
def test_every_field_rule_has_an_example(table, rule_id):
    """Every row of a field table is the deciding rule of at least one of its examples."""
    assert rule_id in _claimed(table), f"{table.file}: no example exercises rule '{rule_id}'"


@pytest.mark.parametrize(
    ("table", "rule_id"),
    list(_rule_params(RULEBOOK.note_tables + RULEBOOK.constraint_tables)),
)
def test_every_note_and_constraint_rule_has_an_example(table, rule_id):
    """Every note and constraint row fires in at least one example of its table."""
    assert rule_id in _claimed(table), f"{table.file}: no example fires rule '{rule_id}'"


def test_examples_claim_only_rules_of_their_table():
    """A ``rule``/``notes``/``errors`` id in an example names a row of its own table."""
    stray = sorted(
        (table.name, rule_id)
        for table in RULEBOOK.tables
        for rule_id in _claimed(table) - {r.id for r in table.rules}
        # precedence examples name precedence rows; notes/constraints name their own rows
    )
    assert [] == stray
