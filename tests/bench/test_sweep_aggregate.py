"""The sweep aggregate (aiperf.bench.sweep_aggregate): the per-cell table, the best cell
per objective, the throughput/latency Pareto frontier and the sweep JSON/CSV files."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import aiperf.bench.sweep_aggregate as sweep_module
from aiperf.artifacts.atomic import write_chunks_atomic
from aiperf.artifacts.names import SWEEP_CSV, SWEEP_JSON
from aiperf.bench.sweep_aggregate import (
    KEY_METRICS,
    CellResult,
    best_cells,
    pareto_cells,
    pareto_objectives,
    render_sweep_csv,
    sweep_table,
    write_sweep_aggregate,
)

CONCURRENCY = "benchmark.load.concurrency"

UNITS = {
    "request_throughput": "requests/sec",
    "output_token_throughput": "tokens/sec",
    "output_token_throughput_per_user": "tokens/sec/user",
    "time_to_first_token": "ms",
    "inter_token_latency": "ms",
    "request_latency": "ms",
    "error_request_count": "requests",
    "request_error_rate": "%",
}

# --------------------------------------------------------------------------- helpers


def summary(**stats: float) -> dict[str, Any]:
    """A run summary from ``<tag>_<stat>=value`` pairs, in the summary's layout."""
    out: dict[str, Any] = {"schema_version": "1.4", "aiperf_version": "0.1.0",
                           "benchmark_id": "x", "is_complete": True}
    for key, value in stats.items():
        tag, _, stat = key.rpartition("_")
        out.setdefault(tag, {"unit": UNITS[tag]})[stat] = value
    return out


def chat(ott: float, rl50: float, **more: float) -> dict[str, Any]:
    """A streaming chat cell's summary: output throughput and median latency, plus a
    request throughput, TTFT and ITL derived from them."""
    stats = {
        "output_token_throughput_avg": ott,
        "request_throughput_avg": ott / 100,
        "request_latency_p50": rl50,
        "request_latency_p99": rl50 * 2,
        "time_to_first_token_p50": rl50 / 10,
        "time_to_first_token_p99": rl50 / 5,
        "inter_token_latency_p50": rl50 / 100,
        "inter_token_latency_p99": rl50 / 50,
        "output_token_throughput_per_user_avg": 100_000 / rl50,
    }
    stats.update(more)
    return summary(**stats)


def cell(name: str, summary_: dict[str, Any] | None, status: str = "complete",
         reason: str | None = None, **values: Any) -> CellResult:
    default = {CONCURRENCY: int(name[1:])} if name[1:].isdigit() else {"cell.name": name}
    return CellResult(name=name, values=values or default,
                      status=status, reason=reason, summary=summary_)


def concurrency_sweep() -> list[CellResult]:
    """Four cells; c8 has lower throughput and higher latency than c4, so it is the only
    one off the frontier (c1 < c2 < c4 in both throughput and latency)."""
    return [
        cell("c1", chat(100.0, 50.0)),
        cell("c2", chat(190.0, 55.0)),
        cell("c4", chat(350.0, 60.0)),
        cell("c8", chat(340.0, 120.0)),
    ]


