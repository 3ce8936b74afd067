"""The Pareto frontier of runs for (latency low, throughput high): shared by the PNG
figure and the HTML report, numpy only."""

from __future__ import annotations

import numpy as np

__all__ = ["pareto_front"]


def pareto_front(latency: np.ndarray, throughput: np.ndarray) -> np.ndarray:
    """Mask of the non-dominated points for (latency low, throughput high), O(n log n)."""
    order = np.lexsort((-throughput, latency))
    front = np.zeros(len(latency), dtype=bool)
    best = -np.inf
    for i in order:
        if throughput[i] > best:
            front[i] = True
            best = throughput[i]
    return front
