"""``--search-style bayesian``: the SLA search driven by an optuna study.

The question is the one :func:`aiperf.recipes.sla.search` answers (the largest
concurrency in ``[low, high]`` whose probe meets every SLA), asked of a Bayesian
optimiser instead of a doubling-then-bisecting walk. As NVIDIA AIPerf does, concurrency
is an integer searched on a log scale. An optuna study maximises the concurrency under
one constraint, the probe's verdict (a failing probe, degraded ones included, is
infeasible), and its TPE sampler, seeded, proposes the next concurrency to probe; the
study starts from the geometric middle of the range.

Every probe is a real run, so none is spent on what a run would not teach. A proposal
whose verdict is already known is told to the study without running; known means
probed, or settled by the monotone server every SLA search assumes (at or below the
highest pass it passes, at or above the lowest failure over it it fails). A proposal
near an end of the open bracket (outside its middle :data:`SPLIT_SHARE` on the log
scale) is not run either: whatever its verdict, the bracket would barely shrink. Such
proposals in a row are counted, and after :data:`REPEATS_BEFORE_MIDPOINT` of them the
geometric midpoint of the bracket is probed instead, so the loop always makes progress.
When one end of the range is within ``resolution`` of the bracket's other side, that end
is probed next: its verdict settles the search either way.

The stop rule is deterministic (it does not depend on the sampler): the search stops
once the highest passing concurrency ``best`` and the lowest failing one above it
``fail`` satisfy ``fail / best <= resolution`` (one step of the log grid the recipe would
otherwise probe, so the answer is as fine as the grid's), or when ``high`` passed, or
when ``low`` failed (no answer), or when no unprobed concurrency is left between them,
or after ``budget`` probes.

optuna is the optional ``[bayesian]`` extra: it is imported when a search runs, and
:class:`OptunaMissingError` names the extra when it is not installed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiperf.recipes.sla import PROBE_BUDGET, Probe, SearchPlan, judged_probe

if TYPE_CHECKING:
    import optuna

__all__ = [
    "REPEATS_BEFORE_MIDPOINT", "SPLIT_SHARE", "OptunaMissingError", "bayesian_search",
    "bayesian_style",
]

#: How many proposals in a row may be not worth a run (known, or near the bracket's
#: ends) before the bracket's geometric midpoint is probed instead (a sampler that keeps
#: proposing such points would otherwise spin without running anything).
REPEATS_BEFORE_MIDPOINT = 2

#: The share of the open bracket (on the log scale, centred) where a proposal is worth a
#: run: one nearer an end would shrink the bracket by little whatever its verdict.
SPLIT_SHARE = 0.5

#: TPE's random startup trials: the enqueued middle of the range already gives it a
#: verdict to model, and every random probe is a benchmark run spent on no model.
_STARTUP_TRIALS = 1

#: The study's one parameter.
_PARAM = "concurrency"

#: The user attribute holding a trial's verdict for optuna 4's ``constraints_func``.
_INFEASIBLE = "infeasible"


class OptunaMissingError(ImportError):
    """The bayesian search style needs optuna, the optional ``[bayesian]`` extra."""

    def __init__(self) -> None:
        super().__init__("--search-style bayesian needs optuna, which is not installed: "
                         "pip install -e '.[bayesian]'")


def bayesian_search(run: Callable[[int], Mapping[str, Any] | None], low: int, high: int,
                    slas: Mapping[str, float], *, max_error_rate: float, resolution: float,
                    seed: int, budget: int = PROBE_BUDGET) -> list[Probe]:
    """The largest concurrency in ``[low, high]`` meeting ``slas``, found by a seeded
    optuna TPE study; every probe in the order run, each concurrency at most once.

    ``run(c)`` benchmarks concurrency ``c`` and returns its summary (None: no result,
    which fails). The search stops when the passing and failing concurrencies around the
    limit are within a factor ``resolution`` (> 1) of each other, when ``high`` passes,
    when ``low`` fails, or after ``budget`` probes. The same ``seed`` gives the same
    probes for the same verdicts. Raises :class:`OptunaMissingError` without optuna.
    """
    if not 1 <= low <= high:
        raise ValueError(f"the search range [{low}, {high}] must satisfy 1 <= low <= high")
    if resolution <= 1:
        raise ValueError(f"the resolution must be above 1, got {resolution}")
    _import_optuna()
    study = _new_study(seed)
    distribution = _distribution(low, high)
    study.enqueue_trial({_PARAM: _geometric_mid(low, high)})

    history: list[Probe] = []
    verdicts: dict[int, bool] = {}
    best: int | None = None
    fail: int | None = None
    repeats = 0

    def known(c: int) -> bool | None:
        """The verdict of ``c`` if it was probed or the monotone server settles it."""
        if c in verdicts:
            return verdicts[c]
        if best is not None and c <= best:
            return True
        if fail is not None and c >= fail:
            return False
        return None

    while len(history) < budget and not _settled(low, high, best, fail, resolution):
        closing = _closing_probe(low, high, best, fail, resolution)
        if closing is not None:
            # One probe at that end of the range settles the search either way: no
            # proposal can do better.
            study.enqueue_trial({_PARAM: closing})
        trial = study.ask({_PARAM: distribution})
        c = int(trial.params[_PARAM])
        verdict = known(c)
        if verdict is not None or (closing is None and not _splits(c, low, high, best, fail)):
            if verdict is not None:
                # Told, not run: the study learns the point's verdict at no cost.
                _tell(study, trial, c, verdict)
            else:
                # Too near an end of the bracket to be worth a run; a failed trial is
                # one the sampler leaves out of its model.
                study.tell(trial, state=_failed_state())
            repeats += 1
            if repeats < REPEATS_BEFORE_MIDPOINT:
                continue
            # The sampler keeps proposing points not worth a run: probe the bracket's
            # midpoint, as a trial of the study's own so that the sampler learns from it.
            study.enqueue_trial({_PARAM: _bracket_mid(low, high, best, fail)})
            trial = study.ask({_PARAM: distribution})
            c = int(trial.params[_PARAM])
        repeats = 0
        probe = judged_probe(c, run(c), slas, max_error_rate)
        history.append(probe)
        verdicts[c] = probe.passed
        if probe.passed:
            best = c if best is None else max(best, c)
        else:
            fail = c if fail is None else min(fail, c)
        _tell(study, trial, c, probe.passed)
    return history


def bayesian_style(run: Callable[[int], Mapping[str, Any] | None],
                   plan: SearchPlan) -> list[Probe]:
    """``--search-style bayesian``: :func:`bayesian_search` over the plan's range, to one
    step of its log grid, seeded with the plan's seed."""
    return bayesian_search(run, plan.low, plan.high, plan.slas,
                           max_error_rate=plan.max_error_rate, resolution=plan.resolution,
                           seed=plan.seed, budget=plan.budget)


