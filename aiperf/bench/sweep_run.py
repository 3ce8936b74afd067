"""A sweep: every cell into ``<base>/<cell>/`` (trials inside it when ``runs.count`` > 1),
then the sweep aggregate; for a curve recipe, its answer, computed once from the
aggregate's rows and written to ``sweep_aggregate/<recipe>.json``. Also what
``--dry-run`` lists for a run or a sweep."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from aiperf.artifacts.manifest import RunIdentity
from aiperf.bench.cells import NOT_RUN_REASON, cell_result, sweep_summary_line
from aiperf.bench.experiment import Experiment
from aiperf.bench.one_run import one_run
from aiperf.bench.outcome import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_THRESHOLD, STOP_CODES
from aiperf.bench.output import Output
from aiperf.bench.profile import (
    InProcessServers,
    ProfileError,
    ProfileOutcome,
    check_reachable,
    claim_run_dir,
    ended,
    event_loop_of,
    make_run_dir,
    measuring,
    prepare,
    run_directory,
)
from aiperf.bench.trials import run_trials
from aiperf.config.provenance import Resolved
from aiperf.config.sweep import Cell


def run_sweep(resolved: Resolved, cells: Sequence[tuple[Cell, Resolved]],
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
    from aiperf.bench.sweep_aggregate import CellResult, write_sweep_aggregate
    from aiperf.explain import RUN_EXPLAIN_FILE, explain_json
    from aiperf.recipes.degraded import percent

    cfg = resolved.config.benchmark
    base = run_directory(resolved)
    try:
        event_loop = event_loop_of(resolved)
        prepared_cells = []
        for cell, cell_resolved in cells:
            prepared = attrs.evolve(prepare(cell_resolved, servers), run_dir=base / cell.name)
            prepared_cells.append((cell, cell_resolved, prepared))
        for url in {u for _, _, p in prepared_cells for u in p.remote_urls}:
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
    with measuring(event_loop) as loop:
        for cell, cell_resolved, prepared in prepared_cells:
            if stopped:
                break
            described = ", ".join(f"{k} = {v}" for k, v in cell.values.items())
            output.line(f"cell {cell.name}: {described}")
            experiment.add(cell.name)
            make_run_dir(prepared.run_dir)
            if cell_resolved.config.benchmark.runs.count > 1:
                # The cell is the base of its trials, under the sweep's experiment id.
                code, _ = run_trials(cell_resolved, prepared, output, loop, Experiment(
                    prepared.run_dir, experiment.experiment_id,
                    RunIdentity(parent="..", cell=cell.name)))
            else:
                code = one_run(cell_resolved, prepared, output, loop, "cell",
                                experiment.run_identity(parent="..", cell=cell.name))
            stopped = code in STOP_CODES
            stop_code = code if stopped else stop_code
            breached = breached or code == EXIT_THRESHOLD
            results.append(cell_result(cell, prepared.run_dir, code,
                                        cfg.search.max_error_rate))
    # A stopped sweep still accounts for every planned cell: the ones it never reached
    # are listed as not run, so the aggregate cannot pass for a smaller, finished sweep.
    results += [CellResult(cell.name, cell.values, "not_run", NOT_RUN_REASON, None)
                for cell, _, _ in prepared_cells[len(results):]]
    sweep_type = cfg.sweep.type if cfg.sweep.scenarios is None else "scenarios"
    experiment.add(SWEEP_DIR, "aggregate")
    paths = write_sweep_aggregate(base / SWEEP_DIR, sweep_type, results)
    if resolved.recipe is not None:
        conclude_curve(resolved, results, base / SWEEP_DIR, output)
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
    return ended(EXIT_THRESHOLD if breached else EXIT_OK, base, True)


def conclude_curve(resolved: Resolved, results: Sequence[Any], folder: Path,
                   output: Output) -> None:
    """A curve recipe's answer, computed once from the sweep aggregate's rows:
    ``<folder>/<recipe>.json`` (which the recipe's plot draws) and one sentence."""
    import json

    from aiperf.artifacts.atomic import write_text_atomic
    from aiperf.artifacts.names import recipe_answer_name
    from aiperf.bench.sweep_aggregate import pareto_cells, sweep_table
    from aiperf.config.sweep import DIMENSIONS
    from aiperf.recipes.curves import conclude

    assert resolved.recipe is not None
    name = resolved.recipe.name
    rows = sweep_table(results)
    frontier = set(pareto_cells(results))
    for row, cell in zip(rows, results, strict=True):
        # The analyses read each swept dimension by its recipe name (isl, not mean).
        row.update({dim: cell.values[key] for dim, key in DIMENSIONS.items()
                    if key in cell.values})
        row["pareto_optimal"] = cell.name in frontier
    found = conclude(name, resolved.recipe.answer, rows, resolved.config.benchmark.search)
    if found is None:
        return
    result, sentence = found
    write_text_atomic(folder / recipe_answer_name(name),
                      json.dumps({"recipe": name, "answer": sentence, **result}, indent=2,
                                 default=str) + "\n")
    output.line(sentence)


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
    base = run_directory(resolved)
    out = [f"{len(cells)} cells into {base}:"]
    for cell, cell_resolved in cells:
        out.append(f"  {cell.name}/")
        out += settings(cell_resolved, tuple(cell.values))
    return "\n".join(out)


