"""JSON Schemas for editors, generated from the field tables.

``schemas/config.schema.json`` and ``schemas/plot-config.schema.json`` are the output
of :func:`config_schema` and :func:`plot_config_schema`; a test keeps the committed
files in step with the tables (regenerate with ``python -m aiperf.config.jsonschema``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from aiperf.config.fields import FIELDS
from aiperf.config.plot_config import PLOT_FIELDS

_BASE = "https://aiperf.invalid/schemas/"


def _node(kind: Any, doc: str, default: Any) -> dict[str, Any]:
    out = kind.json_schema()
    out["description"] = doc
    if default is not None and default != {} and default != []:
        out["default"] = default
    return out


def config_schema() -> dict[str, Any]:
    """The schema of an aiperf config file (the ``benchmark:`` block and ``plot:``)."""
    root: dict[str, Any] = {"type": "object", "properties": {}, "additionalProperties": False}
    for f in FIELDS:
        if f.derived:
            continue  # decided by a rule, never written in a file
        node = root
        *parents, name = f.yaml_path
        for p in parents:
            node = node["properties"].setdefault(
                p, {"type": "object", "properties": {}, "additionalProperties": False})
        node["properties"][name] = _node(f.kind, f.doc, f.default)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _BASE + "config.schema.json",
        "title": "aiperf configuration file",
        **root,
    }


def plot_config_schema() -> dict[str, Any]:
    """The schema of a plot config (inline ``plot:`` or its own file)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _BASE + "plot-config.schema.json",
        "title": "aiperf plot configuration",
        "type": "object",
        "properties": {f.key: _node(f.kind, f.doc, f.default) for f in PLOT_FIELDS},
        "additionalProperties": False,
    }


GENERATED = {
    "config.schema.json": config_schema,
    "plot-config.schema.json": plot_config_schema,
}


def dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2) + "\n"


def main(folder: str) -> None:
    """Write the generated schemas into ``folder``."""
    for name, build in GENERATED.items():
        (Path(folder) / name).write_text(dump(build()), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "schemas")
