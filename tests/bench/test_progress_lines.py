"""Progress while a run goes: a plain line every few seconds off a terminal, nothing with
``--ui none``, the rich bar (and no plain lines) on a terminal.

The lines' numbers are checked with an injected clock; the timer itself with a tiny
interval and a generous wait, asserting only that lines came (never how many per second):
the machine running the tests may be slow and busy.
"""

from __future__ import annotations

import asyncio
import io
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

from aiperf.bench import console
from aiperf.bench.console import RunProgress, progress_mode
from aiperf.bench.output import PlainOutput, RichOutput
from aiperf.cli import app


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def record(phase: str = "profiling", ok: bool = True, cancelled: bool = False) -> Any:
    """The three things RunProgress reads from a finished request."""
    return SimpleNamespace(phase=phase, ok=ok, cancelled=cancelled)


def lines_of(out: io.StringIO) -> list[str]:
    return [line for line in out.getvalue().splitlines() if line.startswith("progress:")]


def terminal_output() -> RichOutput:
    from rich.console import Console

    output = RichOutput()
    output.console = Console(file=io.StringIO(), force_terminal=True, width=120)
    output.is_terminal = True
    return output


# --------------------------------------------------------------------------- the mode


def test_off_a_terminal_progress_is_plain_lines_unless_ui_is_none():
    plain = PlainOutput(io.StringIO())
    assert progress_mode("auto", plain) == "lines"
    assert progress_mode("progress", plain) == "lines"
    assert progress_mode("none", plain) == "off"


def test_on_a_terminal_progress_is_the_rich_bar_unless_ui_is_none():
    tty = terminal_output()
    assert progress_mode("auto", tty) == "bar"
    assert progress_mode("progress", tty) == "bar"
    assert progress_mode("none", tty) == "off"


# --------------------------------------------------------------------------- the line


def test_a_line_counts_requests_of_the_total_errors_and_the_recent_rate():
    clock = FakeClock()
    loop = asyncio.new_event_loop()
    try:
        progress = RunProgress(PlainOutput(io.StringIO()), "lines", 5000, None, loop,
                               clock=clock)
        progress.on_record(record(phase="warmup"))  # not a profiling request
        progress.profiling_started()
        for _ in range(1198):
            progress.on_record(record())
        progress.on_record(record(ok=False))
        progress.on_record(record(ok=False, cancelled=True))  # the user's, not an error
        clock.now += 2.9
        assert progress.progress_line() == (
            "progress: 1,200/5,000 requests, 413.8 req/s (last 2.9 s), 1 errors, 2.9 s")
        # The rate is over the window since the previous line, the time since profiling.
        for _ in range(100):
            progress.on_record(record())
        clock.now += 5.0
        assert progress.progress_line() == (
            "progress: 1,300/5,000 requests, 20.0 req/s (last 5.0 s), 1 errors, 7.9 s")
    finally:
        loop.close()


def test_a_duration_run_shows_time_against_its_duration():
    clock = FakeClock()
    loop = asyncio.new_event_loop()
    try:
        progress = RunProgress(PlainOutput(io.StringIO()), "lines", None, 60.0, loop,
                               clock=clock)
        progress.profiling_started()
        for _ in range(50):
            progress.on_record(record())
        clock.now += 10.0
        assert progress.progress_line() == (
            "progress: 50 requests, 5.0 req/s (last 10.0 s), 0 errors, 10.0/60 s")
    finally:
        loop.close()


def test_before_profiling_the_line_says_the_run_is_starting():
    clock = FakeClock()
    loop = asyncio.new_event_loop()
    try:
        progress = RunProgress(PlainOutput(io.StringIO()), "lines", 10, None, loop,
                               clock=clock)
        with progress:
            for _ in range(3):
                progress.on_record(record(phase="warmup"))
            clock.now += 5.0
            line = progress.progress_line()
        assert line == ("progress: starting (warm-up or prompt sizing), "
                        "3 warm-up requests done, 5.0 s")
    finally:
        loop.close()


# --------------------------------------------------------------------------- the timer


def run_loop_for(loop: asyncio.AbstractEventLoop, seconds: float) -> None:
    loop.run_until_complete(asyncio.sleep(seconds))


def test_off_a_terminal_lines_keep_coming_while_no_request_finishes():
    out = io.StringIO()
    loop = asyncio.new_event_loop()
    try:
        progress = RunProgress(PlainOutput(out), "lines", 400, None, loop, interval_s=0.01)
        with progress:
            progress.profiling_started()
            for _ in range(7):
                progress.on_record(record())
            run_loop_for(loop, 0.5)  # a stalled server: nothing finishes meanwhile
        printed = lines_of(out)
        assert printed, out.getvalue()
        assert all(line.startswith("progress: 7/400 requests, ") for line in printed)
        assert "\x1b" not in out.getvalue()
        # Once the run is over the timer is gone: no more lines.
        count = len(printed)
        run_loop_for(loop, 0.1)
        assert len(lines_of(out)) == count
    finally:
        loop.close()


def test_ui_none_prints_no_progress_lines():
    out = io.StringIO()
    loop = asyncio.new_event_loop()
    try:
        output = PlainOutput(out)
        progress = RunProgress(output, progress_mode("none", output), 400, None, loop,
                               interval_s=0.01)
        with progress:
            progress.profiling_started()
            progress.on_record(record())
            run_loop_for(loop, 0.2)
        assert not progress.enabled
        assert progress.progress_line() is None
        assert out.getvalue() == ""
    finally:
        loop.close()


def test_on_a_terminal_the_rich_bar_is_drawn_and_no_plain_lines():
    output = terminal_output()
    loop = asyncio.new_event_loop()
    try:
        progress = RunProgress(output, progress_mode("auto", output), 400, None, loop,
                               interval_s=0.01)
        with progress:
            progress.profiling_started()
            progress.on_record(record())
            run_loop_for(loop, 0.2)
        assert progress.progress_line() is None
        assert progress._progress is not None  # the rich bar
        assert "progress:" not in output.console.file.getvalue()
    finally:
        loop.close()


def test_a_closed_pipe_stops_the_lines_without_breaking_the_run():
    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    loop = asyncio.new_event_loop()
    errors: list[Any] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    try:
        with RunProgress(PlainOutput(ClosedPipe()), "lines", 10, None, loop,
                         interval_s=0.01):
            run_loop_for(loop, 0.2)
        assert errors == []
    finally:
        loop.close()


# --------------------------------------------------------------------------- the CLI


def test_a_piped_profile_run_prints_progress_lines(tmp_path, monkeypatch: pytest.MonkeyPatch):
    # CliRunner's stdout is not a terminal. Each request takes >= 40 ms at concurrency 1,
    # so the run lasts well past a few 20 ms intervals however fast the machine is.
    monkeypatch.setattr(console, "PROGRESS_INTERVAL_S", 0.02)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [
        "profile", "--url", "sim://?mode=deterministic&ttft_ms=40&itl_ms=0", "--model", "m",
        "--concurrency", "1", "--request-count", "8", "--no-auto-plot",
        "--artifact-dir", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    printed = [line for line in result.stdout.splitlines() if line.startswith("progress:")]
    assert printed, result.stdout
    assert any("/8 requests, " in line and " errors, " in line for line in printed), printed
    assert "\x1b" not in result.stdout
