"""Polling local GPUs through NVML (aiperf.telemetry.nvml), against a fake ``pynvml``:
there is no GPU here, and the real module need not be installed."""

from __future__ import annotations

import sys
import threading
import time
import types
from collections.abc import Iterator
from typing import Any

import pytest

from aiperf.telemetry.gpu import gpu_summary
from aiperf.telemetry.nvml import NVML_SOURCE, NvmlPoller, nvml_available

INTERVAL_S = 0.02


class FakeNvmlError(Exception):
    """pynvml.NVMLError: every NVML failure is one of its subclasses."""


class FakeNvml(types.ModuleType):
    """The part of ``pynvml`` the poller calls, for two H100s. Power rises 1 W per call
    and the energy counter with it; ``fail_power_on`` makes the power query of the given
    calls raise NVMLError."""

    NVMLError = FakeNvmlError
    NVML_CLOCK_SM = 1
    NVML_TEMPERATURE_GPU = 0

    def __init__(self, count: int = 2) -> None:
        super().__init__("pynvml")
        self.count = count
        self.power_calls = 0
        self.fail_power_on: set[int] = set()
        self.open = 0
        self.init_error: Exception | None = None
        self.lock = threading.Lock()

    def nvmlInit(self) -> None:
        if self.init_error is not None:
            raise self.init_error
        self.open += 1

    def nvmlShutdown(self) -> None:
        self.open -= 1

    def nvmlDeviceGetCount(self) -> int:
        return self.count

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        return index

    def nvmlDeviceGetName(self, h: int) -> bytes:
        return b"NVIDIA H100 80GB HBM3"  # bytes, as older nvidia-ml-py returns

    def nvmlDeviceGetUUID(self, h: int) -> str:
        return f"GPU-fake-{h}"

    def nvmlDeviceGetPciInfo(self, h: int) -> Any:
        return types.SimpleNamespace(busId=f"00000000:{0x18 + h:02X}:00.0")

    def nvmlDeviceGetPowerUsage(self, h: int) -> int:
        with self.lock:
            self.power_calls += 1
            call = self.power_calls
        if call in self.fail_power_on:
            raise FakeNvmlError("Unknown Error")
        return 100_000 + 1000 * call  # mW

    def nvmlDeviceGetTotalEnergyConsumption(self, h: int) -> int:
        return 5_000_000 * (h + 1) + 100 * self.power_calls  # mJ, growing

    def nvmlDeviceGetUtilizationRates(self, h: int) -> Any:
        return types.SimpleNamespace(gpu=90 + h, memory=40)

    def nvmlDeviceGetMemoryInfo(self, h: int) -> Any:
        return types.SimpleNamespace(used=2048 * 2**20, total=81559 * 2**20,
                                     free=79511 * 2**20)

    def nvmlDeviceGetClockInfo(self, h: int, clock: int) -> int:
        assert clock == self.NVML_CLOCK_SM
        return 1980

    def nvmlDeviceGetTemperature(self, h: int, sensor: int) -> int:
        assert sensor == self.NVML_TEMPERATURE_GPU
        return 55


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeNvml:
    module = FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", module)
    return module


@pytest.fixture
def warnings() -> list[str]:
    return []


@pytest.fixture
def poller(fake: FakeNvml, warnings: list[str]) -> Iterator[NvmlPoller]:
    """A poller that is stopped after its test, whatever the test did."""
    made = NvmlPoller(INTERVAL_S, warnings.append, hostname="node-7")
    yield made
    made.stop()


