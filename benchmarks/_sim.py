"""The two processes of a client benchmark: a standalone simulator and ``aiperf profile``.

Shared by ``client_fidelity.py``, ``client_capacity.py`` and ``run_overhead.py``, which
measure the load generator, so the simulator always runs in a process of its own: it
never shares the client's event loop, and its CPU time is never counted as the client's.

:class:`SimServer` starts ``python -m aiperf sim serve --port 0 --host 127.0.0.1 ...``
from this checkout, reads the URL it announces, and stops it (SIGTERM, then kill) when
the ``with`` block ends. :func:`run_profile` runs one ``aiperf profile`` (this checkout's,
or a reference tool's executable) against it and returns its wall time, its own CPU time
(``os.wait4`` rusage of that one child) and its artifact directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import attrs

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
#: This checkout's CLI, run from the repository root so that ``-m aiperf`` imports it.
OURS: tuple[str, ...] = (sys.executable, "-m", "aiperf")


#: The tool name of our CLI with server metrics and GPU telemetry turned off.
NO_SCRAPE = "no-scrape"


def tools_to_measure(reference: Path | str | None, reference_args: Sequence[str],
                     no_scrape: bool = False
                     ) -> dict[str, tuple[tuple[str, ...], list[str]]]:
    """Our CLI, plus the reference executable when one was given and exists, plus (with
    ``no_scrape``) our CLI reading no server metrics and no GPU telemetry: name ->
    (command, extra profile arguments). Against ``aiperf sim serve`` (an http:// URL whose
    /metrics answers) our CLI scrapes the simulator's metrics every second by default."""
    import shutil

    # Prompts sized in built-in words: calibration requests must not enter a timed run
    # (the reference sizes its prompts with its own tokenizer, before the run).
    tools: dict[str, tuple[tuple[str, ...], list[str]]] = {
        "aiperf": (OURS, ["--prompt-sizing", "builtin"])}
    if no_scrape:
        tools[NO_SCRAPE] = (OURS, ["--prompt-sizing", "builtin", "--no-server-metrics",
                                   "--no-gpu-telemetry"])
    if reference is not None:
        if shutil.which(str(reference)) is None:
            print(f"note: --reference {reference} is not an executable; skipped")
        else:
            tools["reference"] = ((str(reference),), list(reference_args))
    return tools


def measure_or_drop(tools: dict[str, Any], name: str, measure: Callable[[], T]) -> T | None:
    """``measure()`` for tool ``name``; when the reference fails it is dropped from
    ``tools`` with a note and None comes back (our own failure is raised)."""
    try:
        return measure()
    except RuntimeError as e:
        if name == "aiperf":
            raise
        print(f"note: the reference failed, left out: {e}"[:2000])
        del tools[name]
        return None


def compiles_every_run() -> bool:
    """True when child Pythons write no bytecode cache (PYTHONDONTWRITEBYTECODE without a
    PYTHONPYCACHEPREFIX), so a checkout's modules are compiled from source on every run."""
    return bool(os.environ.get("PYTHONDONTWRITEBYTECODE")
                and not os.environ.get("PYTHONPYCACHEPREFIX"))


