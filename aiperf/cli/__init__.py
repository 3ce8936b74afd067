"""The root ``aiperf`` command: assembles one typer app per command group, no logic."""

from __future__ import annotations

import typer

from aiperf.cli import config, profile, recipes, sim

app = typer.Typer(
    name="aiperf",
    help="Benchmark OpenAI-compatible LLM inference servers and plot the results.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("profile")(profile.profile)
app.add_typer(config.app, name="config")
app.add_typer(recipes.app, name="recipes")
app.add_typer(sim.app, name="sim")


def main() -> None:
    """Console-script entry point."""
    import signal
    import sys

    try:
        app()
        code: int | str | None = 0
    except KeyboardInterrupt:
        code = 130
    except SystemExit as e:
        code = e.code
    # The command has finished (its results are written): a late Ctrl-C must not turn
    # that into a process killed by SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)
