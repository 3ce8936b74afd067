"""The driver of a distributed run: one experiment, many worker actors, one merged result.

:func:`run_on_ray` has the contract of :func:`aiperf.bench.profile.run_prepared` (records
to ``on_record`` as they arrive, a :class:`~aiperf.bench.runner.RunResult` at the end),
so everything after it (the tally, the exports, the plots, trials, sweeps and recipes) is
the same for one process and for many. In order:

1. the driver serves the endpoints (an in-process simulator runs here) and splits the
   plan (:func:`aiperf.scale.shard.shard_plan`);
2. it starts one long-lived actor per shard, spread over the cluster's nodes; each
   prepares its prompts and sends its share of the warm-up;
3. it measures each worker's clock offset by ping rounds (:mod:`aiperf.scale.clock`;
   a worker on the driver's own machine shares its clock exactly) and refuses to start
   when a bound exceeds ``benchmark.scale.max_clock_error_ms``;
4. it broadcasts one start instant, a little ahead, converted to each worker's clock;
5. while the workers run, it drains their finished records in batches, moves them onto
   its own clock and hands them on; server metrics and GPU telemetry are read here;
6. a worker that dies is reported with what it had sent, and the run ends partial (exit
   1); Ctrl-C stops every worker and keeps what they measured. The actors are killed at
   the end, and a local Ray started for the run is shut down with the process.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from aiperf.bench.clock import WALL_OFFSET_NS, perf_ns
from aiperf.bench.connections import ConnectionHealth
from aiperf.bench.profile import (
    Prepared,
    ProfileError,
    open_endpoints,
    run_telemetry,
    stop_on_signals,
)
from aiperf.bench.records import RequestRecord
from aiperf.bench.runner import RunResult
from aiperf.bench.sample import Sample
from aiperf.config.provenance import Resolved
from aiperf.scale.clock import ClockOffset, best_offset, boot_id, same_clock, to_driver_clock
from aiperf.scale.shard import ShardError, shard_plan

__all__ = ["RAY_EXTRA_HINT", "WorkerReport", "ray_available", "run_on_ray"]

log = logging.getLogger("aiperf.scale")

RAY_EXTRA_HINT = "pip install -e '.[ray]' (or pip install 'aiperf[ray]')"
#: Ping rounds per worker; the shortest round trip gives the offset.
CLOCK_ROUNDS = 9
#: How far ahead of the broadcast the common start lies.
START_LEAD_S = 1.5
#: How often the driver drains the workers' records.
DRAIN_INTERVAL_S = 0.2
#: How long workers may take to be placed and to prepare before the run is given up.
SETUP_TIMEOUT_S = 180.0


@attrs.frozen
class WorkerReport:
    """One worker as run.json lists it."""

    index: int
    host: str
    pid: int
    clock: ClockOffset
    sent: int
    status: str
    reason: str | None = None
    #: The Ray node it ran on.
    node: str | None = None
    #: On the driver's machine: its stamps moved exactly (one monotonic clock), not by
    #: the measured offset.
    shared_clock: bool = False
    cpu_s: float | None = None
    #: The worker's CPU time over its run's wall time (one busy core = 1.0).
    cpu_share: float | None = None
    loop_lag_p99_ms: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The worker as run.json lists it."""
        return {"index": self.index, "host": self.host, "node": self.node, "pid": self.pid,
                **self.clock.to_json(), "shared_clock": self.shared_clock,
                "requests": self.sent, "status": self.status,
                "reason": self.reason, "cpu_s": self.cpu_s, "cpu_share": self.cpu_share,
                "loop_lag_p99_ms": self.loop_lag_p99_ms}

    def line(self) -> str:
        """One console line: where it ran, what it sent, its own health."""
        cpu = "" if self.cpu_share is None else f", CPU {self.cpu_share:.0%} of a core"
        lag = ("" if self.loop_lag_p99_ms is None
               else f", event-loop lag p99 {self.loop_lag_p99_ms:.2f} ms")
        end = "" if self.status == "complete" else f" ({self.status})"
        return (f"{self.index} on {self.host} (pid {self.pid}): {self.sent:,} requests{cpu}"
                f"{lag}, clock {self.clock.wall_ns / 1e6:+.3f} ms "
                f"(within {self.clock.bound_ns / 1e6:.3f} ms){end}")


