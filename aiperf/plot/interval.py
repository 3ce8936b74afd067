"""The 95% Student-t interval of a sample's mean, as the figures draw it (error bars and
seaborn's ``errorbar``); the quantile is :func:`aiperf.student_t.t_critical`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from aiperf.student_t import t_critical

__all__ = ["t_interval"]


def t_interval(values: Any) -> tuple[float, float]:
    """The 95% Student-t interval of the mean of ``values`` less their NaNs (zero width for
    a single value)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    mean = float(v.mean())
    if len(v) < 2:
        return mean, mean
    half = t_critical(0.95, len(v) - 1) * float(v.std(ddof=1)) / math.sqrt(len(v))
    return mean - half, mean + half
