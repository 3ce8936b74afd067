"""What the curve recipes conclude (aiperf.recipes.curves), and how degraded cells (error
rate above max_error_rate) are kept out of every answer and named in it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from aiperf.recipes.curves import conclude, itl_surface, knee, knee_sentence, ttft_fit

SEARCH = SimpleNamespace(degradation_threshold=0.2, max_error_rate=0.01)
BROKEN = "error rate 47% > 1%"


def ramp_row(concurrency: int, p99: float, status: str = "complete",
             reason: str | None = None, tput: float | None = None) -> dict[str, Any]:
    """A concurrency-ramp cell as the sweep table gives it."""
    return {"cell": f"concurrency{concurrency}", "status": status, "reason": reason,
            "concurrency": concurrency, "request_latency_p99": p99,
            "output_token_throughput_avg": tput if tput is not None else 100.0 * concurrency}


def degraded(concurrency: int, p99: float) -> dict[str, Any]:
    return ramp_row(concurrency, p99, "degraded", BROKEN)


# --------------------------------------------------------------------------- the knee


def test_the_knee_is_the_first_concurrency_past_the_threshold():
    result = knee([ramp_row(1, 100), ramp_row(2, 105), ramp_row(4, 130)], 0.2)

    assert (result["found"], result["cause"]) == (True, "latency")
    assert (result["knee_concurrency"], result["last_good_concurrency"]) == (4, 2)


def test_a_degraded_cell_is_no_baseline_of_the_knee():
    # Its failures came back fast: taken as the baseline, c2 would look like the knee.
    rows = [degraded(1, 10), ramp_row(2, 100), ramp_row(4, 110), ramp_row(8, 200)]

    result = knee(rows, 0.2)

    assert result["baseline_ms"] == 100
    assert result["knee_concurrency"] == 8


def test_a_degraded_cell_at_the_top_of_the_ramp_is_beyond_the_knee():
    # Latency stays flat, then the server starts failing: no latency knee can be
    # claimed past that point.
    rows = [ramp_row(1, 100), ramp_row(2, 105), degraded(4, 100), degraded(8, 90)]

    result = knee(rows, 0.2)

    assert (result["found"], result["cause"]) == (True, "errors")
    assert (result["knee_concurrency"], result["last_good_concurrency"]) == (4, 2)
    assert result["knee_reason"] == BROKEN


def test_a_degraded_cell_before_the_latency_knee_is_the_knee():
    rows = [ramp_row(1, 100), degraded(2, 100), ramp_row(4, 300)]

    result = knee(rows, 0.2)

    assert (result["knee_concurrency"], result["last_good_concurrency"]) == (2, 1)


def test_the_knee_takes_no_degraded_latency_as_a_point():
    rows = [ramp_row(1, 100), ramp_row(2, 105), ramp_row(4, 300), degraded(8, 1)]

    result = knee(rows, 0.2)

    assert [p[0] for p in result["points"]] == [1, 2, 4]


def test_the_knee_sentence_says_the_server_degraded_there():
    rows = [ramp_row(1, 100), ramp_row(2, 105, tput=1000.0), degraded(4, 100)]

    assert knee_sentence(knee(rows, 0.2)) == (
        "knee at concurrency 4 (degraded: error rate 47% > 1%); "
        "last concurrency before it: 2, output 1,000 tok/s")


# --------------------------------------------------------------------------- fits


def test_the_prefill_fit_leaves_degraded_cells_out():
    # TTFT = 2 + 0.01 * ISL exactly, but for the degraded cell far off the line.
    rows = [{"status": "complete", "isl": isl, "time_to_first_token_p50": 2 + 0.01 * isl}
            for isl in (256, 512, 1024)]
    rows.append({"status": "degraded", "isl": 2048, "time_to_first_token_p50": 1.0})

    fit = ttft_fit(rows)

    assert fit["ms_per_token"] == pytest.approx(0.01)
    assert fit["r2"] == pytest.approx(1.0)
    assert len(fit["points"]) == 3


def test_the_itl_surface_leaves_degraded_cells_out():
    rows = [{"status": "complete", "concurrency": 1, "osl": 64, "inter_token_latency_p50": 5},
            {"status": "degraded", "concurrency": 8, "osl": 64, "inter_token_latency_p50": 1}]

    assert [c["concurrency"] for c in itl_surface(rows)["cells"]] == [1]


# --------------------------------------------------------------------------- answers


def test_the_answer_names_the_degraded_cells():
    rows = [ramp_row(1, 100), ramp_row(2, 105), degraded(64, 100), degraded(128, 100)]

    result, sentence = conclude("concurrency-ramp", "knee", rows, SEARCH)

    assert sentence.endswith("; degraded (error rate > 1%): concurrency64, concurrency128")
    assert result["degraded"] == ["concurrency64", "concurrency128"]
    assert result["max_error_rate"] == 0.01


def test_an_answer_without_degraded_cells_says_nothing_of_them():
    result, sentence = conclude("concurrency-ramp", "knee", [ramp_row(1, 100), ramp_row(2, 300)],
                                SEARCH)

    assert "degraded" not in sentence
    assert result["degraded"] == []


def test_when_every_cell_is_degraded_the_answer_says_so_and_computes_nothing():
    rows = [degraded(1, 100), degraded(2, 300)]

    result, sentence = conclude("concurrency-ramp", "knee", rows, SEARCH)

    assert sentence == ("concurrency-ramp: no answer: every cell is degraded "
                        "(error rate > 1%): concurrency1, concurrency2")
    assert (result["found"], result["reason"]) == (False, "every cell is degraded")
    assert "knee_concurrency" not in result and "points" not in result


def test_when_no_cell_is_complete_the_answer_names_the_degraded_ones():
    rows = [degraded(1, 100), ramp_row(2, 300, "failed", "no successful requests")]

    _, sentence = conclude("prefill-ttft-curve", "ttft-fit", rows, SEARCH)

    assert sentence == ("prefill-ttft-curve: no answer: no cell is complete; "
                        "degraded (error rate > 1%): concurrency1")


def test_the_pareto_answer_is_the_aggregates_frontier_and_names_the_degraded_cells():
    rows = [{**ramp_row(1, 100), "pareto_optimal": True},
            {**ramp_row(2, 105), "pareto_optimal": True},
            {**degraded(4, 1), "pareto_optimal": False}]

    result, sentence = conclude("pareto-sweep", "pareto", rows, SEARCH)

    assert result["pareto_optimal"] == ["concurrency1", "concurrency2"]
    assert sentence == ("pareto-sweep: 2 of 3 cells on the throughput/latency frontier: "
                        "concurrency1, concurrency2; degraded (error rate > 1%): concurrency4")


def test_a_recipe_without_an_answer_concludes_nothing():
    assert conclude("wide-ramp", None, [ramp_row(1, 100)], SEARCH) is None


def test_an_answer_no_curve_gives_is_an_error_naming_the_recipe():
    with pytest.raises(ValueError, match="recipe odd: answer 'max-throughput' is no curve"):
        conclude("odd", "max-throughput", [ramp_row(1, 100)], SEARCH)


def test_the_prefill_fit_goes_quadratic_when_a_line_fits_badly():
    rows = [{"cell": f"isl{x}", "status": "complete", "isl": x,
             "time_to_first_token_p50": (x - 350.0) ** 2} for x in (100, 200, 300, 400, 500, 600)]
    result = ttft_fit(rows)

    assert (result["degree"], result["ms_per_token"]) == (2, None)
    assert result["coefficients"] == pytest.approx([1.0, -700.0, 122500.0])
    assert result["r2"] == pytest.approx(1.0)
