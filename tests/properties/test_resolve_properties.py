"""Property tests of the resolution engine: the invariants of DESIGN.md section 2.

Layers are generated directly (``tests/strategies.py``) and resolved with
``resolve(layers, registry, rulebook)``; the YAML round trip goes through real files and
``aiperf.config.load()``.
"""

from __future__ import annotations

import json
import random
import re
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

try:
    import strategies as S
except ImportError:  # run without the tests/ folder on sys.path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import strategies as S

from aiperf._resources import rules_dir
from aiperf.config import ConfigErrors, load
from aiperf.config import fields as F
from aiperf.config.interpolate import interpolate
from aiperf.config.kinds import (
    BoolKind,
    EnumKind,
    FloatKind,
    IntKind,
    ListKind,
    MapKind,
    RecordKind,
    ScalarKind,
    StrKind,
    ThresholdKind,
)
from aiperf.config.layer import Layer, Origin, Value
from aiperf.config.plot_config import PlotEnvelopeSpec
from aiperf.config.predicates import Facts
from aiperf.config.provenance import Resolved
from aiperf.config.recipe import Recipe
from aiperf.config.resolve import (
    ENVELOPE_KEY,
    RECIPE_KEY,
    _take,
    derived_fields,
    explicitness_decides,
    recipe_layer,
    resolve,
)
from aiperf.config.sources import defaults_layer
from aiperf.config.structure import plot_settings
from aiperf.explain import explain_yaml

AUTO_PLOT = S.AUTO_PLOT
MAP_KEYS = frozenset(f.key for f in F.FIELDS if isinstance(f.kind, MapKind))


def run(layers: Sequence[Layer]) -> Resolved:
    return resolve(list(layers), S.REGISTRY, S.RULEBOOK)


def given_chain(stack: S.Stack, key: str) -> list[Value]:
    """Every value the user's layers give ``key``, lowest precedence first."""
    return [layer.values[key] for layer in stack.user_layers() if key in layer.values]


def active_recipe(stack: S.Stack) -> Recipe | None:
    chain = given_chain(stack, RECIPE_KEY)
    return S.REGISTRY[chain[-1].value] if chain else None


def envelope_of(stack: S.Stack) -> Value | None:
    chain = given_chain(stack, ENVELOPE_KEY)
    return chain[-1] if chain else None


# --------------------------------------------------------------------------- 1. CLI wins

@given(S.stacks())
def test_an_explicit_cli_value_always_wins(stack: S.Stack) -> None:
    """Every field the command line gives resolves to the CLI value (mappings: key by key)."""
    resolved = run(stack)
    cli = stack.cli.values if stack.cli is not None else {}

    for key, given_value in cli.items():
        prov = resolved.provenance[key]
        assert prov.origin == given_value.origin
        assert prov.origin.scope == "cli"
        if key in MAP_KEYS:
            for name, v in given_value.value.items():
                assert v == prov.value[name]
        else:
            assert given_value.value == prov.value


# --------------------------------------------------------------------------- 2. determinism

def _shuffled_dict(d: Mapping[str, Any], rnd: random.Random) -> dict[str, Any]:
    items = list(d.items())
    rnd.shuffle(items)
    return dict(items)


def _shuffled_layer(layer: Layer, rnd: random.Random) -> Layer:
    values = {
        k: Value(_shuffled_dict(v.value, rnd), v.origin) if isinstance(v.value, dict) else v
        for k, v in layer.values.items()
    }
    return Layer(layer.scope, layer.label, _shuffled_dict(values, rnd))


@given(S.stacks(), st.randoms(use_true_random=False))
def test_resolution_is_deterministic_and_independent_of_ordering(
    stack: S.Stack, rnd: random.Random
) -> None:
    """Resolving twice, or after shuffling dict order and the order of non-file layers, agrees."""
    first = run(stack)
    again = run(stack)
    layers = [_shuffled_layer(layer, rnd) for layer in stack.files]
    for other in (stack.defaults, stack.env, stack.cli):
        if other is not None:
            layers.insert(rnd.randint(0, len(layers)), _shuffled_layer(other, rnd))
    shuffled = run(layers)

    assert first == again
    assert first.values() == shuffled.values()
    assert first.provenance == shuffled.provenance
    assert (first.notes, first.problems, first.recipe) == (
        shuffled.notes, shuffled.problems, shuffled.recipe)


