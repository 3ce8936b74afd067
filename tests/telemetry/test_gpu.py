"""GPU samples from DCGM exporter text, their summary over the profiling window, and the
``gpu_telemetry_export.jsonl`` file (aiperf.telemetry.gpu, aiperf.telemetry.gpu_export)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aiperf.artifacts.manifest import read_run
from aiperf.plot.series_frames import read_gpu
from aiperf.telemetry.gpu import GpuSample, gpu_summary, samples_from_dcgm
from aiperf.telemetry.gpu_export import (
    GPU_TELEMETRY_FILE,
    gpu_record,
    read_gpu_export,
    write_gpu_export,
)
from aiperf.telemetry.prometheus import Scrape, parse_exposition

FIXTURE = Path(__file__).parents[1] / "fixtures" / "aiperf-0.13" / "single-chat-c4"
URL = "http://localhost:9400/metrics"
S = 1_000_000_000

_LABELS = ('gpu="{gpu}",UUID="GPU-{gpu}a1b2c3d-0000-1111-2222-33334444555{gpu}",'
           'pci_bus_id="00000000:{bus}:00.0",device="nvidia{gpu}",'
           'modelName="NVIDIA H100 80GB HBM3",Hostname="node-7",'
           'DCGM_FI_DRIVER_VERSION="550.54.15"')

#: What dcgm-exporter 3.3 prints for two GPUs with its default counters (abridged to
#: the families read here, plus one that is not).
DCGM_TEXT = "".join(
    f"# HELP {name} {help_}\n# TYPE {name} {kind}\n"
    + "".join(f"{name}{{{_LABELS.format(gpu=gpu, bus=bus)}}} {values[gpu]}\n"
              for gpu, bus in ((0, "18"), (1, "2A")))
    for name, kind, help_, values in (
        ("DCGM_FI_DEV_SM_CLOCK", "gauge", "SM clock frequency (in MHz).", (1980, 1755)),
        ("DCGM_FI_DEV_MEM_CLOCK", "gauge", "Memory clock frequency (in MHz).", (2619, 2619)),
        ("DCGM_FI_DEV_GPU_TEMP", "gauge", "GPU temperature (in C).", (61, 48)),
        ("DCGM_FI_DEV_POWER_USAGE", "gauge", "Power draw (in W).", (612.345, 98.5)),
        ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "counter",
         "Total energy consumption since boot (in mJ).", (271829470551, 98765432100)),
        ("DCGM_FI_DEV_GPU_UTIL", "gauge", "GPU utilization (in %).", (97, 3)),
        ("DCGM_FI_DEV_FB_FREE", "gauge", "Framebuffer memory free (in MiB).", (4140, 80563)),
        ("DCGM_FI_DEV_FB_USED", "gauge", "Framebuffer memory used (in MiB).", (76423, 0)),
        ("DCGM_FI_DEV_FB_RESERVED", "gauge", "Framebuffer memory reserved (in MiB).",
         (517, 517)),
    ))


def scrape_of(text: str, at_ns: int = 5 * S) -> Scrape:
    return Scrape(URL, at_ns, 3.0, parse_exposition(text))


def gpu(t_s: float, index: int = 0, **readings: float) -> GpuSample:
    return GpuSample(timestamp_ns=int(t_s * S), source=URL, gpu_index=index,
                     uuid=f"GPU-{index}", **readings)


# --------------------------------------------------------------------------- DCGM


def test_dcgm_text_gives_one_sample_per_gpu_with_its_labels():
    samples = samples_from_dcgm(scrape_of(DCGM_TEXT))

    assert [(s.gpu_index, s.device, s.pci_bus_id) for s in samples] == [
        (0, "nvidia0", "00000000:18:00.0"), (1, "nvidia1", "00000000:2A:00.0")]
    assert {(s.model_name, s.hostname, s.source, s.timestamp_ns) for s in samples} == {
        ("NVIDIA H100 80GB HBM3", "node-7", URL, 5 * S)}
    assert samples[1].uuid == "GPU-1a1b2c3d-0000-1111-2222-333344445551"


def test_dcgm_readings_are_converted_to_the_sample_units():
    first = samples_from_dcgm(scrape_of(DCGM_TEXT))[0]

    assert first.power_w == pytest.approx(612.345)
    assert first.energy_j == pytest.approx(271829470.551)  # mJ -> J
    assert (first.utilization_pct, first.sm_clock_mhz, first.temperature_c) == (97, 1980, 61)
    assert first.memory_used_mib == 76423
    assert first.memory_total_mib == 76423 + 4140 + 517  # used + free + reserved


def test_a_missing_dcgm_family_leaves_its_reading_empty():
    text = "\n".join(line for line in DCGM_TEXT.splitlines()
                     if "ENERGY" not in line and "FB_FREE" not in line) + "\n"

    sample = samples_from_dcgm(scrape_of(text))[0]

    assert sample.energy_j is None
    assert sample.memory_total_mib is None
    assert sample.power_w == pytest.approx(612.345)


def test_series_without_a_gpu_label_are_not_gpus():
    text = "# TYPE DCGM_FI_DEV_GPU_UTIL gauge\nDCGM_FI_DEV_GPU_UTIL{Hostname=\"h\"} 5\n"

    assert samples_from_dcgm(scrape_of(text)) == []


# --------------------------------------------------------------------------- summary


def test_energy_comes_from_the_counter_delta_when_there_is_one():
    # The counter grows by 1000 J over 10 s while power reads 50 W: the counter wins.
    samples = [gpu(t, power_w=50.0, energy_j=5000.0 + 100.0 * t) for t in range(11)]

    stats = gpu_summary(samples, 0, 10 * S).gpus[0]

    assert stats.energy_from == "counter"
    assert stats.energy_j == pytest.approx(1000.0)


def test_the_counter_is_interpolated_at_the_window_edges():
    samples = [gpu(t, energy_j=100.0 * t) for t in (0, 10)]

    assert gpu_summary(samples, 2 * S, 7 * S).gpus[0].energy_j == pytest.approx(500.0)


def test_energy_integrates_power_when_there_is_no_counter():
    # Power rises linearly 100 W -> 300 W over 10 s: 2000 J by the trapezoid rule.
    samples = [gpu(t, power_w=100.0 + 20.0 * t) for t in range(11)]

    stats = gpu_summary(samples, 0, 10 * S).gpus[0]

    assert stats.energy_from == "power"
    assert stats.energy_j == pytest.approx(2000.0)
    assert stats.power_avg_w == pytest.approx(200.0)
    assert stats.power_max_w == pytest.approx(300.0)


def test_a_counter_that_goes_backwards_falls_back_to_power():
    samples = [gpu(0, power_w=100.0, energy_j=9e6), gpu(10, power_w=100.0, energy_j=5.0)]

    stats = gpu_summary(samples, 0, 10 * S).gpus[0]

    assert (stats.energy_from, stats.energy_j) == ("power", pytest.approx(1000.0))


def test_energy_per_output_token_and_tokens_per_second_per_watt():
    # Two GPUs at 150 W and 250 W for 10 s: 400 W, 4000 J; 2000 tokens -> 200 tokens/s.
    samples = [gpu(t, i, power_w=w) for t in range(11) for i, w in ((0, 150.0), (1, 250.0))]

    summary = gpu_summary(samples, 0, 10 * S, output_tokens=2000)

    assert summary.power_avg_w == pytest.approx(400.0)
    assert summary.energy_j == pytest.approx(4000.0)
    assert summary.energy_per_output_token_j == pytest.approx(2.0)
    assert summary.output_tokens_per_s_per_w == pytest.approx(0.5)


def test_the_token_figures_are_none_without_tokens_or_power():
    samples = [gpu(t, utilization_pct=50.0) for t in range(3)]

    summary = gpu_summary(samples, 0, 2 * S, output_tokens=None)

    assert summary.energy_per_output_token_j is None
    assert summary.output_tokens_per_s_per_w is None
    assert summary.utilization_avg_pct == pytest.approx(50.0)


def test_total_peak_power_is_the_peak_of_the_sum_not_the_sum_of_peaks():
    # GPU 0 peaks at t=1 and GPU 1 at t=2: together they never draw 600 W.
    samples = [gpu(t, i, power_w=w) for t, i, w in
               ((0, 0, 100), (1, 0, 300), (2, 0, 100), (0, 1, 100), (1, 1, 100),
                (2, 1, 300))]

    assert gpu_summary(samples, 0, 2 * S).power_max_w == pytest.approx(400.0)


def test_samples_outside_the_window_only_set_its_edges():
    samples = [gpu(t, power_w=1000.0 if t in (0, 20) else 100.0, memory_used_mib=t)
               for t in range(21)]

    stats = gpu_summary(samples, 5 * S, 15 * S).gpus[0]

    assert stats.power_max_w == pytest.approx(100.0)
    assert stats.memory_used_max_mib == 15
    assert stats.samples == 11


def test_a_gpu_with_no_samples_in_reach_of_the_window_is_left_out():
    samples = [gpu(t, 0, power_w=100.0) for t in range(5)] + [gpu(30, 1, power_w=1.0)]

    assert [g.gpu_index for g in gpu_summary(samples, 0, 4 * S).gpus] == [0]


# --------------------------------------------------------------------------- export


def test_the_export_line_has_the_reference_shape_and_units():
    sample = samples_from_dcgm(scrape_of(DCGM_TEXT))[0]

    record = gpu_record(sample)

    assert record["dcgm_url"] == URL
    assert record["gpu_model_name"] == "NVIDIA H100 80GB HBM3"
    data = record["telemetry_data"]
    assert data["energy_consumption"] == pytest.approx(271.829470551)  # MJ
    assert data["gpu_memory_used"] == pytest.approx(76423 * 1.048576e-3)  # GB
    assert data["gpu_power_usage"] == pytest.approx(612.345)
    assert data["sm_clock_frequency"] == 1980


def test_the_export_round_trips(tmp_path):
    samples = samples_from_dcgm(scrape_of(DCGM_TEXT, 5 * S)) + samples_from_dcgm(
        scrape_of(DCGM_TEXT, 6 * S))
    path = tmp_path / GPU_TELEMETRY_FILE

    write_gpu_export(path, reversed(samples))
    back = read_gpu_export(path)

    assert [(s.timestamp_ns, s.gpu_index, s.uuid) for s in back] == [
        (s.timestamp_ns, s.gpu_index, s.uuid) for s in samples]
    assert back[0].memory_used_mib == pytest.approx(samples[0].memory_used_mib)
    assert back[0].energy_j == pytest.approx(samples[0].energy_j)


def test_a_broken_export_line_names_the_file_and_line(tmp_path):
    path = tmp_path / GPU_TELEMETRY_FILE
    path.write_text('{"timestamp_ns": 1, "gpu_index": 0}\n\n{"gpu_index": 1}\n')

    with pytest.raises(ValueError, match=r":3: not a GPU telemetry sample"):
        read_gpu_export(path)


def test_the_plot_reader_flattens_our_export(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    for name in ("profile_export.jsonl", "profile_export_aiperf.json"):
        shutil.copy(FIXTURE / name, run_dir / name)
    first = json.loads((run_dir / "profile_export.jsonl").read_text().splitlines()[0])
    start_ns = first["metadata"]["request_start_ns"]
    samples = (samples_from_dcgm(scrape_of(DCGM_TEXT, start_ns))
               + samples_from_dcgm(scrape_of(DCGM_TEXT, start_ns + S // 2)))
    write_gpu_export(run_dir / GPU_TELEMETRY_FILE, samples)

    frame = read_gpu(read_run(run_dir), start_ns)

    assert frame is not None
    assert {"gpu_index", "gpu_uuid", "gpu_power_usage", "gpu_utilization",
            "gpu_memory_used", "energy_consumption", "timestamp_s"} <= set(frame.columns)
    assert frame["timestamp_s"].tolist() == [0.0, 0.0, 0.5, 0.5]
    assert frame["gpu_utilization"].tolist() == [97, 3, 97, 3]
