"""The Recipe type: what the resolution engine knows about a search recipe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen
class Recipe:
    """A search recipe as the engine sees it (the registry builds these)."""

    name: str
    description: str
    auto_plot_default: bool | None = None
    settings: Mapping[str, Any] = attrs.field(factory=dict)
    #: Each entry is a group of field keys of which at least one must be set.
    requires: tuple[tuple[str, ...], ...] = ()
    requires_streaming: bool = False
    #: Load dimensions the recipe drives itself (concurrency, isl, osl).
    sweeps: tuple[str, ...] = ()
    source: str = "built-in"
