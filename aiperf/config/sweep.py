"""A sweep's cells: the settings each cell of ``benchmark.sweep`` varies.

``grid`` takes the Cartesian product of the parameter lists (in the order written),
``zip`` takes them in lock step (equal lengths), ``scenarios`` names each cell and its
values. Each cell is later resolved by the engine with its values as a ``cell`` layer,
so ``aiperf config explain <cell dir>`` says why the cell had its settings.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import attrs

from aiperf.config import fields as F
from aiperf.config.errors import ConfigError, ConfigErrors
from aiperf.config.kinds import IntKind
from aiperf.config.layer import Layer, Origin, Value
from aiperf.config.provenance import Resolved

SWEEP_KEY = "benchmark.sweep.parameters"


@attrs.frozen
class Cell:
    """One cell: its directory name and the settings it varies (field key -> value)."""

    name: str
    values: Mapping[str, Any]

    def layer(self) -> Layer:
        """The cell's values as the highest-precedence layer."""
        return Layer("cell", f"sweep cell {self.name}", {
            key: Value(value, Origin("cell", self.name)) for key, value in self.values.items()})


def expand(resolved: Resolved) -> tuple[Cell, ...]:
    """The cells of the resolved sweep (none when nothing is swept); ConfigErrors when the
    sweep cannot be expanded (zip lists of different lengths, a fraction for a count)."""
    sweep = resolved.config.benchmark.sweep
    where = resolved.provenance[SWEEP_KEY].origin
    if sweep.scenarios:
        return tuple(Cell(_safe(s.name), dict(s.values)) for s in sweep.scenarios)
    if not sweep.parameters and resolved.config.benchmark.search.isl_osl_pairs \
            and resolved.recipe is not None and resolved.recipe.sweeps:
        return pair_cells(resolved)
    parameters: Mapping[str, Any] = sweep.parameters or recipe_grid(resolved) or {}
    if not parameters:
        return ()
    keys = list(parameters)
    columns = [[_typed(key, v, where) for v in parameters[key]] for key in keys]
    if sweep.type == "zip":
        lengths = {len(c) for c in columns}
        if len(lengths) > 1:
            raise ConfigErrors([ConfigError(
                "sweep-zip-lengths", "a zip sweep needs lists of one length; got "
                + ", ".join(f"{k}: {len(c)}" for k, c in zip(keys, columns, strict=True)),
                where.source, where.line, where.column, SWEEP_KEY,
                "give every list the same number of values, or use type: grid")])
        rows = list(zip(*columns, strict=True))
    else:
        rows = list(itertools.product(*columns))
    return tuple(Cell(_name(keys, row), dict(zip(keys, row, strict=True))) for row in rows)


#: How explain words the per-cell resolution of a swept field.
PER_CELL = "each cell resolved with its value as a layer of its own"


@attrs.frozen
class Swept:
    """A field the sweep varies: the values its cells run with, in sweep order, and what
    chose them (``grid sweep from --concurrency``, ``recipe concurrency-ramp grid``)."""

    key: str
    values: tuple[Any, ...]
    by: str

    def describe(self) -> str:
        """``swept: 2, 8 (grid sweep from --concurrency), each cell resolved ...``."""
        return f"swept: {', '.join(_word(v) for v in self.values)} ({self.by}), {PER_CELL}"


def swept_fields(resolved: Resolved) -> dict[str, Swept]:
    """Every field the sweep varies, by key (empty when nothing is swept).

    The values are those the cells run with (:func:`expand`'s, typed by each field's
    kind), so ``explain`` and ``--dry-run`` say what the run will do, not the single value
    resolved outside the sweep. A sweep :func:`expand` rejects is shown as written; the
    run reports the error. A cell's own resolution (some value from its ``cell`` layer)
    still carries the sweep's settings, but nothing varies within it: empty.
    """
    if any(p.origin.scope == "cell" for p in resolved.provenance.values()):
        return {}
    sweep = resolved.config.benchmark.sweep
    try:
        cells = expand(resolved)
        columns: dict[str, list[Any]] = {}
        for cell in cells:
            for key, value in cell.values.items():
                column = columns.setdefault(key, [])
                if value not in column:
                    column.append(value)
    except ConfigErrors:
        columns = {key: list(values) for key, values in (sweep.parameters or {}).items()}
    if not columns:
        return {}
    by = _sweep_source(resolved)
    return {key: Swept(key, tuple(values), by) for key, values in columns.items()}