def dominates(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """(throughput, latency): a at least as good on both and strictly better on one."""
    return a[0] >= b[0] and a[1] <= b[1] and (a[0] > b[0] or a[1] < b[1])


# --------------------------------------------------------------------------- CellResult


class TestCellResult:
    """Tests for `CellResult`."""

    def test_unknown_status(self) -> None:
        """A status outside complete/partial/failed/degraded is refused."""
        with pytest.raises(ValueError, match="complete, partial, failed, degraded"):
            CellResult("c1", {CONCURRENCY: 1}, "done", None, {})

    def test_complete_needs_summary(self) -> None:
        """A complete cell without a summary is a contradiction."""
        with pytest.raises(ValueError, match="'c1' is complete but has no summary"):
            CellResult("c1", {CONCURRENCY: 1}, "complete", None, None)

    def test_duplicate_names(self) -> None:
        """Two cells with one name make best/Pareto ambiguous: refused everywhere."""
        cells = [cell("c1", chat(1, 1)), cell("c1", chat(2, 2))]
        for function in (sweep_table, pareto_cells, best_cells):
            with pytest.raises(ValueError, match="two sweep cells are named 'c1'"):
                function(cells)


# --------------------------------------------------------------------------- table


class TestSweepTable:
    """Tests for `sweep_table`."""

    def test_columns_and_values(self) -> None:
        """One row per cell in order: identity, the swept key by its short name, then the
        key metrics; metrics a summary lacks are None."""
        rows = sweep_table(concurrency_sweep())

        expected_columns = ["cell", "status", "reason", "concurrency",
                            *(column for column, _, _ in KEY_METRICS)]
        assert [expected_columns] * 4 == [list(row) for row in rows]
        assert ["c1", "c2", "c4", "c8"] == [row["cell"] for row in rows]
        assert [1, 2, 4, 8] == [row["concurrency"] for row in rows]
        first = rows[0]
        assert ("complete", None) == (first["status"], first["reason"])
        assert 100.0 == first["output_token_throughput_avg"]
        assert 1.0 == first["request_throughput_avg"]
        assert (5.0, 10.0) == (first["time_to_first_token_p50"], first["time_to_first_token_p99"])
        assert (0.5, 1.0) == (first["inter_token_latency_p50"], first["inter_token_latency_p99"])
        assert (50.0, 100.0) == (first["request_latency_p50"], first["request_latency_p99"])
        assert 2000.0 == first["output_token_throughput_per_user_avg"]
        assert first["error_request_count_avg"] is None
        assert first["request_error_rate_avg"] is None

    def test_error_columns_when_present(self) -> None:
        """Error count and rate are read when the summary has them."""
        rows = sweep_table([cell("c1", chat(1, 1, error_request_count_avg=3,
                                             request_error_rate_avg=1.5))])

        assert (3, 1.5) == (rows[0]["error_request_count_avg"], rows[0]["request_error_rate_avg"])

    def test_failed_cell(self) -> None:
        """A failed cell keeps its swept values and reason; every metric is None, even
        when it left a summary behind."""
        cells = [*concurrency_sweep(),
                 cell("c16", None, "failed", "server returned 503 for every request"),
                 cell("c32", chat(9999.0, 1.0), "failed", "cancelled")]

        rows = sweep_table(cells)

        for row, reason in zip(rows[4:], ["server returned 503 for every request", "cancelled"],
                               strict=True):
            assert ("failed", reason) == (row["status"], row["reason"])
            assert all(row[column] is None for column, _, _ in KEY_METRICS)
        assert [16, 32] == [row["concurrency"] for row in rows[4:]]

    def test_partial_cell_metrics_shown(self) -> None:
        """A partial cell's metrics are in the table (marked partial)."""
        rows = sweep_table([cell("c1", chat(10, 5), "partial", "interrupted")])

        assert ("partial", "interrupted", 10) == (
            rows[0]["status"], rows[0]["reason"], rows[0]["output_token_throughput_avg"])

    def test_short_names(self) -> None:
        """Swept keys go by their last dotted part, or more parts when two keys share it;
        a cell without a key gets None."""
        cells = [
            CellResult("a", {"datasets.main.prompts.isl": 128, "datasets.aux.prompts.isl": 64,
                             CONCURRENCY: 1}, "complete", None, chat(1, 1)),
            CellResult("b", {"datasets.main.prompts.isl": 512}, "complete", None, chat(2, 2)),
        ]

        rows = sweep_table(cells)

        assert ["cell", "status", "reason", "main.prompts.isl", "aux.prompts.isl",
                "concurrency"] == list(rows[0])[:6]
        assert (512, None, None) == (rows[1]["main.prompts.isl"], rows[1]["aux.prompts.isl"],
                                     rows[1]["concurrency"])

    def test_short_name_never_takes_a_fixed_column(self) -> None:
        """A key whose last part is a fixed column name keeps a longer name."""
        rows = sweep_table([CellResult("a", {"x.status": 1, "cell": 2}, "complete", None,
                                       chat(1, 1))])

        assert ("a", "complete", 1, 2) == (rows[0]["cell"], rows[0]["status"],
                                           rows[0]["x.status"], rows[0]["swept.cell"])

    def test_aggregate_summary(self) -> None:
        """A cell run with trials may hand in its confidence aggregate: the means are read."""
        aggregate = {"schema_version": "1.0", "metadata": {"aggregation_type": "confidence"},
                     "metrics": {"request_latency_p50": {"mean": 42.0, "std": 1.0, "unit": "ms"},
                                 "output_token_throughput_avg": {"mean": 900.0,
                                                                 "unit": "tokens/sec"}}}

        rows = sweep_table([cell("c1", aggregate)])

        assert (42.0, 900.0) == (rows[0]["request_latency_p50"],
                                 rows[0]["output_token_throughput_avg"])

    def test_non_finite_and_non_numbers_are_absent(self) -> None:
        """null, NaN, booleans and strings in a summary read as absent."""
        odd = summary(request_latency_p50=float("nan"), request_latency_p99=True,
                      output_token_throughput_avg=None)
        odd["request_throughput"] = {"unit": "requests/sec", "avg": "12"}

        row = sweep_table([cell("c1", odd)])[0]

        assert all(row[column] is None for column, _, _ in KEY_METRICS)


# --------------------------------------------------------------------------- Pareto / best


class TestPareto:
    """Tests for `pareto_cells` and `pareto_objectives`."""

    def test_clear_frontier(self) -> None:
        """c8 (340 tok/s at 120 ms) is dominated by c4 (350 tok/s at 60 ms); c1, c2 and c4
        each trade throughput for latency."""
        cells = concurrency_sweep()

        assert ["c1", "c2", "c4"] == pareto_cells(cells)
        assert ("output_token_throughput_avg", "request_latency_p50") == pareto_objectives(cells)

    def test_failed_and_partial_excluded(self) -> None:
        """Cells that did not complete take no part, however good their numbers."""
        cells = [*concurrency_sweep(),
                 cell("c16", chat(9999.0, 1.0), "failed", "cancelled"),
                 cell("c32", chat(9999.0, 1.0), "partial", "interrupted"),
                 cell("c64", None, "failed", "no server")]

        assert ["c1", "c2", "c4"] == pareto_cells(cells)

    def test_ties_do_not_dominate(self) -> None:
        """Identical cells both stay; equal latency with less throughput, or equal
        throughput with more latency, is dominated."""
        cells = [
            cell("a", chat(200.0, 50.0)),
            cell("b", chat(200.0, 50.0)),   # same as a: both on the frontier
            cell("c", chat(150.0, 50.0)),   # same latency, less throughput than a
            cell("d", chat(200.0, 70.0)),   # same throughput, more latency than a
            cell("e", chat(300.0, 80.0)),   # trades latency for throughput
            cell("f", chat(300.0, 80.0)),   # same as e
            cell("g", chat(250.0, 80.0)),   # same latency, less throughput than e
        ]

        assert ["a", "b", "e", "f"] == pareto_cells(cells)

    def test_embeddings_fall_back_to_request_throughput(self) -> None:
        """Without output tokens anywhere the frontier uses request throughput."""
        cells = [
            cell("c1", summary(request_throughput_avg=10.0, request_latency_p50=5.0)),
            cell("c2", summary(request_throughput_avg=18.0, request_latency_p50=6.0)),
            cell("c4", summary(request_throughput_avg=17.0, request_latency_p50=9.0)),
        ]

        assert ("request_throughput_avg", "request_latency_p50") == pareto_objectives(cells)
        assert ["c1", "c2"] == pareto_cells(cells)

    def test_one_throughput_for_the_whole_sweep(self) -> None:
        """When some cell reports output throughput, a cell lacking it is left out rather
        than compared in requests/s."""
        cells = [
            cell("c1", chat(100.0, 50.0)),
            cell("c2", summary(request_throughput_avg=1e9, request_latency_p50=1.0)),
        ]

        assert ["c1"] == pareto_cells(cells)

    def test_missing_latency_excluded(self) -> None:
        """A complete cell without a median latency takes no part."""
        cells = [cell("c1", chat(100.0, 50.0)),
                 cell("c2", summary(output_token_throughput_avg=1e9))]

        assert ["c1"] == pareto_cells(cells)

    def test_nothing_to_compare(self) -> None:
        """No complete cell with a throughput: no objectives, empty frontier."""
        cells = [cell("c1", None, "failed", "boom"), cell("c2", summary(request_latency_p50=1))]

        assert pareto_objectives(cells) is None
        assert [] == pareto_cells(cells)
        assert [] == pareto_cells([])

    def test_large_sweep_is_fast(self) -> None:
        """100,000 cells all on the frontier (the worst case for a pairwise check) take well
        under the seconds a quadratic algorithm would need."""
        cells = [CellResult(f"c{i}", {CONCURRENCY: i}, "complete", None,
                            {"output_token_throughput": {"unit": "tokens/sec", "avg": i},
                             "request_latency": {"unit": "ms", "p50": i}})
                 for i in range(100_000)]

        start = time.perf_counter()
        front = pareto_cells(cells)
        elapsed = time.perf_counter() - start

        assert 100_000 == len(front)
        assert elapsed < 5.0


class TestBest:
    """Tests for `best_cells`."""

    def test_concurrency_sweep(self) -> None:
        """Each objective names its best complete cell; absent objectives are left out."""
        best = best_cells(concurrency_sweep())

        assert {
            "max_output_token_throughput": "c4",
            "max_request_throughput": "c4",
            "max_output_token_throughput_per_user": "c1",
            "min_time_to_first_token_p50": "c1",
            "min_time_to_first_token_p99": "c1",
            "min_inter_token_latency_p50": "c1",
            "min_inter_token_latency_p99": "c1",
            "min_request_latency_p50": "c1",
            "min_request_latency_p99": "c1",
        } == best

    def test_failed_and_partial_excluded(self) -> None:
        """Only complete cells can be best."""
        cells = [*concurrency_sweep(),
                 cell("c16", chat(9999.0, 1.0), "failed", "cancelled"),
                 cell("c32", chat(9999.0, 1.0), "partial", "interrupted")]

        best = best_cells(cells)

        assert {"c1", "c4"} == set(best.values())

    def test_tie_goes_to_the_first_cell(self) -> None:
        """Equal values: the first cell in sweep order wins."""
        best = best_cells([cell("c2", chat(100.0, 50.0)), cell("c1", chat(100.0, 50.0))])

        assert {"c2"} == set(best.values())

    def test_embeddings(self) -> None:
        """Only the objectives some complete cell reports appear."""
        cells = [cell("c1", summary(request_throughput_avg=10.0, request_latency_p50=5.0)),
                 cell("c2", summary(request_throughput_avg=18.0, request_latency_p50=6.0))]

        assert {"max_request_throughput": "c2", "min_request_latency_p50": "c1"} == \
            best_cells(cells)

    def test_no_complete_cell(self) -> None:
        """Nothing complete: nothing best."""
        assert {} == best_cells([cell("c1", None, "failed", "boom")])


# --------------------------------------------------------------------------- properties

#: Few distinct values, so ties (equal throughput, equal latency, equal cells) are common.
_values = st.one_of(st.none(), st.integers(0, 3), st.integers(0, 3), st.integers(0, 3),
                    st.floats(0, 1e6, allow_nan=False))


@st.composite
def sweeps(draw: st.DrawFn) -> list[CellResult]:
    embeddings = draw(st.booleans())
    out = []
    for i in range(draw(st.integers(0, 30))):
        status = draw(st.sampled_from(["complete", "complete", "complete", "partial", "failed"]))
        stats = {}
        throughput, latency = draw(_values), draw(_values)
        if throughput is not None:
            key = "request_throughput_avg" if embeddings else "output_token_throughput_avg"
            stats[key] = throughput
        if latency is not None:
            stats["request_latency_p50"] = latency
        if not embeddings and draw(st.booleans()):
            stats["request_throughput_avg"] = draw(st.floats(0, 1e6))
        has_summary = status != "failed" or draw(st.booleans())
        out.append(CellResult(f"cell{i}", {CONCURRENCY: i}, status, None,
                              summary(**stats) if has_summary else None))
    return out


def _points(cells: list[CellResult]) -> dict[str, tuple[float, float]]:
    """(throughput, latency) of the complete cells the frontier is computed over."""
    axes = pareto_objectives(cells)
    if axes is None:
        return {}
    rows = {row["cell"]: row for row in sweep_table(cells)}
    return {c.name: (rows[c.name][axes[0]], rows[c.name][axes[1]]) for c in cells
            if c.status == "complete" and rows[c.name][axes[0]] is not None
            and rows[c.name][axes[1]] is not None}


@given(sweeps())
def test_pareto_property(cells: list[CellResult]) -> None:
    """No Pareto cell is dominated by any complete cell, and every other complete cell is
    dominated by some Pareto cell; the frontier keeps sweep order."""
    points = _points(cells)
    front = pareto_cells(cells)

    assert set(front) <= set(points)
    assert front == [c.name for c in cells if c.name in set(front)]
    for name in front:
        assert not any(dominates(points[other], points[name]) for other in points)
    for name in set(points) - set(front):
        assert any(dominates(points[p], points[name]) for p in front)


@given(sweeps())
def test_best_property(cells: list[CellResult]) -> None:
    """Each best cell is complete and holds the extreme value among complete cells."""
    rows = {row["cell"]: row for row in sweep_table(cells)}
    complete = [c.name for c in cells if c.status == "complete"]
    for objective, name in best_cells(cells).items():
        column = ("output_token_throughput_avg" if objective == "max_output_token_throughput"
                  else "request_throughput_avg" if objective == "max_request_throughput"
                  else "request_latency_p50")
        values = [rows[n][column] for n in complete if rows[n][column] is not None]
        assert name in complete
        assert (max if objective.startswith("max") else min)(values) == rows[name][column]


# --------------------------------------------------------------------------- files


def _failed_sweep() -> list[CellResult]:
    return [*concurrency_sweep(),
            cell("c16", None, "failed", 'server said "no", then closed')]


class TestDegraded:
    """A degraded cell (error rate above max_error_rate) keeps its numbers but is
    trusted by nothing: never best, never on the frontier."""

    @staticmethod
    def sweep_with_a_fast_failing_cell() -> list[CellResult]:
        """c16 failed half its requests quickly: on paper the fastest, highest cell."""
        return [*concurrency_sweep(),
                cell("c16", chat(9999.0, 1.0), "degraded", "error rate 50% > 1%")]

    def test_a_degraded_cell_needs_a_summary(self) -> None:
        """It ran: a degraded cell without numbers is a contradiction."""
        with pytest.raises(ValueError, match="'c1' is degraded but has no summary"):
            CellResult("c1", {CONCURRENCY: 1}, "degraded", "error rate 50% > 1%", None)

    def test_a_degraded_cell_keeps_its_numbers_and_reason_in_the_table(self) -> None:
        row = sweep_table(self.sweep_with_a_fast_failing_cell())[-1]

        assert ("degraded", "error rate 50% > 1%") == (row["status"], row["reason"])
        assert 9999.0 == row["output_token_throughput_avg"]

    def test_a_degraded_cell_is_never_best(self) -> None:
        best = best_cells(self.sweep_with_a_fast_failing_cell())

        assert "c16" not in best.values()
        assert "c4" == best["max_output_token_throughput"]

    def test_a_degraded_cell_is_never_on_the_frontier(self) -> None:
        assert ["c1", "c2", "c4"] == pareto_cells(self.sweep_with_a_fast_failing_cell())

    def test_the_sweep_json_lists_the_degraded_cells(self, tmp_path: Path) -> None:
        paths = write_sweep_aggregate(tmp_path, "grid", self.sweep_with_a_fast_failing_cell())
        data = json.loads(paths["json"].read_text(encoding="utf-8"))

        assert ["c16"] == data["sweep"]["degraded"]
        assert 4 == data["num_successful_runs"]
        assert "c16" not in data["pareto_optimal_cells"]
        kept = {c["cell"]: c["status"] for c in data["per_combination_metrics"]}
        assert "degraded" == kept["c16"]


class TestNotRun:
    """A stopped sweep's aggregate lists every planned cell: the one stopped as partial,
    the ones it never reached as not_run (no numbers, no part in best or the frontier)."""

    @staticmethod
    def stopped_sweep() -> list[CellResult]:
        return [cell("c1", chat(100.0, 50.0)), cell("c2", None, "partial", "stopped by the user"),
                cell("c4", None, "not_run", "the sweep was stopped before it started"),
                cell("c8", None, "not_run", "the sweep was stopped before it started")]

    def test_a_not_run_cell_has_no_summary(self) -> None:
        """It never started: a not_run cell with numbers is a contradiction."""
        with pytest.raises(ValueError, match="'c1' was not run but has a summary"):
            CellResult("c1", {CONCURRENCY: 1}, "not_run", None, chat(1.0, 1.0))

    def test_not_run_cells_stay_in_the_table_with_their_values(self) -> None:
        rows = sweep_table(self.stopped_sweep())

        assert [("c1", "complete"), ("c2", "partial"), ("c4", "not_run"), ("c8", "not_run")] \
            == [(r["cell"], r["status"]) for r in rows]
        assert (8, None) == (rows[-1]["concurrency"], rows[-1]["request_latency_p50"])

    def test_the_sweep_json_lists_the_not_run_cells(self, tmp_path: Path) -> None:
        paths = write_sweep_aggregate(tmp_path, "grid", self.stopped_sweep())
        data = json.loads(paths["json"].read_text(encoding="utf-8"))

        assert ["c4", "c8"] == data["sweep"]["not_run"]
        assert ["c2"] == data["sweep"]["partial"]
        assert (4, 4, 2) == (data["sweep"]["cells"], data["metadata"]["num_combinations"],
                             data["num_profile_runs"])
        assert [1, 2, 4, 8] == data["metadata"]["sweep_parameters"][0]["values"]
        assert ["c1"] == data["pareto_optimal_cells"]

    def test_the_sweep_csv_lists_the_not_run_cells(self, tmp_path: Path) -> None:
        paths = write_sweep_aggregate(tmp_path, "grid", self.stopped_sweep())
        rows = list(csv.DictReader(io.StringIO(paths["csv"].read_text(encoding="utf-8"))))

        assert ["complete", "partial", "not_run", "not_run"] == [r["status"] for r in rows]
        assert ("4", "") == (rows[2]["concurrency"], rows[2]["request_latency_p50"])


class TestFiles:
    """Tests for `write_sweep_aggregate` and the two files."""

    @pytest.fixture
    def folder(self, tmp_path: Path) -> Path:
        """An empty sweep_aggregate folder."""
        path = tmp_path / "sweep_aggregate"
        path.mkdir()
        return path

    def test_paths(self, tmp_path: Path) -> None:
        """Both files land in the given folder (created when missing)."""
        folder = tmp_path / "sweep_aggregate"

        paths = write_sweep_aggregate(folder, "grid", concurrency_sweep())

        assert {"json": folder / SWEEP_JSON, "csv": folder / SWEEP_CSV} == paths
        assert "profile_export_aiperf_sweep.json" == paths["json"].name
        assert paths["json"].is_file() and paths["csv"].is_file()

    def test_csv(self, tmp_path: Path) -> None:
        """A header and one row per cell, \\r\\n line ends, numbers as in the summary CSV,
        pareto_optimal true/false, best_for the objectives, the failed cell's reason
        quoted and its metrics empty."""
        raw = write_sweep_aggregate(tmp_path, "grid", _failed_sweep())["csv"].read_bytes()
        text = raw.decode("utf-8")

        assert text.endswith("\r\n")
        assert len(text.split("\r\n")) == 7  # header, 5 rows, trailing empty
        assert "\n" not in text.replace("\r\n", "")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert ["cell", "status", "reason", "concurrency",
                *(column for column, _, _ in KEY_METRICS), "pareto_optimal", "best_for"] == rows[0]
        by_cell = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
        assert ["c1", "c2", "c4", "c8", "c16"] == list(by_cell)
        c4 = by_cell["c4"]
        assert ("complete", "", "4", "350.00", "3.50", "60.00", "120.00") == (
            c4["status"], c4["reason"], c4["concurrency"], c4["output_token_throughput_avg"],
            c4["request_throughput_avg"], c4["request_latency_p50"], c4["request_latency_p99"])
        assert ("", "") == (c4["error_request_count_avg"], c4["request_error_rate_avg"])
        assert "max_output_token_throughput;max_request_throughput" == c4["best_for"]
        assert ["true", "true", "true", "false", "false"] == [
            row["pareto_optimal"] for row in by_cell.values()]
        c16 = by_cell["c16"]
        assert ("failed", 'server said "no", then closed', "16", "") == (
            c16["status"], c16["reason"], c16["concurrency"], c16["best_for"])
        assert all(c16[column] == "" for column, _, _ in KEY_METRICS)
        assert '"server said ""no"", then closed"' in text

    def test_csv_integers_and_swept_values(self) -> None:
        """Integer metrics stay bare; swept values are written as set (floats unrounded,
        booleans lower-case, lists as JSON)."""
        cells = [CellResult("a", {"rate": 2.125, "streaming": True, "pair": [128, 256]},
                            "complete", None, summary(error_request_count_avg=3,
                                                      request_latency_p50=1.0))]

        rows = list(csv.reader(io.StringIO(render_sweep_csv(cells), newline="")))
        row = dict(zip(rows[0], rows[1], strict=True))

        assert ("2.125", "true", "[128, 256]", "3", "1.00") == (
            row["rate"], row["streaming"], row["pair"], row["error_request_count_avg"],
            row["request_latency_p50"])

    def test_json_round_trip(self, tmp_path: Path) -> None:
        """The JSON read back carries the reference's keys and ours, agreeing with the
        functions."""
        cells = _failed_sweep()

        data = json.loads(write_sweep_aggregate(tmp_path, "grid", cells)["json"].read_text(
            encoding="utf-8"))

        assert 1 == data["schema_version"]
        assert {"type": "grid", "cells": 5, "complete": 4, "partial": [], "failed": ["c16"],
                "degraded": [], "not_run": [],
                "parameters": {CONCURRENCY: "concurrency"}} == data["sweep"]
        # The reference's keys.
        assert ("sweep", 5, 4) == (data["aggregation_type"], data["num_profile_runs"],
                                   data["num_successful_runs"])
        assert [{"label": "c16", "error": 'server said "no", then closed'}] == \
            data["failed_runs"]
        assert {"sweep_parameters": [{"name": CONCURRENCY, "values": [1, 2, 4, 8, 16]}],
                "num_combinations": 5} == data["metadata"]
        assert [{CONCURRENCY: 1}, {CONCURRENCY: 2}, {CONCURRENCY: 4}] == data["pareto_optimal"]
        combos = data["per_combination_metrics"]
        assert ["c1", "c2", "c4", "c8"] == [c["cell"] for c in combos]
        assert {CONCURRENCY: 8} == combos[3]["parameters"]
        assert (False, "complete") == (combos[3]["pareto_optimal"], combos[3]["status"])
        assert {"mean": 60.0, "unit": "ms"} == combos[2]["metrics"]["request_latency_p50"]
        assert {"mean": 350.0, "unit": "tokens/sec"} == \
            combos[2]["metrics"]["output_token_throughput_avg"]
        assert {"cell": "c4", "parameters": {CONCURRENCY: 4}, "metric": 350.0,
                "metric_key": "output_token_throughput_avg", "unit": "tokens/sec"} == \
            data["best_configurations"]["max_output_token_throughput"]
        assert "c4" == data["best_configurations"]["best_throughput"]["cell"]
        assert ("c1", "time_to_first_token_p99") == (
            data["best_configurations"]["best_latency_p99"]["cell"],
            data["best_configurations"]["best_latency_p99"]["metric_key"])
        # Ours, equal to the functions'.
        assert best_cells(cells) == data["best"]
        assert pareto_cells(cells) == data["pareto_optimal_cells"]
        assert {"maximize": "output_token_throughput_avg", "minimize": "request_latency_p50"} \
            == data["pareto_objectives"]
        table = sweep_table(cells)
        assert [list(row) + ["pareto_optimal", "best_for"] for row in table] == \
            [list(row) for row in data["cells"]]
        for row, written in zip(table, data["cells"], strict=True):
            assert row == {k: v for k, v in written.items()
                           if k not in ("pareto_optimal", "best_for")}
        assert [True, True, True, False, False] == [r["pareto_optimal"] for r in data["cells"]]

    def test_empty_sweep(self, tmp_path: Path) -> None:
        """No cells: a header-only CSV and an empty, valid JSON."""
        paths = write_sweep_aggregate(tmp_path, "grid", [])

        data = json.loads(paths["json"].read_text(encoding="utf-8"))
        assert ([], {}, [], None) == (data["cells"], data["best"], data["pareto_optimal"],
                                      data["pareto_objectives"])
        assert 1 == paths["csv"].read_bytes().count(b"\r\n")

    def test_replaces_atomically(self, folder: Path) -> None:
        """An existing aggregate is replaced whole, and no temporary file is left."""
        (folder / SWEEP_JSON).write_text("old", encoding="utf-8")
        (folder / SWEEP_CSV).write_text("old", encoding="utf-8")

        write_sweep_aggregate(folder, "grid", concurrency_sweep())

        assert sorted(os.listdir(folder)) == sorted([SWEEP_JSON, SWEEP_CSV])
        assert json.loads((folder / SWEEP_JSON).read_text(encoding="utf-8"))["cells"]

    def test_bad_input_writes_nothing(self, folder: Path) -> None:
        """Duplicate cell names fail before either file is touched."""
        (folder / SWEEP_JSON).write_text("old", encoding="utf-8")

        with pytest.raises(ValueError, match="two sweep cells"):
            write_sweep_aggregate(folder, "grid", [cell("c1", chat(1, 1)),
                                                   cell("c1", chat(1, 1))])

        assert sorted(os.listdir(folder)) == [SWEEP_JSON]
        assert "old" == (folder / SWEEP_JSON).read_text(encoding="utf-8")

    def test_interrupted_write_keeps_old_json(self, folder: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
        """Both files go through the atomic writer, CSV first: a failure writing the JSON
        leaves the previous JSON whole and no temporary file behind."""
        (folder / SWEEP_JSON).write_text("old", encoding="utf-8")
        real = sweep_module.write_text_atomic
        written: list[str] = []

        def interrupted(path: Path, text: str) -> None:
            """The real writer, but Ctrl-C arrives halfway through the JSON."""
            written.append(Path(path).name)
            if Path(path).name != SWEEP_JSON:
                real(path, text)
                return

            def chunks() -> Iterator[bytes]:
                yield text[: len(text) // 2].encode()
                raise KeyboardInterrupt

            write_chunks_atomic(path, chunks())

        monkeypatch.setattr(sweep_module, "write_text_atomic", interrupted)
        with pytest.raises(KeyboardInterrupt):
            write_sweep_aggregate(folder, "grid", concurrency_sweep())

        assert [SWEEP_CSV, SWEEP_JSON] == written
        assert "old" == (folder / SWEEP_JSON).read_text(encoding="utf-8")
        assert sorted(os.listdir(folder)) == sorted([SWEEP_JSON, SWEEP_CSV])
