"""The one cattrs converter: resolved field values -> the frozen :class:`Config` tree.

strictyaml has already decided every scalar's type; the converter only assembles.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cattrs

from aiperf.config.model import Config, PlotEnvelope, PlotSettings
from aiperf.config.plot_config import PLOT_FIELDS, PlotEnvelopeSpec

converter = cattrs.Converter(forbid_extra_keys=True)


def plot_settings(given: Mapping[str, Any]) -> PlotSettings:
    """Plot settings from the keys a plot config set, with defaults for the rest."""
    data = {f.key: f.default for f in PLOT_FIELDS}
    data.update(given)
    return converter.structure(data, PlotSettings)


def _envelope(spec: PlotEnvelopeSpec | None) -> dict[str, Any] | None:
    if spec is None:
        return None
    return converter.unstructure(
        PlotEnvelope(spec.source, tuple(spec.settings), plot_settings(spec.settings))
    )


def nest(values: Mapping[str, Any]) -> dict[str, Any]:
    """Flat dotted keys -> nested mappings."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        *parents, last = key.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return out


def build_config(values: Mapping[str, Any]) -> Config:
    """The frozen Config for a complete set of resolved field values."""
    data = nest({k: v for k, v in values.items() if k != "plot"})
    data["plot"] = _envelope(values.get("plot"))
    return converter.structure(data, Config)


def unstructure(config: Config) -> dict[str, Any]:
    """Config -> plain nested data (for JSON and YAML output)."""
    return converter.unstructure(config)
