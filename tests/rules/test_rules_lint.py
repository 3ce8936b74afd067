"""Lint the shipped rules tables: complete, unshadowed, and only using what the engine provides.

* every field is decided by exactly one field table, whose last row is a fallback;
* no row of a FIRST table is shadowed by an earlier one;
* every predicate exists, and predicate arguments name real fields / recipe attributes;
* every ``{placeholder}`` in a ``because``/``hint`` is one the engine fills in.

Rows a table inherits through ``extends:`` are linted as rows of that table; a bad
``extends:``/``inherit:`` fails the loader itself (see test_rules_extends.py).

The lint functions return a list of problems, so the last tests can feed them small bad
tables and check that they really fail.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import attrs
import pytest

from aiperf.config import fields as F
from aiperf.config.derive import DERIVATIONS
from aiperf.config.layer import SCOPES
from aiperf.config.predicates import PREDICATES, Facts
from aiperf.config.recipe import Recipe
from aiperf.config.resolve import _template_values
from aiperf.config.rulebook import load_rulebook
from aiperf.config.table import Rule, RuleRef, Table, Take

RULEBOOK = load_rulebook()

#: What the engine fills in for a field table's row (see resolve.decide).
FIELD_PLACEHOLDERS = frozenset({"value", "origin", "field", "flag", "override", "recipe",
                                "envelope", "missing"})
#: What the engine fills in for every template (see resolve._template_values).
ENGINE_PLACEHOLDERS = frozenset({"recipe", "envelope", "missing"})
#: Predicates whose argument names a field (or a list / mapping of fields).
FIELD_ARG_PREDICATES = frozenset({"is_set", "has_entries", "never_set", "set_by_user", "greater",
                                  "resolved"})
#: Predicates whose argument names a Recipe attribute.
RECIPE_ARG_PREDICATES = frozenset({"recipe_attribute", "recipe_flag"})
RECIPE_ATTRIBUTES = frozenset(a.name for a in attrs.fields(Recipe))


def _last_segments() -> Counter:
    return Counter(f.key.rsplit(".", 1)[-1] for f in F.FIELDS)


def resolution_placeholders() -> dict[str, str]:
    """Placeholder -> what it means, for note and constraint templates.

    The engine's fixed names, then ``<last key segment>`` and ``<last segment>_origin``
    for every field; a segment that several fields share is marked ambiguous.
    """
    counts = _last_segments()
    out = {name: "engine" for name in ENGINE_PLACEHOLDERS}
    for f in F.FIELDS:
        short = f.key.rsplit(".", 1)[-1]
        meaning = "ambiguous" if counts[short] > 1 else f.key
        for name in (short, f"{short}_origin"):
            out.setdefault(name, meaning)
    return out


# --- the lint ---------------------------------------------------------------------------------


def lint_coverage(rulebook_tables: Iterable[Table]) -> list[str]:
    """Every field has exactly one deciding field table, and that table ends in a fallback."""
    tables = [t for t in rulebook_tables if t.role == "field"]
    problems = []
    generic = [t for t in tables if t.applies_to is None]
    if len(generic) > 1:
        problems.append("several generic field tables: " + ", ".join(t.name for t in generic))
    for t in tables:
        for key in t.applies_to or ():
            if key not in F.FIELDS_BY_KEY:
                problems.append(f"{t.file}: applies_to names unknown field '{key}'")
    for f in F.FIELDS:
        specific = [t for t in tables if t.applies_to is not None and f.key in t.applies_to]
        deciders = specific if specific else generic[:1]
        if len(deciders) != 1:
            names = ", ".join(t.name for t in deciders) or "none"
            problems.append(f"{f.key} is decided by {len(deciders)} tables ({names})")
            continue
        if not deciders[0].has_fallback():
            problems.append(f"{deciders[0].file}: last row of the table deciding {f.key} "
                            "is not a fallback (when: always)")
    return problems


def lint_shadowing(tables: Iterable[Table]) -> list[str]:
    """No row of a FIRST table can never fire because an earlier row matches first."""
    return [
        f"{t.file}:{later.ref.line}: row '{later.id}' is shadowed by row '{earlier.id}' "
        f"(line {earlier.ref.line})"
        for t in tables
        for earlier, later in t.shadowed()
    ]


def lint_predicates(tables: Iterable[Table]) -> list[str]:
    """Every predicate exists; field and recipe-attribute arguments name real things."""
    problems = []
    for t in tables:
        for rule in t.rules:
            where = f"{t.file}:{rule.ref.line}: rule '{rule.id}'"
            for name, arg in rule.when:
                if name not in PREDICATES:
                    problems.append(f"{where}: unknown predicate '{name}'")
                    continue
                if name in FIELD_ARG_PREDICATES:
                    keys = [arg] if isinstance(arg, str) else list(arg)
                    problems += [f"{where}: {name} names unknown field '{k}'"
                                 for k in keys if k not in F.FIELDS_BY_KEY]
                if name in RECIPE_ARG_PREDICATES and arg not in RECIPE_ATTRIBUTES:
                    problems.append(f"{where}: {name} names unknown recipe attribute '{arg}'")
                if name == "given_in" and arg not in SCOPES:
                    problems.append(f"{where}: given_in names unknown scope '{arg}'")
            if rule.about is not None and rule.about not in F.FIELDS_BY_KEY:
                problems.append(f"{where}: about names unknown field '{rule.about}'")
            take = rule.take
            if take is not None and take.how == "recipe_attribute" and (
                    take.arg not in RECIPE_ATTRIBUTES):
                problems.append(f"{where}: take reads unknown recipe attribute '{take.arg}'")
            if take is not None and take.how == "derive":
                problems += _lint_derivation(where, take.arg, t)
    return problems


def _lint_derivation(where: str, name: str, table: Table) -> list[str]:
    """A derivation exists, reads real fields, and reads none of the fields it decides."""
    if name not in DERIVATIONS:
        return [f"{where}: take derives with unknown derivation '{name}'"]
    reads = DERIVATIONS[name].reads
    problems = [f"{where}: derivation '{name}' reads unknown field '{k}'"
                for k in reads if k not in F.FIELDS_BY_KEY]
    problems += [f"{where}: derivation '{name}' reads the field it decides, '{k}'"
                 for k in reads if k in (table.applies_to or ())]
    return problems


def lint_placeholders(tables: Iterable[Table]) -> list[str]:
    """Every placeholder is one the engine fills in for that kind of table, unambiguously."""
    provided = resolution_placeholders()
    problems = []
    for t in tables:
        for rule in t.rules:
            where = f"{t.file}:{rule.ref.line}: rule '{rule.id}'"
            words: tuple[str, ...] = ()
            if rule.take is not None and rule.take.how == "derive" \
                    and rule.take.arg in DERIVATIONS:
                words = DERIVATIONS[rule.take.arg].words
            for name in sorted(rule.placeholders()):
                if t.role == "field":
                    if name not in FIELD_PLACEHOLDERS | set(words):
                        problems.append(f"{where}: {{{name}}} is not filled in for field "
                                        f"rows (known: {', '.join(sorted(FIELD_PLACEHOLDERS))})")
                elif name not in provided:
                    problems.append(f"{where}: {{{name}}} is not filled in by the engine")
                elif provided[name] == "ambiguous":
                    problems.append(f"{where}: {{{name}}} is ambiguous: several fields end "
                                    "in that segment")
    return problems


# --- the shipped tables pass the lint ---------------------------------------------------------


def test_every_field_decided_by_exactly_one_table_with_fallback():
    """Every field has exactly one deciding field table, whose last row always matches."""
    assert [] == lint_coverage(RULEBOOK.tables)


def test_table_for_agrees_with_the_lint():
    """Rulebook.table_for picks, for every field, the table the lint found."""
    specific = {key: t.name for t in RULEBOOK.field_tables for key in t.applies_to or ()}
    generic = next(t.name for t in RULEBOOK.field_tables if t.applies_to is None)
    expected = {f.key: specific.get(f.key, generic) for f in F.FIELDS}
    assert expected == {f.key: RULEBOOK.table_for(f.key).name for f in F.FIELDS}


@pytest.mark.parametrize("table", RULEBOOK.tables, ids=lambda t: t.name)
def test_no_row_is_shadowed(table):
    """No row of the table is shadowed by an earlier one."""
    assert [] == lint_shadowing([table])


@pytest.mark.parametrize("table", RULEBOOK.tables, ids=lambda t: t.name)
def test_predicates_exist_and_name_real_things(table):
    """Every predicate exists and its field / recipe-attribute arguments are real."""
    assert [] == lint_predicates([table])


@pytest.mark.parametrize("table", RULEBOOK.tables, ids=lambda t: t.name)
def test_placeholders_are_provided(table):
    """Every because/hint placeholder is one the engine fills in for this kind of table."""
    assert [] == lint_placeholders([table])


def test_rule_ids_are_unique():
    """A rule id names one row in the whole rulebook."""
    ids = Counter(r.id for t in RULEBOOK.tables for r in t.rules)
    assert [] == sorted(i for i, n in ids.items() if n > 1)


def test_field_rows_all_take_a_value():
    """Every row of a field table says how it produces the value."""
    assert [] == [r.id for t in RULEBOOK.field_tables for r in t.rules if r.take is None]


def test_note_and_constraint_rows_name_what_they_are_about():
    """Every note and constraint row names the field it is about (for its location)."""
    rows = [r for t in RULEBOOK.note_tables + RULEBOOK.constraint_tables for r in t.rules]
    assert [] == [r.id for r in rows if r.about is None]


# --- the lint's picture of the engine matches the engine --------------------------------------


def test_field_placeholders_match_the_engine():
    """The names the lint allows in field rows are exactly those the engine fills in."""
    field = F.field("benchmark.load.warmup_request_count")
    values = _template_values(field, 1, None, Facts(field.key, (), None, None), {})
    assert FIELD_PLACEHOLDERS == set(values)


def test_resolution_placeholders_match_the_engine():
    """The names the lint allows in note/constraint rows are exactly those the engine fills in."""
    from aiperf.config import load

    # Templates are rendered inside resolve(), before load() adds the plot selection.
    provenance = {k: p for k, p in load().provenance.items() if k in F.FIELDS_BY_KEY}
    values = _template_values(None, None, None, Facts(None, (), None, None), provenance)
    assert set(resolution_placeholders()) == set(values)


def test_flag_placeholder_only_for_fields_with_a_flag():
    """A row that says 'pass {flag}' only decides fields that have a flag ({override}
    says the right thing for every field)."""
    flagless = [f.key for f in F.FIELDS if f.flag is None]
    offenders = sorted(
        (t.name, r.id)
        for t in RULEBOOK.field_tables
        for r in t.rules
        if "flag" in r.placeholders()
        and any(RULEBOOK.table_for(key) is t for key in flagless)
    )
    assert [] == offenders


# --- the lint fails where it should -----------------------------------------------------------


def _row(rule_id: str, line: int, when=(), take: str = "given", because: str = "x") -> Rule:
    return Rule(ref=RuleRef("bad", rule_id, "rules/bad.yaml", line), when=tuple(when),
                because=because, take=Take(take))


def _table(*rules: Rule, applies_to=("benchmark.load.warmup_request_count",), role="field",
           hit_policy="first") -> Table:
    return Table(name="bad", hit_policy=hit_policy, role=role, applies_to=applies_to,
                 rules=rules, file="rules/bad.yaml")


def test_lint_catches_a_shadowed_row():
    """A row whose condition includes an earlier row's condition is reported as shadowed."""
    bad = _table(
        _row("from-cli", 1, [("given_in", "cli")]),
        _row("from-cli-with-envelope", 2, [("given_in", "cli"), ("envelope_present", True)]),
        _row("fallback", 3, take="default"),
    )
    expected = ["rules/bad.yaml:2: row 'from-cli-with-envelope' is shadowed by row "
                "'from-cli' (line 1)"]
    assert expected == lint_shadowing([bad])


