"""What the curve recipes conclude from their cells: the knee, the TTFT(ISL) fit, the ITL
surface. Each result is written to ``sweep_aggregate/<recipe>.json`` and summed up in one
sentence for the console.

The inputs are the sweep aggregate's rows (``sweep_table``): one per cell, with the swept
values by short name (``concurrency``, ``isl``, ``osl``) and the key metrics.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

#: The statistic the knee is judged on (the same one the knee plot draws).
KNEE_METRIC = "request_latency_p99"


def knee(rows: Sequence[Mapping[str, Any]], threshold: float) -> dict[str, Any]:
    """The first concurrency whose latency exceeds the lowest concurrency's by more than
    ``threshold`` (0.2 = 20%), and the last one before it."""
    points = sorted((r["concurrency"], r[KNEE_METRIC], r.get("output_token_throughput_avg"))
                    for r in rows if r.get("status") == "complete"
                    and r.get("concurrency") is not None and r.get(KNEE_METRIC) is not None)
    if len(points) < 2:
        return {"found": False, "reason": "fewer than 2 complete cells", "points": points}
    base = points[0][1]
    limit = base * (1 + threshold)
    for (c_prev, lat_prev, tput_prev), (c, lat, _) in zip(points, points[1:], strict=False):
        if lat > limit:
            return {"found": True, "metric": KNEE_METRIC, "threshold": threshold,
                    "baseline_ms": base, "knee_concurrency": c, "knee_latency_ms": lat,
                    "last_good_concurrency": c_prev, "last_good_latency_ms": lat_prev,
                    "last_good_output_throughput": tput_prev,
                    "points": [list(p) for p in points]}
    return {"found": False, "metric": KNEE_METRIC, "threshold": threshold, "baseline_ms": base,
            "reason": f"latency stayed within {threshold:.0%} of the lowest concurrency's",
            "points": [list(p) for p in points]}


def knee_sentence(result: Mapping[str, Any]) -> str:
    if not result["found"]:
        return f"concurrency-ramp: no knee found ({result['reason']})"
    tput = result.get("last_good_output_throughput")
    extra = f", output {tput:,.0f} tok/s" if isinstance(tput, int | float) else ""
    return (f"concurrency-ramp: knee at concurrency {result['knee_concurrency']} "
            f"({KNEE_METRIC} {result['knee_latency_ms']:.1f} ms > {1 + result['threshold']:.2f}"
            f" x {result['baseline_ms']:.1f} ms); last concurrency before it: "
            f"{result['last_good_concurrency']}{extra}")


def ttft_fit(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Least-squares TTFT p50 = intercept + slope * ISL over the complete cells, with r^2."""
    points = sorted((float(r["isl"]), float(r["time_to_first_token_p50"])) for r in rows
                    if r.get("status") == "complete" and r.get("isl") is not None
                    and r.get("time_to_first_token_p50") is not None)
    if len(points) < 2:
        return {"fitted": False, "reason": "fewer than 2 complete cells", "points": points}
    n = len(points)
    mx = math.fsum(x for x, _ in points) / n
    my = math.fsum(y for _, y in points) / n
    sxx = math.fsum((x - mx) ** 2 for x, _ in points)
    sxy = math.fsum((x - mx) * (y - my) for x, y in points)
    slope = sxy / sxx if sxx else 0.0
    intercept = my - slope * mx
    ss_res = math.fsum((y - (intercept + slope * x)) ** 2 for x, y in points)
    ss_tot = math.fsum((y - my) ** 2 for _, y in points)
    r2 = 1 - ss_res / ss_tot if ss_tot else 1.0
    return {"fitted": True, "model": "ttft_p50_ms = intercept_ms + ms_per_token * isl",
            "intercept_ms": intercept, "ms_per_token": slope, "r2": r2,
            "points": [list(p) for p in points]}


def ttft_fit_sentence(result: Mapping[str, Any]) -> str:
    if not result["fitted"]:
        return f"prefill-ttft-curve: no fit ({result['reason']})"
    return (f"prefill-ttft-curve: TTFT p50 = {result['intercept_ms']:.2f} ms + "
            f"{result['ms_per_token']:.4f} ms/token x ISL (r^2 = {result['r2']:.3f})")


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
        return "decode-itl-curve: no complete cell with an ITL"
    return (f"decode-itl-curve: ITL p50 from {min(values):.2f} to {max(values):.2f} ms over "
            f"{len(result['cells'])} cells")


def conclude(recipe: str, rows: Sequence[Mapping[str, Any]], search: Any
             ) -> tuple[dict[str, Any], str] | None:
    """The result and its sentence for a curve recipe; None for other recipes."""
    if recipe == "concurrency-ramp":
        result = knee(rows, search.degradation_threshold or 0.2)
        return result, knee_sentence(result)
    if recipe == "prefill-ttft-curve":
        result = ttft_fit(rows)
        return result, ttft_fit_sentence(result)
    if recipe == "decode-itl-curve":
        result = itl_surface(rows)
        return result, itl_surface_sentence(result)
    return None