def _import_optuna() -> None:
    """Import optuna, quietened (its per-trial INFO lines would drown the run's own log);
    :class:`OptunaMissingError` when the extra is not installed."""
    try:
        import optuna
    except ImportError as error:
        raise OptunaMissingError() from error
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def _distribution(low: int, high: int) -> optuna.distributions.IntDistribution:
    """Concurrency as optuna sees it: an integer in ``[low, high]``, log-uniform."""
    import optuna

    return optuna.distributions.IntDistribution(low, high, log=True)


def _constraint_from_attrs(trial: optuna.trial.FrozenTrial) -> tuple[float]:
    """optuna 4's constraint: 1 (infeasible) for a failing probe, 0 for a passing one."""
    return (float(trial.user_attrs.get(_INFEASIBLE, 1.0)),)


def _new_study(seed: int) -> optuna.Study:
    """A maximising study with a seeded constrained TPE sampler. optuna 5 takes the
    constraint per trial (``set_constraint``); optuna 4 only through ``constraints_func``,
    which optuna 5 deprecates, so it is passed only where needed."""
    import optuna

    legacy = not hasattr(optuna.trial.Trial, "set_constraint")
    sampler = optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=_STARTUP_TRIALS,
        constraints_func=_constraint_from_attrs if legacy else None)
    return optuna.create_study(direction="maximize", sampler=sampler)


def _tell(study: optuna.Study, trial: optuna.Trial, c: int, passed: bool) -> None:
    """Report a verdict: the objective is the concurrency, feasible when it passed."""
    infeasible = 0.0 if passed else 1.0
    if hasattr(trial, "set_constraint"):
        trial.set_constraint("sla", infeasible)
    else:
        trial.set_user_attr(_INFEASIBLE, infeasible)
    study.tell(trial, float(c))


def _settled(low: int, high: int, best: int | None, fail: int | None,
             resolution: float) -> bool:
    """The stop rule (the budget aside): the answer is known to within ``resolution``,
    or cannot move."""
    if best is not None and best >= high:
        return True
    if fail is not None and fail <= low:
        return True
    if best is not None and fail is not None:
        return fail / best <= resolution or fail - best <= 1
    return False


def _closing_probe(low: int, high: int, best: int | None, fail: int | None,
                   resolution: float) -> int | None:
    """An end of the range, unprobed, that is within ``resolution`` of the bracket's
    other side: ``high`` above a pass with no failure yet (it passes: the top passed; it
    fails: the bracket is fine enough), ``low`` below a failure with no pass yet (it
    fails: no answer; it passes: fine enough). Else None."""
    if best is not None and fail is None and high / best <= resolution:
        return high
    if fail is not None and best is None and fail / low <= resolution:
        return low
    return None


def _splits(c: int, low: int, high: int, best: int | None, fail: int | None) -> bool:
    """Whether probing ``c`` would cut the open bracket well: ``c`` lies in the middle
    :data:`SPLIT_SHARE` of it on the log scale, or the bracket holds too few
    concurrencies for that to matter."""
    first = low if best is None else best + 1
    last = high if fail is None else fail - 1
    if last - first < 4:
        return True
    a = low if best is None else best
    b = high if fail is None else fail
    position = math.log(c / a) / math.log(b / a)
    return abs(position - 0.5) <= SPLIT_SHARE / 2


def _failed_state() -> optuna.trial.TrialState:
    """The state of a trial that ran nothing (the sampler leaves it out of its model)."""
    import optuna

    return optuna.trial.TrialState.FAIL


def _bracket_mid(low: int, high: int, best: int | None, fail: int | None) -> int:
    """The unprobed concurrency at the geometric middle of the open bracket: between the
    highest pass (else ``low``, itself unprobed) and the lowest failure (else ``high``,
    itself unprobed)."""
    first = low if best is None else best + 1
    last = high if fail is None else fail - 1
    mid = _geometric_mid(low if best is None else best, high if fail is None else fail)
    return min(max(mid, first), last)


def _geometric_mid(a: int, b: int) -> int:
    """The integer nearest the geometric mean of ``a`` and ``b``."""
    return round(math.sqrt(a * b))
