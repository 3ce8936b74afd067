"""Turn configuration errors into a short message on stderr and exit code 2, and any
other escaped exception into a short "internal error" report (exit 70), never a traceback."""

from __future__ import annotations

import functools
import os
import sys
import traceback
from collections.abc import Callable, Mapping
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


#: An exception no command handles is a bug in aiperf: sysexits' EX_SOFTWARE, so scripts
#: can tell it from bad input (2) and from a run that failed (1).
EXIT_INTERNAL_ERROR = 70
#: Set (to anything but "" or "0") to get the traceback of an internal error as well.
DEBUG_ENV = "AIPERF_DEBUG"


def report_internal_error(error: BaseException, environ: Mapping[str, str] | None = None) -> int:
    """Say on stderr, in a few lines, that ``error`` is a bug; the exit code to end with.

    Every mistake of the user's has its own one-line message; what reaches this is not
    one of them, so it must not pose as one: it says "internal error", names the
    exception, and asks for a report. The traceback, useful to whoever fixes it and a
    wall of noise to everyone else, is printed only when ``AIPERF_DEBUG`` is set.
    """
    environ = os.environ if environ is None else environ
    debug = environ.get(DEBUG_ENV, "") not in ("", "0")
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    # First line only, and capped: the message must stay on one screen.
    text = (str(error).splitlines() or [""])[0]
    text = text if len(text) <= 200 else text[:197] + "..."
    # "error:" like every other failure, so scripts that grep for it catch this too.
    typer.echo(f"error: internal error: {type(error).__name__}" + (f": {text}" if text else ""),
               err=True)
    typer.echo("  this is a bug in aiperf, not a mistake in your input; please report it "
               "with the command you ran", err=True)
    if not debug:
        typer.echo(f"  and its output with {DEBUG_ENV}=1 set (which adds the traceback)",
                   err=True)
    return EXIT_INTERNAL_ERROR


def fail(message: str, hint: str | None = None) -> typer.Exit:
    """Print a one-line error (and hint) and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    if hint:
        typer.echo(f"  hint: {hint}", err=True)
    return typer.Exit(EXIT_CONFIG_ERROR)
