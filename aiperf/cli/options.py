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


def _panel(key: str) -> str:
    parts = key.split(".")
    return parts[1].capitalize() if len(parts) > 2 else "General"


def _param_name(field: F.Field) -> str:
    return "f__" + field.key.replace(".", "__")


def _annotation(field: F.Field) -> Any:
    kind = field.kind
    assert field.flag is not None
    flags = [field.flag]
    if isinstance(kind, BoolKind):
        option = typer.Option(f"{field.flag}/{field.negative_flag}", help=field.doc, show_default=False,
                              rich_help_panel=_panel(field.key))
        return Annotated[Optional[bool], option]  # noqa: UP045
    help_text = field.doc
    if isinstance(kind, EnumKind):
        help_text += " [" + "|".join(kind.choices) + "]"
    if field.key in F.SWEEPABLE:
        help_text += " A comma list (1,4,16) sweeps it."
    option = typer.Option(*flags, help=help_text, show_default=False,
                          rich_help_panel=_panel(field.key))
    if field.key in F.SWEEPABLE:
        return Annotated[Optional[str], option]  # noqa: UP045 - a number or a comma list
    if isinstance(kind, MapKind):
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


def with_profile_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``command`` every profile flag; it receives them as ``cli: dict[key, raw]``."""
    own = inspect.signature(command, eval_str=True)
    own_params = [p for name, p in own.parameters.items() if name != "cli"]
    extra = [
        inspect.Parameter(_param_name(f), inspect.Parameter.KEYWORD_ONLY, default=None,
                          annotation=_annotation(f))
        for f in FLAG_FIELDS
    ]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        cli = {f.key: kwargs.pop(_param_name(f)) for f in FLAG_FIELDS}
        return command(cli={k: v for k, v in cli.items() if v is not None}, **kwargs)

    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own_params] + extra
    wrapper.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
    return wrapper
