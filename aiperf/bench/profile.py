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
import itertools
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

import attrs

from aiperf.artifacts.manifest import RunIdentity
from aiperf.bench.calibrate import Calibration
from aiperf.bench.dataset import (
    Conversation,
    DatasetError,
    Prompt,
)
from aiperf.bench.event_loop import (
    EventLoopUnavailable,
    choose,
    describe_running_loop,
    new_event_loop,
)
from aiperf.bench.experiment import new_experiment_id
from aiperf.bench.outcome import (
    EXIT_FAILED,
    STOP_CODES,
)
from aiperf.bench.output import Output
from aiperf.bench.runner import RunResult, Target
from aiperf.bench.schedule import LoadPlan
from aiperf.bench.tokenizer import Tokenizer, TokenizerError, load_tokenizer
from aiperf.bench.workload import Sizable, build_workload
from aiperf.config.model import Benchmark
from aiperf.config.provenance import Resolved
from aiperf.config.redaction import redact_url, resolved_secrets
from aiperf.config.sweep import Cell

if TYPE_CHECKING:
    from aiperf.bench.telemetry_run import RunTelemetry

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

    def dcgm_url(self, url: str, base_url: str) -> str | None:
        """The DCGM-exporter URL of the GPUs a claimed ``url`` simulates, served at
        ``base_url``; None when it simulates none."""
        ...


class _NoServers:
    """No server in this process: every URL is sent to as configured."""

    def claims(self, url: str) -> bool:
        return False

    def check(self, url: str) -> None:
        raise ValueError("no server of this process serves it")

    def open(self, url: str) -> AbstractAsyncContextManager[str]:
        raise ValueError(f"no server of this process serves {url}")

    def dcgm_url(self, url: str, base_url: str) -> str | None:
        return None


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
    unsized: Sizable | None = attrs.field(default=None, repr=False)
    prompt_sizing: str = "builtin"
    #: How ``prompts`` were sized when that needed no server (None: from a file, or unsized).
    calibration: Calibration | None = None
    #: Who serves ``in_process_url`` (handed in from above; see :class:`InProcessServers`).
    servers: InProcessServers = attrs.field(default=NO_SERVERS, repr=False)
    #: The settings of what the run reads besides its requests (server metrics, GPUs).
    settings: Benchmark | None = attrs.field(default=None, repr=False)
    #: A file's conversations (``--custom-dataset-type multi_turn``), one per session.
    conversations: tuple[Conversation, ...] | None = attrs.field(default=None, repr=False)
    #: Every configured endpoint URL, ``target.url`` first (a repeated --url).
    endpoints: tuple[str, ...] = attrs.field(default=(), repr=False)
    #: A distributed run's worker: (its index, the number of workers); (0, 1) otherwise.
    shard: tuple[int, int] = (0, 1)
    #: The client's event loop (:func:`aiperf.bench.event_loop.choose` of the setting).
    event_loop: str = "asyncio"

    @property
    def remote_urls(self) -> tuple[str, ...]:
        """The endpoints no server of this process serves: to be reached before the run."""
        return tuple(u for u in self.endpoints or (self.target.url,)
                     if not self.servers.claims(u))


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
    event_loop = event_loop_of(resolved)
    try:
        count = load_tokenizer(cfg.tokenizer)
    except TokenizerError as e:
        raise ProfileError(str(e)) from None
    try:
        work = build_workload(cfg, count)
    except DatasetError as e:
        raise ProfileError(str(e)) from None
    prompts, unsized, calibration = work.prompts, work.unsized, work.calibration
    conversations = work.conversations
    plan = work.plan
    from aiperf.bench.payloads import base_headers

    headers = base_headers(api_key=ep.api_key, headers=ep.headers)
    endpoints = (ep.url, *(ep.extra_urls or ()))
    for url in endpoints:
        _check_endpoint(url, servers, headers)
    twice = sorted({redact_url(u) for u in endpoints if endpoints.count(u) > 1})
    if twice:
        raise ProfileError(f"--url {twice[0]} is given twice; each endpoint once (its "
                           "requests and summary are its own)")
    in_process_url = ep.url if servers.claims(ep.url) else None
    if cfg.scale.backend == "ray":
        _check_scale(cfg, plan)
    target = Target(
        url=ep.url,
        endpoint_type=ep.type,
        model=ep.model,
        streaming=ep.streaming,
        headers=headers,
        extra_inputs=ep.extra_inputs,
        timeout_s=ep.timeout,
        secrets=resolved_secrets(resolved.values()),
        labels=tuple(redact_url(u) for u in endpoints) if len(endpoints) > 1 else (),
        url_strategy=ep.url_strategy,
    )
    return Prepared(plan, target, prompts, count, run_directory(resolved), in_process_url,
                    unsized, cfg.prompt_sizing, calibration, servers, cfg, conversations,
                    endpoints, event_loop=event_loop)