def use_private_bytecode_cache(folder: Path) -> None:
    """Give every process started from now on a bytecode cache in ``folder``, as an
    installed wheel would have, even when PYTHONDONTWRITEBYTECODE is set."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = str(folder)


#: The simulated servers the client benchmarks measure against (name -> sim options): the
#: generic one; llama.cpp's profile, which closes the connection after every streamed
#: response, so the client ends up with a connection per request; and the same profile
#: with its connections kept, whose answers are byte for byte the same, so the two differ
#: only in what a connection per request costs.
SERVER_PROFILES: dict[str, dict[str, str]] = {
    "generic": {"profile": "generic"},
    "llama.cpp": {"profile": "llama.cpp"},
    "llama.cpp-pooled": {"profile": "llama.cpp", "close_after_stream": "false"},
}


class SimServer:
    """``aiperf sim serve`` in a subprocess on 127.0.0.1 (a free port); use as a context."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def __enter__(self) -> SimServer:
        argv = [*OURS, "sim", "serve", "--port", "0", "--host", HOST]
        for name, value in self.options.items():
            argv += ["--" + name.replace("_", "-"), str(value)]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        # A file, not a pipe: a chatty server can never block on a full pipe.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in __exit__
        self._proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=self._log,
                                      stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            self.url = self._await_url(timeout_s=30.0)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def _await_url(self, timeout_s: float) -> str:
        """The URL from the server's first line (``aiperf sim: serving http://...``)."""
        assert self._proc is not None
        deadline = time.monotonic() + timeout_s
        while True:
            text = self._output()
            if "\n" in text:
                break
            if self._proc.poll() is not None:
                raise RuntimeError(f"the simulator exited ({self._proc.returncode}): {text}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not start within {timeout_s:g} s")
            time.sleep(0.02)
        line = text.split("\n", 1)[0]
        words = [w for w in line.split() if w.startswith("http://")]
        if not words:
            raise RuntimeError(f"unexpected simulator output: {text[:2000]!r}")
        return words[0]

    def __exit__(self, *exc: object) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def cpu_s(self) -> float | None:
        """User + system CPU seconds the server has used so far (Linux /proc; else None)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _call(self, method: str, path: str) -> Any:
        req = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - 127.0.0.1 only
            return json.load(resp)

    def stats(self, records: bool = True) -> dict[str, Any]:
        """``GET /sim/stats``: totals, and the per-request records unless ``records=False``."""
        return self._call("GET", "/sim/stats" + ("" if records else "?records=0"))

    def reset(self) -> None:
        """``POST /sim/reset``: forget the records and totals (keeps the stats small)."""
        self._call("POST", "/sim/reset")


@attrs.frozen
class ProfileRun:
    """One finished ``aiperf profile`` process."""

    argv: tuple[str, ...]
    run_dir: Path
    #: time.time_ns() just before the process was spawned and just after it was reaped
    spawned_ns: int
    exited_ns: int
    wall_s: float
    #: user + system CPU of the profile process alone (its children included, if any)
    cpu_s: float
    returncode: int
    #: peak resident set size of the profile process, bytes (NaN where unknown)
    max_rss_bytes: float = float("nan")

    def records(self) -> list[dict[str, Any]]:
        """The per-request records of the measured phase (``profile_export.jsonl``)."""
        with open(self.run_dir / "profile_export.jsonl", encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]

    def summary(self) -> dict[str, Any]:
        """``profile_export_aiperf.json``."""
        return json.loads((self.run_dir / "profile_export_aiperf.json").read_text("utf-8"))


@contextlib.contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """A temporary git worktree of ``rev`` (to run another commit's aiperf with
    ``run_profile(..., cwd=...)``), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="aiperf-baseline-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), rev], cwd=ROOT,
                   check=True, capture_output=True)
    try:
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT,
                       check=False, capture_output=True)


def checkouts_to_run(stack: contextlib.ExitStack, baseline_rev: str | None
                     ) -> dict[str, Path]:
    """This checkout, plus ``baseline_rev`` (when given) in a worktree that ``stack``
    removes: name -> the folder to run ``python -m aiperf`` in."""
    tools: dict[str, Path] = {"this checkout": ROOT}
    if baseline_rev:
        tools[f"baseline {baseline_rev}"] = stack.enter_context(worktree(baseline_rev))
    return tools


def profile_argv(cli: Sequence[str], url: str, run_dir: Path, *, concurrency: int,
                 requests: int, warmup: int, extra: Sequence[str] = ()) -> list[str]:
    """A streaming chat ``profile`` command line that this aiperf and the reference
    (NVIDIA AIPerf) both accept."""
    return [*cli, "profile", "--model", "m", "--url", url, "--endpoint-type", "chat",
            "--streaming", "--concurrency", str(concurrency), "--request-count", str(requests),
            "--warmup-request-count", str(warmup), "--artifact-dir", str(run_dir),
            "--ui", "none", *extra]


def run_profile(argv: Sequence[str], run_dir: Path, timeout_s: float = 600.0,
                cwd: Path = ROOT) -> ProfileRun:
    """Run ``argv`` (a ``profile`` command writing to ``run_dir``) to the end, in ``cwd``
    (where ``-m aiperf`` finds the package: another checkout runs another aiperf).

    Its output goes to ``run_dir/../<name>.log``; a non-zero exit raises with its tail.
    """
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    log_path = run_dir.with_name(run_dir.name + ".log")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(log_path, "wb") as log:
        spawned = time.time_ns()
        t0 = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)
        try:
            code, cpu, rss = _reap(proc, timeout_s)
        finally:
            if proc.returncode is None:  # interrupted or timed out: do not leave it behind
                proc.kill()
                proc.wait()
        wall = time.perf_counter() - t0
        exited = time.time_ns()
    if code != 0:
        tail = log_path.read_text("utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(argv)} exited with {code}:\n{tail}")
    return ProfileRun(tuple(argv), run_dir, spawned, exited, wall, cpu, code, rss)


def _reap(proc: subprocess.Popen[bytes], timeout_s: float) -> tuple[int, float, float]:
    """(exit code, CPU seconds, peak RSS bytes) of ``proc``, from its own rusage where
    wait4 exists (Linux reports ru_maxrss in KiB)."""
    deadline = time.monotonic() + timeout_s
    if hasattr(os, "wait4"):
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                return (proc.returncode, usage.ru_utime + usage.ru_stime,
                        usage.ru_maxrss * 1024.0)
            if time.monotonic() > deadline:
                raise TimeoutError(f"{proc.args} still running after {timeout_s:g} s")
            time.sleep(0.005)
    # No per-child rusage (Windows).
    return proc.wait(timeout=timeout_s), float("nan"), float("nan")
