"""One measured run: the records streamed to the JSONL as they finish, each folded into
the tally and let go; then the metrics, the run's verdict, its artifacts and its summary.

The runs of a trial series, a sweep and a search are all made here, so every one is
measured, judged and written the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from aiperf.artifacts.manifest import RunIdentity, RunKind
from aiperf.bench.experiment import new_experiment_id
from aiperf.bench.metrics import RunMetrics, ScalarMetric, metric_info
from aiperf.bench.outcome import EXIT_FAILED
from aiperf.bench.output import Output
from aiperf.bench.profile import Prepared, ProfileError, run_prepared
from aiperf.bench.records import RequestRecord
from aiperf.bench.run_tally import RunTally
from aiperf.bench.runner import RunResult
from aiperf.config.provenance import Resolved

if TYPE_CHECKING:
    from aiperf.bench.telemetry_run import TelemetryResults

log = logging.getLogger("aiperf.profile")


def one_run(resolved: Resolved, prepared: Prepared, output: Output,
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
    progress = RunProgress(output, progress_mode(cfg.ui, output), plan.expected_count,
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

    workers: list[Any] = []
    try:
        writer.start(loop)
        mark_in_progress(prepared.run_dir, names, new_benchmark_id(), kind, identity)
        with progress:
            if cfg.scale.backend == "ray":
                from aiperf.scale.driver import run_on_ray

                sending = run_on_ray(resolved, prepared, on_record, _finishing(output),
                                     stopped_by, on_start, workers.extend)
            else:
                sending = run_prepared(prepared, on_record, _finishing(output), stopped_by,
                                       on_start)
            result = loop.run_until_complete(sending)
        writer.close()
        return finish_run(resolved, prepared, result, tally, output, kind, identity, stopped_by,
                          workers)
    except (ArtifactWriteError, ProfileError) as e:
        # ProfileError: a distributed run that could not start (Ray, a worker's clock).
        with contextlib.suppress(ArtifactWriteError):
            writer.close()
        output.line(str(e), label="error:", style="red")
        return e.exit_code if isinstance(e, ProfileError) else EXIT_FAILED


def _finishing(output: Output) -> Any:
    told: list[bool] = []

    def handler(signum: int, frame: Any) -> None:
        # Say it once; printing from a signal handler on every press could stall the
        # very writing the user is waiting for.
        if not told:
            told.append(True)
            output.line("writing the results of the stopped run; one moment")

    return handler


def finish_run(resolved: Resolved, prepared: Prepared, result: RunResult, tally: RunTally,
            output: Output, kind: RunKind = "single",
            identity: RunIdentity | None = None, stopped_by: Sequence[int] = (),
            workers: Sequence[Any] = ()) -> int:
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
        requested_request_rate=plan.requested_rate(
            (result.end_wall_ns - result.start_wall_ns) / 1e9),
        loop_lag_ms=result.loop_lag_ms,
        client_cpu_fraction=cpu_fraction,
        connections=result.connections,
    )
    metrics = tally.finish(facts)
    benchmark_id = new_benchmark_id()
    input_config = redacted_values(resolved)
    telemetry = _telemetry(result, metrics, benchmark_id, input_config)
    metrics = attrs.evolve(metrics, scalars=metrics.scalars + tuple(
        ScalarMetric(metric_info(tag), value) for tag, value in telemetry.scalars.items()))
    if metrics.timeslice_error is not None:
        # A slice duration far too small for this run must not cost the run its results.
        log.warning("no timeslice export: %s", metrics.timeslice_error)
    status, reason = run_status(result.status, result.reason, metrics)
    if status == "partial" and signal.SIGTERM in stopped_by[:1]:
        reason = "stopped by SIGTERM"
    thresholds = evaluate(cfg.thresholds or (), metrics)
    run_dir = prepared.run_dir
    export = RunExport(
        benchmark_id=benchmark_id,
        input_config=input_config,
        names=export_names(cfg.artifacts.export_prefix, cfg.artifacts.export_file),
        resolved_config_yaml=explain_yaml(resolved),
        status=status,  # type: ignore[arg-type]
        partial_reason=reason,
        was_cancelled=status == "partial",
        thresholds=[t.to_json() for t in thresholds],
        extra_files={RUN_EXPLAIN_FILE: (explain_json(resolved), "explain"),
                     **telemetry.files},
        prompt_sizing=result.prompt_sizing,
        event_loop=result.event_loop,
        workers=tuple(w.to_json() for w in workers),
        kind=kind,
        # A single run is an experiment of its own, with an id no other run shares.
        identity=identity or RunIdentity(experiment_id=new_experiment_id()),
    )
    export_run(run_dir, metrics, export)
    print_summary(output, metrics, str(run_dir), status, reason, thresholds, telemetry.notes,
                  workers)
    return exit_code(status, bool(breached(thresholds)), stopped_by)


def _telemetry(result: RunResult, metrics: RunMetrics, benchmark_id: str,
               input_config: Mapping[str, Any]) -> TelemetryResults:
    """What the server-metrics and GPU collectors read, summed up over the run's
    profiling window, beside the client's own figures."""
    from aiperf.bench.telemetry_run import TelemetryResults, telemetry_results

    if result.telemetry is None:
        return TelemetryResults({}, {})
    ttft = metrics.distribution("time_to_first_token")
    tokens = metrics.scalar("total_output_tokens")
    throughput = metrics.scalar("output_token_throughput")
    return telemetry_results(
        result.telemetry, result.start_wall_ns, result.end_wall_ns,
        int(tokens.value) if tokens is not None else None,
        throughput.value if throughput is not None else None,
        ttft.dist.avg if ttft is not None else None, benchmark_id, input_config)

