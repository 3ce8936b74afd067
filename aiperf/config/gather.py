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
from aiperf.config.recipe import Recipe
from aiperf.config.recipes import registry_for
from aiperf.config.resolve import DEFAULT_ORIGIN, RECIPE_KEY, resolve
from aiperf.config.rulebook import Rulebook, load_rulebook
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


#: What :func:`~aiperf.config.sources.plot_config_in_use` answers: the plot config's
#: settings (None when read only at plot time), a name for people, whether it is home's.
PlotConfigInUse = tuple[PlotEnvelopeSpec | None, str, bool]


@attrs.frozen
class _PlotConfigInputs:
    """Everything of a resolution that ``plot_config_in_use`` reads (besides the
    environment, fixed per gathering): equal inputs choose the same plot config.

    Compared for equality only, never hashed: the envelope's settings may hold lists.
    """

    rule: str
    value: Any
    origin: Origin
    envelope: PlotEnvelopeSpec | None

    @classmethod
    def of(cls, resolved: Resolved) -> _PlotConfigInputs:
        prov = resolved.provenance[PLOT_CONFIG_KEY]
        return cls(prov.rule.id, prov.value, prov.origin, resolved.value("plot"))


@attrs.frozen
class Gathered:
    """Every source's layers, read once, and what resolving them needs.

    A sweep's cells and an SLA search's probes resolve from here, so a config file
    edited during a long run cannot change later cells, and no cell parses it again.
    """

    #: Defaults, plot config, files (command-line order), environment, CLI: as read.
    layers: tuple[Layer, ...]
    #: The recipes named in ``layers`` (a cell naming another widens it per cell).
    named: frozenset[str]
    recipes: Mapping[str, Recipe]
    rulebook: Rulebook
    environ: Mapping[str, str]
    #: The plot config each distinct choice read, so cells do not read it again.
    _plot_configs: list[tuple[_PlotConfigInputs, PlotConfigInUse]] = attrs.field(
        init=False, factory=list, eq=False, repr=False)

    def resolve(self, cell: Cell | None = None) -> Resolved:
        """Resolve the gathered layers plus ``cell``'s (the highest), then say which plots
        are on (see :func:`with_plot_selection`). Reads no ``-f`` file again; the plot
        config a resolution chooses is read the first time only (memoized per choice).

        Constraint problems stay in ``Resolved.problems``; call ``.check()`` to raise them.
        """
        layers = [*self.layers, cell.layer()] if cell is not None else list(self.layers)
        resolved = resolve(layers, self._recipes_for(cell), self.rulebook)
        return _with_selection(resolved, self._plot_config_in_use(resolved))

    def _recipes_for(self, cell: Cell | None) -> Mapping[str, Recipe]:
        named = self.named | _named_recipes([cell.layer()] if cell is not None else [])
        return self.recipes if named == self.named else registry_for(named).recipes

    def _plot_config_in_use(self, resolved: Resolved) -> PlotConfigInUse:
        # A handful of entries at most (cells rarely touch the plot config): a scan by
        # equality is enough, and needs no hash of the envelope's settings.
        inputs = _PlotConfigInputs.of(resolved)
        for seen, in_use in self._plot_configs:
            if seen == inputs:
                return in_use
        in_use = plot_config_in_use(resolved, self.environ)
        self._plot_configs.append((inputs, in_use))
        return in_use


def gather(
    files: Sequence[Path] = (),
    cli: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    plot_receipt: Path | None = None,
) -> Gathered:
    """Read files, environment and CLI values once, as layers to resolve.

    ``plot_receipt`` is a run's materialized ``plot:`` envelope, given by ``aiperf plot``
    when the run directory has one; ``~/.aiperf/plot_config.yaml`` is read when present.

    Errors from every source are collected and raised together as ConfigErrors.
    """
    environ = {} if environ is None else environ
    errors: list[ConfigError] = []
    layers = [defaults_layer()]
    readers: tuple[Callable[[], list[Layer]], ...] = (
        lambda: plot_config_layers(environ, plot_receipt),
        lambda: read_config_files(files, environ),
        lambda: [environment_layer(environ)],
        lambda: [cli_layer(cli or {})],
    )
    for read in readers:
        try:
            layers.extend(read())
        except ConfigErrors as e:
            errors.extend(e.errors)
    if errors:
        raise ConfigErrors(errors)
    named = _named_recipes(layers)
    return Gathered(tuple(layers), named, registry_for(named).recipes, load_rulebook(),
                    environ)


def _named_recipes(layers: Sequence[Layer]) -> frozenset[str]:
    """The recipes the layers name (the defaults' own recipe value names none)."""
    return frozenset(layer.values[RECIPE_KEY].value for layer in layers
                     if layer.scope != "default" and RECIPE_KEY in layer.values)


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
    To resolve several cells from one reading of the sources, use :func:`gather`.
    """
    return gather(files, cli, environ, plot_receipt).resolve(cell)


#: Where the plot-selection rows live, for ``rule ... (file:line)``.
SELECTION_FILE = "aiperf/config/plot_config.py"


def with_plot_selection(resolved: Resolved, environ: Mapping[str, str]) -> Resolved:
    """``resolved`` plus which plots are on, per kind, and why (``plot.<kind>`` entries).

    The plot config that ``benchmark.artifacts.plot_config`` chose is merged with the
    shipped selection by the plot-selection table (``plot_config.SELECTION_RULES``);
    a home file still holding a former release's copy of the lists gets one note.
    """
    return _with_selection(resolved, plot_config_in_use(resolved, environ))


def _with_selection(resolved: Resolved, in_use: PlotConfigInUse) -> Resolved:
    """``resolved`` plus the plot selection, given the plot config ``in_use``."""
    spec, source, home = in_use
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
