"""The SLA searches: the largest concurrency whose measured percentiles meet the SLAs.

Deterministic and budgeted: probe upward from ``concurrency_min`` by doubling until a
probe fails (or ``concurrency_max`` is reached), then bisect between the last pass and
the first failure. Every probe is a real run (a cell of its own); the history keeps them
all, and a pass above a failure (a non-monotone server) is reported, never hidden.

A probe whose error rate is above ``max_error_rate`` is *degraded*
(:mod:`aiperf.bench.degraded`): it fails the SLA whatever its latencies (those of the
requests that survived a failing server), and the answer names it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from aiperf.bench.degraded import degraded_note, degraded_reason, percent

#: The most probes one search may run.
PROBE_BUDGET = 16

#: SLA setting -> (metric tag, statistic, label); every SLA is judged on its p95.
SLA_METRICS = {
    "ttft_sla_ms": ("time_to_first_token", "p95", "TTFT p95"),
    "itl_sla_ms": ("inter_token_latency", "p95", "ITL p95"),
    "tpot_sla_ms": ("inter_token_latency", "p95", "TPOT p95"),
    "e2e_sla_ms": ("request_latency", "p95", "request latency p95"),
}

#: The SLO each ``max-goodput-under-slo`` setting becomes: a request is good when it
#: meets all of them (the ``--goodput`` machinery of a single run).
GOODPUT_SLOS = {
    "ttft_sla_ms": "time_to_first_token",
    "itl_sla_ms": "inter_token_latency",
    "tpot_sla_ms": "inter_token_latency",
    "e2e_sla_ms": "request_latency",
}

#: Which SLAs each search recipe judges (all of those given, for max-concurrency).
RECIPE_SLAS = {
    "max-goodput-under-slo": ("ttft_sla_ms", "itl_sla_ms", "tpot_sla_ms", "e2e_sla_ms"),
    "max-throughput-ttft-sla": ("ttft_sla_ms",),
    "max-throughput-itl-sla": ("itl_sla_ms", "tpot_sla_ms"),
    "max-concurrency-under-sla": ("ttft_sla_ms", "itl_sla_ms", "tpot_sla_ms", "e2e_sla_ms",
                                  "error_rate_sla"),
}


@attrs.frozen
class Probe:
    """One probed concurrency: whether it met every SLA, and the values judged.
    ``degraded`` is why its error rate made it fail (``"error rate 47% > 1%"``), else
    None."""

    concurrency: int
    passed: bool
    measured: Mapping[str, float | None]
    output_throughput: float | None
    degraded: str | None = None

    @property
    def name(self) -> str:
        """The probe's cell (and directory) name."""
        return probe_name(self.concurrency)


def probe_name(concurrency: int) -> str:
    """The cell a probe of ``concurrency`` runs as: ``concurrency<N>``."""
    return f"concurrency{concurrency}"


def judge(summary: Mapping[str, Any] | None, slas: Mapping[str, float]
          ) -> tuple[bool, dict[str, float | None]]:
    """Whether a run's summary meets every SLA, and each judged value (None: missing,
    which fails: an SLA that cannot be checked is not met). ``attainment`` is the
    goodput search's: the fraction of requests that met every SLO, at least this."""
    if "attainment" in slas:
        entry = summary.get("good_request_fraction") if summary is not None else None
        value = entry.get("avg") if isinstance(entry, Mapping) else None
        return value is not None and value >= slas["attainment"], {"attainment": value}
    measured: dict[str, float | None] = {}
    ok = summary is not None
    for name, limit in slas.items():
        value = None
        if summary is not None:
            if name == "error_rate_sla":
                entry = summary.get("request_error_rate")
                percent = entry.get("avg") if isinstance(entry, Mapping) else None
                value = percent / 100 if percent is not None else None
            else:
                tag, stat, _ = SLA_METRICS[name]
                entry = summary.get(tag)
                value = entry.get(stat) if isinstance(entry, Mapping) else None
        measured[name] = value
        ok = ok and value is not None and value <= limit
    return ok, measured


def judged_probe(concurrency: int, summary: Mapping[str, Any] | None,
                 slas: Mapping[str, float], max_error_rate: float) -> Probe:
    """A probe's verdict from its run's summary: it passes when it meets every SLA and
    is not degraded."""
    passed, measured = judge(summary, slas)
    degraded = degraded_reason(summary, max_error_rate)
    key = "goodput" if "attainment" in slas else "output_token_throughput"
    tput = summary.get(key, {}).get("avg") if summary else None
    return Probe(concurrency, passed and degraded is None, measured, tput, degraded)


def search(run: Callable[[int], Mapping[str, Any] | None], low: int, high: int,
           slas: Mapping[str, float], budget: int = PROBE_BUDGET, *,
           max_error_rate: float) -> list[Probe]:
    """Probe then bisect; every probe in the order run."""
    history: list[Probe] = []
    seen: dict[int, Probe] = {}

    def probe(c: int) -> Probe:
        if c not in seen:
            seen[c] = judged_probe(c, run(c), slas, max_error_rate)
            history.append(seen[c])
        return seen[c]

    best, failed = None, None
    c = low
    while len(history) < budget:
        if probe(c).passed:
            best = c
            if c >= high:
                break
            c = min(c * 2, high)
        else:
            failed = c
            break
    if best is not None and failed is not None:
        while failed - best > 1 and len(history) < budget:
            mid = (best + failed) // 2
            if probe(mid).passed:
                best = mid
            else:
                failed = mid
    return history


