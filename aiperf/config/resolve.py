"""The resolution engine: ``resolve(layers, registry, rulebook) -> Resolved``.

Pure: no file reads, no clock, no globals, no printing. For every field it builds the
facts (which layers give it, whether a ``plot:`` envelope is present, the active
recipe), asks the field's decision table for the first matching row, and records the
value with its provenance. Notes and constraint tables then run over the result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aiperf.config import fields as F
from aiperf.config.derive import DERIVATIONS, Derived
from aiperf.config.errors import ConfigError, ConfigErrors, did_you_mean
from aiperf.config.kinds import MapKind
from aiperf.config.layer import SCOPES, Layer, Origin, Value
from aiperf.config.predicates import Facts, unmet_requirements
from aiperf.config.provenance import (
    ABSENT,
    MERGED,
    NOT_GIVEN,
    NOT_SET,
    OVERRIDDEN,
    PRESENT_OUTRANKED,
    READ,
    WON,
    Consideration,
    Note,
    Provenance,
    Resolved,
)
from aiperf.config.recipe import Recipe
from aiperf.config.redaction import hidden
from aiperf.config.rulebook import Rulebook
from aiperf.config.structure import build_config
from aiperf.config.table import Rule, Table, render

RECIPE_KEY = "benchmark.search.recipe"
ENVELOPE_KEY = "plot"
DEFAULT_ORIGIN = Origin("default", "built-in")


def show(value: Any) -> str:
    """A value as YAML would spell it, for reasons and explain output."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def order_layers(layers: Sequence[Layer]) -> list[Layer]:
    """Layers in increasing precedence; files keep their command-line order."""
    return sorted(layers, key=lambda layer: SCOPES.index(layer.scope))


def _implied_origin(rule: Rule, facts: Facts) -> Origin:
    """Where an implied value comes from: the fact the rule's condition names."""
    names = {name for name, _ in rule.when}
    for name, arg in rule.when:
        if name == "explicitly_set" and arg in facts.explicit:
            return facts.explicit[arg]
        if name == "explicit_matches":
            return facts.explicit[next(iter(arg))]
    if "envelope_present" in names and facts.envelope is not None:
        return facts.envelope.origin
    if facts.recipe is not None and any(n.startswith("recipe_") for n in names):
        return Origin("recipe", facts.recipe.name)
    return DEFAULT_ORIGIN


def _take(
    rule: Rule, facts: Facts, field: F.Field, default: Value
) -> tuple[Any, Origin, list[Layer]]:
    """(value, origin, contributing layers) for the row that decided ``field``."""
    take = rule.take
    assert take is not None
    if take.how == "derive":
        derived = _derive(take.arg, facts)
        return derived.value, _implied_origin(rule, facts), []
    if take.how == "given":
        scope = dict(rule.when)["given_in"]
        # The winner is the last layer of that scope (a later -f file beats an earlier).
        upto = max(i for i, (g, _) in enumerate(facts.given) if g.scope == scope) + 1
        layer, value = facts.given[upto - 1]
        if isinstance(field.kind, MapKind):
            # Mappings merge key by key, up to and including the winning layer.
            merged: dict[str, Any] = {}
            for _, v in facts.given[:upto]:
                merged.update(v.value)
            return merged, value.origin, [g[0] for g in facts.given[:upto]]
        return value.value, value.origin, [layer]
    if take.how == "default":
        return default.value, default.origin, []
    if take.how == "unset":
        return None, _implied_origin(rule, facts), []
    if take.how == "value":
        return take.arg, _implied_origin(rule, facts), []
    assert facts.recipe is not None
    return getattr(facts.recipe, take.arg), Origin("recipe", facts.recipe.name), []


def _derive(name: str, facts: Facts) -> Derived:
    """Run the derivation ``name`` over the values resolved so far."""
    return DERIVATIONS[name].compute(facts.resolved, facts.recipe)


def derived_fields(rulebook: Rulebook) -> frozenset[str]:
    """The fields decided after the others, because some row of their table reads other
    fields' resolved values: it derives the value (``take: {derive: NAME}``) or tests
    them (``when: {resolved: ...}``)."""
    return frozenset(
        f.key for f in F.FIELDS
        if any((r.take is not None and r.take.how == "derive")
               or any(name == "resolved" for name, _ in r.when)
               for r in rulebook.table_for(f.key).rules)
    )


def explicitness_decides(rulebook: Rulebook) -> frozenset[str]:
    """Fields whose being set by the user, not only their value, decides a derived field
    (``--artifact-dir`` names the run directory exactly; the default is only its base)."""
    return frozenset(
        arg for key in derived_fields(rulebook)
        for rule in rulebook.table_for(key).rules
        for name, arg in rule.when if name == "explicitly_set"
    )