# --------------------------------------------------------------------------- 3. removal

def _derived_from(key: str) -> set[str]:
    """The fields a derived field's table tests or its derivations read."""
    from aiperf.config.derive import DERIVATIONS
    from aiperf.config.rulebook import load_rulebook

    reads: set[str] = set()
    for rule in load_rulebook().table_for(key).rules:
        for _, arg in rule.when:
            # A field name, or a mapping by field name (resolved:, explicit_matches:).
            names = arg if isinstance(arg, Mapping) else [arg] if isinstance(arg, str) else []
            reads |= {name for name in names if name in F.FIELDS_BY_KEY}
        if rule.take is not None and rule.take.how == "derive":
            reads |= set(DERIVATIONS[rule.take.arg].reads)
    return reads


def _depends_on(key: str, layer: Layer, full: Resolved, reduced: Resolved) -> bool:
    """Whether ``key`` may legitimately change when ``layer`` is removed.

    That is when ``layer`` won it (its origin is one of ``layer``'s origins: this covers
    ``auto_plot`` implied by ``layer``'s own ``plot:`` envelope, whose origin is the
    envelope's), when it is a mapping ``layer`` contributes keys to, or when removing
    ``layer`` changes the active recipe and either resolution took the field from a
    recipe (a recipe setting, or ``auto_plot_default``).
    """
    origins = {v.origin for v in layer.values.values()}
    if full.provenance[key].origin in origins:
        return True
    if (F.field(key).derived or key in DECIDED_LAST) and any(
            (full.value(k), full.provenance[k].origin)
            != (reduced.value(k), reduced.provenance[k].origin) for k in _derived_from(key)):
        # A derived value, or one whose rows test others' values, follows what it reads.
        return True
    if key in MAP_KEYS and key in layer.values:
        return True
    recipe_changed = full.value(RECIPE_KEY) != reduced.value(RECIPE_KEY)
    return recipe_changed and "recipe" in (
        full.provenance[key].origin.scope, reduced.provenance[key].origin.scope)


@given(S.stacks())
def test_removing_a_layer_never_changes_a_field_won_by_another_layer(stack: S.Stack) -> None:
    """Removing a layer keeps the value and origin of every field that does not depend on it.

    A field depends on layer L when L won it, when it is a mapping L contributes to, or
    when dropping L switches the recipe and the field came from a recipe on either side.
    Removing the built-in defaults layer changes nothing at all.
    """
    full = run(stack)
    for layer in stack.user_layers():
        reduced = run(stack.without(layer))
        for key, prov in full.provenance.items():
            if _depends_on(key, layer, full, reduced):
                continue
            assert (prov.value, prov.origin) == (
                reduced.provenance[key].value, reduced.provenance[key].origin), (
                f"removing {layer.label} changed {key}")
    no_defaults = run(stack.without(stack.defaults))  # type: ignore[arg-type]

    assert full.values() == no_defaults.values()
    assert {k: p.origin for k, p in full.provenance.items()} == {
        k: p.origin for k, p in no_defaults.provenance.items()}


# --------------------------------------------------------------------------- 4. explain

RULES = {
    (table.name, rule.id): (table, i)
    for table in S.RULEBOOK.field_tables
    for i, rule in enumerate(table.rules)
}


def fresh_facts(stack: S.Stack, key: str) -> Facts:
    """The facts for ``key``, built from the stack without asking the engine."""
    recipe = active_recipe(stack)
    lower = [recipe_layer(recipe)] if recipe is not None else []
    given_pairs = tuple(
        (layer, layer.values[key]) for layer in [*lower, *stack.user_layers()]
        if key in layer.values
    )
    # user_layers() is in increasing precedence: the last value of a key wins.
    explicit = {k: v.origin for layer in stack.user_layers() for k, v in layer.values.items()}
    explicit_values = {k: v.value for layer in stack.user_layers()
                       for k, v in layer.values.items()}
    return Facts(key, given_pairs, envelope_of(stack), recipe, explicit=explicit,
                 explicit_values=explicit_values)


