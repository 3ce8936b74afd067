"""The named derivations (aiperf/config/derive.py) and the rules schema that names them."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from aiperf._resources import rules_dir, schemas_dir
from aiperf.config.derive import DERIVATIONS, default_run_dir_name, model_basename
from aiperf.config.predicates import PREDICATES
from aiperf.config.rulebook import load_rulebook

BASE = {"benchmark.artifacts.dir": "artifacts", "benchmark.endpoint.model": "org/m",
        "benchmark.load.concurrency": 4, "benchmark.load.request_rate": None,
        "benchmark.sweep.parameters": {}, "benchmark.search.recipe": None}


def derive(name: str, **changes):
    values = {**BASE, **{k.replace("__", "."): v for k, v in changes.items()}}
    return DERIVATIONS[name].compute(values, None)


class TestRunDirDerivations:
    """Each derivation names the run directory the way the runner always has."""

    def test_single_run(self):
        """model basename and load below artifacts.dir, and the words that say so."""
        got = derive("single-run-dir")

        assert ("artifacts/m-concurrency4", "the model m and concurrency 4") == (
            got.value, got.words["named_by"])

    def test_request_rate(self):
        """A rate is spelt like the reference tool's (5 -> 5.0)."""
        got = derive("single-run-dir", **{"benchmark.load.concurrency": None,
                                          "benchmark.load.request_rate": 5})

        assert "artifacts/m-request_rate5.0" == got.value

    def test_artifact_dir_is_taken_as_it_is(self):
        assert "out" == derive("artifact-dir", **{"benchmark.artifacts.dir": "out"}).value

    def test_sweep_is_named_after_what_varies(self):
        got = derive("sweep-run-dir", **{"benchmark.sweep.parameters": {
            "benchmark.load.concurrency": [1], "benchmark.dataset.isl.mean": [2]}})

        assert "artifacts/m-sweep-concurrency-isl" == got.value

    def test_recipe_and_scenarios(self):
        recipe = derive("recipe-run-dir", **{"benchmark.search.recipe": "pareto-sweep"})

        assert "artifacts/m-pareto-sweep" == recipe.value
        assert "artifacts/m-sweep-scenarios" == derive("scenarios-run-dir").value


@given(model=st.text(max_size=30), concurrency=st.none() | st.integers(1, 10_000),
       rate=st.none() | st.floats(0.01, 1e4), base=st.sampled_from(["artifacts", "a/b", "."]))
def test_single_run_dir_is_one_safe_name_below_the_base(model, concurrency, rate, base):
    """Whatever the model, the derived directory is exactly one safe component below the
    base, and the same inputs always give the same directory."""
    values = {**BASE, "benchmark.artifacts.dir": base, "benchmark.endpoint.model": model,
              "benchmark.load.concurrency": concurrency, "benchmark.load.request_rate": rate}
    got = DERIVATIONS["single-run-dir"].compute(values, None)

    path = Path(got.value)
    assert Path(base) == path.parent
    assert path.name == default_run_dir_name(model or "model", concurrency, rate)
    assert path.name.startswith(model_basename(model or "model"))
    assert got == DERIVATIONS["single-run-dir"].compute(dict(values), None)


def test_derivations_read_only_what_they_declare():
    """A derivation given only its declared fields computes the same value."""
    for d in DERIVATIONS.values():
        values = {**BASE, "benchmark.search.recipe": "r", "benchmark.sweep.parameters": {
            "benchmark.load.concurrency": [1]}}
        only = {k: values[k] for k in d.reads}

        assert d.compute(values, None) == d.compute(only, None), d.name


def test_rules_schema_names_every_predicate_and_derivation():
    """schemas/rules.schema.json offers exactly the engine's predicates and derivations."""
    schema = json.loads((schemas_dir() / "rules.schema.json").read_text(encoding="utf-8"))
    rule = schema["properties"]["rules"]["items"]["properties"]
    predicates = rule["when"]["oneOf"][1]["propertyNames"]["enum"]
    [derive_take] = [t for t in rule["take"]["oneOf"] if "derive" in t.get("properties", {})]

    assert sorted(PREDICATES) == sorted(predicates)
    assert sorted(DERIVATIONS) == sorted(derive_take["properties"]["derive"]["enum"])


def test_every_derivation_is_used_by_a_rule():
    used = {r.take.arg for t in load_rulebook().field_tables for r in t.rules
            if r.take is not None and r.take.how == "derive"}

    assert sorted(DERIVATIONS) == sorted(used)
    assert (rules_dir() / "run-dir.yaml").is_file()


#: Where reading whether the user set a value (``Provenance.explicit``) belongs: the
#: configuration engine, and explain, which presents it. Consumers (the runner, the
#: plots, the CLI) read resolved values only; a decision that depends on it is a rule.
MAY_READ_EXPLICIT = ("config/", "explain.py")


def test_no_consumer_reads_whether_a_value_was_explicit():
    """No module outside aiperf/config and aiperf/explain.py reads ``.explicit``."""
    package = Path(__file__).resolve().parents[2] / "aiperf"
    offenders = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package).as_posix()
        if relative.startswith(MAY_READ_EXPLICIT):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offenders += [f"aiperf/{relative}:{node.lineno}" for node in ast.walk(tree)
                      if isinstance(node, ast.Attribute) and node.attr == "explicit"]

    assert [] == offenders
