"""The root ``aiperf`` command: assembles one typer app per command group, no logic."""

from __future__ import annotations

import importlib
from typing import Any

import typer

#: Each top-level command: its name, the module that defines it, and whether it is a
#: group (a typer app of its own) or a single command function.
COMMANDS: dict[str, tuple[str, str]] = {
    "profile": ("aiperf.cli.profile", "command"),
    "plot": ("aiperf.cli.plot", "command"),
    "config": ("aiperf.cli.config", "group"),
    "recipes": ("aiperf.cli.recipes", "group"),
    "sim": ("aiperf.cli.sim", "group"),
}


def build_app(only: str | None = None) -> typer.Typer:
    """The root app with every command, or with ``only`` that one.

    Building and importing every command costs each start tens of milliseconds (the
    profile flags alone are ~60 options, repeated on three ``config`` commands), so
    ``main()`` builds just the command being run; help and unknown words get them all.
    """
    root = typer.Typer(
        name="aiperf",
        help="Benchmark OpenAI-compatible LLM inference servers and plot the results.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    # A callback keeps the root a group even when it holds a single command; typer would
    # otherwise make that command the root and read its name as an argument.
    root.callback()(_root)
    for name, (module_name, shape) in COMMANDS.items():
        if only is not None and name != only:
            continue
        module = importlib.import_module(module_name)
        if shape == "group":
            root.add_typer(module.app, name=name)
        else:
            root.command(name)(getattr(module, name))
    return root


def _root() -> None:
    pass


def __getattr__(name: str) -> Any:
    # ``from aiperf.cli import app`` (tests, embedding) gets the whole CLI.
    if name == "app":
        globals()["app"] = full = build_app()
        return full
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console-script entry point."""
    import signal
    import sys

    word = sys.argv[1] if len(sys.argv) > 1 else None
    try:
        build_app(word if word in COMMANDS else None)()
        code: int | str | None = 0
    except KeyboardInterrupt:
        code = 130
    except SystemExit as e:
        code = e.code
    except Exception as e:  # noqa: BLE001 - every expected failure exited above; this is a bug
        from aiperf.cli.errors import report_internal_error

        code = report_internal_error(e)
    # The command has finished (its results are written): a late Ctrl-C must not turn
    # that into a process killed by SIGINT.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit(code)


def _exit(code: int | str | None) -> None:
    """End the process as ``sys.exit(code)`` would, minus the interpreter's teardown.

    Freeing every module and object one by one takes a ``profile`` run about 0.15 s, and
    nothing is left to free: every file is written and closed (atomically). Exit handlers
    still run, so logging and anything a library registered get flushed as usual.
    """
    import atexit
    import os
    import sys
    import threading

    if code is None:
        status = 0
    elif isinstance(code, int):
        status = code
    else:
        print(code, file=sys.stderr)
        status = 1
    # What the interpreter would do before tearing down: wait for non-daemon threads,
    # then run the exit handlers.
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            # A closed pipe (``aiperf ... | head``) has nobody left to read; the exit
            # status still tells what happened.
            pass
    os._exit(status)
