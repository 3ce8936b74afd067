"""``aiperf config explain | validate | show | schema``: thin wrappers, no decisions."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from aiperf.cli.errors import fail, reports_config_errors
from aiperf.cli.options import ConfigFiles, with_profile_flags

if TYPE_CHECKING:
    from aiperf.config import Resolved
    from aiperf.explain import PastRun

app = typer.Typer(help="Explain, validate and show configuration.", no_args_is_help=True)


class Format(StrEnum):
    text = "text"
    yaml = "yaml"
    json = "json"


def _resolve(files: list[Path] | None, cli: dict[str, Any]) -> Resolved:
    from aiperf.config import load

    return load(files or [], cli, dict(os.environ))


@app.command()
@reports_config_errors
@with_profile_flags
def explain(
    keys: Annotated[Optional[list[str]], typer.Argument(  # noqa: UP045
        help="Dotted keys to explain (e.g. benchmark.artifacts.auto_plot); all when omitted.",
        show_default=False)] = None,
    config: ConfigFiles = None,
    format: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.text,
    only_changed: Annotated[bool, typer.Option(
        "--only-changed", help="Only fields not at their built-in default.")] = False,
    cli: dict[str, Any] | None = None,
) -> None:
    """Show each setting's value, the rule that decided it, and why.

    Give an artifact directory as the first argument to explain a past run instead.
    """
    from aiperf import explain as ex

    keys = list(keys or [])
    resolved: PastRun | Resolved
    if keys and Path(keys[0]).is_dir():
        resolved = _past_run(Path(keys.pop(0)), config, cli or {})
    else:
        resolved = _resolve(config, cli or {})
    try:
        out = ex.render(resolved, format.value, keys, only_changed)
    except ex.UnknownKey as e:
        raise fail(str(e), "run `aiperf config explain` without a key to list them all") from None
    typer.echo(out)
    if resolved.problems:
        raise typer.Exit(2)


def _past_run(run_dir: Path, files: list[Path] | None, cli: dict[str, Any]) -> PastRun:
    import json

    from aiperf.explain import RUN_EXPLAIN_FILE, past_run

    if files or cli:
        raise fail("explaining a past run takes no -f files or profile flags",
                   f"aiperf config explain {run_dir} [KEY]...")
    path = run_dir / RUN_EXPLAIN_FILE
    if not path.is_file():
        raise fail(f"{run_dir} is not an aiperf run directory (no {RUN_EXPLAIN_FILE})",
                   "give the directory a run wrote, e.g. artifacts/<model>-concurrency16")
    try:
        return past_run(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as e:
        raise fail(f"{path} is damaged: {e}") from None


@app.command()
@reports_config_errors
def validate(config: ConfigFiles = None) -> None:
    """Check config files and report every problem at once (exit 2 if any)."""
    if not config:
        raise fail("no file given", "aiperf config validate -f config.yaml")
    resolved = _resolve(config, {})
    resolved.check()
    for note in resolved.notes:
        typer.echo(f"{note.level}: {note.message}")
    typer.echo("valid: " + ", ".join(str(p) for p in config))


@app.command()
@reports_config_errors
@with_profile_flags
def show(config: ConfigFiles = None, cli: dict[str, Any] | None = None) -> None:
    """Print the resolved configuration as YAML (secrets left out)."""
    from aiperf.explain import explain_yaml

    typer.echo(explain_yaml(_resolve(config, cli or {}), comments=False), nl=False)


@app.command()
def schema(
    which: Annotated[str, typer.Argument(
        help="config | explain | plot-config | rules")] = "config",
) -> None:
    """Print a JSON Schema (for editors and tools)."""
    from aiperf._resources import schemas_dir

    path = schemas_dir() / f"{which}.schema.json"
    if not path.is_file():
        names = sorted(p.name.removesuffix(".schema.json") for p in schemas_dir().glob("*.json"))
        raise fail(f"no schema named '{which}'", "choose one of: " + ", ".join(names))
    typer.echo(path.read_text(encoding="utf-8"), nl=False)
