"""Gather every source into layers and resolve them: the one entry point consumers use."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiperf.config.errors import ConfigError, ConfigErrors
from aiperf.config.overlay import cli_layer
from aiperf.config.provenance import Resolved
from aiperf.config.recipes import registry_for
from aiperf.config.resolve import RECIPE_KEY, resolve
from aiperf.config.rulebook import load_rulebook
from aiperf.config.sources import (
    defaults_layer,
    environment_layer,
    plot_config_layers,
    read_config_files,
)

if TYPE_CHECKING:
    from aiperf.config.sweep import Cell


def load(
    files: Sequence[Path] = (),
    cli: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    plot_receipt: Path | None = None,
    cell: Cell | None = None,
) -> Resolved:
    """Read files, environment and CLI values, and resolve them.

    ``cell`` is one sweep cell, whose values are a layer above all others.
    ``plot_receipt`` is a run's materialized ``plot:`` envelope, given by ``aiperf plot``
    when the run directory has one; ``~/.aiperf/plot_config.yaml`` is read when present.

    Errors from every source are collected and raised together as ConfigErrors.
    Constraint problems stay in ``Resolved.problems``; call ``.check()`` to raise them.
    """
    environ = {} if environ is None else environ
    errors: list[ConfigError] = []
    layers = [defaults_layer()]
    for read in (
        lambda: plot_config_layers(environ, plot_receipt),
        lambda: read_config_files(files, environ),
        lambda: [environment_layer(environ)],
        lambda: [cli_layer(cli or {})],
        lambda: [cell.layer()] if cell is not None else [],
    ):
        try:
            layers.extend(read())
        except ConfigErrors as e:
            errors.extend(e.errors)
    if errors:
        raise ConfigErrors(errors)
    named = {
        layer.values[RECIPE_KEY].value for layer in layers
        if layer.scope != "default" and RECIPE_KEY in layer.values
    }
    return resolve(layers, registry_for(named).recipes, load_rulebook())
