"""GPU telemetry from the local GPUs through NVML, for runs with no DCGM exporter.

``pynvml`` comes from the optional ``nvidia-ml-py`` package (the ``[nvml]`` extra) and is
imported only when asked for, so that a machine without it, or without a driver, runs
as before. The poller reads every GPU once per interval on a background thread. A
failing NVML call never reaches the run: it is reported once through ``warn`` and its
reading is left empty, and the next poll tries again.
"""

from __future__ import annotations

import importlib
import socket
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import attrs

from aiperf.telemetry.gpu import GpuSample

__all__ = ["NVML_EXTRA", "NVML_SOURCE", "NvmlPoller", "nvml_available"]

NVML_SOURCE = "nvml"
#: What to install for NVML telemetry, for messages.
NVML_EXTRA = "pip install 'aiperf[nvml]'"

_MIB = 1024 * 1024
#: How long stop() waits for a poll in progress; a poll takes milliseconds.
_JOIN_TIMEOUT_S = 5.0


def nvml_available() -> tuple[bool, str]:
    """Whether NVML can be polled here, and if not why: ``pynvml`` not installed, no
    NVIDIA driver, or no GPUs. On success the reason says how many GPUs there are."""
    nvml = _import_pynvml()
    if nvml is None:
        return False, f"pynvml is not installed ({NVML_EXTRA} installs nvidia-ml-py)"
    try:
        nvml.nvmlInit()
    except Exception as e:  # NVMLError_LibraryNotFound, _DriverNotLoaded, ...
        return False, f"no NVIDIA driver for NVML: {_describe(e)}"
    try:
        count = int(nvml.nvmlDeviceGetCount())
    except Exception as e:
        return False, f"NVML cannot count the GPUs: {_describe(e)}"
    finally:
        _shutdown(nvml)
    if count == 0:
        return False, "NVML reports no GPUs"
    return True, f"NVML reports {count} GPU{'s' if count != 1 else ''}"


@attrs.frozen
class _Device:
    """What does not change during a run, read once: the handle and the names."""

    index: int
    handle: Any  # an NVML device handle, opaque
    uuid: str
    model_name: str
    pci_bus_id: str