def test_lint_catches_a_row_after_the_fallback():
    """A row after an always-matching row is shadowed by it."""
    bad = _table(_row("fallback", 1, take="default"), _row("from-cli", 2, [("given_in", "cli")]))
    assert 1 == len(lint_shadowing([bad]))


def test_lint_catches_a_missing_fallback():
    """A field table whose last row has a condition leaves fields undecided."""
    bad = _table(_row("from-cli", 1, [("given_in", "cli")]))
    problems = lint_coverage([*RULEBOOK.field_tables, bad])
    expected = ["rules/bad.yaml: last row of the table deciding "
                "benchmark.load.warmup_request_count is not a fallback (when: always)"]
    assert expected == problems


def test_lint_catches_two_tables_for_one_field():
    """Two specific tables claiming the same field are reported."""
    fine = _table(_row("fallback", 1, take="default"))
    problems = lint_coverage([*RULEBOOK.field_tables, fine, attrs.evolve(fine, name="again")])
    assert ["benchmark.load.warmup_request_count is decided by 2 tables (bad, again)"] == problems


def test_lint_catches_a_field_no_table_decides():
    """Without a generic table, fields that no table names are reported."""
    only = _table(_row("fallback", 1, take="default"))
    problems = lint_coverage([only])
    assert len(F.FIELDS) - 1 == len(problems)