#: The fields the engine decides after the others (aiperf.config.resolve.derived_fields).
DECIDED_LAST = derived_fields(S.RULEBOOK)


@given(S.stacks())
def test_the_deciding_rule_yields_the_resolved_value(stack: S.Stack) -> None:
    """Each field's recorded rule is the first row of its table that matches and takes its value."""
    resolved = run(stack)
    for field in F.FIELDS:
        prov = resolved.provenance[field.key]
        table, index = RULES[(prov.rule.table, prov.rule.id)]
        rule = table.rules[index]
        facts = fresh_facts(stack, field.key)
        if field.derived or field.key in DECIDED_LAST:
            # A derived field, or one whose rows test others' resolved values, is decided
            # after them and sees their values.
            others = {k: v for k, v in resolved.values().items() if k != field.key}
            facts = attrs.evolve(facts, resolved=others)
        value, origin, _ = _take(rule, facts, field, Value(field.default, Origin("default",
                                                                              "built-in")))

        assert S.RULEBOOK.table_for(field.key) is table
        assert rule.matches(facts)
        assert [] == [r.id for r in table.rules[:index] if r.matches(facts)]
        assert (prov.value, prov.origin) == (value, origin)


def test_every_rule_reference_points_at_its_row() -> None:
    """A rule's recorded file and line is the line of its ``- id:`` in the rules file."""
    for table, index in RULES.values():
        ref = table.rules[index].ref
        lines = (rules_dir() / Path(ref.file).name).read_text(encoding="utf-8").splitlines()

        assert f"- id: {ref.id}" == lines[ref.line - 1].strip()


# --------------------------------------------------------------------------- 5. round trip

def yaml_quote(text: str, *, escape_references: bool = True) -> str:
    """A double-quoted YAML scalar: json.dumps, with ``${`` escaped (values are
    interpolated, mapping keys are not) and characters beyond the BMP written as
    themselves (the YAML reader does not join JSON surrogate pairs)."""
    if escape_references:
        text = text.replace("${", "$${")
    body = "".join(ch if ord(ch) > 0xFFFF else json.dumps(ch)[1:-1] for ch in text)
    return f'"{body}"'


def yaml_scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return yaml_quote(value)


def yaml_block(name: str, value: Any, indent: int) -> list[str]:
    """``name: value`` in block style; None and empty mappings are left out."""
    pad = " " * indent
    head = f"{pad}{name}:"
    if value is None or (isinstance(value, dict) and not value):
        return []
    if isinstance(value, dict):
        return [head] + [
            line for k, v in value.items()
            for line in yaml_block(yaml_quote(k, escape_references=False), v, indent + 2)]
    if isinstance(value, list | tuple):
        out = [head]
        for item in value:
            if isinstance(item, dict):
                body = [line for k, v in item.items() for line in yaml_block(k, v, indent + 4)]
                out.append(f"{pad}  - {body[0].lstrip()}")
                out.extend(body[1:])
            else:
                out.append(f"{pad}  - {yaml_scalar(item)}")
        return out
    return [f"{head} {yaml_scalar(value)}"]


#: Fields a file may only name when the user set them (as explain's YAML writes them).
EXPLICITNESS_DECIDES = explicitness_decides(S.RULEBOOK)