def _check_scale(cfg: Benchmark, plan: LoadPlan) -> None:
    """A :class:`ProfileError` (exit 2) for a distributed run that cannot start: Ray is
    not installed, or the plan has no end to split among workers."""
    from aiperf.scale.driver import RAY_EXTRA_HINT, ray_available
    from aiperf.scale.shard import ShardError, shard_plan

    if not ray_available():
        raise ProfileError(f"--workers {cfg.scale.workers} runs on Ray, which is not "
                           f"installed: {RAY_EXTRA_HINT}")
    try:
        shard_plan(plan, cfg.scale.workers)
    except ShardError as e:
        raise ProfileError(f"--workers {cfg.scale.workers}: {e}") from None


def _check_endpoint(url: str, servers: InProcessServers, headers: Mapping[str, str]) -> None:
    """A :class:`ProfileError` (exit 2) naming what is wrong with one ``--url``."""
    if servers.claims(url):
        try:
            servers.check(url)
        except ValueError as e:
            raise ProfileError(f"--url {url}: {e}") from None
        return
    http_host_port(url)  # a malformed host or port is a mistake in the input
    if urlsplit(url).username is not None and any(
            k.lower() == "authorization" for k in headers):
        # HTTP has one Authorization header: aiohttp would refuse every request.
        raise ProfileError(f"--url {redact_url(url)} carries credentials and an "
                           "Authorization header is set too (--api-key or --header); "
                           "keep one of them")


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
async def open_endpoints(prepared: Prepared) -> AsyncIterator[tuple[str, ...]]:
    """The base URLs to send to, one per configured endpoint: an in-process server's (a
    fresh one for every run), or the configured one."""
    async with contextlib.AsyncExitStack() as stack:
        bases = []
        for url in prepared.endpoints or (prepared.target.url,):
            if prepared.servers.claims(url):
                url = await stack.enter_async_context(prepared.servers.open(url))
            bases.append(url)
        yield tuple(bases)


async def run_prepared(prepared: Prepared, on_record: Any, on_late_signal: Any,
               stopped_by: list[int] | None = None, on_start: Any = None) -> RunResult:
    """Run ``prepared``; a SIGINT or SIGTERM stops it, and ``stopped_by`` gets the signal
    (Ctrl-C exits 130, SIGTERM 143: a supervisor must tell the two apart)."""
    stop = asyncio.Event()
    with stop_on_signals(stop, stopped_by if stopped_by is not None else [], on_late_signal):
        async with open_endpoints(prepared) as base_urls:
            return await drive_load(prepared, base_urls, stop, on_record, on_start,
                                    run_telemetry(prepared, base_urls))


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event, signals: list[int],
                    on_late_signal: Any) -> Iterator[None]:
    """While the block runs, a SIGINT or SIGTERM sets ``stop`` and is appended to
    ``signals``; after it, ``on_late_signal`` handles them (the results are being
    written)."""
    loop = asyncio.get_running_loop()

    def stop_by(sig: int) -> None:
        signals.append(sig)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop_by, sig)
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
            # Straight away: asyncio just put back the handler that raises
            # KeyboardInterrupt, and the results are not written yet.
            signal.signal(sig, on_late_signal)


