"""Two-sided Student-t critical values, with the standard library only.

:func:`t_critical` is the one Student-t quantile of aiperf: the multi-trial aggregate
(``aiperf.bench.aggregate``) and the plots' confidence intervals (``aiperf.plot.interval``)
both use it. It is computed from the regularized incomplete beta function, exact to about
1e-11 relative for every level and number of degrees of freedom.
"""

from __future__ import annotations

import math
import statistics

__all__ = ["t_critical"]


def t_critical(confidence_level: float, dof: int) -> float:
    """Two-sided Student-t critical value, e.g. ``t_critical(0.95, 4) == 2.7764`` (to 1e-4).

    The ``(1 + confidence_level) / 2`` quantile of Student's t with ``dof`` degrees of
    freedom: the ``t`` with ``P(|T| <= t) == confidence_level``. Solved by Newton's method
    on the upper tail ``P(T > t) = I_x(dof/2, 1/2) / 2``, ``x = dof / (dof + t**2)``,
    started at the normal quantile (always below the root; the tail is convex there, so
    the iterates rise monotonically onto it). ``ValueError`` for a level outside (0, 1)
    or fewer than 1 degree of freedom.
    """
    if not 0.0 < confidence_level < 1.0:
        msg = f"confidence level must be between 0 and 1 (exclusive), not {confidence_level!r}"
        raise ValueError(msg)
    if dof < 1:
        msg = f"degrees of freedom must be at least 1, not {dof!r}"
        raise ValueError(msg)
    v = float(dof)
    target = (1.0 - confidence_level) / 2.0  # upper-tail probability
    # Both closed forms are exact and avoid the iteration for the most common small n.
    if dof == 1:
        return math.tan(math.pi * confidence_level / 2.0)
    if dof == 2:  # (2p - 1) / sqrt(2p(1 - p)) with p = (1 + level) / 2
        return confidence_level / math.sqrt((1.0 + confidence_level) * target)
    z = statistics.NormalDist().inv_cdf(1.0 - target)
    if dof >= _EXPANSION_DOF:
        return _t_expansion(z, v)
    log_norm = _log_gamma_ratio(v / 2.0) - 0.5 * math.log(v * math.pi)  # log pdf(0)
    t = z
    for _ in range(200):
        excess = _t_upper_tail(t, v) - target
        pdf = math.exp(log_norm - (v + 1.0) / 2.0 * math.log1p(t * t / v))
        step = excess / pdf
        t += step
        if abs(step) <= 4e-16 * t:
            break
    return t


#: From this many degrees of freedom on, the quantile comes from its expansion in 1/dof:
#: the continued fraction's error grows like dof * eps (1e-11 at 1e5), the expansion's
#: truncation error is below 1e-18 there.
_EXPANSION_DOF = 100_000


def _t_expansion(z: float, v: float) -> float:
    """The t quantile for large ``v`` from the normal quantile ``z`` (Abramowitz & Stegun
    26.7.5, terms to 1/v**4)."""
    z2 = z * z
    g1 = z * (z2 + 1.0) / 4.0
    g2 = z * ((5.0 * z2 + 16.0) * z2 + 3.0) / 96.0
    g3 = z * (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / 384.0
    g4 = z * ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) / 92160.0
    return z + (g1 + (g2 + (g3 + g4 / v) / v) / v) / v


def _t_upper_tail(t: float, v: float) -> float:
    """``P(T > t)`` for ``t >= 0`` and ``v`` degrees of freedom."""
    t2 = t * t
    # x, 1 - x and log(x) each computed directly: no cancellation, and no rounding of x
    # multiplied by dof/2 in the prefactor (that alone would cost 1e-9 at a dof of 1e8).
    x, y = v / (v + t2), t2 / (v + t2)
    return 0.5 * _betainc_half(v / 2.0, x, y, -math.log1p(t2 / v))


def _betainc_half(a: float, x: float, y: float, log_x: float) -> float:
    """The regularized incomplete beta ``I_x(a, 1/2)``, with ``y == 1 - x`` and
    ``log_x == log(x)``.

    The continued fraction of Numerical Recipes' ``betai``/``betacf`` (modified Lentz),
    applied to ``I_x(a, b)`` or to ``1 - I_y(b, a)``, whichever converges fast.
    """
    b = 0.5
    if x <= 0.0:
        return 0.0
    if y <= 0.0:
        return 1.0
    # log(x^a y^b / B(a, b)), with lgamma(a + 1/2) - lgamma(a) taken accurately.
    log_front = _log_gamma_ratio(a) - math.lgamma(b) + a * log_x + b * math.log(y)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, y) / b


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        for numerator in (
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            delta = d * c
            h *= delta
        if abs(delta - 1.0) <= 3e-16:  # within an ulp of 1
            return h
    return h  # pragma: no cover - converges in O(sqrt(a)) steps


def _log_gamma_ratio(a: float) -> float:
    """``lgamma(a + 1/2) - lgamma(a)``, to about 1e-16 absolute even for huge ``a``.

    Differencing two large ``lgamma`` values would lose ``eps * lgamma(a)``; past 30 the
    difference of the two Stirling series is taken term by term instead.
    """
    if a < 30.0:
        return math.lgamma(a + 0.5) - math.lgamma(a)
    h = a + 0.5
    # (h - 1/2) ln h - h  -  ((a - 1/2) ln a - a)  =  a ln(1 + 1/(2a)) + (ln a)/2 - 1/2
    main = a * math.log1p(0.5 / a) - 0.5 + 0.5 * math.log(a)

    def series(z: float) -> float:
        z2 = z * z
        return (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / (1680.0 * z2)) / z2) / z2) / z

    return main + (series(h) - series(a))