def to_yaml(values: Mapping[str, Any], recipe: Recipe | None = None,
            only_changed: bool = False, explicit: frozenset[str] = frozenset()) -> str:
    """The resolved values as one config file (a ``plot:`` envelope inline).

    With ``only_changed``, a value equal to the built-in default is left out unless the
    recipe sets that field, it was ``explicit`` (some rules ask whether a field was given,
    e.g. an explicit request rate uncaps concurrency unless concurrency is given too), or
    it is ``auto_plot``, which an envelope or recipe implies. Reading a file is slow (see
    the report), and a short file resolves the same way.
    """
    tree: dict[str, Any] = {}
    for key, value in values.items():
        if key == ENVELOPE_KEY or F.field(key).derived or (
            key in EXPLICITNESS_DECIDES and key not in explicit
        ) or (
            only_changed and value == F.field(key).default and key != AUTO_PLOT
            and key not in explicit
            and not (recipe is not None and key in recipe.settings)
        ):
            continue
        *parents, last = key.split(".")
        node = tree
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value

    def nested(name: str, node: Any, indent: int) -> list[str]:
        if isinstance(node, dict) and not F.field_at(tuple(name.split("."))):
            body = [line for k, v in node.items() for line in nested(f"{name}.{k}", v, indent + 2)]
            return [f"{' ' * indent}{name.rsplit('.', 1)[-1]}:", *body] if body else []
        return yaml_block(name.rsplit(".", 1)[-1], node, indent)

    lines = [line for k, v in tree.items() for line in nested(k, v, 0)]
    spec = values.get(ENVELOPE_KEY)
    if spec is not None:
        # An empty mapping cannot be written in block style: spell out one default.
        settings_ = dict(spec.settings) or {"theme": "light"}
        lines.append("plot:")
        lines += [line for k, v in settings_.items() for line in yaml_block(k, v, 2)]
    return "\n".join(lines) + "\n"


def same_values(expected: Mapping[str, Any], actual: Mapping[str, Any],
                skip: frozenset[str] = frozenset()) -> None:
    """Equal values; the envelope by its source and its settings with defaults filled in."""
    for key, value in expected.items():
        if key in skip:
            continue
        other = actual[key]
        if key == ENVELOPE_KEY and value is not None and other is not None:
            assert (value.source, plot_settings(value.settings)) == (
                other.source, plot_settings(other.settings))
        else:
            assert value == other, key


