"""The configuration engine: sources -> layers -> rules -> Resolved.

Public names only; see :mod:`aiperf.config.glossary` for the vocabulary. The pure
engine itself is :func:`aiperf.config.resolve.resolve`; :func:`load` gathers the
sources and calls it. :class:`Gathered` is the sources read once, resolving any number
of sweep cells without reading them again; make one with
:func:`aiperf.config.gather.gather`. That function is not re-exported here: it would
share its name with the submodule, so ``aiperf.config.gather`` would be the function or
the module depending on which was imported first (and patch targets naming the module
would break).

The names are imported on first use (PEP 562): importing a light submodule such as
``aiperf.config.fields`` must not drag in strictyaml and cattrs, which ``aiperf --help``
never needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiperf.config.errors import ConfigError, ConfigErrors
    from aiperf.config.gather import Gathered, load
    from aiperf.config.layer import Layer, Origin, Value
    from aiperf.config.provenance import Provenance, Resolved

#: Public name -> the submodule that defines it (keep in step with ``__all__``).
_HOMES = {
    "ConfigError": "errors",
    "ConfigErrors": "errors",
    "Gathered": "gather",
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
    "Gathered",
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