async def drive_load(prepared: Prepared, base_urls: Sequence[str], stop: asyncio.Event,
                     on_record: Any, on_start: Any = None,
                     telemetry: RunTelemetry | None = None,
                     start_perf_ns: int | None = None,
                     before_start: Callable[[], Awaitable[None]] | None = None
                     ) -> RunResult:
    """The load itself, sent to ``base_urls`` until done or ``stop``: this process's run,
    and every Ray worker's shard of a distributed one (``prepared.shard``: the worker
    takes every k-th prompt and conversation of the global stream, starting at its own
    index). ``telemetry`` collectors, when given, read the server beside it."""
    from aiperf.bench.client import Client, new_fresh_session, new_session
    from aiperf.bench.payloads import endpoint_url
    from aiperf.bench.runner import Runner

    loop = asyncio.get_running_loop()
    # Prompt sizing and telemetry ask the first endpoint: they serve one model.
    base_url = base_urls[0]
    kind = prepared.target.endpoint_type
    target = attrs.evolve(prepared.target, url=endpoint_url(base_url, kind),
                          urls=tuple(endpoint_url(b, kind) for b in base_urls)
                          if len(base_urls) > 1 else ())
    index, count = prepared.shard
    cap = prepared.plan.in_flight_cap or 0  # 0: no limit (uncapped request rate)
    async with new_session(cap) as session, new_fresh_session() as fresh:
        for each in (session, fresh):
            each.ready_for(target.urls or (target.url,))
        prompts, calibration = await _sized_prompts(prepared, fresh, base_url)
        talks = None
        if prepared.conversations is not None:
            talks = itertools.cycle(prepared.conversations[index::count]
                                    or prepared.conversations)
        if count > 1:
            prompts = itertools.islice(prompts, index, None, count)
        # The first prompt is drawn now: building the word pool it draws from takes a
        # while, and it must not make the first requests late.
        prompts = itertools.chain(itertools.islice(prompts, 1), prompts)
        client = Client(session, target.timeout_s, prepared.count_tokens, fresh=fresh,
                        notify=log.warning, secrets=target.secrets)
        runner = Runner(prepared.plan, target, prompts, client, on_record, on_start, talks)
        if telemetry is not None:
            # Probing and starting the collectors may block briefly: off the loop.
            await loop.run_in_executor(None, telemetry.start)
        if before_start is not None:
            await before_start()
        try:
            result = await runner.run(stop, start_perf_ns)
        finally:
            client.watch.closing()
            collected = (None if telemetry is None
                         else await loop.run_in_executor(None, telemetry.stop))
        asked = None if prepared.settings is None else prepared.settings.event_loop
        return attrs.evolve(
            result, connections=client.watch.health(),
            prompt_sizing=None if calibration is None else calibration.to_json(),
            telemetry=collected, event_loop=describe_running_loop(asked))


def run_telemetry(prepared: Prepared, base_urls: Sequence[str]) -> RunTelemetry:
    """The collectors of server metrics and GPU telemetry the settings ask for, reading
    every endpoint's /metrics (``base_urls``, the first endpoint's first)."""
    from aiperf.bench.telemetry_run import RunTelemetry, TelemetryPlan, plan_telemetry

    if prepared.settings is None:
        return RunTelemetry(TelemetryPlan(), log.warning)
    base_url = base_urls[0]
    dcgm = (None if prepared.in_process_url is None
            else prepared.servers.dcgm_url(prepared.in_process_url, base_url))
    return RunTelemetry(plan_telemetry(prepared.settings, base_url, dcgm, base_urls[1:]),
                        _telemetry_warning)


def _telemetry_warning(message: str) -> None:
    log.warning("telemetry: %s", message)


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


