"""An SLA search run: probes (each a cell ``concurrency<N>``) chosen one at a time by the
recipe's search style (:mod:`aiperf.recipes.sla`), then ``search_history.json``, the
sweep aggregate, and the answer, computed once and written to
``sweep_aggregate/<recipe>.json``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from aiperf.bench.cells import cell_result, cell_summary
from aiperf.bench.experiment import Experiment
from aiperf.bench.one_run import one_run
from aiperf.bench.outcome import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, STOP_CODES
from aiperf.bench.output import Output
from aiperf.bench.profile import (
    InProcessServers,
    ProfileError,
    ProfileOutcome,
    check_reachable,
    claim_run_dir,
    ended,
    make_run_dir,
    measuring,
    prepare,
    run_directory,
)
from aiperf.config.provenance import Resolved
from aiperf.config.sweep import Cell


class _Stopped(Exception):
    """The user stopped a search between or during probes; ``code`` is 130 or 143."""

    def __init__(self, code: int = EXIT_INTERRUPTED) -> None:
        super().__init__(code)
        self.code = code


def run_sla_search(resolved: Resolved, resolve_cell: Callable[[Cell], Resolved],
                   output: Output, servers: InProcessServers) -> ProfileOutcome:
    """The search ``resolved.recipe`` describes; each probe's cell is resolved by
    ``resolve_cell`` from the layers gathered for this invocation."""
    from aiperf.artifacts.atomic import write_text_atomic
    from aiperf.artifacts.names import SWEEP_DIR, recipe_answer_name
    from aiperf.bench.sweep_aggregate import CellResult, write_sweep_aggregate
    from aiperf.explain import RUN_EXPLAIN_FILE, explain_json
    from aiperf.recipes import sla

    assert resolved.recipe is not None
    cfg = resolved.config.benchmark
    plan = sla.plan_search(resolved.recipe, cfg.search, cfg.dataset.seed)
    base = run_directory(resolved)
    try:
        style = sla.style_of(plan)
        first = prepare(resolved, servers)
        for url in first.remote_urls:
            check_reachable(url)
        claim_run_dir(base, resolved, output)
    except ProfileError as e:
        output.line(str(e), label="error:", style="red")
        return ProfileOutcome(e.exit_code)
    except sla.SearchStyleUnavailable as e:
        output.line(str(e), label="error:", style="red")
        return ProfileOutcome(EXIT_FAILED)
    experiment = Experiment(base)
    output.line(plan.describe())
    results: list[CellResult] = []
    loop: asyncio.AbstractEventLoop | None = None

    def probe(concurrency: int) -> Mapping[str, Any] | None:
        cell = Cell(sla.probe_name(concurrency),
                    {"benchmark.load.concurrency": concurrency, **plan.probe_values})
        cell_resolved = resolve_cell(cell)
        prepared = attrs.evolve(prepare(cell_resolved, servers), run_dir=base / cell.name)
        experiment.add(cell.name)
        make_run_dir(prepared.run_dir)
        output.line(f"probe concurrency {concurrency}")
        assert loop is not None
        code = one_run(cell_resolved, prepared, output, loop, "cell",
                       experiment.run_identity(parent="..", cell=cell.name))
        results.append(cell_result(cell, prepared.run_dir, code, plan.max_error_rate))
        if code in STOP_CODES:
            raise _Stopped(code)
        return cell_summary(prepared.run_dir)

    stopped, stop_code = False, EXIT_INTERRUPTED
    history: list[sla.Probe] = []
    try:
        with measuring(first.event_loop) as loop:
            history = style(probe, plan)
    except _Stopped as e:
        stopped, stop_code = True, e.code
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
    result, sentence = sla.conclude(plan, history)
    write_text_atomic(folder / recipe_answer_name(plan.recipe),
                      json.dumps(result, indent=2) + "\n")
    output.line(sentence)
    output.line(f"Artifacts: {base}")
    return ended(EXIT_OK, base, True)
