"""``aiperf profile``: resolve the configuration once, then run from the frozen result."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import typer

from aiperf.cli.errors import reports_config_errors
from aiperf.cli.options import ConfigFiles, with_profile_flags


@reports_config_errors
@with_profile_flags
def profile(config: ConfigFiles = None, cli: dict[str, Any] | None = None) -> None:
    """Benchmark an OpenAI-compatible endpoint and write the artifacts.

    Takes the same files and flags as `aiperf config explain`; `--url sim://` runs the
    built-in simulator in-process, so no server is needed to try it.
    """
    import sys

    from rich.console import Console

    from aiperf.bench.profile import run_profile
    from aiperf.config import load

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s - %(message)s")
    resolved = load([Path(p) for p in config or []], cli or {}, dict(os.environ)).check()
    # Off a terminal (CI logs, pipes) rich would assume 80 columns and wrap every row.
    console = Console() if sys.stdout.isatty() else Console(width=140)
    try:
        code = run_profile(resolved, console)
    except KeyboardInterrupt:
        # Only before the run starts or after it ends: during it, Ctrl-C stops it cleanly.
        console.print("interrupted", highlight=False)
        code = 130
    raise typer.Exit(code)
