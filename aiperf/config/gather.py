"""Gather every source into layers and resolve them: the one entry point consumers use."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from aiperf.config.errors import ConfigError, ConfigErrors
from aiperf.config.layer import Layer, Origin, Scope
from aiperf.config.overlay import cli_layer
from aiperf.config.plot_config import (
    ARTIFACT_DIR_PREFIX,
    PLOT_CONFIG_KEY,
    SELECTION_KEYS,
    SELECTION_TABLE,
    SHIPPED_SELECTION,
    PlotEnvelopeSpec,
    PlotSelection,
    deferred_selection,
    select_plots,
)
from aiperf.config.provenance import (
    MERGED,
    NOT_SET,
    OVERRIDDEN,
    WON,
    Consideration,
    Note,
    Provenance,
    Resolved,
)
from aiperf.config.recipes import registry_for
from aiperf.config.resolve import DEFAULT_ORIGIN, RECIPE_KEY, resolve
from aiperf.config.rulebook import load_rulebook
from aiperf.config.sources import (
    defaults_layer,
    environment_layer,
    plot_config_in_use,
    plot_config_layers,
    read_config_files,
)
from aiperf.config.table import RuleRef

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
    The plot config chosen is read too, so the plots it turns on are resolved here, as
    ``plot.single_run`` and ``plot.multi_run`` (see :func:`with_plot_selection`).

    Errors from every source are collected and raised together as ConfigErrors.
    Constraint problems stay in ``Resolved.problems``; call ``.check()`` to raise them.
    """
    environ = {} if environ is None else environ
    errors: list[ConfigError] = []
    layers = [defaults_layer()]
    readers: tuple[Callable[[], list[Layer]], ...] = (
        lambda: plot_config_layers(environ, plot_receipt),
        lambda: read_config_files(files, environ),
        lambda: [environment_layer(environ)],
        lambda: [cli_layer(cli or {})],
        lambda: [cell.layer()] if cell is not None else [],
    )
    for read in readers:
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
    resolved = resolve(layers, registry_for(named).recipes, load_rulebook())
    return with_plot_selection(resolved, environ)


#: Where the plot-selection rows live, for ``rule ... (file:line)``.
SELECTION_FILE = "aiperf/config/plot_config.py"


def with_plot_selection(resolved: Resolved, environ: Mapping[str, str]) -> Resolved:
    """``resolved`` plus which plots are on, per kind, and why (``plot.<kind>`` entries).

    The plot config that ``benchmark.artifacts.plot_config`` chose is merged with the
    shipped selection by the plot-selection table (``plot_config.SELECTION_RULES``);
    a home file still holding a former release's copy of the lists gets one note.
    """
    spec, source, home = plot_config_in_use(resolved, environ)
    config_prov = resolved.provenance[PLOT_CONFIG_KEY]
    provenance = dict(resolved.provenance)
    notes = list(resolved.notes)
    for key in SELECTION_KEYS:
        if spec is None:
            sel = deferred_selection(key, source,
                                     missing=not source.startswith(ARTIFACT_DIR_PREFIX))
        else:
            sel = select_plots(key, spec.settings, source, spec.places, home)
        provenance[f"plot.{key}"] = _selection_provenance(sel, config_prov, source, spec)
        if sel.rule.id == "plot-selection-former-copy":
            notes.append(Note(sel.rule.id, "info", f"plot.{key}", sel.because, sel.hint,
                              _ref(sel)))
    return attrs.evolve(resolved, provenance=provenance, notes=tuple(notes))


def _ref(sel: PlotSelection) -> RuleRef:
    return RuleRef(SELECTION_TABLE, sel.rule.id, SELECTION_FILE, sel.rule.line)


def _selection_provenance(sel: PlotSelection, config_prov: Provenance, source: str,
                          spec: PlotEnvelopeSpec | None) -> Provenance:
    """One kind's plot selection with its deciding row and the two sources considered:
    the plot config in use (unless it is the shipped default) and the shipped selection."""
    scopes: dict[str, Scope] = {"plot-config-home": "home", "plot-config-envelope": "envelope"}
    scope = scopes.get(config_prov.rule.id, "file")
    origin = DEFAULT_ORIGIN if sel.place is None else Origin(scope, *sel.place)
    pinned = sel.rule.id == "plot-selection-pinned"
    considered = []
    if config_prov.value is not None:
        says = spec is None or sel.key in spec.settings or sel.place is not None
        status = WON if pinned else (MERGED if says else NOT_SET)
        considered.append(Consideration(scope, f"plot config {source}", status,
                                        None if spec is None else spec.settings.get(sel.key),
                                        origin if sel.place is not None else None))
    considered.append(Consideration("default", "shipped selection",
                                    OVERRIDDEN if pinned else WON,
                                    SHIPPED_SELECTION[sel.key], DEFAULT_ORIGIN))
    return Provenance(key=f"plot.{sel.key}", value=sel.plots, origin=origin, rule=_ref(sel),
                      because=sel.because, hint=sel.hint, considered=tuple(considered))
