"""No tracebacks: bad input gets a short error naming what is wrong and a non-zero exit.

Each known case has a test of its own (a port out of range, a plot output that is a file,
a run directory or plot folder that cannot be written); a property test then throws
generated argument vectors at ``profile``, ``plot`` and ``config explain`` and checks
that none of them ends in an uncaught exception. Whatever does escape is a bug, and
``aiperf.cli.main`` says so as an "internal error" in a few lines (the traceback only
with ``AIPERF_DEBUG``); the last tests pin that down.

Everything runs in-process through the real typer app (``CliRunner``), as in
``tests/e2e/conftest.py``; runs use the in-process simulator with one request.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from aiperf.cli import app

FIXTURE_RUN = Path(__file__).parents[1] / "fixtures" / "aiperf-0.13" / "single-chat-c4"
SIM = "sim://?mode=deterministic&ttft_ms=0&itl_ms=0"
TINY_RUN = ("--model", "m", "--request-count", "1", "--ui", "none", "--no-auto-plot")
#: Exit codes a command may end with on purpose (README "Exit codes"); anything else, or
#: an exception that is not SystemExit, is a crash.
DELIBERATE_EXITS = frozenset({0, 1, 2, 3})


def invoke(*args: str) -> Result:
    """``aiperf ARGS`` in-process, exceptions caught so the test can look at them."""
    return CliRunner().invoke(app, list(args))


def assert_no_traceback(result: Result) -> None:
    """The command ended deliberately: no exception but SystemExit with a known code, and
    nothing that looks like a traceback in what the user saw."""
    assert "Traceback (most recent call last)" not in result.output, result.output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), (
            f"{type(result.exception).__name__}: {result.exception}\n{result.output}")
    assert result.exit_code in DELIBERATE_EXITS, result.output


def error_lines(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("error:")]


@pytest.fixture(autouse=True)
def _in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A default artifacts/ folder must never land in the repository.
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def plottable_run(tmp_path: Path) -> Path:
    """A copy of a small AIPerf 0.13 run directory (it plots without running anything)."""
    return Path(shutil.copytree(FIXTURE_RUN, tmp_path / "run"))


# ------------------------------------------------------------------------- the known cases


@pytest.mark.parametrize(("url", "problem"), [
    ("http://127.0.0.1:99999", "the port must be a number from 1 to 65535"),
    ("http://127.0.0.1:abc", "the port must be a number from 1 to 65535"),
    ("http://[::1", "not a valid URL (Invalid IPv6 URL)"),
])
def test_a_malformed_url_is_one_line_of_bad_input_exit_2(tmp_path: Path, url: str,
                                                          problem: str) -> None:
    """urllib raises a bare ValueError on such a port or host; the user gets one line
    about --url, exit 2, and no run directory."""
    result = invoke("profile", "--url", url, *TINY_RUN,
                    "--artifact-dir", str(tmp_path / "out"))
    assert_no_traceback(result)
    assert result.exit_code == 2
    assert error_lines(result) == [f"error: --url {url}: {problem}; expected "
                                   "http://host:port (or sim://)"]
    assert not (tmp_path / "out").exists()


def test_a_malformed_simulator_url_is_bad_input(tmp_path: Path) -> None:
    """The simulator's own URL parser reports urllib's ValueError as an option problem."""
    result = invoke("profile", "--url", "sim://[::1", *TINY_RUN,
                    "--artifact-dir", str(tmp_path / "out"))
    assert_no_traceback(result)
    assert result.exit_code == 2
    assert "not a valid URL: 'sim://[::1'" in result.output


def test_plot_output_that_is_a_file_is_refused_in_one_line(plottable_run: Path,
                                                           tmp_path: Path) -> None:
    """``-o FILE``: the folder cannot be made; the file is left as it was."""
    target = tmp_path / "a-file"
    target.write_text("keep me", encoding="utf-8")
    result = invoke("plot", str(plottable_run), "-o", str(target))
    assert_no_traceback(result)
    assert result.exit_code == 2
    assert error_lines(result) == [f"error: cannot write plots to {target}: "
                                   "it is a file, not a folder"]
    assert target.read_text(encoding="utf-8") == "keep me"


def test_plot_output_under_a_file_is_refused_in_one_line(plottable_run: Path,
                                                         tmp_path: Path) -> None:
    """A folder below a regular file cannot be created, even by root (ENOTDIR)."""
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    target = tmp_path / "a-file" / "plots"
    result = invoke("plot", str(plottable_run), "-o", str(target))
    assert_no_traceback(result)
    assert result.exit_code == 2
    assert error_lines(result) == [f"error: cannot write plots to {target}: Not a directory"]


def test_a_read_only_plot_output_folder_is_refused_in_one_line(
        plottable_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder the user may not write to. Root writes anywhere, so the permission
    check the renderer makes (os.access) is told the folder is read-only."""
    target = tmp_path / "read-only"
    target.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: (
        False if Path(path) == target and mode & os.W_OK else real_access(path, mode, **kw)))
    result = invoke("plot", str(plottable_run), "-o", str(target))
    assert_no_traceback(result)
    assert result.exit_code == 2
    assert error_lines(result) == [f"error: cannot write plots to {target}: "
                                   "the folder is not writable"]
    assert list(target.iterdir()) == []


