"""The recipe registry: built-in recipes from ``rules/recipes.yaml`` plus plugins.

Plugins are discovered through the entry-point group ``aiperf.recipes``. An entry
point may name a class or an object with ``name`` and ``description`` and, optionally,
``auto_plot_default``, ``settings``, ``requires``, ``requires_streaming``, ``sweeps``,
``family``, ``answer`` and ``slas`` (see :class:`aiperf.config.recipe.Recipe`).
``auto_plot_default`` is read with a default of False, so a plugin that does not define
it never turns auto-plot on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from aiperf._resources import rules_dir
from aiperf.config import fields as F
from aiperf.config.errors import ConfigError, ConfigErrors
from aiperf.config.recipe import Recipe, SearchStyle, SlaDefinition
from aiperf.config.schema import type_plain

ENTRY_POINT_GROUP = "aiperf.recipes"

#: How a recipe runs (``family:`` in rules/recipes.yaml); see :class:`Recipe`.
FAMILIES = ("curve", "sla-search")

@functools.cache
def _recipes_schema() -> Any:
    """strictyaml's schema of ``rules/recipes.yaml`` (built only when the file is parsed)."""
    import strictyaml as sy

    return sy.Map(
        {
            sy.Optional("slas"): sy.Seq(
                sy.Map(
                    {
                        "setting": sy.Str(),
                        "metric": sy.Str(),
                        "statistic": sy.Str(),
                        "label": sy.Str(),
                        sy.Optional("scale"): sy.Float(),
                        sy.Optional("unit"): sy.Str(),
                        sy.Optional("goodput_slo"): sy.Str(),
                    }
                )
            ),
            sy.Optional("search_styles"): sy.Seq(
                sy.Map(
                    {
                        "name": sy.Str(),
                        "function": sy.Str(),
                        "describe": sy.Str(),
                        sy.Optional("extra"): sy.Str(),
                        sy.Optional("needs"): sy.Str(),
                    }
                )
            ),
            "recipes": sy.Seq(
                sy.Map(
                    {
                        "name": sy.Str(),
                        "description": sy.Str(),
                        sy.Optional("family"): sy.Enum(list(FAMILIES)),
                        sy.Optional("answer"): sy.Str(),
                        sy.Optional("slas"): sy.Seq(sy.Str()),
                        sy.Optional("auto_plot_default"): sy.Bool(),
                        sy.Optional("requires_streaming"): sy.Bool(),
                        sy.Optional("requires"): sy.Seq(sy.Str()),
                        sy.Optional("sweeps"): sy.Seq(sy.Enum(["concurrency", "isl", "osl"])),
                        sy.Optional("settings"): sy.MapPattern(sy.Str(), sy.Any()),
                    }
                )
            )
        }
    )


@attrs.frozen
class Registry:
    """Recipes by name, plus the plugins that failed to load (reported, not fatal)."""

    recipes: Mapping[str, Recipe]
    load_failures: tuple[str, ...] = ()
    #: The SLA settings searches judge, by setting name (built-in data only).
    slas: Mapping[str, SlaDefinition] = attrs.field(factory=dict)
    #: The search styles, by name (built-in data only).
    search_styles: Mapping[str, SearchStyle] = attrs.field(factory=dict)

    def names(self) -> list[str]:
        return list(self.recipes)

    def get(self, name: str) -> Recipe | None:
        return self.recipes.get(name)


def _settings(data: dict[str, Any], label: str,
              typed: Callable[[Any, Any], Any] = type_plain) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, raw in data.items():
        if key not in F.FIELDS_BY_KEY:
            raise ConfigErrors([ConfigError("unknown-key", f"unknown field '{key}'", label,
                                            key=key)])
        try:
            out[key] = typed(F.field(key).kind, raw)
        except ValueError as e:
            raise ConfigErrors([ConfigError("wrong-type", str(e), label, key=key)]) from None
    return out


def _requires(groups: Iterable[str]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(part.strip() for part in g.split("|")) for g in groups)


def _parse_recipes(text: str, label: str) -> dict[str, Any]:
    """strictyaml's reading of ``rules/recipes.yaml``, as plain data."""
    import strictyaml as sy

    return sy.load(text, _recipes_schema(), label=label).data


def _build_recipes(doc: dict[str, Any], label: str,
                   typed: Callable[[Any, Any], Any] = type_plain) -> list[Recipe]:
    out = []
    # Plain data, not strictyaml nodes: walking nodes of a large document is slow.
    for data in doc["recipes"]:
        out.append(
            Recipe(
                name=data["name"],
                description=data["description"],
                auto_plot_default=data.get("auto_plot_default"),
                settings=_settings(data.get("settings", {}), label, typed),
                requires=_requires(data.get("requires", [])),
                requires_streaming=data.get("requires_streaming", False),
                sweeps=tuple(data.get("sweeps", [])),
                family=data.get("family"),
                answer=data.get("answer"),
                slas=tuple(data.get("slas", [])),
            )
        )
    return out