def test_lint_catches_unknown_predicate_and_field_arguments():
    """An unknown predicate, an unknown field and an unknown recipe attribute are reported."""
    bad = _table(
        _row("a", 1, [("no_such_predicate", True)]),
        _row("b", 2, [("is_set", "benchmark.load.concurency")]),
        _row("c", 3, [("recipe_attribute", "auto_plot_defualt")]),
        _row("d", 4, take="default"),
    )
    assert 3 == len(lint_predicates([bad]))


def test_lint_catches_unknown_and_ambiguous_placeholders():
    """Unknown names in field rows, and unknown or ambiguous names in notes, are reported."""
    field_row = _table(_row("a", 1, because="{value} from {request_rate_origin}", take="default"))
    note = _table(_row("b", 2, because="{plot_required} {mean} {nope}"), applies_to=None,
                  role="note", hit_policy="collect")
    problems = lint_placeholders([field_row, note])
    named = sorted(p.split("{")[1].split("}")[0] for p in problems)
    assert ["mean", "nope", "request_rate_origin"] == named


def test_lint_catches_an_unknown_derivation_and_foreign_words():
    """A row deriving with an unknown derivation is reported, and so is a placeholder that
    is neither the engine's nor one of its derivation's words."""
    bad = _table(
        attrs.evolve(_row("a", 1, [("is_set", "benchmark.search.recipe")]),
                     take=Take("derive", "no-such-derivation")),
        attrs.evolve(_row("b", 2, because="{named_by} {nope}"),
                     take=Take("derive", "single-run-dir")),
    )
    assert ["rules/bad.yaml:1: rule 'a': take derives with unknown derivation "
            "'no-such-derivation'"] == lint_predicates([bad])
    named = sorted(p.split("{")[1].split("}")[0] for p in lint_placeholders([bad]))
    assert ["nope"] == named


def test_lint_catches_a_derivation_reading_its_own_field():
    """A derivation may not read the field it decides (it is decided after the others)."""
    bad = _table(attrs.evolve(_row("a", 1), take=Take("derive", "artifact-dir")),
                 applies_to=("benchmark.artifacts.dir",))
    assert ["rules/bad.yaml:1: rule 'a': derivation 'artifact-dir' reads the field it "
            "decides, 'benchmark.artifacts.dir'"] == lint_predicates([bad])