def reload(text: str) -> Resolved:
    """``text`` written to a config file and loaded (no environment, no flags)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "resolved.yaml"
        path.write_text(text, encoding="utf-8")
        return load([path])


@settings(max_examples=25, deadline=None)  # reading a file is slow (see the report)
@given(S.stacks(text=S.BMP_TEXT))
def test_resolved_config_written_as_yaml_resolves_to_the_same_values(stack: S.Stack) -> None:
    """The resolved values, written as one YAML file and loaded again, are the same values."""
    resolved = run(stack)
    explicit = frozenset(k for k, p in resolved.provenance.items() if p.explicit)
    again = reload(to_yaml(resolved.values(), resolved.recipe, only_changed=True,
                           explicit=explicit))

    same_values(resolved.values(), again.values())


def sample(kind: Any) -> Any:
    """One fixed, valid value of ``kind`` (strings need no quoting tricks)."""
    if isinstance(kind, IntKind):
        return (kind.min or 0) + 3
    if isinstance(kind, FloatKind):
        return 0.5
    if isinstance(kind, BoolKind):
        return True
    if isinstance(kind, EnumKind):
        return kind.choices[-1]
    if isinstance(kind, StrKind | ScalarKind):
        return "some text é"
    if isinstance(kind, ListKind):
        return [sample(kind.item), sample(kind.item)]
    if isinstance(kind, MapKind):
        name = (kind.keys or ("k",))[0]
        return {name: sample(kind.value_for(name))}  # a swept count takes whole numbers
    if isinstance(kind, RecordKind):
        return {name: sample(k) for name, k in kind.members}
    if isinstance(kind, ThresholdKind):
        return "time_to_first_token.p95<200"
    raise TypeError(kind)


def full_stack() -> S.Stack:
    """One file that sets every field (a recipe and an inline envelope included)."""
    label = "full.yaml"
    values = {
        f.key: Value("/data/prompts.jsonl" if f.file_relative else sample(f.kind),
                     Origin("file", label, 2 + i, 3))
        for i, f in enumerate(S.GENERATED_FIELDS)
    }
    values[RECIPE_KEY] = Value("decode-itl-curve", Origin("file", label, 1, 3))
    values[ENVELOPE_KEY] = Value(PlotEnvelopeSpec(None, {"theme": "dark", "dpi": 99}),
                                 Origin("envelope", label, 1, 1))
    return S.Stack(defaults_layer(), (Layer("file", label, values),), None, None)


@pytest.mark.parametrize("stack", [S.Stack(defaults_layer(), (), None, None), full_stack()],
                         ids=["defaults", "every-field"])
def test_every_value_written_out_resolves_to_the_same_values(stack: S.Stack) -> None:
    """Writing every resolved value (not only the changed ones) round-trips too."""
    resolved = run(stack)
    explicit = frozenset(k for k, p in resolved.provenance.items() if p.explicit)
    again = reload(to_yaml(resolved.values(), explicit=explicit))

    same_values(resolved.values(), again.values())


SECRETS = frozenset(f.key for f in F.FIELDS if f.secret)


@settings(max_examples=15, deadline=None)  # reading a file is slow (see the report)
@given(S.stacks(text=S.PLAIN_KEYS))
def test_explain_yaml_resolves_to_the_same_values(stack: S.Stack) -> None:
    """``explain --format yaml`` output, loaded as a config file, gives the same non-secret values.

    Secrets are left out of that output by design, so they are not compared.
    """
    resolved = run(stack)
    assume(any(p.changed for k, p in resolved.provenance.items() if k not in SECRETS))
    again = reload(explain_yaml(resolved, only_changed=True))

    same_values(resolved.values(), again.values(), skip=SECRETS)


def test_full_explain_yaml_resolves_to_the_same_values() -> None:
    """The full ``explain --format yaml`` output (every field) round-trips too."""
    resolved = run(full_stack())
    again = reload(explain_yaml(resolved))

    same_values(resolved.values(), again.values(), skip=SECRETS)


def test_explain_yaml_of_nothing_changed_is_loadable() -> None:
    """``explain --format yaml --only-changed`` with nothing changed still loads as a config."""
    resolved = run(S.Stack(defaults_layer(), (), None, None))
    again = reload(explain_yaml(resolved, only_changed=True))

    same_values(resolved.values(), again.values(), skip=SECRETS)


def _cli_stack(key: str, value: Any) -> S.Stack:
    flag = F.field(key).flag
    return S.Stack(defaults_layer(), (), None,
                   Layer("cli", "command line", {key: Value(value, Origin("cli", flag))}))


@pytest.mark.parametrize("key", ["a: b", "# c", "- x", " pad "])
def test_explain_yaml_quotes_mapping_keys(key: str) -> None:
    """A mapping key that needs quoting survives ``explain --format yaml``."""
    resolved = run(_cli_stack("benchmark.endpoint.extra_inputs", {key: True}))
    again = reload(explain_yaml(resolved))

    assert {key: True} == again.value("benchmark.endpoint.extra_inputs")


# --------------------------------------------------------------------------- 6. oracle

def oracle(stack: S.Stack) -> dict[str, Any]:
    """Generic precedence, the auto-plot table and the request-count table, written out
    as plainly as possible."""

    def pick(key: str, recipe: Recipe | None) -> Any:
        lower = [recipe.settings[key]] if recipe is not None and key in recipe.settings else []
        given_values = lower + [v.value for v in given_chain(stack, key)]
        if not given_values:
            return F.field(key).default
        if key in MAP_KEYS:
            merged: dict[str, Any] = {}
            for mapping in given_values:  # lowest first, so later keys win
                merged.update(mapping)
            return merged
        return given_values[-1]  # cli > env > last file > recipe

    name = pick(RECIPE_KEY, None)
    recipe = S.REGISTRY[name] if name is not None else None
    out = {f.key: pick(f.key, recipe) for f in F.FIELDS}
    explicit = given_chain(stack, AUTO_PLOT)
    if explicit:
        out[AUTO_PLOT] = explicit[-1].value
    elif out[ENVELOPE_KEY] is not None:
        out[AUTO_PLOT] = True
    elif recipe is not None and recipe.auto_plot_default is not None:
        out[AUTO_PLOT] = recipe.auto_plot_default
    else:
        out[AUTO_PLOT] = False
    plot_config = "benchmark.artifacts.plot_config"
    chain = given_chain(stack, plot_config)
    if chain:  # a flag, or a config file's setting: both name the file for this run
        out[plot_config] = chain[-1].value
    elif out[ENVELOPE_KEY] is not None:
        out[plot_config] = "<artifact_dir>/.aiperf-plot-config.yaml"  # the run's own copy
    fixed = "benchmark.load.fixed_schedule"
    if not given_chain(stack, fixed):  # a timestamped trace replays on its timestamps
        kind = given_chain(stack, "benchmark.dataset.type")
        out[fixed] = bool(kind) and kind[-1].value == "mooncake_trace"
    count = "benchmark.load.request_count"
    count_set = given_chain(stack, count) or (recipe is not None and count in recipe.settings)
    if not count_set and given_chain(stack, "benchmark.load.duration"):
        out[count] = None  # a duration bounds the run instead
    elif not count_set and (out["benchmark.sessions.count"] is not None or out[fixed]
                            or out["benchmark.dataset.type"] == "multi_turn"):
        out[count] = None  # so do sessions, a file of conversations and a replayed trace
    cap = "benchmark.load.concurrency"
    cap_set = given_chain(stack, cap) or (recipe is not None and cap in recipe.settings)
    if not cap_set and (given_chain(stack, "benchmark.load.request_rate") or out[fixed]):
        out[cap] = None  # a request rate, or a trace's timestamps, run uncapped
    sizing = "benchmark.prompt_sizing"
    if not given_chain(stack, sizing):
        url = given_chain(stack, "benchmark.endpoint.url")
        if given_chain(stack, "benchmark.tokenizer"):
            out[sizing] = "file"  # a tokenizer file sizes the prompts
        elif given_chain(stack, "benchmark.dataset.input_file"):
            out[sizing] = "builtin"  # file prompts are sent as written
        elif url and str(url[-1].value).startswith("sim://"):
            simulated_profile = re.search("[?&]profile=", str(url[-1].value))
            out[sizing] = "server" if simulated_profile else "builtin"
    out["benchmark.artifacts.run_dir"] = naive_run_dir(stack, out, recipe)
    salt = "benchmark.dataset.prompt_salt"
    if not given_chain(stack, salt):  # file prompts go as written; synthetic ones salted
        out[salt] = not (given_chain(stack, "benchmark.dataset.input_file")
                         and out["benchmark.dataset.type"] in ("single_turn", "multi_turn"))
    # A named Ray cluster or more than one worker runs on Ray; one worker in this process.
    out["benchmark.scale.backend"] = (
        "ray" if out["benchmark.scale.ray_address"] is not None
        or out["benchmark.scale.workers"] != 1 else "in_process")
    url = given_chain(stack, "benchmark.endpoint.url")
    given_url = str(url[-1].value) if url else ""
    for section, simulated in (("server_metrics", None), ("gpu_telemetry", "[?&]gpus=")):
        out[f"benchmark.{section}.mode"] = naive_telemetry_mode(
            out[f"benchmark.{section}.enabled"], given_url, out[f"benchmark.{section}.urls"],
            simulated)
    return out


def naive_telemetry_mode(enabled: bool | None, given_url: str, urls: Any,
                         simulated: str | None) -> str:
    """Asked or refused decides; the simulator is read only when asked (or, for GPUs,
    when its URL simulates some); a real endpoint is probed."""
    if enabled is not None:
        return "required" if enabled else "disabled"
    if given_url.startswith("sim://"):
        if simulated is not None and re.search(simulated, given_url):
            return "required"
        return "listed" if urls else "disabled"
    return "probe"


def naive_run_dir(stack: S.Stack, out: Mapping[str, Any], recipe: Recipe | None) -> str:
    """--artifact-dir exactly, else a name below it after the sweep, recipe or load."""
    from aiperf.config.derive import default_run_dir_name, model_basename
    from aiperf.config.sweep import short_name

    base = out["benchmark.artifacts.dir"]
    if given_chain(stack, "benchmark.artifacts.dir"):
        return base
    model = model_basename(out["benchmark.endpoint.model"] or "model")
    if out["benchmark.sweep.scenarios"]:
        name = f"{model}-sweep-scenarios"
    elif out["benchmark.sweep.parameters"]:
        short = {short_name(k) for k in out["benchmark.sweep.parameters"]}
        name = f"{model}-sweep-" + "-".join(sorted(short))
    elif recipe is not None:
        name = f"{model}-{recipe.name}"
    else:
        name = default_run_dir_name(model, out["benchmark.load.concurrency"],
                                    out["benchmark.load.request_rate"])
    return f"{base}/{name}"


@given(S.stacks())
def test_engine_agrees_with_a_naive_oracle(stack: S.Stack) -> None:
    """Every resolved value equals the naive oracle's."""
    assert oracle(stack) == run(stack).values()


