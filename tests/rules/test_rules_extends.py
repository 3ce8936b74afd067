"""``extends:``: a rules table inherits another table's rows instead of copying them.

``rules/concurrency.yaml`` and ``rules/request-count.yaml`` extend ``precedence``. Once
loaded they must be exactly the full tables they replaced (kept, as they were, in
``before_extends/``): same rows in the same order, same ids, conditions, outcomes and
texts. A bad ``extends:`` is a loader error with the file and line.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import attrs
import pytest

from aiperf._resources import rules_dir
from aiperf.config.errors import ConfigErrors
from aiperf.config.rulebook import load_rulebook, load_rulebook_from
from aiperf.config.table import Rule, Table

BEFORE = Path(__file__).parent / "before_extends"
EXTENDING = ("concurrency", "request-count")


def _content(rule: Rule) -> Rule:
    """The row without where it is written (the inherited rows now live in precedence.yaml)."""
    return attrs.evolve(rule, ref=attrs.evolve(rule.ref, file="", line=0))


def _same_table(a: Table, b: Table) -> None:
    assert (a.name, a.role, a.hit_policy, a.applies_to, a.file, a.examples) == (
        b.name, b.role, b.hit_policy, b.applies_to, b.file, b.examples)
    assert [_content(r) for r in a.rules] == [_content(r) for r in b.rules]


@pytest.fixture(scope="module")
def before(tmp_path_factory) -> dict[str, Table]:
    """The shipped rules with the two tables as they were before ``extends:``."""
    folder = tmp_path_factory.mktemp("rules")
    for path in rules_dir().glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    for name in EXTENDING:
        shutil.copy(BEFORE / f"{name}.yaml", folder / f"{name}.yaml")
    return {t.name: t for t in load_rulebook_from(folder, with_examples=True).tables}


@pytest.mark.parametrize("name", EXTENDING)
def test_extending_table_equals_the_full_table_it_replaced(before, name):
    """Loaded, the extending table is the old full table (with its examples)."""
    now = {t.name: t for t in load_rulebook_from(rules_dir(), with_examples=True).tables}
    _same_table(before[name], now[name])


@pytest.mark.parametrize("name", EXTENDING)
def test_the_cached_load_resolves_extends_the_same(before, name):
    """load_rulebook (strictyaml's parse possibly from the cache) gives the same rows."""
    now = next(t for t in load_rulebook().tables if t.name == name)
    assert [_content(r) for r in before[name].rules] == [_content(r) for r in now.rules]


def test_inherited_rows_are_located_in_the_extending_file():
    """An inherited row is located at its ``- id:`` line in the extending table's file."""
    table = next(t for t in load_rulebook().tables if t.name == "concurrency")
    lines = (rules_dir() / "concurrency.yaml").read_text(encoding="utf-8").splitlines()
    for rule in table.rules:
        assert rule.ref.file == "rules/concurrency.yaml"
        assert lines[rule.ref.line - 1].strip() == f"- id: {rule.id}"


# --- a bad extends: fails with the file and line ----------------------------------------------

_HEAD = """table: {name}
role: field
hit_policy: first
applies_to:
  - {field}
"""
#: A parent's rows.
PARENT = """rules:
  - id: {name}-row
    when:
      given_in: cli
    take: given
    because: "{{origin}} was given"
  - id: {name}-last
    when: always
    take: default
    because: "built-in default"
"""
#: An extending table's rows: the parent's (table ``a``) around one of its own.
CHILD = """rules:
  - id: {name}-row
    inherit: a-row
  - id: {name}-own
    when:
      given_in: env
    take: given
    because: "set by {{origin}}"
  - id: {name}-last
    inherit: a-last
"""


def _write(folder: Path, name: str, extra: str = "", field: str = "benchmark.load.concurrency",
           rows: str = PARENT) -> None:
    text = _HEAD.format(name=name, field=field) + extra + rows.format(name=name)
    (folder / f"{name}.yaml").write_text(text, encoding="utf-8")


def _error(folder: Path) -> str:
    with pytest.raises(ConfigErrors) as e:
        load_rulebook_from(folder)
    return e.value.render()


def test_extends_an_unknown_table(tmp_path):
    _write(tmp_path, "a", "extends: no-such-table\n", rows=CHILD)
    assert "rules/a.yaml:6: extends unknown table 'no-such-table' (known: a)" in _error(tmp_path)


def test_extends_a_cycle(tmp_path):
    _write(tmp_path, "a", "extends: b\n", rows=CHILD)
    _write(tmp_path, "b", "extends: a\n", field="benchmark.load.request_count", rows=CHILD)
    assert "rules/b.yaml:6: extends makes a cycle: a -> b -> a" in _error(tmp_path)


def test_extends_itself(tmp_path):
    _write(tmp_path, "a", "extends: a\n", rows=CHILD)
    assert "rules/a.yaml:6: extends makes a cycle: a -> a" in _error(tmp_path)


def test_extends_a_table_of_another_hit_policy(tmp_path):
    _write(tmp_path, "a")
    path = tmp_path / "a.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("first", "collect"),
                    encoding="utf-8")
    _write(tmp_path, "b", "extends: a\n", field="benchmark.load.request_count", rows=CHILD)
    assert "rules/b.yaml:6: extends table 'a' whose hit_policy is collect, not first" \
        in _error(tmp_path)


