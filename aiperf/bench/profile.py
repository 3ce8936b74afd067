"""``aiperf profile`` from a frozen Resolved config: prepare, run, measure, export.

Everything decided about the run was decided by the configuration engine; this module
turns the resolved settings into a load plan and a target, runs them, and writes the
artifacts. It returns a :class:`ProfileOutcome`: the exit code
(:mod:`aiperf.bench.outcome`): 0 for a finished run, 3 when it breached a threshold, 1
when it could not start, was aborted (the server went away) or had no successful request,
130 / 143 when Ctrl-C / SIGTERM stopped it (the partial results are still written); and
the directory that auto-plot may draw.

This module knows neither the renderer nor the simulator it is measured against: the
profile command (:mod:`aiperf.cli.profile`) chains auto-plot after the run, and hands in
the :class:`InProcessServers` that serve ``sim://`` URLs, so a run only ever sends to a
plain ``http://host:port`` base URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import attrs

from aiperf.artifacts.manifest import RunIdentity, RunKind
from aiperf.bench.calibrate import Calibration, sizer_from_tokenizer
from aiperf.bench.dataset import (
    BUILTIN_SIZER,
    DatasetError,
    Prompt,
    SyntheticPrompts,
    cycle,
    read_prompt_file,
)
from aiperf.bench.experiment import Experiment, new_experiment_id
from aiperf.bench.outcome import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_THRESHOLD,
    STOP_CODES,
)
from aiperf.bench.output import Output
from aiperf.bench.records import RequestRecord
from aiperf.bench.run_tally import RunTally
from aiperf.bench.runner import RunResult, Target
from aiperf.bench.schedule import LoadPlan, plan_load
from aiperf.bench.tokenizer import Tokenizer, TokenizerError, load_tokenizer
from aiperf.config.provenance import Resolved
from aiperf.config.redaction import redact_url, resolved_secrets
from aiperf.config.sweep import Cell

log = logging.getLogger("aiperf.profile")


class ProfileError(Exception):
    """The run cannot start; the message says why and what to do.

    ``exit_code`` is 2 for a mistake in the input (like every configuration error) and 1
    for a problem of the environment (nothing listens at the URL).
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class InProcessServers(Protocol):
    """The servers the layer above runs in this process for the URLs it claims
    (``sim://``: the built-in simulator).

    The runner never starts one itself, since it must not know what it is measured
    against: it asks :meth:`check` while preparing a run, so a bad URL costs no run time,
    and wraps each run in :meth:`open`, which yields the plain base URL to send to. The
    configured URL stays the one the user sees (console, artifacts, explain).
    """

    def claims(self, url: str) -> bool:
        """Whether ``url`` names a server of this process (nothing to reach beforehand)."""
        ...

    def check(self, url: str) -> None:
        """A ValueError naming what is wrong with a claimed ``url``."""
        ...

    def open(self, url: str) -> AbstractAsyncContextManager[str]:
        """Serve a claimed ``url`` while the block runs; yield its ``http://host:port``."""
        ...


class _NoServers:
    """No server in this process: every URL is sent to as configured."""

    def claims(self, url: str) -> bool:
        return False

    def check(self, url: str) -> None:
        raise ValueError("no server of this process serves it")

    def open(self, url: str) -> AbstractAsyncContextManager[str]:
        raise ValueError(f"no server of this process serves {url}")


#: The default: no in-process server (``sim://`` needs the profile command's).
NO_SERVERS: InProcessServers = _NoServers()


@attrs.frozen
class ProfileOutcome:
    """How a profile run ended: its exit code, its artifact directory (None when it could
    not start), and the directory auto-plot draws when the run ended in a way that gets
    plots (the single run's, the trials' base, the sweep's or recipe's base); None when it
    was stopped, could not start or had nothing to show (no trial or cell succeeded).

    Whether plots are wanted or required is the resolved configuration's to say
    (``benchmark.artifacts.auto_plot``, ``plot_required``); the profile command reads it.
    """

    code: int
    artifact_dir: Path | None = None
    plot_dir: Path | None = None


@attrs.frozen
class Prepared:
    """A run ready to go: its load, its target, its prompts and where results go."""

    plan: LoadPlan
    target: Target
    prompts: Iterator[Prompt] = attrs.field(repr=False)
    count_tokens: Tokenizer = attrs.field(repr=False)
    run_dir: Path
    #: The configured URL (``sim://...``) when a server of this process serves it, else None.
    in_process_url: str | None
    #: Synthetic prompts still to be sized against the server (``prompt_sizing`` server or
    #: calibration), or None when ``prompts`` are final.
    unsized: SyntheticPrompts | None = attrs.field(default=None, repr=False)
    prompt_sizing: str = "builtin"
    #: How ``prompts`` were sized when that needed no server (None: from a file, or unsized).
    calibration: Calibration | None = None
    #: Who serves ``in_process_url`` (handed in from above; see :class:`InProcessServers`).
    servers: InProcessServers = attrs.field(default=NO_SERVERS, repr=False)


def run_directory(resolved: Resolved) -> Path:
    """The run's artifact directory (a sweep's or recipe's base): the resolved
    ``benchmark.artifacts.run_dir`` (see ``rules/run-dir.yaml``)."""
    return Path(resolved.config.benchmark.artifacts.run_dir)