def ray_available() -> bool:
    """Whether the ray extra is installed."""
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def _ensure_ray(address: str | None, workers: int) -> Any:
    """Ray, connected: to ``address``, or to a local Ray started for this process (shut
    down when it exits)."""
    try:
        import ray
    except ImportError:
        raise ProfileError(f"--workers above 1 runs on Ray, which is not installed: "
                           f"{RAY_EXTRA_HINT}") from None
    if not ray.is_initialized():
        try:
            if address is None:
                ray.init(num_cpus=max(workers, os.cpu_count() or 1), include_dashboard=False,
                         log_to_driver=True, configure_logging=False)
            else:
                ray.init(address=address, log_to_driver=True, configure_logging=False)
        except Exception as e:  # noqa: BLE001 - Ray's own errors name the cause
            raise ProfileError(f"cannot start or reach Ray ({address or 'local'}): {e}",
                               exit_code=1) from None
        atexit.register(ray.shutdown)
    return ray


async def run_on_ray(resolved: Resolved, prepared: Prepared, on_record: Any,
                     on_late_signal: Any, stopped_by: list[int] | None = None,
                     on_start: Any = None,
                     on_workers: Callable[[Sequence[WorkerReport]], None] | None = None
                     ) -> RunResult:
    """Run ``prepared`` sharded over ``benchmark.scale.workers`` Ray actors (see the
    module docstring); ``on_workers`` gets the workers' reports at the end."""
    scale = resolved.config.benchmark.scale
    try:
        shards = shard_plan(prepared.plan, scale.workers)
    except ShardError as e:
        raise ProfileError(f"--workers {scale.workers}: {e}") from None
    ray = _ensure_ray(scale.ray_address, scale.workers)
    from aiperf.scale.worker import LoadWorker

    if len(shards) < scale.workers:
        log.warning("--workers %d: the load splits into %d shard(s) only (concurrency or "
                    "requests too few); %d worker(s) run", scale.workers, len(shards),
                    len(shards))
    stop = asyncio.Event()
    signals = stopped_by if stopped_by is not None else []
    remote = ray.remote(num_cpus=1, max_restarts=0)(LoadWorker)
    actors: list[Any] = []
    with stop_on_signals(stop, signals, on_late_signal):
        async with open_endpoints(prepared) as base_urls:
            mapping = dict(zip(prepared.endpoints or (prepared.target.url,), base_urls,
                               strict=True))
            try:
                actors = [remote.options(scheduling_strategy="SPREAD").remote(
                    resolved, i, len(shards), shard, mapping) for i, shard in enumerate(shards)]
                return await _drive(ray, actors, prepared, base_urls, scale.max_clock_error_ms,
                                    stop, signals, on_record, on_start, on_workers)
            finally:
                for actor in actors:
                    try:
                        ray.kill(actor)
                    except Exception:  # noqa: BLE001, S110 - already gone is fine
                        pass


