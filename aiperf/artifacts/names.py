"""The fixed names of the sweep aggregate and of a recipe's answer: written by ``bench``,
read by ``plot``."""

from __future__ import annotations

__all__ = ["SWEEP_CSV", "SWEEP_DIR", "SWEEP_JSON", "recipe_answer_name"]

#: The folder under a sweep's base directory that holds its aggregate.
SWEEP_DIR = "sweep_aggregate"
#: The file names, fixed as in the reference.
SWEEP_JSON = "profile_export_aiperf_sweep.json"
SWEEP_CSV = "profile_export_aiperf_sweep.csv"


def recipe_answer_name(recipe: str) -> str:
    """The file under ``SWEEP_DIR`` that holds a recipe's answer: ``<recipe>.json`` (it
    names the recipe in its ``recipe`` key too)."""
    return f"{recipe}.json"