def wait_for(condition: Any, timeout_s: float = 10.0) -> None:
    """Wait until ``condition()`` holds; generous, as a busy machine polls late."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the poller"
        time.sleep(INTERVAL_S)


def test_without_pynvml_nvml_is_not_available_and_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` raises ImportError

    available, reason = nvml_available()

    assert not available
    assert "not installed" in reason
    assert "aiperf[nvml]" in reason


def test_without_a_driver_nvml_is_not_available(fake):
    fake.init_error = FakeNvmlError("Driver Not Loaded")

    assert nvml_available() == (False, "no NVIDIA driver for NVML: Driver Not Loaded")


def test_with_no_gpus_nvml_is_not_available(fake):
    fake.count = 0

    assert nvml_available() == (False, "NVML reports no GPUs")
    assert fake.open == 0


def test_the_poller_reads_every_gpu_in_our_units(poller, fake, warnings):
    assert poller.start()
    poller.stop()

    samples = poller.samples()
    assert {s.gpu_index for s in samples} == {0, 1}
    first = samples[0]
    assert (first.source, first.uuid, first.model_name, first.device, first.hostname) == (
        NVML_SOURCE, "GPU-fake-0", "NVIDIA H100 80GB HBM3", "nvidia0", "node-7")
    assert first.pci_bus_id == "00000000:18:00.0"
    assert first.power_w == pytest.approx(101.0)  # mW -> W
    assert first.energy_j == pytest.approx(5000.1)  # mJ -> J
    assert first.memory_used_mib == pytest.approx(2048.0)  # bytes -> MiB
    assert first.memory_total_mib == pytest.approx(81559.0)
    assert (first.utilization_pct, first.sm_clock_mhz, first.temperature_c) == (90, 1980, 55)
    assert warnings == []


def test_the_poller_keeps_polling_until_stopped(poller, fake):
    poller.start()

    wait_for(lambda: len({s.timestamp_ns for s in poller.samples()}) >= 3)
    poller.stop()

    powers = [s.power_w for s in poller.samples() if s.gpu_index == 0]
    assert powers == sorted(powers)  # a fresh reading each poll
    assert len(set(powers)) >= 3


def test_an_nvml_error_mid_run_warns_once_and_polling_goes_on(poller, fake, warnings):
    fake.fail_power_on = {3, 5, 6}  # the second poll's GPU 0, and later calls
    poller.start()

    wait_for(lambda: fake.power_calls >= 10)
    poller.stop()

    assert len(warnings) == 1
    assert "nvmlDeviceGetPowerUsage" in warnings[0]
    samples = poller.samples()
    assert sum(s.power_w is None for s in samples) >= 1
    assert samples[-1].power_w is not None
    assert all(s.utilization_pct is not None for s in samples)  # the rest was read


def test_stop_returns_promptly_and_closes_nvml(fake, warnings):
    poller = NvmlPoller(60.0, warnings.append)  # an interval stop() must not wait out
    assert poller.start()

    began = time.monotonic()
    poller.stop()

    assert time.monotonic() - began < 5.0
    assert fake.open == 0
    assert not any(t.name == "aiperf-nvml" for t in threading.enumerate())


def test_a_poller_without_nvml_warns_and_does_not_start(monkeypatch, warnings):
    monkeypatch.setitem(sys.modules, "pynvml", None)
    poller = NvmlPoller(INTERVAL_S, warnings.append)

    assert poller.start() is False
    poller.stop()

    assert len(warnings) == 1
    assert "not installed" in warnings[0]
    assert poller.samples() == []


def test_the_polls_summarise_into_energy_and_power(poller, fake):
    poller.start()
    wait_for(lambda: len({s.timestamp_ns for s in poller.samples()}) >= 2)
    poller.stop()
    samples = poller.samples()

    summary = gpu_summary(samples, samples[0].timestamp_ns, samples[-1].timestamp_ns,
                          output_tokens=100)

    assert len(summary.gpus) == 2
    assert summary.power_avg_w is not None and summary.power_avg_w > 200
    assert [g.energy_from for g in summary.gpus] == ["counter", "counter"]
    assert summary.energy_j is not None and summary.energy_j > 0
    assert summary.energy_per_output_token_j == pytest.approx(summary.energy_j / 100)
