"""``aiperf recipes list | show NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from aiperf.cli.errors import fail

app = typer.Typer(help="Search recipes: built-in and from plugins.", no_args_is_help=True)


def _auto_plot(value: bool | None) -> str:
    return "unset" if value is None else ("true" if value else "false")


@app.command("list")
def list_recipes() -> None:
    """List every recipe with its auto_plot_default and where it comes from."""
    from aiperf.config.recipes import load_registry

    registry = load_registry()
    width = max(len(n) for n in registry.recipes)
    typer.echo(f"{'name':<{width}}  {'auto_plot_default':<17}  {'source':<10}  description")
    for r in registry.recipes.values():
        typer.echo(f"{r.name:<{width}}  {_auto_plot(r.auto_plot_default):<17}  "
                   f"{r.source:<10}  {r.description}")
    for failure in registry.load_failures:
        typer.echo(f"warning: plugin not loaded: {failure}", err=True)


@app.command("show")
def show_recipe(name: Annotated[str, typer.Argument(help="Recipe name.")]) -> None:
    """Show one recipe: what it does, what it sets, what it needs."""
    from aiperf.config import fields as F
    from aiperf.config.errors import did_you_mean
    from aiperf.config.recipes import load_registry

    registry = load_registry()
    r = registry.get(name)
    if r is None:
        hint = did_you_mean(name, registry.recipes)
        known = "known recipes: " + ", ".join(registry.recipes)
        raise fail(f"unknown recipe '{name}'", f"{hint} {known}" if hint else known)
    typer.echo(f"{r.name}  ({r.source})\n  {r.description}")
    typer.echo(f"  auto_plot_default: {_auto_plot(r.auto_plot_default)}")
    typer.echo(f"  needs streaming:   {'yes' if r.requires_streaming else 'no'}")
    if r.sweeps:
        typer.echo(f"  drives:            {', '.join(r.sweeps)}")
    if r.requires:
        typer.echo("  requires:")
        for group in r.requires:
            flags = " or ".join(F.field(k).flag or k for k in group)
            typer.echo(f"    {' or '.join(group)}  ({flags})")
    if r.settings:
        typer.echo("  settings (override them in YAML or with the flag):")
        for key, value in r.settings.items():
            flag = F.field(key).flag
            typer.echo(f"    {key} = {value}" + (f"  ({flag})" if flag else ""))
