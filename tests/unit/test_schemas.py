"""The JSON Schemas shipped in schemas/ are valid and in step with the field tables."""

from __future__ import annotations

import json

import jsonschema
import pytest

from aiperf._resources import schemas_dir
from aiperf.config.jsonschema import GENERATED, dump


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_schema_is_fresh(name):
    """The committed schema equals what the field table generates today."""
    committed = (schemas_dir() / name).read_text(encoding="utf-8")

    assert dump(GENERATED[name]()) == committed, (
        f"schemas/{name} is stale; run `python -m aiperf.config.jsonschema schemas`"
    )


@pytest.mark.parametrize("path", sorted(schemas_dir().glob("*.json")), ids=lambda p: p.name)
def test_schema_is_a_valid_json_schema(path):
    """Every shipped schema is itself a valid draft 2020-12 schema."""
    jsonschema.Draft202012Validator.check_schema(json.loads(path.read_text(encoding="utf-8")))


def test_example_config_satisfies_the_config_schema():
    """A typical config, as plain data, passes the editor schema; a typo does not."""
    schema = json.loads((schemas_dir() / "config.schema.json").read_text())
    good = {"benchmark": {"load": {"concurrency": 4}, "artifacts": {"auto_plot": True}}}
    bad = {"benchmark": {"load": {"concurency": 4}}}
    validator = jsonschema.Draft202012Validator(schema)

    assert [] == list(validator.iter_errors(good))
    assert list(validator.iter_errors(bad))