# --------------------------------------------------------------------------- regressions

@example(1)
@given(st.integers(-3, 3))
def test_an_integer_in_a_free_typed_mapping_keeps_its_type(n: int) -> None:
    """An integer under ``extra_inputs`` in a YAML file loads as that integer, not a boolean.

    (strictyaml's booleans include "1" and "0"; integers must be tried first.)
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_text(f"benchmark:\n  endpoint:\n    extra_inputs:\n      n: {n}\n",
                        encoding="utf-8")
        value = load([path]).value("benchmark.endpoint.extra_inputs")["n"]

    assert (int, n) == (type(value), value)


# --------------------------------------------------------------------------- bugs found

def _headers_stack() -> S.Stack:
    def file(label: str, mapping: dict[str, Any]) -> Layer:
        key = "benchmark.endpoint.extra_inputs"
        return Layer("file", label, {key: Value(mapping, Origin("file", label, 3, 5))})
    a, b = file("a.yaml", {"a": 2}), file("b.yaml", {"b": 3})
    return S.Stack(defaults_layer(), (a, b, a), None, None)


@example(_headers_stack())
@given(S.stacks().map(lambda s: S.Stack(s.defaults, (*s.files, *s.files[:1]), s.env, s.cli)))
def test_a_file_given_twice_merges_mappings_like_the_oracle(stack: S.Stack) -> None:
    """Repeating an earlier ``-f`` file at the end merges mappings over every file in between."""
    assert oracle(stack) == run(stack).values()


@example("")
@given(st.text(max_size=4))
def test_any_quoted_text_in_a_free_typed_mapping_loads_or_is_reported(text: str) -> None:
    """A quoted scalar under ``extra_inputs`` loads or is reported as ConfigErrors."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_text("benchmark:\n  endpoint:\n    extra_inputs:\n      k: "
                        f"{yaml_quote(text)}\n", encoding="utf-8")
        try:
            load([path])
        except ConfigErrors:
            pass


