"""``aiperf sim serve``: the built-in simulated OpenAI-compatible server, in the foreground.

Every :class:`aiperf.sim.options.SimOptions` field is a flag (``max_batch`` -> ``--max-batch``).
Flags default to None ("not given"), so the option defaults live in one place.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer

from aiperf.cli.errors import fail
from aiperf.sim.options import OptionInfo, SimOptions, SimOptionsError, option_infos

app = typer.Typer(help="The built-in simulated OpenAI-compatible server.",
                  no_args_is_help=True)


def _param(info: OptionInfo) -> inspect.Parameter:
    flag = "--" + info.name.replace("_", "-")
    option = typer.Option(flag, help=f"{info.help} (default: {info.default})",
                          show_default=False, rich_help_panel="Simulator model")
    # A type chosen at run time, which mypy cannot read as one; typer needs Optional.
    optional = Optional[info.python_type]  # type: ignore[name-defined]  # noqa: UP045
    annotation = Annotated[optional, option]
    return inspect.Parameter("sim__" + info.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                             annotation=annotation)


def _with_sim_flags(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``command`` one flag per simulator option; it receives the given ones as
    ``given: dict[name, value]``."""
    own = inspect.signature(command, eval_str=True)
    own_params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
                  for name, p in own.parameters.items() if name != "given"]
    infos = option_infos()

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        given = {i.name: kwargs.pop("sim__" + i.name) for i in infos}
        return command(given={k: v for k, v in given.items() if v is not None}, **kwargs)

    params = own_params + [_param(i) for i in infos]
    wrapper.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
    return wrapper


@app.command("serve")
@_with_sim_flags
def serve(
    port: Annotated[int, typer.Option("--port", help="TCP port; 0 picks a free one.")] = 8000,
    host: Annotated[str, typer.Option(
        "--host", help="Address to bind; loopback unless you choose otherwise.")] = "127.0.0.1",
    given: dict[str, Any] | None = None,
) -> None:
    """Serve the OpenAI API (chat, completions, embeddings, models) until Ctrl-C."""
    try:
        options = SimOptions.from_mapping(given or {})
    except SimOptionsError as e:
        raise fail("; ".join(e.problems), "see `aiperf sim serve --help`") from None
    from aiperf.sim import standalone

    def announce(url: str) -> None:
        typer.echo(f"aiperf sim: serving {url} (mode={options.mode}, model={options.model}); "
                   "Ctrl-C to stop")
        typer.echo(f"  benchmark it with --url {url}")

    try:
        standalone.run(options, host, port, announce)
    except OSError as e:
        raise fail(f"cannot serve on {host}:{port}: {e.strerror or e}") from None
