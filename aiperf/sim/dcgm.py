"""Simulated GPUs as NVIDIA's DCGM exporter shows them, driven by the simulated batch.

Served at ``GET /dcgm/metrics`` on the simulator's own port when the ``gpus`` option is
above 0 (the real exporter listens on a port of its own, 9400; one port keeps ``sim://``
runs, which hand out one base URL, able to reach it). The families and labels are the
exporter's defaults (``default-counters.csv``): one series per GPU labelled ``gpu``,
``UUID``, ``device``, ``modelName``, ``Hostname`` and ``pci_bus_id``.

How the state drives them (the GPUs serve one model together, as with tensor
parallelism, so all are equally busy):

- ``DCGM_FI_DEV_GPU_UTIL`` (%): the share of the time since the previous scrape that the
  batch ran at least one sequence (NVML's utilisation is a busy share too);
- ``DCGM_FI_DEV_POWER_USAGE`` (W): ``idle + (max - idle) * utilisation``, the mean over
  that interval; ``DCGM_FI_DEV_SM_CLOCK`` and ``DCGM_FI_DEV_GPU_TEMP`` follow the same line
  between their idle and loaded values;
- ``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`` (mJ): power integrated over time, so it never
  decreases; it starts from a made-up "since boot" value, as only differences mean anything;
- ``DCGM_FI_DEV_FB_USED`` / ``_FREE`` / ``_RESERVED`` (MiB): constant, as vLLM allocates
  ``gpu_memory_utilization`` (0.9) of the memory for weights and KV cache at start.

The energy counter is declared ``untyped`` (see :mod:`aiperf.sim.prometheus`). With two
scrapers at once each sees utilisation since either one's last scrape.
"""

from __future__ import annotations

import uuid

import attrs

from aiperf.sim.load import Load
from aiperf.sim.prometheus import Exposition


@attrs.frozen
class GpuModel:
    """The simulated card: an H100 SXM's idle and loaded readings."""

    name: str = "NVIDIA H100 80GB HBM3"
    fb_total_mib: int = 81559
    fb_reserved_mib: int = 519
    memory_utilization: float = 0.9
    idle_w: float = 70.0
    max_w: float = 700.0
    idle_clock_mhz: float = 345.0
    max_clock_mhz: float = 1980.0
    idle_temp_c: float = 30.0
    max_temp_c: float = 72.0
    #: Energy counter at start (mJ): any value will do, since boot is long ago.
    boot_energy_mj: float = 5.0e9


def _between(low: float, high: float, share: float) -> float:
    return low + (high - low) * share


class Dcgm:
    """``gpus`` simulated GPUs on ``hostname``, reading the engine's ``load``."""

    def __init__(self, gpus: int, load: Load, hostname: str, gpu: GpuModel | None = None
                 ) -> None:
        self.gpu = gpu or GpuModel()
        self._load = load
        self._last = load.read()
        self._energy_mj = self.gpu.boot_energy_mj
        self._labels = [self._gpu_labels(i, hostname) for i in range(gpus)]

    def _gpu_labels(self, index: int, hostname: str) -> dict[str, str]:
        # Stable per host and index, so a scraper sees the same GPUs on every run.
        gpu_uuid = uuid.uuid5(uuid.NAMESPACE_DNS, f"{hostname}/aiperf-sim-gpu/{index}")
        return {"gpu": str(index), "UUID": f"GPU-{gpu_uuid}", "device": f"nvidia{index}",
                "modelName": self.gpu.name, "Hostname": hostname,
                "pci_bus_id": f"00000000:{0x18 + 0x10 * index:02X}:00.0"}

    def text(self) -> str:
        """The exporter's ``/metrics`` now; the interval since the previous call ends here."""
        now = self._load.read()
        window = now.since(self._last)
        self._last = now
        util = window.busy_fraction
        g = self.gpu
        power_w = _between(g.idle_w, g.max_w, util)
        self._energy_mj += power_w * window.at * 1000.0  # the mean power over the interval
        used = round(g.fb_total_mib * g.memory_utilization)
        free = g.fb_total_mib - used - g.fb_reserved_mib
        out = Exposition()
        for name, help, value in (
            ("DCGM_FI_DEV_SM_CLOCK", "SM clock frequency (in MHz).",
             round(_between(g.idle_clock_mhz, g.max_clock_mhz, util))),
            ("DCGM_FI_DEV_GPU_TEMP", "GPU temperature (in C).",
             round(_between(g.idle_temp_c, g.max_temp_c, util))),
            ("DCGM_FI_DEV_POWER_USAGE", "Power draw (in W).", power_w),
            ("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", round(100 * util)),
            ("DCGM_FI_DEV_FB_FREE", "Framebuffer memory free (in MiB).", free),
            ("DCGM_FI_DEV_FB_USED", "Framebuffer memory used (in MiB).", used),
            ("DCGM_FI_DEV_FB_RESERVED", "Framebuffer memory reserved (in MiB).",
             g.fb_reserved_mib),
        ):
            out.gauge_series(name, help, [(labels, value) for labels in self._labels])
        out.counter_series("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
                           "Total energy consumption since boot (in mJ).",
                           [(labels, round(self._energy_mj)) for labels in self._labels])
        return out.text()