class NvmlPoller:
    """Poll every local GPU each ``interval_s`` seconds on a background thread.

    ``start()`` takes the first reading at once and ``stop()`` a last one, so the
    readings bracket whatever window lies between the two calls. ``warn`` receives one
    line per kind of failure (not one per poll). Nothing here raises into the caller
    once ``start()`` has returned; ``start()`` itself returns False, after a warning,
    when NVML cannot be used.
    """

    def __init__(self, interval_s: float, warn: Callable[[str], None], *,
                 hostname: str | None = None,
                 clock: Callable[[], int] = time.time_ns) -> None:
        if interval_s <= 0:
            msg = f"the NVML poll interval must be positive, not {interval_s}"
            raise ValueError(msg)
        self._interval_s = interval_s
        self._warn = warn
        self._hostname = socket.gethostname() if hostname is None else hostname
        self._clock = clock
        self._nvml: ModuleType | None = None
        self._devices: list[_Device] = []
        self._samples: list[GpuSample] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned: set[str] = set()

    def start(self) -> bool:
        """Open NVML, read each GPU once and start polling; False (after one warning)
        when NVML is missing or reports no GPUs."""
        if self._thread is not None:
            msg = "this NVML poller was already started"
            raise RuntimeError(msg)
        available, reason = nvml_available()
        nvml = _import_pynvml() if available else None
        if nvml is None:
            self._warn(f"GPU telemetry through NVML is off: {reason}")
            return False
        try:
            nvml.nvmlInit()
            self._devices = [_open_device(nvml, i)
                             for i in range(int(nvml.nvmlDeviceGetCount()))]
        except Exception as e:
            self._warn(f"GPU telemetry through NVML is off: {_describe(e)}")
            _shutdown(nvml)
            return False
        self._nvml = nvml
        self._poll()
        self._thread = threading.Thread(target=self._run, name="aiperf-nvml", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        """Stop polling (at once, not after the current interval), take a last reading
        and close NVML. Safe to call more than once, or without ``start()``."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=_JOIN_TIMEOUT_S)
            if self._thread.is_alive():
                # Stuck inside an NVML call: closing NVML under it could crash the
                # process, so leave it (a daemon thread) and its library open.
                self._warn_once("stop", "an NVML call did not return; polling abandoned")
                self._nvml = None
                return
        nvml, self._nvml = self._nvml, None
        if nvml is not None:
            self._poll_with(nvml)
            _shutdown(nvml)

    def samples(self) -> list[GpuSample]:
        """The readings so far, oldest first (a copy)."""
        with self._lock:
            return list(self._samples)

    def _run(self) -> None:
        # Event.wait, not sleep: stop() must not wait out the rest of an interval.
        while not self._stopping.wait(self._interval_s):
            self._poll()

    def _poll(self) -> None:
        nvml = self._nvml
        if nvml is not None:
            self._poll_with(nvml)

    def _poll_with(self, nvml: ModuleType) -> None:
        try:
            # One timestamp for the whole poll: the GPUs were read at one moment, and
            # the summary can add their curves up reading by reading.
            now = self._clock()
            batch = [self._read(nvml, device, now) for device in self._devices]
        except Exception as e:  # a bug or a broken binding: never into the run
            self._warn_once("poll", f"NVML poll failed: {_describe(e)}")
            return
        with self._lock:
            self._samples.extend(batch)

    def _read(self, nvml: ModuleType, device: _Device, now: int) -> GpuSample:
        h = device.handle

        def query(name: str, *args: Any) -> Any:
            try:
                return getattr(nvml, name)(h, *args)
            except nvml.NVMLError as e:
                self._warn_once(name, f"NVML {name} failed on GPU {device.index}: "
                                      f"{_describe(e)}; that reading is left empty")
                return None

        power_mw = query("nvmlDeviceGetPowerUsage")
        energy_mj = query("nvmlDeviceGetTotalEnergyConsumption")
        utilization = query("nvmlDeviceGetUtilizationRates")
        memory = query("nvmlDeviceGetMemoryInfo")
        sm_clock = query("nvmlDeviceGetClockInfo", nvml.NVML_CLOCK_SM)
        temperature = query("nvmlDeviceGetTemperature", nvml.NVML_TEMPERATURE_GPU)
        return GpuSample(
            timestamp_ns=now, source=NVML_SOURCE, gpu_index=device.index, uuid=device.uuid,
            model_name=device.model_name, pci_bus_id=device.pci_bus_id,
            device=f"nvidia{device.index}", hostname=self._hostname,
            power_w=_scaled(power_mw, 1e-3), energy_j=_scaled(energy_mj, 1e-3),
            utilization_pct=_scaled(utilization and utilization.gpu, 1),
            memory_used_mib=_scaled(memory and memory.used, 1 / _MIB),
            memory_total_mib=_scaled(memory and memory.total, 1 / _MIB),
            sm_clock_mhz=_scaled(sm_clock, 1), temperature_c=_scaled(temperature, 1))

    def _warn_once(self, kind: str, message: str) -> None:
        """Warn about a kind of failure the first time only: a GPU without an energy
        counter would otherwise say so every interval for the whole run."""
        if kind not in self._warned:
            self._warned.add(kind)
            self._warn(message)


def _scaled(value: Any, factor: float) -> float | None:
    """An NVML reading in our unit (W, J, MiB from mW, mJ, bytes); None stays None."""
    return None if value is None else float(value) * factor


def _open_device(nvml: ModuleType, index: int) -> _Device:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    return _Device(index=index, handle=handle, uuid=_text(nvml.nvmlDeviceGetUUID(handle)),
                   model_name=_text(nvml.nvmlDeviceGetName(handle)),
                   pci_bus_id=_text(nvml.nvmlDeviceGetPciInfo(handle).busId))


def _text(value: object) -> str:
    """NVML strings are ``bytes`` in older nvidia-ml-py releases and ``str`` in newer."""
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _import_pynvml() -> ModuleType | None:
    try:
        return importlib.import_module("pynvml")
    except ImportError:
        return None


def _shutdown(nvml: ModuleType) -> None:
    try:
        nvml.nvmlShutdown()
    except Exception:  # closing is best effort: the run's data is already taken
        return


def _describe(error: BaseException) -> str:
    return str(error) or type(error).__name__