def _considered(
    layers: Sequence[Layer], key: str, contributing: list[Layer], table: Table,
    rule: Rule, facts: Facts,
) -> tuple[Consideration, ...]:
    out: list[Consideration] = []
    predicates = {name for r in table.rules for name, _ in r.when}
    rule_names = {name for name, _ in rule.when}
    implied_won = rule.take is not None and rule.take.how in ("value", "recipe_attribute")
    for layer in reversed(layers):
        v = layer.get(key)
        if layer.scope == "default":
            status = WON if rule.take is not None and rule.take.how == "default" else OVERRIDDEN
            out.append(Consideration("default", layer.label, status, v.value if v else None,
                                     DEFAULT_ORIGIN))
            continue
        if v is None and layer.scope == "home":
            continue  # a home file says nothing about other fields; listing it is noise
        if v is None:
            status = NOT_GIVEN if layer.scope == "cli" else NOT_SET
            out.append(Consideration(layer.scope, layer.label, status))
            continue
        if layer in contributing:
            status = WON if layer is contributing[-1] else MERGED
        else:
            status = OVERRIDDEN
        out.append(Consideration(layer.scope, layer.label, status, v.value, v.origin))
    if "envelope_present" in predicates:
        env = facts.envelope
        won = implied_won and "envelope_present" in rule_names
        status = WON if won else (PRESENT_OUTRANKED if env is not None else ABSENT)
        out.insert(_before_recipe(out), Consideration(
            "envelope", "plot: envelope", status, True if env else None,
            env.origin if env else None))
    if "recipe_attribute" in predicates:
        r = facts.recipe
        won = implied_won and "recipe_attribute" in rule_names
        if r is None:
            out.insert(_before_default(out), Consideration("recipe", "recipe default", ABSENT))
        else:
            attr = next(arg for t in table.rules for n, arg in t.when if n == "recipe_attribute")
            value = getattr(r, attr)
            status = WON if won else (PRESENT_OUTRANKED if value is not None else NOT_SET)
            out.insert(_before_default(out), Consideration(
                "recipe", f"recipe {r.name} {attr}", status, value,
                Origin("recipe", r.name)))
    return tuple(out)


def _before_recipe(out: list[Consideration]) -> int:
    for i, c in enumerate(out):
        if c.scope in ("recipe", "default"):
            return i
    return len(out)


def _before_default(out: list[Consideration]) -> int:
    for i, c in enumerate(out):
        if c.scope == "default":
            return i
    return len(out)


def _template_values(
    field: F.Field | None, value: Any, origin: Origin | None, facts: Facts,
    resolved: Mapping[str, Provenance],
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "recipe": facts.recipe.name if facts.recipe else "(none)",
        "envelope": facts.envelope.origin.describe() if facts.envelope else "(none)",
        "missing": "; ".join(unmet_requirements(facts)),
    }
    for key, prov in resolved.items():
        short = key.rsplit(".", 1)[-1]
        values.setdefault(short, show(hidden(key, prov.value)))
        values.setdefault(f"{short}_origin", prov.origin.describe())
    if field is not None:
        values.update(field=field.key, flag=field.flag or "(no flag)",
                      value=show(hidden(field.key, value)),
                      origin=origin.describe() if origin else "",
                      override=f"pass {field.flag}" if field.flag
                      else "set it in a later -f file")
    return values


def decide(
    field: F.Field, layers: Sequence[Layer], table: Table, envelope: Value | None,
    recipe: Recipe | None, explicit: Mapping[str, Origin] | None = None,
    explicit_values: Mapping[str, Any] | None = None,
    decided: Mapping[str, Provenance] | None = None,
) -> Provenance:
    """Run ``field``'s decision table over the layers and record why.

    ``decided`` holds the fields decided before this one: a table whose rows derive the
    value (``take: {derive: NAME}``) tests and reads their values, and a derived value
    lists the fields it was derived from as what it considered.
    """
    decided = decided or {}
    key = field.key
    default = next((layer.get(key) for layer in layers if layer.scope == "default"), None)
    default = default or Value(field.default, DEFAULT_ORIGIN)
    given = tuple(
        (layer, layer.values[key])
        for layer in layers
        if layer.scope != "default" and key in layer.values
    )
    resolved = {k: p.value for k, p in decided.items()}
    facts = Facts(key, given, envelope, recipe, resolved, explicit=explicit or {},
                  explicit_values=explicit_values or {})
    rule = table.first(facts)
    if rule is None:
        raise LookupError(f"{table.file}: no row decides {key}; the table needs a fallback row")
    value, origin, contributing = _take(rule, facts, field, default)
    tv = _template_values(field, value, origin, facts, {})
    if rule.take is not None and rule.take.how == "derive":
        tv.update(_derive(rule.take.arg, facts).words)
        considered = tuple(
            Consideration(decided[k].origin.scope, k, READ, decided[k].value, decided[k].origin)
            for k in DERIVATIONS[rule.take.arg].reads)
    else:
        considered = _considered(layers, key, contributing, table, rule, facts)
    return Provenance(
        key=key,
        value=value,
        origin=origin,
        rule=rule.ref,
        because=render(rule.because, tv),
        hint=render(rule.hint, tv) if rule.hint else None,
        considered=considered,
    )