def grid_search(run: Callable[[int], Mapping[str, Any] | None], grid: Sequence[int],
                slas: Mapping[str, float], *, max_error_rate: float) -> list[Probe]:
    """``--search-style grid``: every concurrency of ``grid`` is probed, in order (more
    runs than probe-bisect, but it sees the whole curve, non-monotone parts included)."""
    return [judged_probe(c, run(c), slas, max_error_rate) for c in grid]


def conclude(recipe: str, history: Sequence[Probe], slas: Mapping[str, float],
             low: int, high: int, max_error_rate: float) -> tuple[dict[str, Any], str]:
    """The answer of a search from its probes: the result file's content and a sentence
    (which ends by naming the degraded probes, if any)."""
    degraded = [p.name for p in history if p.degraded is not None]
    if history and len(degraded) == len(history):
        return _no_answer(recipe, degraded, slas, low, high, max_error_rate)
    result, sentence = _answer(recipe, history, slas, low, high)
    result.update(degraded=degraded, max_error_rate=max_error_rate)
    if degraded:
        note = f"; {degraded_note(degraded, max_error_rate)}"
        sentence += note
        result["answer"] += note
    return result, sentence


def _no_answer(recipe: str, degraded: Sequence[str], slas: Mapping[str, float], low: int,
               high: int, max_error_rate: float) -> tuple[dict[str, Any], str]:
    """Every probe degraded: nothing is judged from their numbers."""
    sentence = (f"{recipe}: no answer: every probe is degraded (error rate > "
                f"{percent(max_error_rate)}): {', '.join(degraded)}")
    result = {"recipe": recipe, "slas": dict(slas), "range": [low, high],
              "probes": len(degraded), "found": False, "reason": "every probe is degraded",
              "degraded": list(degraded), "max_error_rate": max_error_rate,
              "answer": sentence}
    return result, sentence


def _answer(recipe: str, history: Sequence[Probe], slas: Mapping[str, float],
            low: int, high: int) -> tuple[dict[str, Any], str]:
    """The answer from the probes' verdicts (a degraded probe has already failed)."""
    passing = [p for p in history if p.passed]
    failing = [p for p in history if not p.passed]
    limits = " and ".join(_limit_text(name, limit) for name, limit in slas.items())
    non_monotone = any(p.concurrency > f.concurrency for p in passing for f in failing)
    result: dict[str, Any] = {
        "recipe": recipe, "slas": dict(slas), "range": [low, high],
        "probes": len(history), "non_monotone": non_monotone,
    }
    if not passing:
        lowest = min(history, key=lambda p: p.concurrency)
        result.update(found=False, reason="no probed concurrency met the SLA")
        shown = ", ".join(_measured_text(n, v) for n, v in lowest.measured.items())
        sentence = (f"{recipe}: no concurrency in [{low}, {high}] meets {limits} (at the lowest, "
                    f"{lowest.concurrency}: {shown}); the SLA is out of reach for this server")
        result["answer"] = sentence
        return result, sentence
    if recipe == "max-goodput-under-slo":
        chosen = max(passing, key=lambda p: (p.output_throughput or 0.0, p.concurrency))
        good = f"{chosen.output_throughput:,.1f} good requests/s" \
            if chosen.output_throughput else "goodput unknown"
        sentence = (f"max goodput with >= {slas['attainment']:.0%} of requests meeting every "
                    f"SLO: concurrency {chosen.concurrency} ({good})")
        result.update(found=True, concurrency=chosen.concurrency,
                      goodput=chosen.output_throughput, non_monotone=non_monotone,
                      answer=sentence)
        return result, f"{recipe}: {sentence}"
    if recipe.startswith("max-throughput"):
        chosen = max(passing, key=lambda p: (p.output_throughput or 0.0, p.concurrency))
        what = "max output throughput"
    else:
        chosen = max(passing, key=lambda p: p.concurrency)
        what = "max concurrency"
    tput = f" (output {chosen.output_throughput:,.0f} tok/s)" if chosen.output_throughput else ""
    sentence = f"{what} under {limits}: concurrency {chosen.concurrency}{tput}"
    if chosen.concurrency >= high and not failing:
        sentence += f"; the range's top ({high}) still passed, so the limit may be higher"
    if non_monotone:
        sentence += "; note: some concurrency passed above one that failed (non-monotone)"
    result.update(found=True, concurrency=chosen.concurrency,
                  output_throughput=chosen.output_throughput, answer=sentence)
    return result, f"{recipe}: {sentence}"


def _measured_text(name: str, value: float | None) -> str:
    if name == "attainment":
        return "share of good requests " + ("not measured" if value is None
                                            else f"{value:.0%}")
    if value is None:
        return f"{_limit_text(name, None)} not measured"
    if name == "error_rate_sla":
        return f"error rate {value:g}"
    return f"{_limit_text(name, None)} {value:.1f} ms"


def _limit_text(name: str, limit: float | None) -> str:
    if name == "attainment":
        return "share of good requests" + (f" >= {limit:.0%}" if limit is not None else "")
    if name == "error_rate_sla":
        return "error rate" + (f" <= {limit:g}" if limit is not None else "")
    label = SLA_METRICS[name][2]
    return label + (f" <= {limit:g} ms" if limit is not None else "")


def history_json(history: Sequence[Probe]) -> list[dict[str, Any]]:
    """``search_history.json``: every probe in the order it ran."""
    return [{"step": i, "concurrency": p.concurrency, "passed": p.passed,
             "measured": dict(p.measured), "output_token_throughput": p.output_throughput,
             "degraded": p.degraded}
            for i, p in enumerate(history, 1)]