async def _drive(ray: Any, actors: Sequence[Any], prepared: Prepared,
                 base_urls: Sequence[str], max_clock_error_ms: float, stop: asyncio.Event,
                 signals: list[int], on_record: Any, on_start: Any,
                 on_workers: Callable[[Sequence[WorkerReport]], None] | None) -> RunResult:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        identities = await asyncio.wait_for(
            asyncio.gather(*[a.identity.remote() for a in actors]), SETUP_TIMEOUT_S)
        measured = [await _measure_clock(a, ident["wall_offset_ns"])
                    for a, ident in zip(actors, identities, strict=True)]
    except TimeoutError:
        raise ProfileError(f"Ray did not start the {len(actors)} workers within "
                           f"{SETUP_TIMEOUT_S:g} s (too few CPUs in the cluster?)",
                           exit_code=1) from None
    except ray.exceptions.RayActorError as e:
        raise ProfileError(f"a worker failed while preparing: {e}", exit_code=1) from None
    # A worker on this machine shares its monotonic clock: its stamps move exactly (a
    # bound of zero), however slow the ping rounds were on a busy machine; only a worker
    # elsewhere is known within half its shortest round trip.
    here = boot_id()
    shared = [here is not None and ident.get("boot_id") == here for ident in identities]
    clocks = [same_clock(ident["wall_offset_ns"], WALL_OFFSET_NS) if same else clock
              for ident, clock, same in zip(identities, measured, shared, strict=True)]
    for i, (ident, clock, same) in enumerate(zip(identities, clocks, shared, strict=True)):
        log.info("worker %d on %s (pid %d): clock offset %.3f ms +- %.3f ms%s", i,
                 ident["host"], ident["pid"], clock.wall_ns / 1e6, clock.bound_ns / 1e6,
                 " (this machine's clock)" if same else "")
        if clock.bound_ns / 1e6 > max_clock_error_ms:
            raise ProfileError(
                f"worker {i} on {ident['host']}: its clock is known to within "
                f"{clock.bound_ns / 1e6:.2f} ms only, above --max-clock-error "
                f"{max_clock_error_ms:g} ms; the run did not start", exit_code=1)
    warm_refs = [a.warm_up.remote() for a in actors]
    await asyncio.gather(*warm_refs)
    drained = [await a.drain.remote() for a in actors]  # the warm-up records
    for records, _ in drained:
        for record in records:
            on_record(record)

    telemetry = run_telemetry(prepared, base_urls)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, telemetry.start)
    start_perf = perf_ns() + int(START_LEAD_S * 1e9)
    start_wall = start_perf + WALL_OFFSET_NS
    runs = {i: asyncio.ensure_future(_awaited(a.run.remote(start_perf + c.perf_ns)))
            for i, (a, c) in enumerate(zip(actors, clocks, strict=True))}
    if on_start is not None:
        on_start(start_wall)
    sent = [0] * len(actors)
    results: dict[int, RunResult] = {}
    dead: dict[int, str] = {}
    last_end = start_wall
    stopping = False
    stopped = asyncio.ensure_future(stop.wait())
    try:
        while len(results) + len(dead) < len(actors):
            await asyncio.wait([*runs.values(), stopped], timeout=DRAIN_INTERVAL_S,
                               return_when=asyncio.FIRST_COMPLETED)
            if (stop.is_set() or dead) and not stopping:
                # Ctrl-C, or a worker died: the rest no longer send the planned load.
                stopping = True
                for i, a in enumerate(actors):
                    if i not in results and i not in dead:
                        a.stop.remote()
            for i, a in enumerate(actors):
                if i in dead:
                    continue
                try:
                    records, sent[i] = await a.drain.remote()
                except ray.exceptions.RayActorError as e:
                    dead[i] = _death(i, identities[i], sent[i], e)
                    runs[i].cancel()
                    continue
                last_end = _hand_on(records, clocks[i], on_record, last_end)
            for i, fut in list(runs.items()):
                if fut.done() and i not in results and i not in dead:
                    try:
                        results[i] = fut.result()
                    except ray.exceptions.RayActorError as e:
                        dead[i] = _death(i, identities[i], sent[i], e)
                    except asyncio.CancelledError:
                        dead[i] = _death(i, identities[i], sent[i], None)
        for i, a in enumerate(actors):  # what finished after the last drain
            if i not in dead:
                try:
                    records, sent[i] = await a.drain.remote()
                except ray.exceptions.RayActorError as e:
                    dead[i] = _death(i, identities[i], sent[i], e)
                    continue
                last_end = _hand_on(records, clocks[i], on_record, last_end)
    finally:
        stopped.cancel()
        for fut in runs.values():
            fut.cancel()
        collected = await loop.run_in_executor(None, telemetry.stop)
    reports = [_report(i, identities[i], measured[i], shared[i], sent[i], results.get(i),
                       dead.get(i)) for i in range(len(actors))]
    if on_workers is not None:
        on_workers(reports)
    return _merged(results, dead, reports, start_wall, last_end, signals, collected,
                   time.process_time() - cpu0, time.perf_counter() - wall0)


async def _awaited(ref: Any) -> Any:
    return await ref