def test_an_artifact_dir_under_a_file_is_refused_in_one_line(tmp_path: Path) -> None:
    """``--artifact-dir file/sub`` cannot be created, even by root: one line, exit 2."""
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    target = tmp_path / "a-file" / "run"
    result = invoke("profile", "--url", SIM, *TINY_RUN, "--artifact-dir", str(target))
    assert_no_traceback(result)
    assert result.exit_code == 2
    assert error_lines(result) == [f"error: cannot use artifact directory {target}: "
                                   "Not a directory"]


def test_a_read_only_artifact_dir_is_refused_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run directory the user may not write to (os.access says so, as it would for
    anyone but root): one line before any request, exit 2, nothing written there."""
    target = tmp_path / "read-only"
    target.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: (
        False if Path(path) == target and mode & os.W_OK else real_access(path, mode, **kw)))
    result = invoke("profile", "--url", SIM, *TINY_RUN, "--artifact-dir", str(target))
    assert_no_traceback(result)
    assert result.exit_code == 2
    assert error_lines(result) == [f"error: cannot write to artifact directory {target}"]
    assert list(target.iterdir()) == []


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--profile-export-prefix", "/",
     "error: --profile-export-prefix '/' leaves no file name without its suffix"),
    ("--profile-export-file", "/", "error: --profile-export-file '/' has no file name"),
    ("--slice-duration", "1e-300",
     "error: --slice-duration 1e-300: a slice must last at least one nanosecond (1e-9 s)"),
])
def test_an_unusable_export_setting_is_refused_before_the_run(
        tmp_path: Path, flag: str, value: str, message: str) -> None:
    """These used to raise a bare ValueError, the slice duration only once the run was
    over and its results were being written; now one line before any request, exit 2."""
    result = invoke("profile", "--url", SIM, *TINY_RUN, "--artifact-dir",
                    str(tmp_path / "out"), flag, value)
    assert_no_traceback(result)
    assert result.exit_code == 2
    assert error_lines(result) == [message]
    assert not (tmp_path / "out").exists()


def test_a_nul_in_a_path_from_yaml_is_refused_in_one_line(tmp_path: Path) -> None:
    """YAML's ``"\\0"`` puts a NUL byte in a path, which every file call rejects with a
    bare ValueError; the run refuses it up front instead, naming the setting."""
    config = tmp_path / "nul.yaml"
    config.write_text('benchmark:\n  dataset:\n    input_file: "prompts\\0.jsonl"\n',
                      encoding="utf-8")
    result = invoke("profile", "-f", str(config), "--url", SIM, *TINY_RUN,
                    "--artifact-dir", str(tmp_path / "out"))
    assert_no_traceback(result)
    assert result.exit_code == 2
    # A file's relative path is taken from the file's folder, so it is shown in full.
    assert error_lines(result) == [f"error: --input-file '{tmp_path}/prompts\\x00.jsonl': "
                                   "a file name cannot contain a NUL character"]


# ------------------------------------------------------------------------- the property

#: Values that are wrong for most flags in some way: not a number, out of range, empty,
#: a comma list (a sweep where one is allowed), a NUL byte (no path may hold one).
GARBAGE = ("", "-1", "0", "1", "2", "abc", "nan", "inf", "-inf", "1e400", "1.5", "1,2",
           "=", "a=b", "ttft:10", "x<1", "\x00", "/", "..", "é")
#: Flags whose garbage cannot make a run slow (no duration, cooldown, warm-up count or
#: tokenizer: "inf" seconds or a tokenizer name to download are valid, just not quick).
PROFILE_FLAGS = ("--endpoint-type", "--request-timeout", "--header", "--extra-inputs",
                 "--concurrency", "--request-rate", "--arrival", "--request-count",
                 "--isl", "--isl-stddev", "--osl", "--osl-stddev", "--input-file",
                 "--random-seed", "--prompt-sizing", "--goodput", "--fail-on",
                 "--search-recipe", "--num-profile-runs", "--confidence-level",
                 "--profile-export-prefix", "--profile-export-file", "--slice-duration",
                 "--ui", "--api-key", "--model", "--url", "--plot-config")
UNKNOWN_FLAGS = ("--bogus", "-x", "--request_count", "--", "-")
values = st.one_of(st.sampled_from(GARBAGE), st.text(max_size=6))
#: Values for typer's Path parameters (``plot`` paths, ``-o``, ``--config``, ``-f``):
#: typer stats them and a NUL byte makes os.stat raise ValueError inside typer, before
#: any aiperf code runs. A real command line cannot carry a NUL (execve refuses it), so
#: only YAML can, and the profile checks cover that (see the NUL test below).
path_values = values.filter(lambda v: "\0" not in v)


@st.composite
def profile_argv(draw: st.DrawFn, root: Path) -> list[str]:
    """A tiny simulator run, then garbage: flags with odd values, repeated flags and
    flags that do not exist."""
    # Not root/run: that is the run the plot and explain examples read.
    argv = ["profile", "--url", SIM, *TINY_RUN, "--artifact-dir", str(root / "profiled")]
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["flag", "flag", "repeat", "unknown", "switch"]))
        if kind == "flag":
            argv += [draw(st.sampled_from(PROFILE_FLAGS)), draw(values)]
        elif kind == "repeat":  # the same flag twice: the last one counts
            flag = draw(st.sampled_from(PROFILE_FLAGS))
            argv += [flag, draw(values), flag, draw(values)]
        elif kind == "unknown":
            argv += [draw(st.sampled_from(UNKNOWN_FLAGS)), *draw(st.lists(values, max_size=1))]
        else:
            argv.append(draw(st.sampled_from(["--streaming", "--no-streaming", "--overwrite",
                                              "--auto-plot", "--plot-required", "--dry-run"])))
    return argv


def plot_paths(root: Path) -> st.SearchStrategy[str]:
    """Paths of every shape ``plot`` may be given (made by :func:`_lay_out`)."""
    return st.sampled_from([str(root / n) for n in
                            ("run", "missing", "a-file", "empty", "a-file/sub", "run/plots")]
                           + ["", ".", "-"])


@st.composite
def plot_argv(draw: st.DrawFn, root: Path) -> list[str]:
    """``plot`` with zero to two paths of any shape, maybe an output folder, a theme, a
    plot config and an unknown flag."""
    argv = ["plot", *draw(st.lists(plot_paths(root), max_size=2))]
    if draw(st.booleans()):
        argv += ["-o", draw(plot_paths(root))]
    if draw(st.booleans()):
        argv += ["--theme", draw(st.sampled_from(["light", "dark", *GARBAGE]))]
    if draw(st.booleans()):
        argv += ["--config", draw(st.one_of(plot_paths(root), st.just(str(root / "bad.yaml"))))]
    if draw(st.booleans()):
        argv += [draw(st.sampled_from(UNKNOWN_FLAGS))]
    return argv


@st.composite
def explain_argv(draw: st.DrawFn, root: Path) -> list[str]:
    """``config explain`` with real, partial and random keys (or a run directory), a
    format, and profile flags with garbage values."""
    keys = st.one_of(st.sampled_from(["benchmark.artifacts.auto_plot", "benchmark",
                                      "benchmark.load.concurrency", str(root / "run"),
                                      str(root / "empty"), "benchmark.", ".", "*"]),
                     st.text(max_size=12))
    argv = ["config", "explain", *draw(st.lists(keys, max_size=2))]
    if draw(st.booleans()):
        argv += ["--format", draw(st.sampled_from(["text", "yaml", "json", *GARBAGE]))]
    if draw(st.booleans()):
        argv.append("--only-changed")
    for _ in range(draw(st.integers(0, 2))):
        flag = draw(st.sampled_from(PROFILE_FLAGS + ("-f",) + UNKNOWN_FLAGS))
        argv += [flag, draw(path_values if flag == "-f" else values)]
    return argv


def _lay_out(root: Path) -> None:
    """The paths the strategies name: a plottable run, a file, an empty folder and a
    plot config that is not YAML."""
    if not (root / "run").exists():
        shutil.copytree(FIXTURE_RUN, root / "run")
    (root / "a-file").write_text("not a folder", encoding="utf-8")
    (root / "empty").mkdir(exist_ok=True)
    (root / "bad.yaml").write_text("theme: [unclosed\n", encoding="utf-8")


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data())
def test_no_argument_vector_ends_in_a_traceback(tmp_path: Path, data: st.DataObject) -> None:
    """Whatever the arguments, ``profile``, ``plot`` and ``config explain`` end with a
    deliberate exit code; no exception escapes to the user."""
    root = tmp_path / "property"
    root.mkdir(exist_ok=True)
    _lay_out(root)
    argv = data.draw(st.one_of(profile_argv(root), plot_argv(root), explain_argv(root)),
                     label="argv")
    assert_no_traceback(invoke(*argv))


# ------------------------------------------------------------------------- internal errors


def _main_with_a_bug(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """Run the real ``aiperf.cli.main`` on ``argv`` with a planted bug in the explain
    renderer; the exit code it would end the process with."""
    import aiperf.cli
    import aiperf.explain

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("planted bug\nwith a second line")

    codes: list[int | str | None] = []
    monkeypatch.setattr(aiperf.explain, "render", broken)
    monkeypatch.setattr(aiperf.cli, "_exit", codes.append)  # not os._exit in a test
    monkeypatch.setattr(sys, "argv", ["aiperf", *argv])
    aiperf.cli.main()
    assert len(codes) == 1 and isinstance(codes[0], int)
    return codes[0]


def test_an_internal_error_says_so_in_one_screen_without_a_traceback(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A bug is not passed off as bad input: "internal error", the exception, a request
    to report it; exit 70; no traceback unless asked for."""
    code = _main_with_a_bug(["config", "explain"], monkeypatch)
    err = capsys.readouterr().err
    assert code == 70
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines[0] == "error: internal error: RuntimeError: planted bug"
    assert "this is a bug in aiperf" in err and "AIPERF_DEBUG=1" in err
    assert len(lines) <= 5


def test_aiperf_debug_adds_the_traceback_of_an_internal_error(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """AIPERF_DEBUG=1 is the way to get the traceback a bug report needs."""
    monkeypatch.setenv("AIPERF_DEBUG", "1")
    code = _main_with_a_bug(["config", "explain"], monkeypatch)
    err = capsys.readouterr().err
    assert code == 70
    assert "Traceback (most recent call last)" in err and "in broken" in err
    assert "error: internal error: RuntimeError: planted bug" in err