def test_inherit_of_an_unknown_row(tmp_path):
    _write(tmp_path, "a")
    _write(tmp_path, "b", "extends: a\n", field="benchmark.load.request_count",
           rows=CHILD.replace("inherit: a-row", "inherit: a-rwo"))
    assert ("rules/b.yaml:8: rule 'b-row' inherits no row of table 'a' ('a-rwo'; "
            "it has: a-row, a-last)") in _error(tmp_path)


def test_a_parent_row_left_out(tmp_path):
    """Every row of the parent is placed: adding one to the parent is a decision for
    every table extending it."""
    _write(tmp_path, "a")
    _write(tmp_path, "b", "extends: a\n", field="benchmark.load.request_count",
           rows=CHILD.replace("  - id: {name}-row\n    inherit: a-row\n", ""))
    assert ("rules/b.yaml:6: table 'b' extends 'a' but does not inherit its rows: a-row"
            in _error(tmp_path))


def test_a_parent_row_inherited_twice(tmp_path):
    _write(tmp_path, "a")
    _write(tmp_path, "b", "extends: a\n", field="benchmark.load.request_count",
           rows=CHILD.replace("inherit: a-last", "inherit: a-row"))
    assert "rules/b.yaml:15: row 'a-row' of table 'a' is inherited twice (also line 8)" \
        in _error(tmp_path)


def test_inherit_without_extends(tmp_path):
    _write(tmp_path, "a", rows=CHILD)
    assert ("rules/a.yaml:7: rule 'a-row' inherits, but the table extends no table "
            "(extends:)") in _error(tmp_path)


def test_an_inherit_row_with_more_than_its_id(tmp_path):
    _write(tmp_path, "a")
    _write(tmp_path, "b", "extends: a\n", field="benchmark.load.request_count",
           rows=CHILD.replace("inherit: a-row\n", "inherit: a-row\n    hint: x\n"))
    assert ("rules/b.yaml:8: rule 'b-row' inherits 'a-row', so it has only id: and "
            "inherit: (not hint)") in _error(tmp_path)


def test_a_row_neither_inherited_nor_complete(tmp_path):
    _write(tmp_path, "a", rows=PARENT.replace('    because: "built-in default"\n', ""))
    assert "rules/a.yaml:12: rule 'a-last' has no because: (and inherits no row)" \
        in _error(tmp_path)


def test_extends_chains(tmp_path):
    """A table extending an extending table inherits the rows as the middle one has them."""
    _write(tmp_path, "a")
    _write(tmp_path, "b", "extends: a\n", field="benchmark.load.request_count", rows=CHILD)
    _write(tmp_path, "c", "extends: b\n", field="benchmark.load.request_rate", rows="""rules:
  - id: c-first
    inherit: b-own
  - id: c-row
    inherit: b-row
  - id: c-last
    inherit: b-last
""")
    tables = {t.name: t for t in load_rulebook_from(tmp_path).tables}
    b, c = tables["b"], tables["c"]
    assert [r.id for r in b.rules] == ["b-row", "b-own", "b-last"]
    assert [r.id for r in c.rules] == ["c-first", "c-row", "c-last"]
    assert [r.when for r in c.rules] == [b.rules[1].when, b.rules[0].when, b.rules[2].when]
    assert [r.ref.location() for r in c.rules] == [
        "rules/c.yaml:8", "rules/c.yaml:10", "rules/c.yaml:12"]