async def _measure_clock(actor: Any, worker_wall_offset_ns: int) -> ClockOffset:
    rounds = []
    for _ in range(CLOCK_ROUNDS):
        before = perf_ns()
        reading = await actor.clock.remote()
        rounds.append((before, reading, perf_ns()))
    return best_offset(rounds, worker_wall_offset_ns, WALL_OFFSET_NS)


def _hand_on(records: Sequence[RequestRecord], clock: ClockOffset, on_record: Any,
             last_end: int) -> int:
    for record in records:
        moved = to_driver_clock(record, clock)
        on_record(moved)
        if moved.phase == "profiling":
            last_end = max(last_end, moved.end_wall_ns)
    return last_end


def _death(index: int, identity: dict[str, Any], sent: int, error: Exception | None) -> str:
    why = "" if error is None else f": {type(error).__name__}"
    message = (f"worker {index} on {identity['host']} (pid {identity['pid']}) died after "
               f"sending {sent} request(s){why}")
    log.warning(message)
    return message


def _report(index: int, identity: dict[str, Any], clock: ClockOffset, shared: bool,
            sent: int, result: RunResult | None, death: str | None) -> WorkerReport:
    lag = result.loop_lag_ms if result is not None and len(result.loop_lag_ms) else None
    return WorkerReport(
        index=index, host=str(identity["host"]), pid=int(identity["pid"]), clock=clock,
        node=identity.get("node"), shared_clock=shared,
        sent=sent, status="died" if death is not None else (
            result.status if result is not None else "unknown"),
        reason=death if death is not None else (result.reason if result else None),
        cpu_s=None if result is None else result.cpu_s,
        cpu_share=None if result is None or result.wall_s <= 0 else result.cpu_s / result.wall_s,
        loop_lag_p99_ms=None if lag is None else lag.summary().percentile(99))


def _merged(results: dict[int, RunResult], dead: dict[int, str],
            reports: Sequence[WorkerReport], start_wall: int, last_end: int,
            signals: Sequence[int], telemetry: Any, driver_cpu_s: float,
            wall_s: float) -> RunResult:
    """One RunResult for the whole run: a dead worker makes it partial (with the reason),
    Ctrl-C too; a server gone at any worker aborts it. CPU is the busiest worker's (one
    asyncio loop each: that is where a client bottleneck shows)."""
    lag = Sample()
    for result in results.values():
        lag.merge(result.loop_lag_ms)
    statuses = {r.status for r in results.values()}
    reason: str | None = None
    if dead:
        status = "partial"
        reason = "; ".join(dead.values())
    elif "aborted" in statuses:
        status = "aborted"
        reason = next(r.reason for r in results.values() if r.status == "aborted")
    elif signals or "partial" in statuses:
        status = "partial"
        reason = "stopped by the user (Ctrl-C or SIGTERM)"
    else:
        status = "complete"
    busiest = max((r.cpu_s for r in results.values()), default=driver_cpu_s)
    sizing = next((r.prompt_sizing for r in results.values() if r.prompt_sizing), None)
    # The workers' loop (Ray's own, whatever was asked) is the one that measured.
    event_loop = next((r.event_loop for r in results.values() if r.event_loop), None)
    return RunResult(
        profiling_count=sum(r.sent for r in reports),
        start_wall_ns=start_wall, end_wall_ns=last_end, status=status,  # type: ignore[arg-type]
        reason=reason, loop_lag_ms=lag, cpu_s=busiest, wall_s=wall_s,
        connections=_connections([r.connections for r in results.values()]),
        prompt_sizing=sizing, telemetry=telemetry, event_loop=event_loop)


def _connections(healths: Sequence[ConnectionHealth]) -> ConnectionHealth:
    """The workers' connection counts added up."""
    if not healths:
        return ConnectionHealth()
    fields = attrs.fields(ConnectionHealth)
    merged: dict[str, Any] = {}
    for f in fields:
        values = [getattr(h, f.name) for h in healths]
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            merged[f.name] = sum(values)
        elif all(isinstance(v, bool) for v in values):
            merged[f.name] = any(values)
        else:
            merged[f.name] = next((v for v in values if v), values[0])
    return ConnectionHealth(**merged)