def _recipe(
    layers: Sequence[Layer], registry: Mapping[str, Recipe], rulebook: Rulebook
) -> tuple[Recipe | None, Provenance]:
    field = F.field(RECIPE_KEY)
    prov = decide(field, layers, rulebook.table_for(RECIPE_KEY), None, None)
    name = prov.value
    if name is None:
        return None, prov
    recipe = registry.get(name)
    if recipe is None:
        o = prov.origin
        known = ", ".join(registry)
        hint = did_you_mean(name, registry)
        hint = f"{hint} known recipes: {known}" if hint else f"known recipes: {known}"
        where = o.describe() if o.scope in ("cli", "env") else o.source
        raise ConfigErrors([ConfigError("unknown-recipe", f"unknown recipe '{name}'", where,
                                        o.line, o.column, RECIPE_KEY, hint)])
    return recipe, prov


def recipe_layer(recipe: Recipe) -> Layer:
    """The values an active recipe supplies, as the ``recipe`` layer."""
    origin = Origin("recipe", recipe.name)
    return Layer("recipe", f"recipe {recipe.name}",
                 {k: Value(v, origin) for k, v in recipe.settings.items()})


def resolve(
    layers: Sequence[Layer], registry: Mapping[str, Recipe], rulebook: Rulebook
) -> Resolved:
    """Resolve every field from ``layers`` through the rulebook.

    ``layers`` are the default, file, env and CLI layers (any order between scopes;
    files in command-line order). The recipe layer is derived here from the recipe the
    layers select. Raises ConfigErrors for an unknown recipe; constraint violations are
    returned in ``Resolved.problems`` so that ``explain`` can still show everything.
    """
    ordered = order_layers([layer for layer in layers if layer.scope != "recipe"])
    recipe, _ = _recipe(ordered, registry, rulebook)
    if recipe is not None:
        ordered = order_layers([*ordered, recipe_layer(recipe)])
    envelope_prov = decide(F.field(ENVELOPE_KEY), ordered, rulebook.table_for(ENVELOPE_KEY),
                           None, None)
    envelope = (
        Value(envelope_prov.value, envelope_prov.origin)
        if envelope_prov.value is not None else None
    )
    # Layers are in increasing precedence, so the last origin seen for a key wins.
    explicit = {
        key: value.origin
        for layer in ordered if layer.scope not in ("default", "recipe")
        for key, value in layer.values.items()
    }
    explicit_values = {
        key: value.value
        for layer in ordered if layer.scope not in ("default", "recipe")
        for key, value in layer.values.items()
    }
    decided: dict[str, Provenance] = {}
    derived = derived_fields(rulebook)
    # Derived fields come last: their derivations read the others' resolved values.
    for field in sorted(F.FIELDS, key=lambda f: f.key in derived):
        so_far = dict(decided) if field.key in derived else None
        decided[field.key] = decide(field, ordered, rulebook.table_for(field.key),
                                    envelope, recipe, explicit, explicit_values, so_far)
    provenance = {f.key: decided[f.key] for f in F.FIELDS}
    values = {k: p.value for k, p in provenance.items()}
    # Notes and constraints may ask what the user set (e.g. an arrival pattern without a
    # rate is an error only when the user chose the pattern), so they see explicit too.
    facts = Facts(None, (), envelope, recipe, values, explicit=explicit,
                  explicit_values=explicit_values)
    tv = _template_values(None, None, None, facts, provenance)
    notes = tuple(
        Note(rule.id, rule.level or "info", rule.about, render(rule.because, tv),
             render(rule.hint, tv) if rule.hint else None, rule.ref)
        for table in rulebook.note_tables
        for rule in table.collect(facts)
    )
    problems = tuple(
        _constraint_error(rule, tv, provenance)
        for table in rulebook.constraint_tables
        for rule in table.collect(facts)
    )
    return Resolved(build_config(values), provenance, notes, problems, recipe)


def _constraint_error(rule: Rule, tv: Mapping[str, Any],
                      provenance: Mapping[str, Provenance]) -> ConfigError:
    about = provenance.get(rule.about) if rule.about else None
    o = about.origin if about else None
    where = None
    if o is not None and o.scope in ("file", "envelope"):
        where = o.source
    elif o is not None:
        where = o.describe()
    return ConfigError(
        rule.id, render(rule.because, tv), where, o.line if o else None,
        o.column if o else None, rule.about, render(rule.hint, tv) if rule.hint else None,
    )
