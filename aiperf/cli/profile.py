"""``aiperf profile``: resolve the configuration once, then run from the frozen result."""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from aiperf.cli.errors import reports_config_errors
from aiperf.cli.logs import console_logging
from aiperf.cli.options import ConfigFiles, with_profile_flags


@reports_config_errors
@with_profile_flags
def profile(
    config: ConfigFiles = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="List the runs (a sweep's cells) and their resolved settings; "
        "send no request.")] = False,
    cli: dict[str, Any] | None = None,
) -> None:
    """Benchmark an OpenAI-compatible endpoint and write the artifacts.

    Takes the same files and flags as `aiperf config explain`; `--url sim://` runs the
    built-in simulator in-process, so no server is needed to try it.
    """
    import sys

    from aiperf.bench.output import open_output
    from aiperf.bench.profile import dry_run_listing, run_profile
    from aiperf.config import load
    from aiperf.config.sweep import expand

    _import_in_background("aiohttp")
    # INFO shows the config's notes and the prompt-sizing line; warnings read like the
    # summary's own (`warning: ...`).
    console_logging(logging.INFO)
    files = [Path(p) for p in config or []]
    environ = dict(os.environ)
    resolved = load(files, cli or {}, environ).check()
    # Every cell is resolved (and checked) before the first request is sent.
    cells = [(cell, load(files, cli or {}, environ, cell=cell).check())
             for cell in expand(resolved)]
    if dry_run:
        typer.echo(dry_run_listing(resolved, cells))
        raise typer.Exit(0)
    output = open_output(resolved.config.benchmark.ui, sys.stdout.isatty())
    try:
        code = run_profile(resolved, output, cells,
                           lambda cell: load(files, cli or {}, environ, cell=cell).check())
    except KeyboardInterrupt:
        # Only before the run starts or after it ends: during it, Ctrl-C stops it cleanly.
        output.line("interrupted")
        code = 130
    raise typer.Exit(code)


def _import_in_background(module: str) -> None:
    """Start importing ``module`` on a daemon thread while this one gets on with the run.

    aiohttp's import takes about 0.15 s, a third of it loading the system's CA
    certificates in OpenSSL with the GIL released; meanwhile this thread resolves the
    configuration and prepares the run. When the client module later imports aiohttp,
    Python's per-module import lock makes it wait for this import to finish. The two
    threads cannot deadlock: asyncio and the rest of the standard library that both need
    are imported before the thread starts (``aiperf.bench.profile`` imports them), and
    aiohttp never imports anything of aiperf's.
    """

    def run() -> None:
        with contextlib.suppress(ImportError):  # reported by the import that needs it
            importlib.import_module(module)

    threading.Thread(target=run, name=f"import {module}", daemon=True).start()
