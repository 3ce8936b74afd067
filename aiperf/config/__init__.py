"""The configuration engine: sources -> layers -> rules -> Resolved.

Public names only; see :mod:`aiperf.config.glossary` for the vocabulary. The pure
engine itself is :func:`aiperf.config.resolve.resolve`; :func:`load` gathers the
sources and calls it.

The names are imported on first use (PEP 562): importing a light submodule such as
``aiperf.config.fields`` must not drag in strictyaml and cattrs, which ``aiperf --help``
never needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiperf.config.errors import ConfigError, ConfigErrors
    from aiperf.config.gather import load
    from aiperf.config.layer import Layer, Origin, Value
    from aiperf.config.provenance import Provenance, Resolved

#: Public name -> the submodule that defines it (keep in step with ``__all__``).
_HOMES = {
    "ConfigError": "errors",
    "ConfigErrors": "errors",
    "Layer": "layer",
    "Origin": "layer",
    "Provenance": "provenance",
    "Resolved": "provenance",
    "Value": "layer",
    "load": "gather",
}

# Spelled out, not ``sorted(_HOMES)``, so that linters see the re-exports above.
__all__ = [
    "ConfigError",
    "ConfigErrors",
    "Layer",
    "Origin",
    "Provenance",
    "Resolved",
    "Value",
    "load",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
