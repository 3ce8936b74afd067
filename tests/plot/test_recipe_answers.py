"""A recipe's plot draws the recipe's answer (``sweep_aggregate/<recipe>.json``), carried
by the runs table; without one it computes the answer with the recipe's own function."""

from __future__ import annotations

import pandas as pd

from aiperf.plot.frames import ANSWERS
from aiperf.plot.registry import PLOTS
from aiperf.plot.theme import Style
from tests.plot.test_catalogue import legend_texts, make_table

MULTI = {p.name: p.draw_function() for p in PLOTS if p.reads == "table"}
STYLE = Style(dpi=40, width=8.0, height=5.0)


def with_answer(table: pd.DataFrame, analysis: str, **answer: object) -> pd.DataFrame:
    table.attrs[ANSWERS] = {analysis: {"analysis": analysis, **answer}}
    return table


def test_the_knee_plot_draws_the_ramps_answer_not_its_own_judgement():
    # The table alone has its knee at 4 by +20%; the recipe judged by +50% and found 8.
    table = with_answer(make_table(), "knee", found=True, cause="latency", threshold=0.5,
                        baseline_ms=500.0, knee_concurrency=8,
                        points=[[1, 500.0, None], [8, 900.0, None]])
    texts = legend_texts(MULTI["concurrency_knee"](table, STYLE).axes[0])

    assert texts[1] == "baseline (concurrency 1) = 500 ms"
    assert texts[2] == "baseline + 50% = 750 ms"
    assert texts[3] == "knee: above the threshold from concurrency 8"


def test_the_prefill_plot_draws_the_recipes_fit():
    table = pd.DataFrame({"isl": [256, 512, 1024, 2048],
                          "time_to_first_token_p50": [12.0, 22.0, 42.0, 82.0]})
    table = with_answer(table, "ttft-fit", fitted=True, degree=1, coefficients=[0.05, 20.0],
                        r2=0.99)
    texts = legend_texts(MULTI["prefill_ttft_fit"](table, STYLE).axes[0])

    assert texts[1] == "linear fit: 0.05·isl + 20 (r² = 0.990)"


def test_the_sla_boundary_marks_the_searchs_chosen_concurrency():
    # A max-throughput search may choose a passing probe below the highest passing one.
    table = with_answer(make_table(sla_pass=[True, True, True, False, False]),
                        "max-throughput", found=True, concurrency=2)
    texts = legend_texts(MULTI["sla_boundary"](table, STYLE).axes[0])

    assert texts[-1] == "max throughput under the SLA at concurrency = 2"


def test_the_pareto_plot_draws_the_sweeps_frontier():
    table = make_table()
    table = with_answer(table, "pareto", pareto_optimal=["demo-model_c1", "demo-model_c16"])
    ax = MULTI["pareto_frontier"](table, STYLE).axes[0]

    assert [t.get_text() for t in ax.texts] == ["c=1", "c=16"]


def test_without_an_answer_the_knee_is_the_recipes_function_over_the_table():
    texts = legend_texts(MULTI["concurrency_knee"](make_table(), STYLE).axes[0])

    assert texts[2].startswith("baseline + 20% = ")
    assert texts[3] == "knee: above the threshold from concurrency 4"