def event_loop_of(resolved: Resolved) -> str:
    """The event loop the resolved ``benchmark.event_loop`` gets on this machine; a
    :class:`ProfileError` naming where uvloop was asked for when it is not installed."""
    try:
        return choose(resolved.config.benchmark.event_loop)
    except EventLoopUnavailable as e:
        origin = resolved.provenance["benchmark.event_loop"].origin.describe()
        raise ProfileError(f"benchmark.event_loop is uvloop ({origin}), but {e}") from None


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
    cfg = resolved.config.benchmark
    for note in resolved.notes:
        log.info(note.message)
    if cells:
        from aiperf.bench.sweep_run import run_sweep

        return run_sweep(resolved, cells, output, servers)
    recipe = resolved.recipe
    if recipe is not None and recipe.family == "sla-search" and resolve_cell is not None:
        from aiperf.bench.search_run import run_sla_search

        return run_sla_search(resolved, resolve_cell, output, servers)
    try:
        prepared = prepare(resolved, servers)
        for url in prepared.remote_urls:
            check_reachable(url)
        claim_run_dir(prepared.run_dir, resolved, output)
    except ProfileError as e:
        output.line(str(e), label="error:", style="red")
        return ProfileOutcome(e.exit_code)
    for warning in _not_yet_supported(resolved):
        log.warning(warning)

    plan = prepared.plan
    what = (f"{plan.request_count} requests" if plan.request_count is not None
            else f"{plan.duration_s:g} s" if plan.duration_s is not None
            else "until every session is done" if plan.sessions is not None
            else f"{len(plan.schedule or ())} requests")
    load = (f"request rate {plan.request_rate:g}/s" if plan.mode == "request_rate"
            else "a trace on its timestamps" if plan.mode == "fixed_schedule"
            else f"{plan.sessions.count} sessions, {plan.concurrency} at a time"
            if plan.sessions is not None else f"concurrency {plan.concurrency}")
    trials = cfg.runs.count
    where = ", ".join(redact_url(u) for u in prepared.endpoints)
    if len(prepared.endpoints) > 1:
        where += f" ({cfg.endpoint.url_strategy.replace('_', ' ')})"
    output.line(f"profiling {cfg.endpoint.model} at {where}: {load}, {what}"
                + (f", {trials} trials" if trials > 1 else ""))
    from aiperf.bench.cells import run_status_of
    from aiperf.bench.one_run import one_run
    from aiperf.bench.trials import run_trials

    with measuring(prepared.event_loop) as loop:
        if trials == 1:
            # Decided before the run starts, so every run.json it writes carries it.
            code = one_run(resolved, prepared, output, loop,
                           identity=RunIdentity(experiment_id=new_experiment_id()))
            # A run with no successful request finished too: auto-plot says there is
            # no data to plot (an error with --plot-required) before it exits 1.
            finished = run_status_of(prepared.run_dir)[0] in ("complete", "no_success")
        else:
            code, finished = run_trials(resolved, prepared, output, loop)
    # Only a finished run gets plots (a stopped one keeps its partial data); trials get
    # them once, for the whole experiment, when at least one trial succeeded. A breached
    # threshold plots first, then exits 3.
    return ended(code, prepared.run_dir, finished)


def ended(code: int, artifact_dir: Path, finished: bool) -> ProfileOutcome:
    """The outcome of a run that started: plots are due for ``artifact_dir`` when it
    ``finished`` and was not stopped."""
    plottable = finished and code not in STOP_CODES
    return ProfileOutcome(code, artifact_dir, artifact_dir if plottable else None)


@contextlib.contextmanager
def measuring(event_loop: str) -> Iterator[asyncio.AbstractEventLoop]:
    """The event loop runs go on (``event_loop`` names its kind, see
    :func:`event_loop_of`), with the heap frozen and the signal handlers put back
    afterwards.

    Old objects are frozen out of the collector so a full collection cannot land in the
    middle of a measured phase as a latency spike (no collection first: it would cost
    every run ~25 ms to reclaim a few dozen objects of start-up garbage). Once a run has
    stopped its results are only being written: a second Ctrl-C (or a SIGTERM) must not
    lose them, so the runs' own handlers stay until the end, then the old ones return.
    """
    loop = new_event_loop(event_loop)
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    gc.freeze()
    try:
        yield loop
    finally:
        gc.unfreeze()
        loop.close()
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _not_yet_supported(resolved: Resolved) -> list[str]:
    """Settings the profile command accepts but cannot act on yet, said out loud."""
    cfg = resolved.config.benchmark
    out = []
    if cfg.search.recipe is not None:
        # Curve recipes run as grids and searches as probes (neither gets here); a
        # plugin's recipe that names no family and sweeps nothing has nothing to run.
        out.append(f"search recipe {cfg.search.recipe} has no grid or search to run: this "
                   "is a single run with the resolved settings")
    return out


