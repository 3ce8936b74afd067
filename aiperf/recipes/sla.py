"""The SLA searches: the largest concurrency whose measured percentiles meet the SLAs.

A search is planned once (:func:`plan_search`: the recipe's SLAs, as the data of
``rules/recipes.yaml`` defines them, its range and its search style), runs its probes
(:func:`run_search`, each probe a real run the caller makes) and concludes once
(:func:`conclude`: the content of ``sweep_aggregate/<recipe>.json``).

The default style, probe-bisect, is deterministic and budgeted: probe upward from
``concurrency_min`` by doubling until a probe fails (or ``concurrency_max`` is reached),
then bisect between the last pass and the first failure. Every probe is a real run (a
cell of its own); the history keeps them all, and a pass above a failure (a non-monotone
server) is reported, never hidden.

A probe whose error rate is above ``max_error_rate`` is *degraded*
(:mod:`aiperf.recipes.degraded`): it fails the SLA whatever its latencies (those of the
requests that survived a failing server), and the answer names it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from aiperf.config.recipe import Recipe, SearchStyle, SlaDefinition
from aiperf.config.recipes import builtin_registry
from aiperf.config.sweep import log_grid
from aiperf.recipes.degraded import degraded_note, degraded_reason, percent

#: The most probes one search may run.
PROBE_BUDGET = 16


@attrs.frozen
class Objective:
    """What a search answer maximises among the passing probes (``answer:`` of an
    sla-search recipe in rules/recipes.yaml)."""

    #: ``concurrency`` or ``throughput`` (each probe's output tokens/s, or goodput).
    maximises: str
    #: Each probe counts the SLAs per request as goodput SLOs, and the search judges
    #: the share of requests that met them all (``slo_attainment_fraction``).
    judges_attainment: bool = False


#: The answers an sla-search recipe can give, by ``answer:`` name.
OBJECTIVES: Mapping[str, Objective] = {
    "max-concurrency": Objective("concurrency"),
    "max-throughput": Objective("throughput"),
    "max-goodput": Objective("throughput", judges_attainment=True),
}


@attrs.frozen
class SearchPlan:
    """Everything a search needs, decided from the recipe and the resolved settings
    before the first probe: what it judges, where it looks, how it chooses probes."""

    recipe: str
    answer: str
    #: What each probe is judged on: SLA setting -> limit (``attainment`` -> the share of
    #: good requests for a goodput search).
    slas: Mapping[str, float]
    #: Settings every probe adds to its cell (a goodput search's per-request SLOs).
    probe_values: Mapping[str, Any]
    low: int
    high: int
    steps: int
    style: SearchStyle
    max_error_rate: float
    seed: int = 0
    budget: int = PROBE_BUDGET

    @property
    def objective(self) -> Objective:
        return OBJECTIVES[self.answer]

    @property
    def resolution(self) -> float:
        """One step of the log grid over [low, high] (the ``grid`` style's spacing): how
        close an adaptive search brackets the boundary before it stops."""
        if self.steps <= 1 or self.high <= self.low:
            return 2.0
        return float((self.high / self.low) ** (1 / (self.steps - 1)))

    def describe(self) -> str:
        """The console's words for the search."""
        return (f"{self.recipe}: searching concurrency {self.low}..{self.high} "
                f"({self.style.describe.format(budget=self.budget)})")


def plan_search(recipe: Recipe, search: Any, seed: int = 0) -> SearchPlan:
    """The plan of an sla-search ``recipe`` from the resolved ``benchmark.search``
    settings: the SLAs it judges are those of ``recipe.slas`` that are set."""
    registry = builtin_registry()
    answer = recipe.answer or "max-concurrency"
    if answer not in OBJECTIVES:
        raise ValueError(f"recipe {recipe.name}: answer {answer!r} is no search answer "
                         f"({', '.join(OBJECTIVES)})")
    slas = {name: float(getattr(search, name)) for name in recipe.slas
            if getattr(search, name, None) is not None}
    probe_values: dict[str, Any] = {}
    if OBJECTIVES[answer].judges_attainment:
        probe_values["benchmark.slos"] = {
            registry.slas[name].goodput_slo: limit for name, limit in slas.items()
            if registry.slas[name].goodput_slo is not None}
        slas = {"attainment": float(search.slo_attainment_fraction)}
    style_name = search.search_style or "probe-bisect"
    low, high, steps = search.concurrency_min, search.concurrency_max, search.concurrency_steps
    # The recipe's settings (rules/recipes.yaml) give every bound, and no source can
    # unset a setting.
    assert low is not None and high is not None and steps is not None
    return SearchPlan(recipe.name, answer, slas, probe_values, low, high, steps,
                      registry.search_styles[style_name], search.max_error_rate, seed)


#: A search style's function: every probe it runs, in order (see :func:`run_search`).
StyleFunction = Callable[[Callable[[int], Mapping[str, Any] | None], SearchPlan], list["Probe"]]


def style_of(plan: SearchPlan) -> StyleFunction:
    """The function of ``plan``'s search style (``function:`` in rules/recipes.yaml);
    :class:`SearchStyleUnavailable`, naming the extra to install, when its library is
    missing. Called before the first probe, so a missing library costs no run."""
    module, _, function = plan.style.function.partition(":")
    try:
        if plan.style.needs is not None:
            importlib.import_module(plan.style.needs)
        found: StyleFunction = getattr(importlib.import_module(module), function)
    except ImportError as e:
        extra = f": pip install -e '.[{plan.style.extra}]'" if plan.style.extra else ""
        raise SearchStyleUnavailable(
            f"--search-style {plan.style.name} needs {e.name or e}, which is not "
            f"installed{extra}") from None
    return found


def run_search(plan: SearchPlan, run: Callable[[int], Mapping[str, Any] | None]
               ) -> list[Probe]:
    """Every probe of ``plan``'s search style, in the order run (``run(c)`` is a real
    run at concurrency ``c``; its summary, or None)."""
    return style_of(plan)(run, plan)


class SearchStyleUnavailable(Exception):
    """A search style's library is not installed; the message names the extra."""


def probe_bisect_style(run: Callable[[int], Mapping[str, Any] | None],
                       plan: SearchPlan) -> list[Probe]:
    """``--search-style probe-bisect``: :func:`search` over the plan's range."""
    return search(run, plan.low, plan.high, plan.slas, plan.budget,
                  max_error_rate=plan.max_error_rate)


def grid_style(run: Callable[[int], Mapping[str, Any] | None],
               plan: SearchPlan) -> list[Probe]:
    """``--search-style grid``: :func:`grid_search` over the plan's log grid."""
    return grid_search(run, log_grid(plan.low, plan.high, plan.steps), plan.slas,
                       max_error_rate=plan.max_error_rate)


def sla_definition(name: str) -> SlaDefinition:
    """What the SLA setting ``name`` limits (``slas:`` in rules/recipes.yaml)."""
    return builtin_registry().slas[name]


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
            sla = sla_definition(name)
            entry = summary.get(sla.metric)
            raw = entry.get(sla.statistic) if isinstance(entry, Mapping) else None
            value = raw * sla.scale if isinstance(raw, int | float) else None
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


def conclude(plan: SearchPlan, history: Sequence[Probe]) -> tuple[dict[str, Any], str]:
    """The answer of a search from its probes: the result file's content
    (``sweep_aggregate/<recipe>.json``) and a sentence (which ends by naming the degraded
    probes, if any)."""
    recipe, slas, low, high = plan.recipe, plan.slas, plan.low, plan.high
    max_error_rate = plan.max_error_rate
    degraded = [p.name for p in history if p.degraded is not None]
    if history and len(degraded) == len(history):
        result, sentence = _no_answer(recipe, degraded, slas, low, high, max_error_rate)
        return {"analysis": plan.answer, **result}, sentence
    result, sentence = _answer(plan, history)
    # ``analysis`` tells the plots which answer this is, whatever the recipe's name.
    result = {"analysis": plan.answer, **result, "search_style": plan.style.name}
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


def _answer(plan: SearchPlan, history: Sequence[Probe]) -> tuple[dict[str, Any], str]:
    """The answer from the probes' verdicts (a degraded probe has already failed)."""
    recipe, slas, low, high = plan.recipe, plan.slas, plan.low, plan.high
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
    if plan.objective.judges_attainment:
        chosen = max(passing, key=lambda p: (p.output_throughput or 0.0, p.concurrency))
        good = f"{chosen.output_throughput:,.1f} good requests/s" \
            if chosen.output_throughput else "goodput unknown"
        sentence = (f"max goodput with >= {slas['attainment']:.0%} of requests meeting every "
                    f"SLO: concurrency {chosen.concurrency} ({good})")
        result.update(found=True, concurrency=chosen.concurrency,
                      goodput=chosen.output_throughput, non_monotone=non_monotone,
                      answer=sentence)
        return result, f"{recipe}: {sentence}"
    if plan.objective.maximises == "throughput":
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
    sla = sla_definition(name)
    return f"{sla.label} {value:.1f} {sla.unit}" if sla.unit else f"{sla.label} {value:g}"


def _limit_text(name: str, limit: float | None) -> str:
    if name == "attainment":
        return "share of good requests" + (f" >= {limit:.0%}" if limit is not None else "")
    sla = sla_definition(name)
    if limit is None:
        return sla.label
    return f"{sla.label} <= {limit:g}" + (f" {sla.unit}" if sla.unit else "")


def history_json(history: Sequence[Probe]) -> list[dict[str, Any]]:
    """``search_history.json``: every probe in the order it ran."""
    return [{"step": i, "concurrency": p.concurrency, "passed": p.passed,
             "measured": dict(p.measured), "output_token_throughput": p.output_throughput,
             "degraded": p.degraded}
            for i, p in enumerate(history, 1)]
