"""Warnings look alike on the console: a log record reads ``warning: message`` like the
summary's own warning lines (aiperf/bench/output.py), never ``WARNING aiperf.x - ...``."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from aiperf.cli.logs import ConsoleHandler, console_logging


@pytest.fixture
def bare_root(monkeypatch):
    """The root logger as a fresh process has it (no handlers, WARNING); restored after.

    pytest puts its capture handlers on the root logger when the test body starts (after
    the fixtures), and console_logging leaves a root that someone else configured alone;
    so the handlers are taken off lazily, on the first use of the root in the body.
    """
    root = logging.getLogger()

    def bare() -> logging.Logger:
        monkeypatch.setattr(root, "handlers", [])
        monkeypatch.setattr(root, "level", logging.WARNING)
        return root

    return bare


def test_a_logged_warning_reads_warning_colon_message(bare_root, capsys):
    bare_root()
    console_logging(logging.INFO)

    logging.getLogger("aiperf.profile").warning("server dropped %d streams", 2)

    assert capsys.readouterr().err == "warning: server dropped 2 streams\n"


def test_a_logged_error_reads_error_colon_message(bare_root, capsys):
    bare_root()
    console_logging(logging.INFO)

    logging.getLogger("aiperf.plot").error("cannot write")

    assert capsys.readouterr().err == "error: cannot write\n"


def test_an_info_line_is_printed_as_it_is(bare_root, capsys):
    """The profile command's notes and prompt-sizing line carry no label or logger name."""
    bare_root()
    console_logging(logging.INFO)

    logging.getLogger("aiperf.profile").info("prompt sizing: builtin")

    assert capsys.readouterr().err == "prompt sizing: builtin\n"


def test_info_stays_quiet_where_only_warnings_are_shown(bare_root, capsys):
    """``aiperf plot`` shows warnings only, as before; its INFO lines stay quiet."""
    bare_root()
    console_logging()

    logging.getLogger("aiperf.plot").info("loaded 3 runs")
    logging.getLogger("aiperf.plot").warning("skipped 1 corrupt line(s)")

    assert capsys.readouterr().err == "warning: skipped 1 corrupt line(s)\n"


def test_the_console_handler_is_added_once(bare_root):
    """Several commands in one process (tests, notebooks) print each record once."""
    root = bare_root()
    console_logging(logging.INFO)
    console_logging(logging.INFO)
    console_logging()

    assert 1 == sum(isinstance(h, ConsoleHandler) for h in root.handlers)
    assert root.level == logging.WARNING  # the latest command's level


def test_logging_configured_by_someone_else_is_left_alone(bare_root):
    """Like logging.basicConfig: an embedding application's handlers and level stand."""
    root = bare_root()
    theirs = logging.NullHandler()
    root.addHandler(theirs)
    root.setLevel(logging.ERROR)

    console_logging(logging.INFO)

    assert root.handlers == [theirs] and root.level == logging.ERROR


def test_the_handler_writes_to_the_current_stderr(bare_root, monkeypatch):
    """A handler made under one sys.stderr reaches its later replacement (test runners
    and embedding tools swap it) instead of writing into a stale or closed stream."""
    bare_root()
    console_logging(logging.INFO)
    later = io.StringIO()
    monkeypatch.setattr(sys, "stderr", later)

    logging.getLogger("aiperf").warning("still here")

    assert later.getvalue() == "warning: still here\n"
