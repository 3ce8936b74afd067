"""The profile flags, defined once from the field table and shared by every command.

:func:`with_profile_flags` adds one typer option per field that has a flag to a command
and hands the command the flags that were actually given as ``{field key: raw}``.
Every option defaults to None ("not given"), so a flag that was not typed can never
outrank a config file.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from aiperf.config import fields as F
from aiperf.config.kinds import (
    BoolKind,
    EnumKind,
    FloatKind,
    IntKind,
    ListKind,
    MapKind,
    ThresholdKind,
)

ConfigFiles = Annotated[
    Optional[list[Path]],  # noqa: UP045 - typer needs Optional here
    typer.Option("--config", "-f", help="YAML config file; repeat to layer files "
                 "(later files override earlier ones key by key).", show_default=False),
]


def _param_name(field: F.Field) -> str:
    return "f__" + field.key.replace(".", "__")


def _panel(field: F.Field) -> str:
    section = field.key.split(".")
    name = section[1].capitalize() if len(section) > 2 else "General"
    # An on/off pair takes a column of its own (--no-plot-required); beside the longest
    # value flags (--profile-export-prefix) it would squeeze them to "--profile-export-pre…"
    # at 80 columns, so the artifact switches get a panel of their own.
    if name in ("Artifacts", "Dataset", "Load") and isinstance(field.kind, BoolKind):
        return f"{name.rstrip('s')} switches"
    if name in ("Server_metrics", "Gpu_telemetry"):
        # Scraped beside the run: one panel for their values, one for their switches.
        return "Telemetry switches" if isinstance(field.kind, BoolKind) else "Telemetry"
    return name


def _default_text(field: F.Field) -> str | None:
    """The built-in default as ``--help`` shows it (an on/off switch by the spelling that
    gives it), or None where there is none. The option itself defaults to None ("not
    given"), so typer cannot show it, and a text show_default it would parenthesize."""
    default = field.default
    if default is None or default == {} or default == [] or field.secret:
        return None
    if isinstance(field.kind, BoolKind):
        return field.flag if default else field.negative_flag
    return str(default)


def _metavar(field: F.Field) -> str | None:
    """The value's shape in ``--help``: numbers by their type even where a comma list
    sweeps them (the flag then takes text), mappings as ``K:V`` pairs."""
    kind = field.kind
    if isinstance(kind, MapKind):
        return "<K:V>"
    if isinstance(kind, IntKind):
        return "<int>"
    if isinstance(kind, FloatKind):
        return "<float>"
    return None


def _help(field: F.Field) -> str:
    """The field's doc with what the flag alone cannot say: its choices, that a comma
    list sweeps it, that a mapping flag repeats, an environment variable off the
    ``AIPERF_<FLAG>`` pattern (``OPENAI_API_KEY``), the default. No square brackets:
    typer's rich help reads them as markup and drops them."""
    kind = field.kind
    text = field.doc
    if isinstance(kind, EnumKind) and not all(c in text for c in kind.choices):
        text += " One of: " + ", ".join(kind.choices) + "."
    if field.aliases:
        text += " Also " + ", ".join(field.aliases) + "."
    if field.key in F.SWEEPABLE:
        text += " A comma list (1,4,16) sweeps it."
    if isinstance(kind, MapKind):
        text += " Repeat the flag for more pairs." if field.key != "benchmark.slos" else \
            " Pairs separated by spaces."
    assert field.flag is not None
    if field.env and field.env != "AIPERF_" + field.flag[2:].upper().replace("-", "_"):
        text += f" Environment variable: {field.env}."
    default = _default_text(field)
    if default is not None:
        text += f" Default: {default}."
    return text


def _annotation(field: F.Field, alias: str | None = None) -> Any:
    """The typer option of ``field``'s flag; with ``alias``, a hidden option of that
    spelling (the help lists the flag once and names its aliases in its text)."""
    kind = field.kind
    assert field.flag is not None
    if isinstance(kind, BoolKind):
        option = typer.Option(f"{field.flag}/{field.negative_flag}", help=_help(field),
                              show_default=False, rich_help_panel=_panel(field))
        return Annotated[Optional[bool], option]  # noqa: UP045
    option = typer.Option(alias or field.flag, help=_help(field), show_default=False,
                          metavar=_metavar(field), rich_help_panel=_panel(field),
                          hidden=alias is not None)
    if field.key in F.SWEEPABLE:
        return Annotated[Optional[str], option]  # noqa: UP045 - a number or a comma list
    if isinstance(kind, MapKind) or field.repeats_into is not None:
        return Annotated[Optional[list[str]], option]  # noqa: UP045
    if isinstance(kind, IntKind):
        return Annotated[Optional[int], option]  # noqa: UP045
    if isinstance(kind, FloatKind):
        return Annotated[Optional[float], option]  # noqa: UP045
    if isinstance(kind, ListKind) and isinstance(kind.item, ThresholdKind):
        # Repeatable (--fail-on A --fail-on B), like k6's thresholds; never comma-split.
        return Annotated[Optional[list[str]], option]  # noqa: UP045
    if isinstance(kind, ListKind):
        return Annotated[Optional[str], option]  # noqa: UP045
    return Annotated[Optional[str], option]  # noqa: UP045


FLAG_FIELDS: tuple[F.Field, ...] = tuple(f for f in F.FIELDS if f.flag)


def _alias_param(field: F.Field, index: int) -> str:
    return f"{_param_name(field)}__alias{index}"


def with_profile_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``command`` every profile flag; it receives them as ``cli: dict[key, raw]``."""
    own = inspect.signature(command, eval_str=True)
    own_params = [p for name, p in own.parameters.items() if name != "cli"]
    extra = [
        inspect.Parameter(_param_name(f), inspect.Parameter.KEYWORD_ONLY, default=None,
                          annotation=_annotation(f))
        for f in FLAG_FIELDS
    ] + [
        inspect.Parameter(_alias_param(f, i), inspect.Parameter.KEYWORD_ONLY, default=None,
                          annotation=_annotation(f, alias))
        for f in FLAG_FIELDS for i, alias in enumerate(f.aliases)
    ]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        cli = {}
        for f in FLAG_FIELDS:
            given = [kwargs.pop(_param_name(f))]
            given += [kwargs.pop(_alias_param(f, i)) for i in range(len(f.aliases))]
            cli[f.key] = next((v for v in given if v is not None), None)
        return command(cli={k: v for k, v in cli.items() if v is not None}, **kwargs)

    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own_params] + extra
    wrapper.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
    return wrapper
