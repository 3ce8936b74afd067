"""Repeated trials of one load: ``runs.count`` runs under ``profile_runs/``, then their
aggregate with confidence intervals."""

from __future__ import annotations

import asyncio

import attrs

from aiperf.bench.cells import run_status_of
from aiperf.bench.experiment import Experiment
from aiperf.bench.one_run import one_run
from aiperf.bench.outcome import EXIT_FAILED, EXIT_OK, EXIT_THRESHOLD, STOP_CODES
from aiperf.bench.output import Output
from aiperf.bench.profile import Prepared, make_run_dir, prepare
from aiperf.config.provenance import Resolved


def run_trials(resolved: Resolved, prepared: Prepared, output: Output,
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
        code = one_run(resolved, trial, output, loop, "trial",
                        experiment.run_identity(parent="../..", trial=number))
        status, reason = run_status_of(base / "profile_runs" / name)
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


