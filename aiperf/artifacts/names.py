"""The fixed names of the sweep aggregate: written by ``bench``, read by ``plot``."""

from __future__ import annotations

__all__ = ["SWEEP_CSV", "SWEEP_DIR", "SWEEP_JSON"]

#: The folder under a sweep's base directory that holds its aggregate.
SWEEP_DIR = "sweep_aggregate"
#: The file names, fixed as in the reference.
SWEEP_JSON = "profile_export_aiperf_sweep.json"
SWEEP_CSV = "profile_export_aiperf_sweep.csv"