def prepare(resolved: Resolved, servers: InProcessServers = NO_SERVERS) -> Prepared:
    """Read everything a run needs before it starts, so a mistake costs no run time;
    ``servers`` serve the URLs they claim in this process (``sim://``)."""
    cfg = resolved.config.benchmark
    ep = cfg.endpoint
    if not ep.model:
        raise ProfileError("no model given: pass --model NAME or set benchmark.endpoint.model")
    check_output_settings(resolved)
    try:
        count = load_tokenizer(cfg.tokenizer)
    except TokenizerError as e:
        raise ProfileError(str(e)) from None
    unsized: SyntheticPrompts | None = None
    calibration: Calibration | None = None
    if cfg.dataset.input_file is not None:
        try:
            prompts: Iterator[Prompt] = cycle(read_prompt_file(
                Path(cfg.dataset.input_file), count, cfg.dataset.osl.mean))
        except DatasetError as e:
            raise ProfileError(str(e)) from None
    else:
        isl = cfg.dataset.isl.mean
        assert isl is not None  # a built-in default (550) that no source can unset
        synthetic = SyntheticPrompts(isl, cfg.dataset.isl.stddev,
                                     cfg.dataset.osl.mean, cfg.dataset.osl.stddev,
                                     cfg.dataset.seed)
        if cfg.prompt_sizing == "file":
            calibration = Calibration("file", sizer_from_tokenizer(count))
        elif cfg.prompt_sizing == "builtin":
            calibration = Calibration("builtin", BUILTIN_SIZER)
        else:
            unsized = synthetic  # sized against the server once it is up
        sizer = calibration.sizer if calibration is not None else BUILTIN_SIZER
        prompts = iter(attrs.evolve(synthetic, sizer=sizer))
    load = cfg.load
    plan = plan_load(load.concurrency, load.request_rate, load.arrival, load.request_count,
                     load.duration, load.warmup_request_count, cfg.dataset.seed)
    in_process_url = ep.url if servers.claims(ep.url) else None
    if in_process_url is not None:
        try:
            servers.check(in_process_url)
        except ValueError as e:
            raise ProfileError(f"--url {in_process_url}: {e}") from None
    else:
        http_host_port(ep.url)  # a malformed host or port is a mistake in the input
    from aiperf.bench.payloads import base_headers

    headers = base_headers(api_key=ep.api_key, headers=ep.headers)
    if urlsplit(ep.url).username is not None and any(
            k.lower() == "authorization" for k in headers):
        # HTTP has one Authorization header: aiohttp would refuse every request.
        raise ProfileError(f"--url {redact_url(ep.url)} carries credentials and an "
                           "Authorization header is set too (--api-key or --header); "
                           "keep one of them")
    target = Target(
        url=ep.url,
        endpoint_type=ep.type,
        model=ep.model,
        streaming=ep.streaming,
        headers=headers,
        extra_inputs=ep.extra_inputs,
        timeout_s=ep.timeout,
        secrets=resolved_secrets(resolved.values()),
    )
    return Prepared(plan, target, prompts, count, run_directory(resolved), in_process_url,
                    unsized, cfg.prompt_sizing, calibration, servers)


def check_output_settings(resolved: Resolved) -> None:
    """A :class:`ProfileError` (exit 2) for a file or folder setting that cannot work.

    Found later, these surface as bare ValueErrors from the OS layer or the exporters
    (a NUL byte, which a YAML ``"\\0"`` can carry; an export name with no file name; a
    slice too small to count in nanoseconds) -- some only once the run is over, when its
    results are being written. Checked here, they cost no run time and lose nothing.
    """
    from aiperf.artifacts.manifest import export_names

    cfg = resolved.config.benchmark
    # The run directory as it will be made: its default name holds the model's.
    for what, value in (("artifact directory", run_directory(resolved)),
                        ("--profile-export-prefix", cfg.artifacts.export_prefix),
                        ("--profile-export-file", cfg.artifacts.export_file),
                        ("--input-file", cfg.dataset.input_file)):
        if value is not None and "\0" in str(value):
            raise ProfileError(f"{what} {str(value)!r}: a file name cannot contain a NUL "
                               "character")
    try:
        export_names(cfg.artifacts.export_prefix, cfg.artifacts.export_file)
    except ValueError as e:  # its message names the flag and the value
        raise ProfileError(str(e)) from None
    slice_s = cfg.artifacts.slice_duration
    if slice_s is not None and round(slice_s * 1e9) < 1:
        raise ProfileError(f"--slice-duration {slice_s!r}: a slice must last at least one "
                           "nanosecond (1e-9 s)")


