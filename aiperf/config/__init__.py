"""The configuration engine: sources -> layers -> rules -> Resolved.

Public names only; see :mod:`aiperf.config.glossary` for the vocabulary.
"""

from aiperf.config.errors import ConfigError, ConfigErrors
from aiperf.config.layer import Layer, Origin, Value
from aiperf.config.load import load
from aiperf.config.provenance import Provenance, Resolved
from aiperf.config.resolve import resolve

__all__ = [
    "ConfigError",
    "ConfigErrors",
    "Layer",
    "Origin",
    "Provenance",
    "Resolved",
    "Value",
    "load",
    "resolve",
]
