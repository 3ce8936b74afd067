"""Threshold expressions (``--fail-on``, ``benchmark.thresholds``): parse and check them.

A threshold is ``METRIC[.STAT] OP LIMIT``, like k6's: ``time_to_first_token.p95<200``,
``request_error_rate<=1``. ``METRIC`` is a metric tag, ``STAT`` one of avg, min, max,
p1..p99 (the reported percentiles) or std; a run-level (scalar) metric takes no statistic
or ``avg``, while a distribution must name one, so that ``time_to_first_token<200``
cannot silently mean the average. ``OP`` is <, <=, >, >= or ==; ``LIMIT`` a number in
the metric's unit. The expression must *hold*: a threshold fails when it does not.

This module is pure: the configuration checks each expression when it is loaded, and the
bench evaluates the parsed :class:`Threshold` against a finished run's metrics.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable

import attrs

from aiperf.config.errors import did_you_mean
from aiperf.config.metric_tags import METRIC_KINDS, SCALAR, stats_of

#: Comparisons, two-character ones first so ``<=`` is never read as ``<``.
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "<": operator.lt, ">": operator.gt,
}
SYNTAX = "METRIC[.STAT] OP LIMIT, e.g. time_to_first_token.p95<200 or request_error_rate<=1"

_EXPRESSION = re.compile(
    r"^\s*(?P<metric>[A-Za-z0-9_]+)(?:\.(?P<stat>[A-Za-z0-9_]+))?\s*"
    r"(?P<op><=|>=|==|<|>)\s*(?P<limit>\S+)\s*$"
)


class ThresholdError(ValueError):
    """An expression that is not a valid threshold; ``hint`` may say what was meant."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message + (f" ({hint})" if hint else ""))
        self.message, self.hint = message, hint


@attrs.frozen
class Threshold:
    """One parsed threshold: ``stat`` of ``metric`` must compare ``op`` to ``limit``."""

    metric: str
    stat: str
    op: str
    limit: float
    #: The expression as the user wrote it (whitespace trimmed), for messages.
    text: str

    def holds(self, measured: float) -> bool:
        """Whether ``measured`` meets the threshold."""
        return OPERATORS[self.op](measured, self.limit)


def parse_threshold(text: str) -> Threshold:
    """The :class:`Threshold` ``text`` spells; :class:`ThresholdError` says what is wrong."""
    found = _EXPRESSION.match(text)
    if found is None:
        raise ThresholdError(f"{text!r} is not a threshold: expected {SYNTAX}")
    metric, stat, op = found["metric"], found["stat"], found["op"]
    if metric not in METRIC_KINDS:
        raise ThresholdError(f"unknown metric '{metric}' in threshold {text.strip()!r}",
                             did_you_mean(metric, METRIC_KINDS))
    allowed = stats_of(metric)
    if stat is None:
        if METRIC_KINDS[metric] != SCALAR:
            raise ThresholdError(
                f"{metric} is a distribution: name a statistic, e.g. {metric}.p95 "
                f"(one of {', '.join(allowed)})")
        stat = "avg"
    elif stat not in allowed:
        if METRIC_KINDS[metric] == SCALAR:
            raise ThresholdError(f"{metric} is one value per run: give no statistic "
                                 f"(or avg), not '{stat}'")
        raise ThresholdError(f"unknown statistic '{stat}' of {metric} in threshold "
                             f"{text.strip()!r}",
                             did_you_mean(stat, allowed) or "known: " + ", ".join(allowed))
    try:
        limit = float(found["limit"])
    except ValueError:
        raise ThresholdError(f"limit {found['limit']!r} of threshold {text.strip()!r} "
                             "is not a number") from None
    if not math.isfinite(limit):
        raise ThresholdError(f"limit of threshold {text.strip()!r} must be a finite number")
    return Threshold(metric, stat, op, limit, text.strip())