def _build_slas(doc: dict[str, Any]) -> dict[str, SlaDefinition]:
    return {d["setting"]: SlaDefinition(d["setting"], d["metric"], d["statistic"], d["label"],
                                        float(d.get("scale", 1.0)), d.get("unit", ""),
                                        d.get("goodput_slo"))
            for d in doc.get("slas", [])}


def _build_styles(doc: dict[str, Any]) -> dict[str, SearchStyle]:
    return {d["name"]: SearchStyle(d["name"], d["function"], d["describe"], d.get("extra"),
                                   d.get("needs"))
            for d in doc.get("search_styles", [])}


def load_builtin(path: Path) -> list[Recipe]:
    """The recipes declared in ``path`` (``rules/recipes.yaml``)."""
    label = f"rules/{path.name}"
    return _build_recipes(_parse_recipes(path.read_text(encoding="utf-8"), label), label)


def from_plugin(obj: Any, entry_name: str, dist: str) -> Recipe:
    """A Recipe from a plugin object, reading every optional attribute with a default."""
    settings = dict(getattr(obj, "settings", {}) or {})
    unknown = [k for k in settings if k not in F.FIELDS_BY_KEY]
    if unknown:
        raise ValueError(f"settings name unknown fields: {', '.join(unknown)}")
    return Recipe(
        name=str(getattr(obj, "name", entry_name)),
        description=str(getattr(obj, "description", "") or ""),
        auto_plot_default=bool(getattr(obj, "auto_plot_default", False)),
        settings=settings,
        requires=_requires(getattr(obj, "requires", ()) or ()),
        requires_streaming=bool(getattr(obj, "requires_streaming", False)),
        sweeps=tuple(getattr(obj, "sweeps", ()) or ()),
        source=f"plugin {dist}",
        family=_plugin_choice(obj, "family", FAMILIES),
        answer=getattr(obj, "answer", None),
        slas=tuple(getattr(obj, "slas", ()) or ()),
    )


def _plugin_choice(obj: Any, name: str, allowed: tuple[str, ...]) -> str | None:
    value = getattr(obj, name, None)
    if value is not None and value not in allowed:
        raise ValueError(f"{name} {value!r} is none of {', '.join(allowed)}")
    return value


def discover_plugins() -> tuple[list[Recipe], list[str]]:
    """Recipes from installed packages, and a line for each one that failed to load."""
    import importlib.metadata  # only here: importing it costs a CLI start ~10 ms

    recipes, failures = [], []
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist is not None else ep.module
        try:
            recipes.append(from_plugin(ep.load(), ep.name, dist))
        except Exception as e:  # a broken plugin must not break the tool
            failures.append(f"{ep.name} ({dist}): {type(e).__name__}: {e}")
    return recipes, failures


def build_registry(builtin: Iterable[Recipe], plugins: Iterable[Recipe] = (),
                   failures: Iterable[str] = (),
                   slas: Mapping[str, SlaDefinition] | None = None,
                   search_styles: Mapping[str, SearchStyle] | None = None) -> Registry:
    """Built-ins first; a plugin never replaces a built-in of the same name."""
    recipes: dict[str, Recipe] = {}
    failed = list(failures)
    for r in builtin:
        recipes[r.name] = r
    for r in plugins:
        if r.name in recipes:
            failed.append(f"{r.name} ({r.source}): name taken by {recipes[r.name].source}")
            continue
        recipes[r.name] = r
    return Registry(recipes, tuple(failed), dict(slas or {}), dict(search_styles or {}))


@functools.cache
def builtin_registry() -> Registry:
    """Only the built-in recipes (no entry-point scan, which is slow).

    The same recipes as ``load_builtin(rules_dir() / "recipes.yaml")``, with strictyaml's
    results for the file taken from the on-disk cache when it matches the file.
    """
    from aiperf.config.parse_cache import ParseCache

    path = rules_dir() / "recipes.yaml"
    label = f"rules/{path.name}"
    cache = ParseCache("recipes", [(label, path.read_text(encoding="utf-8"))])
    [doc] = cache.parse(_parse_recipes)
    registry = build_registry(_build_recipes(doc, label, cache.typed), slas=_build_slas(doc),
                              search_styles=_build_styles(doc))
    cache.save()
    return registry


@functools.cache
def load_registry() -> Registry:
    """The built-in recipes plus every installed plugin (read once per process)."""
    plugins, failures = discover_plugins()
    builtin = builtin_registry()
    return build_registry(builtin.recipes.values(), plugins, failures, builtin.slas,
                          builtin.search_styles)


def registry_for(names: Iterable[str]) -> Registry:
    """The cheapest registry that knows ``names``: no recipe named, no registry read;
    only built-ins named, no plugin scan."""
    names = set(names)
    if not names:
        return Registry({})
    builtin = builtin_registry()
    if names <= set(builtin.recipes):
        return builtin
    return load_registry()