@example("$${{")
@given(st.text(alphabet="${}x:", max_size=8))
def test_escaping_every_reference_reads_back_the_literal_text(text: str) -> None:
    """Writing ``$${`` for every ``${`` makes interpolation give back the literal text."""
    assert text == interpolate(text.replace("${", "$${"), {})


@example("\U0001F600")
@given(S.texts())
def test_text_beyond_the_bmp_survives_a_yaml_file(text: str) -> None:
    """Any text written (quoted) as a YAML string value loads back as the same text."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_text(f"benchmark:\n  endpoint:\n    model: {yaml_quote(text)}\n",
                        encoding="utf-8")
        value = load([path]).value("benchmark.endpoint.model")

    assert text == value


@example("\x7f")
@given(st.text(st.characters(max_codepoint=0xFF, exclude_categories=("Cs",)), max_size=3))
def test_any_text_in_a_yaml_file_loads_or_is_reported(text: str) -> None:
    """A config file with any characters inside a quoted value loads or raises ConfigErrors."""
    body = text.replace("\\", "\\\\").replace('"', '\\"')
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.yaml"
        path.write_text(f'benchmark:\n  endpoint:\n    model: "{body}x"\n', encoding="utf-8")
        try:
            load([path])
        except ConfigErrors:
            pass
