"""What the curve recipes conclude from their cells: the knee, the TTFT(ISL) fit, the ITL
surface, the Pareto frontier. Each result is written to ``sweep_aggregate/<recipe>.json``
and summed up in one sentence for the console.

The inputs are the sweep aggregate's rows (``sweep_table``): one per cell, with the swept
values by short name (``concurrency``, ``isl``, ``osl``), the key metrics, and for
pareto-sweep whether the cell is ``pareto_optimal``.

Only *complete* cells are points of a curve. A *degraded* cell (its error rate above
``max_error_rate``, see :mod:`aiperf.recipes.degraded`) is named in every answer and never
taken as a good point; when no cell is complete and some are degraded, the answer says
so instead of computing anything from broken data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiperf.recipes.degraded import degraded_note, percent

#: The statistic the knee is judged on (the same one the knee plot draws).
KNEE_METRIC = "request_latency_p99"


def knee(rows: Sequence[Mapping[str, Any]], threshold: float) -> dict[str, Any]:
    """The first concurrency whose latency exceeds the lowest concurrency's by more than
    ``threshold`` (0.2 = 20%), and the last one before it.

    The latencies are those of the complete cells only. A degraded cell above the
    lowest complete one is a knee too (``cause: errors``): past a point where the
    server starts failing requests, no latency knee can be claimed, so the knee is the
    first concurrency that is either too slow or degraded.
    """
    points = sorted((r["concurrency"], r[KNEE_METRIC], r.get("output_token_throughput_avg"))
                    for r in rows if r.get("status") == "complete"
                    and r.get("concurrency") is not None and r.get(KNEE_METRIC) is not None)
    if not points:
        return {"found": False, "reason": "no complete cell", "points": []}
    base = points[0][1]
    measured = {"metric": KNEE_METRIC, "threshold": threshold, "baseline_ms": base,
                "points": [list(p) for p in points]}
    failing = _first_degraded_above(rows, points[0][0])
    before = [p for p in points if failing is None or p[0] < failing["concurrency"]]
    limit = base * (1 + threshold)
    for (c_prev, lat_prev, tput_prev), (c, lat, _) in zip(before, before[1:], strict=False):
        if lat > limit:
            return {"found": True, "cause": "latency", **measured, "knee_concurrency": c,
                    "knee_latency_ms": lat, "last_good_concurrency": c_prev,
                    "last_good_latency_ms": lat_prev, "last_good_output_throughput": tput_prev}
    if failing is not None:
        c_prev, lat_prev, tput_prev = before[-1]
        return {"found": True, "cause": "errors", **measured,
                "knee_concurrency": failing["concurrency"], "knee_reason": failing["reason"],
                "last_good_concurrency": c_prev, "last_good_latency_ms": lat_prev,
                "last_good_output_throughput": tput_prev}
    if len(points) < 2:
        return {"found": False, "reason": "fewer than 2 complete cells", "points": points}
    return {"found": False, **measured,
            "reason": f"latency stayed within {threshold:.0%} of the lowest concurrency's"}


def _first_degraded_above(rows: Sequence[Mapping[str, Any]], lowest: Any
                          ) -> Mapping[str, Any] | None:
    """The degraded row of lowest concurrency above ``lowest`` (the baseline's); a
    degraded cell below the baseline has no baseline to be a knee against."""
    above = [r for r in rows if r.get("status") == "degraded"
             and r.get("concurrency") is not None and r["concurrency"] > lowest]
    return min(above, key=lambda r: r["concurrency"], default=None)


def knee_sentence(result: Mapping[str, Any]) -> str:
    if not result["found"]:
        return f"no knee found ({result['reason']})"
    tput = result.get("last_good_output_throughput")
    extra = f", output {tput:,.0f} tok/s" if isinstance(tput, int | float) else ""
    if result.get("cause") == "errors":
        why = f"degraded: {result['knee_reason']}"
    else:
        why = (f"{KNEE_METRIC} {result['knee_latency_ms']:.1f} ms > "
               f"{1 + result['threshold']:.2f} x {result['baseline_ms']:.1f} ms")
    return (f"knee at concurrency {result['knee_concurrency']} ({why}); "
            f"last concurrency before it: {result['last_good_concurrency']}{extra}")


#: Below this r^2 a straight line is a poor model of TTFT(ISL) (attention's quadratic
#: term shows at long inputs), and a quadratic is fitted instead, given 3 or more ISLs.
LINEAR_ENOUGH_R2 = 0.85


def ttft_fit(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Least-squares TTFT p50 over ISL across the complete cells: a line
    (``intercept_ms + ms_per_token * isl``), or a quadratic when the line's r^2 is below
    :data:`LINEAR_ENOUGH_R2` and there are 3 or more input lengths. ``coefficients`` are
    the polynomial's, highest power first (as ``numpy.polyval`` takes them); the plot
    draws exactly this fit."""
    import numpy as np

    points = sorted((float(r["isl"]), float(r["time_to_first_token_p50"])) for r in rows
                    if r.get("status") == "complete" and r.get("isl") is not None
                    and r.get("time_to_first_token_p50") is not None)
    lengths = len({x for x, _ in points})
    if lengths < 2:
        return {"fitted": False, "reason": "fewer than 2 complete cells with distinct ISLs",
                "points": [list(p) for p in points]}
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points])
    degree, coefficients = 1, np.polyfit(x, y, 1)
    r2 = _r2(x, y, coefficients)
    if r2 < LINEAR_ENOUGH_R2 and lengths >= 3:
        degree, coefficients = 2, np.polyfit(x, y, 2)
        r2 = _r2(x, y, coefficients)
    terms = [float(c) for c in coefficients]
    model = ("ttft_p50_ms = intercept_ms + ms_per_token * isl" if degree == 1 else
             "ttft_p50_ms = c2 * isl^2 + c1 * isl + c0 (coefficients: c2, c1, c0)")
    return {"fitted": True, "model": model, "degree": degree, "coefficients": terms,
            "intercept_ms": terms[-1], "ms_per_token": terms[-2] if degree == 1 else None,
            "r2": r2, "points": [list(p) for p in points]}


