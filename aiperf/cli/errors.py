"""Turn configuration errors into a short message on stderr and exit code 2."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer

from aiperf.config.errors import ConfigErrors

EXIT_CONFIG_ERROR = 2


def reports_config_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Print every ConfigError of ``command`` (never a traceback) and exit 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConfigErrors as e:
            typer.echo(e.render(), err=True)
            raise typer.Exit(EXIT_CONFIG_ERROR) from None

    return wrapper


def fail(message: str, hint: str | None = None) -> typer.Exit:
    """Print a one-line error (and hint) and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    if hint:
        typer.echo(f"  hint: {hint}", err=True)
    return typer.Exit(EXIT_CONFIG_ERROR)