def make_run_dir(run_dir: Path) -> Path:
    """Create the artifact directory before the run, so an unusable one costs no run time
    (and only once everything else checked out, so a failed start leaves nothing)."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ProfileError(f"cannot use artifact directory {run_dir}: {e.strerror or e}") from None
    if not os.access(run_dir, os.W_OK):
        raise ProfileError(f"cannot write to artifact directory {run_dir}")
    return run_dir


def claim_run_dir(run_dir: Path, resolved: Resolved, output: Output) -> Path:
    """:func:`make_run_dir`, after moving an earlier run in ``run_dir`` aside (or deleting
    it with ``artifacts.overwrite``), so the new run never mixes with it; see
    :mod:`aiperf.bench.run_dir`."""
    from aiperf.bench.run_dir import clear_earlier_run

    try:
        cleared = clear_earlier_run(run_dir, resolved.config.benchmark.artifacts.overwrite)
    except OSError as e:
        raise ProfileError(f"cannot make room in artifact directory {run_dir} for the new "
                           f"run: {e}") from None
    if cleared is not None:
        output.line(cleared.message())
    return make_run_dir(run_dir)


def http_host_port(url: str) -> tuple[str, int]:
    """The host and port an ``http(s)://`` URL points at; a :class:`ProfileError` (exit 2)
    naming what is wrong when it is not such a URL.

    urllib only finds a malformed host (``http://[::1``) or port (``:99999``, ``:abc``)
    when the part is read, and then raises a bare ValueError; reading both here, once,
    turns that into one line about ``--url`` instead of a traceback.
    """
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError as e:
        # urllib's words ("Port could not be cast to integer value as 'abc'") describe
        # its parser; say what the user has to change instead.
        problem = ("the port must be a number from 1 to 65535" if "port" in str(e).lower()
                   else f"not a valid URL ({e})")
        raise ProfileError(f"--url {shown}: {problem}; expected http://host:port "
                           "(or sim://)") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ProfileError(f"--url {shown}: expected http://host:port (or sim://)")
    return host, port or (443 if parts.scheme == "https" else 80)


def check_reachable(base_url: str, timeout_s: float = 5.0) -> None:
    """Fail fast, naming the URL, when nothing listens there."""
    shown = redact_url(base_url)
    host, port = http_host_port(base_url)
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            pass
    except OSError as e:
        raise ProfileError(f"cannot reach {shown}: {e.strerror or e}; is the server "
                           "running? (try --url sim:// for the built-in simulator)",
                           EXIT_FAILED) from None


@contextlib.asynccontextmanager
async def _endpoint(prepared: Prepared) -> AsyncIterator[str]:
    """The base URL to send to: the in-process server's (a fresh one for every run), or
    the configured one."""
    if prepared.in_process_url is None:
        yield prepared.target.url
        return
    async with prepared.servers.open(prepared.in_process_url) as url:
        yield url


async def _run(prepared: Prepared, on_record: Any, on_late_signal: Any,
               stopped_by: list[int] | None = None, on_start: Any = None) -> RunResult:
    """Run ``prepared``; a SIGINT or SIGTERM stops it, and ``stopped_by`` gets the signal
    (Ctrl-C exits 130, SIGTERM 143: a supervisor must tell the two apart)."""
    from aiperf.bench.client import Client, new_fresh_session, new_session
    from aiperf.bench.payloads import endpoint_url
    from aiperf.bench.runner import Runner

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = stopped_by if stopped_by is not None else []

    def stop_by(sig: int) -> None:
        signals.append(sig)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop_by, sig)
    try:
        async with _endpoint(prepared) as base_url:
            target = attrs.evolve(prepared.target,
                                  url=endpoint_url(base_url, prepared.target.endpoint_type))
            cap = prepared.plan.in_flight_cap or 0  # 0: no limit (uncapped request rate)
            async with new_session(cap) as session, new_fresh_session() as fresh:
                prompts, calibration = await _sized_prompts(prepared, fresh, base_url)
                client = Client(session, target.timeout_s, prepared.count_tokens, fresh=fresh,
                                notify=log.warning, secrets=target.secrets)
                runner = Runner(prepared.plan, target, prompts, client, on_record, on_start)
                try:
                    result = await runner.run(stop)
                finally:
                    client.watch.closing()
                return attrs.evolve(
                    result, connections=client.watch.health(),
                    prompt_sizing=None if calibration is None else calibration.to_json())
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
            # Straight away: asyncio just put back the handler that raises
            # KeyboardInterrupt, and the results are not written yet.
            signal.signal(sig, on_late_signal)


async def _sized_prompts(prepared: Prepared, session: Any,
                         base_url: str) -> tuple[Iterator[Prompt], Calibration | None]:
    """The run's prompts, sized against the server first when the configuration says so
    (the calibration's requests go on ``session`` and are not part of the results)."""
    if prepared.unsized is None:
        return prepared.prompts, prepared.calibration
    from aiperf.bench.calibrate import CALIBRATION_TIMEOUT_S, calibrate
    from aiperf.bench.client import post_json
    from aiperf.config.redaction import scrub

    target = prepared.target

    async def post(url: str, body: Any) -> tuple[int, Any]:
        return await post_json(session, url, body, target.headers, CALIBRATION_TIMEOUT_S)

    calibration = await calibrate(prepared.prompt_sizing, post, base_url, target.endpoint_type,
                                  target.model, target.extra_inputs, prepared.unsized.seed)
    sizer = calibration.sizer
    log.info("prompt sizing: %s, %.3f tokens per word + %g per prompt (%d calibration "
             "call(s), not part of the results)", calibration.method, sizer.tokens_per_word,
             sizer.overhead, len(calibration.requests))
    if calibration.note:
        # A fallback to built-in words leaves ISL off target; any other note is a detail.
        level = logging.WARNING if calibration.method == "builtin" else logging.INFO
        log.log(level, "prompt sizing: %s", scrub(calibration.note, target.secrets))
        calibration = attrs.evolve(calibration, note=scrub(calibration.note, target.secrets))
    return iter(attrs.evolve(prepared.unsized, sizer=sizer)), calibration


def _event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_profile(resolved: Resolved, output: Output,
                cells: Sequence[tuple[Cell, Resolved]] = (),
                resolve_cell: Callable[[Cell], Resolved] | None = None,
                servers: InProcessServers = NO_SERVERS) -> ProfileOutcome:
    """Run the benchmark ``resolved`` describes and write its artifacts; how it ended.

    ``cells`` are the sweep's cells, each resolved with its values as a layer of its
    own; with them, every cell runs into ``<base>/<cell>/`` and a sweep aggregate follows.
    ``resolve_cell`` resolves a cell chosen while running (an SLA search's probes).
    ``servers`` serve the URLs they claim (``sim://``) for each run, cell or probe, from
    that run's own URL. Auto-plot is the caller's: see :class:`ProfileOutcome`.
    """
    from aiperf.bench.search import RECIPE_SLAS

    cfg = resolved.config.benchmark
    for note in resolved.notes:
        log.info(note.message)
    if cells:
        return _sweep(resolved, cells, output, servers)
    if resolved.recipe is not None and resolved.recipe.name in RECIPE_SLAS \
            and resolve_cell is not None:
        return _sla_search(resolved, resolve_cell, output, servers)
    try:
        prepared = prepare(resolved, servers)
        if prepared.in_process_url is None:
            check_reachable(prepared.target.url)
        claim_run_dir(prepared.run_dir, resolved, output)
    except ProfileError as e:
        output.line(str(e), label="error:", style="red")
        return ProfileOutcome(e.exit_code)
    for warning in _not_yet_supported(resolved):
        log.warning(warning)

    plan = prepared.plan
    what = (f"{plan.request_count} requests" if plan.request_count is not None
            else f"{plan.duration_s:g} s")
    load = (f"request rate {plan.request_rate:g}/s" if plan.mode == "request_rate"
            else f"concurrency {plan.concurrency}")
    trials = cfg.runs.count
    output.line(f"profiling {cfg.endpoint.model} at {redact_url(cfg.endpoint.url)}: {load}, {what}"
                + (f", {trials} trials" if trials > 1 else ""))
    with _measuring() as loop:
        if trials == 1:
            # Decided before the run starts, so every run.json it writes carries it.
            code = _one_run(resolved, prepared, output, loop,
                            identity=RunIdentity(experiment_id=new_experiment_id()))
            # A run with no successful request finished too: auto-plot says there is
            # no data to plot (an error with --plot-required) before it exits 1.
            finished = _run_status(prepared.run_dir)[0] in ("complete", "no_success")
        else:
            code, finished = _trials(resolved, prepared, output, loop)
    # Only a finished run gets plots (a stopped one keeps its partial data); trials get
    # them once, for the whole experiment, when at least one trial succeeded. A breached
    # threshold plots first, then exits 3.
    return _ended(code, prepared.run_dir, finished)


def _ended(code: int, artifact_dir: Path, finished: bool) -> ProfileOutcome:
    """The outcome of a run that started: plots are due for ``artifact_dir`` when it
    ``finished`` and was not stopped."""
    plottable = finished and code not in STOP_CODES
    return ProfileOutcome(code, artifact_dir, artifact_dir if plottable else None)


@contextlib.contextmanager
def _measuring() -> Iterator[asyncio.AbstractEventLoop]:
    """The event loop runs go on, with the heap frozen and the signal handlers put back
    afterwards.

    Old objects are frozen out of the collector so a full collection cannot land in the
    middle of a measured phase as a latency spike (no collection first: it would cost
    every run ~25 ms to reclaim a few dozen objects of start-up garbage). Once a run has
    stopped its results are only being written: a second Ctrl-C (or a SIGTERM) must not
    lose them, so the runs' own handlers stay until the end, then the old ones return.
    """
    loop = _event_loop()
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    gc.freeze()
    try:
        yield loop
    finally:
        gc.unfreeze()
        loop.close()
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _one_run(resolved: Resolved, prepared: Prepared, output: Output,
             loop: asyncio.AbstractEventLoop, kind: RunKind = "single",
             identity: RunIdentity | None = None) -> int:
    """One measured run into ``prepared.run_dir``: its exit code (see :func:`_finish`), or
    1 when an artifact could not be written (one line naming the file).

    The records are streamed to the JSONL as they finish, under a ``run.json`` that says
    the process ended early until the finished run's manifest replaces it: a killed
    process leaves what it measured, and says so."""
    from aiperf.artifacts.atomic import ArtifactWriteError
    from aiperf.artifacts.manifest import export_names
    from aiperf.bench.console import RunProgress, progress_mode
    from aiperf.bench.export import new_benchmark_id
    from aiperf.bench.in_progress import mark_in_progress
    from aiperf.bench.record_writer import run_record_writer

    cfg = resolved.config.benchmark
    plan = prepared.plan
    progress = RunProgress(output, progress_mode(cfg.ui, output), plan.request_count,
                           plan.duration_s, loop)
    stopped_by: list[int] = []
    names = export_names(cfg.artifacts.export_prefix, cfg.artifacts.export_file)
    writer = run_record_writer(prepared.run_dir / names.records)
    # Each request's metrics are computed once, as it finishes: written to the JSONL and
    # added to the tally, then let go (a long run holds no records).
    tally = RunTally(streaming=prepared.target.streaming, slos=cfg.slos,
                     slice_duration_s=cfg.artifacts.slice_duration)

    def on_record(record: RequestRecord) -> None:
        progress.on_record(record)
        if record.phase != "profiling":
            tally.add_warmup()
            return
        item = tally.measure(record)
        writer.add(item)
        tally.add(item)

    def on_start(start_wall_ns: int) -> None:
        progress.profiling_started()
        tally.start(start_wall_ns)

    try:
        writer.start(loop)
        mark_in_progress(prepared.run_dir, names, new_benchmark_id(), kind, identity)
        with progress:
            result = loop.run_until_complete(
                _run(prepared, on_record, _finishing(output), stopped_by, on_start))
        writer.close()
        return _finish(resolved, prepared, result, tally, output, kind, identity, stopped_by)
    except ArtifactWriteError as e:
        with contextlib.suppress(ArtifactWriteError):
            writer.close()
        output.line(str(e), label="error:", style="red")
        return EXIT_FAILED


def _trials(resolved: Resolved, prepared: Prepared, output: Output,
            loop: asyncio.AbstractEventLoop,
            experiment: Experiment | None = None) -> tuple[int, bool]:
    """``runs.count`` trials under ``<run_dir>/profile_runs/trial_NNNN/``, then their
    aggregate under ``<run_dir>/aggregate/``. Warm-up requests go before the first trial
    only; ``runs.cooldown`` seconds pass between trials. A trial with no successful
    request is not a successful trial (it stays out of the aggregate, with its reason);
    a stop or an aborted trial ends the series. Returns the exit code (130/143 stopped, 1
    no trial succeeded, 3 a threshold failed in one, else 0) and whether at least one
    trial succeeded. ``experiment`` is the base's ``run.json`` (a
    sweep cell passes one with the sweep's id); a new experiment by default."""
    import time

    from aiperf.artifacts.atomic import write_text_atomic
    from aiperf.artifacts.manifest import read_run
    from aiperf.bench.aggregate import write_aggregate
    from aiperf.explain import RUN_EXPLAIN_FILE, explain_json

    cfg = resolved.config.benchmark
    base = prepared.run_dir
    experiment = experiment or Experiment(base)
    finished: list[str] = []
    stopped: dict[str, str | None] = {}  # trial -> why it is not in the aggregate
    code = EXIT_OK
    breached = False
    for number in range(1, cfg.runs.count + 1):
        name = f"trial_{number:04d}"
        if number > 1:
            if cfg.runs.cooldown > 0:
                time.sleep(cfg.runs.cooldown)
            # The same prompts again (a fresh iterator), without the warm-up.
            again = prepare(resolved, prepared.servers)
            prepared = attrs.evolve(again, plan=attrs.evolve(again.plan, warmup_count=0))
        experiment.add(f"profile_runs/{name}")
        trial = attrs.evolve(prepared, run_dir=make_run_dir(base / "profile_runs" / name))
        output.line(f"trial {number} of {cfg.runs.count}")
        code = _one_run(resolved, trial, output, loop, "trial",
                        experiment.run_identity(parent="../..", trial=number))
        status, reason = _run_status(base / "profile_runs" / name)
        breached = breached or code == EXIT_THRESHOLD
        if status == "complete":
            finished.append(name)  # a breached threshold does not unmake its data
        else:
            stopped[name] = reason or status  # no successful request is no successful trial
        if code in STOP_CODES or status == "aborted":
            break  # stopped, or the server is gone: no more trials, but the aggregate
    trial_names = finished + list(stopped)
    summaries = [read_run(base / "profile_runs" / n).summary() for n in finished]
    if summaries:
        experiment.add("aggregate", "aggregate")
        paths = write_aggregate(base / "aggregate", finished, summaries,
                                cfg.runs.confidence_level, failed_trials=stopped)
        output.line(f"aggregate of {len(finished)} trial(s) "
                    f"({cfg.runs.confidence_level:.0%} confidence): {paths['json']}")
    # The experiment explains itself too: `aiperf config explain <base>`.
    experiment.add(RUN_EXPLAIN_FILE, "explain")
    write_text_atomic(base / RUN_EXPLAIN_FILE, explain_json(resolved))
    experiment.finish(stopped=code in STOP_CODES)
    output.line(f"{len(trial_names)} trial(s) under {base / 'profile_runs'}")
    output.line(f"Artifacts: {base}")
    if code not in STOP_CODES:
        code = EXIT_FAILED if not finished else EXIT_THRESHOLD if breached else EXIT_OK
    return code, bool(finished)


#: Why a planned cell has no results when the sweep was stopped before it started.
NOT_RUN_REASON = "the sweep was stopped before it started"


def sweep_summary_line(results: Sequence[Any]) -> str:
    """The console's one line about how a sweep's cells went, e.g. ``sweep: 1 of 3 cells
    succeeded; not: concurrency4 (stopped by the user); not run: concurrency8``. Cells a
    stopped sweep never started are named apart, so the line says the sweep is unfinished
    rather than lumping them with cells that ran and failed."""
    good = [r.name for r in results if r.status == "complete"]
    bad = [f"{r.name} ({r.reason})" for r in results
           if r.status not in ("complete", "not_run")]
    not_run = [r.name for r in results if r.status == "not_run"]
    return (f"sweep: {len(good)} of {len(results)} cells succeeded"
            + (f"; not: {', '.join(bad)}" if bad else "")
            + (f"; not run: {', '.join(not_run)}" if not_run else ""))


def sweep_directory(resolved: Resolved) -> Path:
    """The base directory of a sweep or recipe: the resolved run directory, which the
    ``run-dir`` rules name after the experiment (``<dir>/<model>-<recipe>``,
    ``<dir>/<model>-sweep-<what varies>``), not its first cell."""
    return run_directory(resolved)


def _sweep(resolved: Resolved, cells: Sequence[tuple[Cell, Resolved]],
           output: Output, servers: InProcessServers) -> ProfileOutcome:
    """Every cell into ``<base>/<cell>/`` (trials inside it when ``runs.count`` > 1),
    then ``<base>/sweep_aggregate/``. A cell that cannot run or has no successful
    request is marked failed, one whose error rate is above ``max_error_rate`` degraded,
    and the sweep goes on; the exit code is 0 when at least one cell ran (a sweep of
    degraded cells only says its results are not trustworthy), 3 when a threshold failed
    in any run of it (after auto-plot), 1 when no cell ran, 130 / 143 when Ctrl-C /
    SIGTERM stopped it."""
    from aiperf.artifacts.atomic import write_text_atomic
    from aiperf.artifacts.names import SWEEP_DIR
    from aiperf.bench.degraded import percent
    from aiperf.bench.sweep_aggregate import CellResult, write_sweep_aggregate
    from aiperf.explain import RUN_EXPLAIN_FILE, explain_json

    cfg = resolved.config.benchmark
    base = sweep_directory(resolved)
    try:
        prepared_cells = []
        for cell, cell_resolved in cells:
            prepared = attrs.evolve(prepare(cell_resolved, servers), run_dir=base / cell.name)
            prepared_cells.append((cell, cell_resolved, prepared))
        for url in {p.target.url for _, _, p in prepared_cells if p.in_process_url is None}:
            check_reachable(url)
        claim_run_dir(base, resolved, output)
    except ProfileError as e:
        output.line(str(e), label="error:", style="red")
        return ProfileOutcome(e.exit_code)
    experiment = Experiment(base)
    output.line(f"sweep ({cfg.sweep.type if cfg.sweep.scenarios is None else 'scenarios'}): "
                f"{len(cells)} cells into {base}")
    results: list[CellResult] = []
    stopped = breached = False
    stop_code = EXIT_INTERRUPTED
    with _measuring() as loop:
        for cell, cell_resolved, prepared in prepared_cells:
            if stopped:
                break
            described = ", ".join(f"{k} = {v}" for k, v in cell.values.items())
            output.line(f"cell {cell.name}: {described}")
            experiment.add(cell.name)
            make_run_dir(prepared.run_dir)
            if cell_resolved.config.benchmark.runs.count > 1:
                # The cell is the base of its trials, under the sweep's experiment id.
                code, _ = _trials(cell_resolved, prepared, output, loop, Experiment(
                    prepared.run_dir, experiment.experiment_id,
                    RunIdentity(parent="..", cell=cell.name)))
            else:
                code = _one_run(cell_resolved, prepared, output, loop, "cell",
                                experiment.run_identity(parent="..", cell=cell.name))
            stopped = code in STOP_CODES
            stop_code = code if stopped else stop_code
            breached = breached or code == EXIT_THRESHOLD
            results.append(_cell_result(cell, prepared.run_dir, code,
                                        cfg.search.max_error_rate))
    # A stopped sweep still accounts for every planned cell: the ones it never reached
    # are listed as not run, so the aggregate cannot pass for a smaller, finished sweep.
    results += [CellResult(cell.name, cell.values, "not_run", NOT_RUN_REASON, None)
                for cell, _, _ in prepared_cells[len(results):]]
    sweep_type = cfg.sweep.type if cfg.sweep.scenarios is None else "scenarios"
    experiment.add(SWEEP_DIR, "aggregate")
    paths = write_sweep_aggregate(base / SWEEP_DIR, sweep_type, results)
    if resolved.recipe is not None:
        _conclude(resolved, results, base / SWEEP_DIR, output)
    experiment.add(RUN_EXPLAIN_FILE, "explain")
    write_text_atomic(base / RUN_EXPLAIN_FILE, explain_json(resolved))
    experiment.finish(stopped)
    output.line(sweep_summary_line(results) + f"; aggregate: {paths['json']}")
    output.line(f"Artifacts: {base}")
    if stopped:
        return ProfileOutcome(stop_code, base)
    if not any(r.status in ("complete", "degraded") for r in results):
        output.line("no cell of the sweep succeeded", label="error:", style="red")
        return ProfileOutcome(EXIT_FAILED, base)
    if not any(r.status == "complete" for r in results):
        # Degraded cells did run and their numbers are kept, so this is no failure to
        # run; but nothing measured here can be trusted, and the user must hear it.
        output.line(f"no cell is complete: every cell that ran is degraded (error rate > "
                    f"{percent(cfg.search.max_error_rate)}); the sweep's results are not "
                    "trustworthy", label="warning:", style="yellow")
    if breached:
        output.line("a threshold failed in at least one run (see each run's run.json)",
                    label="thresholds:", style="red")
    return _ended(EXIT_THRESHOLD if breached else EXIT_OK, base, True)


#: The settings a dry run lists for each run: what decides its load and its requests.
_DRY_RUN_KEYS = (
    "benchmark.endpoint.url", "benchmark.endpoint.type", "benchmark.endpoint.model",
    "benchmark.endpoint.streaming", "benchmark.load.concurrency", "benchmark.load.request_rate",
    "benchmark.load.request_count", "benchmark.load.duration", "benchmark.dataset.isl.mean",
    "benchmark.dataset.osl.mean", "benchmark.runs.count",
)


def dry_run_listing(resolved: Resolved, cells: Sequence[tuple[Cell, Resolved]]) -> str:
    """What ``--dry-run`` prints: each run's directory and resolved settings, with the
    rule that decided every value a sweep cell changed."""
    from aiperf.config.resolve import show
    from aiperf.explain import shown

    def settings(r: Resolved, changed: Sequence[str] = ()) -> list[str]:
        lines = []
        for key in _DRY_RUN_KEYS:
            why = f"  [{r.provenance[key].rule.id}]" if key in changed else ""
            lines.append(f"    {key:<34} {show(shown(key, r.value(key)))}{why}")
        return lines

    if not cells:
        return "\n".join([f"1 run into {run_directory(resolved)} (nothing is swept)",
                          *settings(resolved)])
    base = sweep_directory(resolved)
    out = [f"{len(cells)} cells into {base}:"]
    for cell, cell_resolved in cells:
        out.append(f"  {cell.name}/")
        out += settings(cell_resolved, tuple(cell.values))
    return "\n".join(out)


class _Stopped(Exception):
    """The user stopped a search between or during probes; ``code`` is 130 or 143."""

    def __init__(self, code: int = EXIT_INTERRUPTED) -> None:
        super().__init__(code)
        self.code = code


def _sla_search(resolved: Resolved, resolve_cell: Callable[[Cell], Resolved],
                output: Output, servers: InProcessServers) -> ProfileOutcome:
    """An SLA search: probes (each a cell ``concurrency<N>``) chosen by
    :func:`aiperf.bench.search.search`, then ``search_history.json``, the sweep aggregate
    and ``sweep_aggregate/<recipe>.json`` with the answer."""
    import json

    from aiperf.artifacts.atomic import write_text_atomic
    from aiperf.artifacts.names import SWEEP_DIR
    from aiperf.bench import search as sla
    from aiperf.bench.sweep_aggregate import write_sweep_aggregate
    from aiperf.config.sweep import log_grid
    from aiperf.explain import RUN_EXPLAIN_FILE, explain_json

    assert resolved.recipe is not None
    recipe = resolved.recipe.name
    cfg = resolved.config.benchmark
    search = cfg.search
    slas = {name: getattr(search, name) for name in sla.RECIPE_SLAS[recipe]
            if getattr(search, name) is not None}
    extra: dict[str, Any] = {}
    if recipe == "max-goodput-under-slo":
        # Each probe counts its good requests against the SLAs as goodput SLOs, and the
        # search judges the share of them.
        extra["benchmark.slos"] = {sla.GOODPUT_SLOS[n]: v for n, v in slas.items()}
        slas = {"attainment": search.slo_attainment_fraction}
    # The recipe's settings (rules/recipes.yaml) give every bound the search needs, and
    # no source can unset a setting.
    low, high, steps = search.concurrency_min, search.concurrency_max, search.concurrency_steps
    assert low is not None and high is not None and steps is not None
    base = sweep_directory(resolved)
    try:
        first = prepare(resolved, servers)
        if first.in_process_url is None:
            check_reachable(first.target.url)
        claim_run_dir(base, resolved, output)
    except ProfileError as e:
        output.line(str(e), label="error:", style="red")
        return ProfileOutcome(e.exit_code)
    experiment = Experiment(base)
    how = ("every point of a log-spaced grid" if search.search_style == "grid"
           else f"probe, then bisect; at most {sla.PROBE_BUDGET} probes")
    output.line(f"{recipe}: searching concurrency {low}..{high} ({how})")
    results: list[Any] = []
    loop: asyncio.AbstractEventLoop | None = None

    def probe(concurrency: int) -> dict[str, Any] | None:
        cell = Cell(sla.probe_name(concurrency),
                    {"benchmark.load.concurrency": concurrency, **extra})
        cell_resolved = resolve_cell(cell)
        prepared = attrs.evolve(prepare(cell_resolved, servers), run_dir=base / cell.name)
        experiment.add(cell.name)
        make_run_dir(prepared.run_dir)
        output.line(f"probe concurrency {concurrency}")
        assert loop is not None
        code = _one_run(cell_resolved, prepared, output, loop, "cell",
                        experiment.run_identity(parent="..", cell=cell.name))
        results.append(_cell_result(cell, prepared.run_dir, code, search.max_error_rate))
        if code in STOP_CODES:
            raise _Stopped(code)
        return _cell_summary(prepared.run_dir)

    stopped, stop_code = False, EXIT_INTERRUPTED
    try:
        with _measuring() as loop:
            if search.search_style == "grid":
                grid = log_grid(low, high, steps)
                history = sla.grid_search(probe, grid, slas,
                                          max_error_rate=search.max_error_rate)
            else:
                history = sla.search(probe, low, high, slas,
                                     max_error_rate=search.max_error_rate)
    except _Stopped as e:
        stopped, stop_code = True, e.code
        history = []
    folder = base / SWEEP_DIR
    experiment.add(SWEEP_DIR, "aggregate")
    write_sweep_aggregate(folder, "search", results)
    experiment.add(RUN_EXPLAIN_FILE, "explain")
    write_text_atomic(base / RUN_EXPLAIN_FILE, explain_json(resolved))
    if stopped:
        experiment.finish(stopped=True)
        output.line(f"Artifacts: {base}")
        return ProfileOutcome(stop_code, base)
    experiment.add("search_history.json", "search_history")
    write_text_atomic(base / "search_history.json",
                      json.dumps(sla.history_json(history), indent=2) + "\n")
    experiment.finish(stopped=False)
    result, sentence = sla.conclude(recipe, history, slas, low, high, search.max_error_rate)
    write_text_atomic(folder / f"{recipe}.json", json.dumps(result, indent=2) + "\n")
    output.line(sentence)
    output.line(f"Artifacts: {base}")
    return _ended(EXIT_OK, base, True)


def _conclude(resolved: Resolved, results: Sequence[Any], folder: Path, output: Output) -> None:
    """A curve recipe's answer: ``<folder>/<recipe>.json`` and one sentence."""
    import json

    from aiperf.artifacts.atomic import write_text_atomic
    from aiperf.bench.curves import conclude
    from aiperf.bench.sweep_aggregate import pareto_cells, sweep_table
    from aiperf.config.sweep import DIMENSIONS

    assert resolved.recipe is not None
    name = resolved.recipe.name
    rows = sweep_table(results)
    frontier = set(pareto_cells(results))
    for row, cell in zip(rows, results, strict=True):
        # The analyses read each swept dimension by its recipe name (isl, not mean).
        row.update({dim: cell.values[key] for dim, key in DIMENSIONS.items()
                    if key in cell.values})
        row["pareto_optimal"] = cell.name in frontier
    found = conclude(name, rows, resolved.config.benchmark.search)
    if found is None:
        return
    result, sentence = found
    write_text_atomic(folder / f"{name}.json",
                      json.dumps({"recipe": name, "answer": sentence, **result}, indent=2,
                                 default=str) + "\n")
    output.line(sentence)


def _cell_result(cell: Cell, run_dir: Path, code: int, max_error_rate: float) -> Any:
    """How one cell went, with its summary (the trials' means when it ran trials): a cell
    with successful requests but an error rate above ``max_error_rate`` is degraded."""
    from aiperf.bench.degraded import degraded_reason
    from aiperf.bench.sweep_aggregate import CellResult

    if code in STOP_CODES:
        return CellResult(cell.name, cell.values, "partial", "stopped by the user", None)
    status, reason = _run_status(run_dir)
    if status == "aborted":
        return CellResult(cell.name, cell.values, "failed", reason or "aborted",
                          _cell_summary(run_dir))
    summary = _cell_summary(run_dir)
    if summary is None:
        return CellResult(cell.name, cell.values, "failed", "no results", None)
    count = summary.get("request_count")
    ok = isinstance(count, dict) and (count.get("avg") or 0) > 0
    if not ok:
        return CellResult(cell.name, cell.values, "failed", "no successful requests", summary)
    degraded = degraded_reason(summary, max_error_rate)
    if degraded is not None:
        return CellResult(cell.name, cell.values, "degraded", degraded, summary)
    return CellResult(cell.name, cell.values, "complete", None, summary)


def _run_status(run_dir: Path) -> tuple[str | None, str | None]:
    """The status and reason ``run.json`` in ``run_dir`` records; Nones when there is none
    (a cell of trials: its base holds no single run's status)."""
    from aiperf.artifacts.manifest import read_run

    try:
        manifest = read_run(run_dir).manifest
    except (OSError, ValueError):
        return None, None
    return manifest.status, manifest.partial_reason


def _cell_summary(run_dir: Path) -> dict[str, Any] | None:
    import json

    from aiperf.artifacts.manifest import read_run
    from aiperf.bench.aggregate import AGGREGATE_JSON

    aggregate = run_dir / "aggregate" / AGGREGATE_JSON
    if aggregate.is_file():
        # Trials: each metric's statistics are the trials' means.
        metrics = json.loads(aggregate.read_text(encoding="utf-8"))["metrics"]
        summary: dict[str, Any] = {}
        for key, entry in metrics.items():
            tag, _, stat = key.rpartition("_")
            summary.setdefault(tag, {"unit": entry.get("unit")})[stat] = entry["mean"]
        return summary
    try:
        return read_run(run_dir).summary()
    except (OSError, ValueError):
        return None


def _finishing(output: Output) -> Any:
    told: list[bool] = []

    def handler(signum: int, frame: Any) -> None:
        # Say it once; printing from a signal handler on every press could stall the
        # very writing the user is waiting for.
        if not told:
            told.append(True)
            output.line("writing the results of the stopped run; one moment")

    return handler


def _not_yet_supported(resolved: Resolved) -> list[str]:
    """Settings the profile command accepts but cannot act on yet, said out loud."""
    cfg = resolved.config.benchmark
    out = []
    if cfg.search.recipe is not None:
        # Curve recipes run as grids (they never get here: a grid has cells); the
        # searches do not run yet.
        out.append(f"search recipe {cfg.search.recipe} does not run yet: this is a single "
                   "run with the resolved settings")
    return out


def _finish(resolved: Resolved, prepared: Prepared, result: RunResult, tally: RunTally,
            output: Output, kind: RunKind = "single",
            identity: RunIdentity | None = None, stopped_by: Sequence[int] = ()) -> int:
    """Compute the metrics, judge the run (status, thresholds), write the artifacts and
    print the summary; the exit code (:func:`aiperf.bench.outcome.exit_code`)."""
    from aiperf.artifacts.manifest import export_names
    from aiperf.bench.console import print_summary
    from aiperf.bench.export import RunExport, export_run, new_benchmark_id
    from aiperf.bench.metrics import RunFacts
    from aiperf.bench.outcome import exit_code, run_status
    from aiperf.bench.thresholds import breached, evaluate
    from aiperf.explain import RUN_EXPLAIN_FILE, explain_json, explain_yaml, redacted_values

    cfg = resolved.config.benchmark
    plan = prepared.plan

    # One core fully busy is 1.0: an asyncio client cannot use more than one.
    cpu_fraction = result.cpu_s / result.wall_s if result.wall_s > 0 else None
    facts = RunFacts(
        start_wall_ns=result.start_wall_ns,
        end_wall_ns=result.end_wall_ns,
        streaming=prepared.target.streaming,
        slos=cfg.slos,
        requested_request_rate=plan.request_rate,
        loop_lag_ms=result.loop_lag_ms,
        client_cpu_fraction=cpu_fraction,
        connections=result.connections,
    )
    metrics = tally.finish(facts)
    if metrics.timeslice_error is not None:
        # A slice duration far too small for this run must not cost the run its results.
        log.warning("no timeslice export: %s", metrics.timeslice_error)
    status, reason = run_status(result.status, result.reason, metrics)
    if status == "partial" and signal.SIGTERM in stopped_by[:1]:
        reason = "stopped by SIGTERM"
    thresholds = evaluate(cfg.thresholds or (), metrics)
    run_dir = prepared.run_dir
    export = RunExport(
        benchmark_id=new_benchmark_id(),
        input_config=redacted_values(resolved),
        names=export_names(cfg.artifacts.export_prefix, cfg.artifacts.export_file),
        resolved_config_yaml=explain_yaml(resolved),
        status=status,  # type: ignore[arg-type]
        partial_reason=reason,
        was_cancelled=status == "partial",
        thresholds=[t.to_json() for t in thresholds],
        extra_files={RUN_EXPLAIN_FILE: (explain_json(resolved), "explain")},
        prompt_sizing=result.prompt_sizing,
        kind=kind,
        # A single run is an experiment of its own, with an id no other run shares.
        identity=identity or RunIdentity(experiment_id=new_experiment_id()),
    )
    export_run(run_dir, metrics, export)
    print_summary(output, metrics, str(run_dir), status, reason, thresholds)
    return exit_code(status, bool(breached(thresholds)), stopped_by)