def _r2(x: Any, y: Any, coefficients: Any) -> float:
    import numpy as np

    residual = float(((y - np.polyval(coefficients, x)) ** 2).sum())
    spread = float(((y - y.mean()) ** 2).sum())
    return 1.0 - residual / spread if spread > 0 else 1.0


def ttft_fit_sentence(result: Mapping[str, Any]) -> str:
    if not result["fitted"]:
        return f"no fit ({result['reason']})"
    if result["degree"] == 1:
        return (f"TTFT p50 = {result['intercept_ms']:.2f} ms + "
                f"{result['ms_per_token']:.4f} ms/token x ISL (r^2 = {result['r2']:.3f})")
    c2, c1, c0 = result["coefficients"]
    return (f"TTFT p50 = {c2:.3g} x ISL^2 + {c1:.3g} x ISL + {c0:.3g} ms, quadratic "
            f"(r^2 = {result['r2']:.3f})")


def itl_surface(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """ITL p50 by (concurrency, OSL) over the complete cells."""
    cells = [{"concurrency": r["concurrency"], "osl": r["osl"],
              "inter_token_latency_p50": r.get("inter_token_latency_p50")}
             for r in rows if r.get("status") == "complete"
             and r.get("concurrency") is not None and r.get("osl") is not None]
    return {"cells": cells}


def itl_surface_sentence(result: Mapping[str, Any]) -> str:
    values = [c["inter_token_latency_p50"] for c in result["cells"]
              if c["inter_token_latency_p50"] is not None]
    if not values:
        return "no complete cell with an ITL"
    return (f"ITL p50 from {min(values):.2f} to {max(values):.2f} ms over "
            f"{len(result['cells'])} cells")


def pareto_answer(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The cells on the throughput/latency frontier (the sweep aggregate's
    ``pareto_optimal``, which only complete cells can be on), in sweep order."""
    return {"pareto_optimal": [r["cell"] for r in rows if r.get("pareto_optimal")],
            "cells": len(rows)}


def pareto_sentence(result: Mapping[str, Any]) -> str:
    frontier = result["pareto_optimal"]
    return (f"{len(frontier)} of {result['cells']} cells on the throughput/"
            f"latency frontier: {', '.join(frontier) or 'none'}")


#: A curve recipe's ``answer:`` (rules/recipes.yaml) -> (its analysis of the rows and the
#: search settings, the sentence for its result).
ANSWERS: Mapping[str, tuple[Callable[[Sequence[Mapping[str, Any]], Any], dict[str, Any]],
                            Callable[[Mapping[str, Any]], str]]] = {
    "knee": (lambda rows, search: knee(rows, search.degradation_threshold), knee_sentence),
    "ttft-fit": (lambda rows, _search: ttft_fit(rows), ttft_fit_sentence),
    "itl-surface": (lambda rows, _search: itl_surface(rows), itl_surface_sentence),
    "pareto": (lambda rows, _search: pareto_answer(rows), pareto_sentence),
}


def conclude(recipe: str, answer: str | None, rows: Sequence[Mapping[str, Any]], search: Any
             ) -> tuple[dict[str, Any], str] | None:
    """The result and its sentence (``<recipe>: ...``) for a curve recipe whose answer is
    ``answer``; None when it has none (a plugin's grid that only sweeps).

    ``search`` is the resolved ``benchmark.search`` (its ``max_error_rate`` is the limit
    the degraded cells broke). Every result lists its ``degraded`` cells, and the
    sentence names them.
    """
    if answer is None:
        return None
    if answer not in ANSWERS:
        raise ValueError(f"recipe {recipe}: answer {answer!r} is no curve answer "
                         f"({', '.join(ANSWERS)})")
    limit = search.max_error_rate
    degraded = [r["cell"] for r in rows if r.get("status") == "degraded"]
    if degraded and not any(r.get("status") == "complete" for r in rows):
        result, sentence = _no_answer(recipe, len(rows), degraded, limit)
        return {"analysis": answer, **result}, sentence
    analyse, sentence_of = ANSWERS[answer]
    result = analyse(rows, search)
    sentence = f"{recipe}: {sentence_of(result)}"
    if degraded:
        sentence += f"; {degraded_note(degraded, limit)}"
    # ``analysis`` tells the plots which answer this is, whatever the recipe's name.
    return {"analysis": answer, **result, "degraded": degraded,
            "max_error_rate": limit}, sentence


def _no_answer(recipe: str, cells: int, degraded: Sequence[str], limit: float
               ) -> tuple[dict[str, Any], str]:
    """No complete cell but some degraded: nothing is computed from their numbers."""
    if len(degraded) == cells:
        what = "every cell is degraded"
        sentence = (f"{recipe}: no answer: every cell is degraded (error rate > "
                    f"{percent(limit)}): {', '.join(degraded)}")
    else:
        what = "no cell is complete"
        sentence = f"{recipe}: no answer: no cell is complete; {degraded_note(degraded, limit)}"
    return {"found": False, "reason": what, "degraded": list(degraded),
            "max_error_rate": limit}, sentence