def _sweep_source(resolved: Resolved) -> str:
    """What chose the swept values, for people: the sweep kind and where it was set."""
    sweep = resolved.config.benchmark.sweep
    if sweep.scenarios:
        where = resolved.provenance["benchmark.sweep.scenarios"].origin
        return f"scenarios from {_where(where)}"
    if sweep.parameters:
        where = resolved.provenance[SWEEP_KEY].origin
        return f"{sweep.type} sweep from {_where(where)}"
    # Neither scenarios nor parameters: only a recipe's grid or pairs make cells.
    assert resolved.recipe is not None
    name = resolved.recipe.name
    if resolved.config.benchmark.search.isl_osl_pairs:
        return f"recipe {name}: each isl/osl pair at each concurrency of its grid"
    return f"recipe {name} grid"


def _where(origin: Origin) -> str:
    # A flag reads best bare ("from --concurrency"); files and variables as explain says them.
    return origin.source if origin.scope == "cli" else origin.describe()


def _word(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


#: The field each recipe dimension drives (see ``sweeps:`` in rules/recipes.yaml).
DIMENSIONS = {
    "concurrency": "benchmark.load.concurrency",
    "isl": "benchmark.dataset.isl.mean",
    "osl": "benchmark.dataset.osl.mean",
}


def recipe_grid(resolved: Resolved) -> dict[str, list[int]] | None:
    """The grid a curve recipe runs: for each dimension it sweeps, ``steps`` log-spaced
    whole numbers from ``<dim>_min`` to ``<dim>_max``. None for the searches (family
    ``sla-search``: their probes are chosen as they run) and for recipes that lack a
    dimension's bounds (they do not run as grids)."""
    recipe = resolved.recipe
    search = resolved.config.benchmark.search
    if recipe is None or not recipe.sweeps or recipe.family == "sla-search":
        return None
    if search.isl_osl_pairs:
        return None  # pairs are cells of their own: see pair_cells
    grid = {}
    for dimension in recipe.sweeps:
        low, high, steps = (getattr(search, f"{dimension}_{end}", None)
                            for end in ("min", "max", "steps"))
        if dimension not in DIMENSIONS or low is None or high is None or steps is None:
            return None
        grid[DIMENSIONS[dimension]] = log_grid(low, high, steps)
    return grid


def pair_cells(resolved: Resolved) -> tuple[Cell, ...]:
    """``isl/osl`` pairs x a log-spaced concurrency grid (``pareto-sweep``): the pairs go
    together, as the workloads they describe; ConfigErrors for a malformed pair. The grid's
    bounds come from the recipe's settings (``rules/recipes.yaml``); none without them."""
    search = resolved.config.benchmark.search
    where = resolved.provenance["benchmark.search.isl_osl_pairs"].origin
    pairs = []
    for text in search.isl_osl_pairs or ():
        isl, sep, osl = str(text).partition("/")
        if not sep or not isl.strip().isdigit() or not osl.strip().isdigit():
            raise ConfigErrors([ConfigError(
                "bad-pair", f"expected ISL/OSL as two whole numbers, found {text!r}",
                where.source, where.line, where.column, "benchmark.search.isl_osl_pairs",
                "write pairs like 512/256")])
        pairs.append((int(isl), int(osl)))
    low, high, steps = search.concurrency_min, search.concurrency_max, search.concurrency_steps
    if low is None or high is None or steps is None:
        return ()  # like recipe_grid: without its bounds the recipe runs no grid
    return tuple(
        Cell(f"isl{isl}-osl{osl}-concurrency{c}", {
            DIMENSIONS["isl"]: isl, DIMENSIONS["osl"]: osl, DIMENSIONS["concurrency"]: c})
        for isl, osl in pairs for c in log_grid(low, high, steps))


def log_grid(low: int, high: int, steps: int) -> list[int]:
    """``steps`` geometrically spaced whole numbers from ``low`` to ``high`` (duplicates
    after rounding dropped, so a narrow range gives fewer)."""
    if steps <= 1 or high <= low:
        return [low]
    ratio = (high / low) ** (1 / (steps - 1))
    values = sorted({round(low * ratio**i) for i in range(steps)} | {low, high})
    return values


def _typed(key: str, value: float, where: Origin) -> int | float:
    if isinstance(F.field(key).kind, IntKind):
        if float(value).is_integer():
            return int(value)
        raise ConfigErrors([ConfigError(
            "sweep-not-integer", f"{key} takes whole numbers; the sweep lists {value:g}",
            where.source, where.line, where.column, SWEEP_KEY)])
    return value


def _name(keys: list[str], row: tuple[Any, ...]) -> str:
    return "-".join(f"{short_name(k)}{v:g}" for k, v in zip(keys, row, strict=True))


def short_name(key: str) -> str:
    """A swept field's short name, for cell and directory names:
    ``benchmark.load.concurrency`` -> ``concurrency``, ``...isl.mean`` -> ``isl``,
    ``...isl.stddev`` -> ``isl_stddev``."""
    parts = key.split(".")
    if parts[-1] == "mean":
        return parts[-2]
    if parts[-1] == "stddev":
        return f"{parts[-2]}_stddev"
    return parts[-1]


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "cell"
