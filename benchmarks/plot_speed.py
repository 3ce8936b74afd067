"""How long ``aiperf plot`` takes to draw the full single-run catalogue of a large run.

    python benchmarks/plot_speed.py                   # 10,000 and 100,000 requests
    python benchmarks/plot_speed.py -r 10000 -n 3
    python benchmarks/plot_speed.py --reference /path/to/venv/bin/aiperf

A run directory in the reference's formats (``profile_export.jsonl``, the summary JSON,
``run.json``, and a timeslice CSV so the timeslice plots draw too) is synthesized with
``-r`` requests: 50 in flight, TTFT around 80 ms, 128 output tokens 12 ms apart, a few
errors. Each measurement runs ``aiperf plot DIR`` as a subprocess, from spawn to exit
(imports, loading, every PNG), with the shipped default plot config. Figures are medians
over ``-n`` runs; the time per plot comes from ``plots/aiperf_plot.log``.

Targets (from the issue): 10,000 requests in under 5 s, 100,000 in under 20 s. The
reference ``aiperf plot`` (NVIDIA AIPerf 0.13) needs about 10 s here and writes no PNG
without Chrome; ``--reference`` runs it on the same directory, interleaved, and prints
the ratio. Exits 0 either way: a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sim import OURS, ROOT  # noqa: E402

TARGETS_S = {10_000: 5.0, 100_000: 20.0}


def synthesize(folder: Path, requests: int, seed: int = 0) -> Path:
    """A plausible run directory of ``requests`` streaming chat requests."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    t0 = 1_800_000_000_000_000_000
    slots = [t0] * 50
    lines = []
    ttfts, itls, lats = [], [], []
    for i in range(requests):
        slot = min(range(len(slots)), key=slots.__getitem__) if i < 50 else i % 50
        start = slots[slot] + rng.randint(50_000, 500_000)
        ttft = rng.lognormvariate(4.4, 0.25)  # ms, around 80
        itl = rng.gauss(12.0, 0.8)
        osl = 128
        latency = ttft + itl * (osl - 1)
        end = start + int(latency * 1e6)
        slots[slot] = end
        meta = {"session_num": i, "x_request_id": f"r{i}", "request_start_ns": start,
                "request_ack_ns": start + int(ttft * 1e6), "request_end_ns": end,
                "benchmark_phase": "profiling", "phase_kind": "profiling",
                "was_cancelled": False}
        if rng.random() < 0.01:
            lines.append(json.dumps({"metadata": meta, "metrics": {}, "error": {
                "code": 500, "type": "http-status", "message": "simulated"}}))
            continue
        metrics = {"input_sequence_length": {"value": 512, "unit": "tokens"},
                   "output_sequence_length": {"value": osl, "unit": "tokens"},
                   "time_to_first_token": {"value": ttft, "unit": "ms"},
                   "time_to_second_token": {"value": itl, "unit": "ms"},
                   "inter_token_latency": {"value": itl, "unit": "ms"},
                   "request_latency": {"value": latency, "unit": "ms"},
                   "output_token_throughput_per_user": {"value": 1000 / itl,
                                                        "unit": "tokens/sec/user"}}
        ttfts.append(ttft)
        itls.append(itl)
        lats.append(latency)
        lines.append(json.dumps({"metadata": meta, "metrics": metrics}))
    (folder / "profile_export.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    end_ns = max(slots)
    summary = {"schema_version": "1.4", "aiperf_version": "synthetic", "benchmark_id": "bench",
               "time_to_first_token": _dist(ttfts, "ms"), "inter_token_latency": _dist(itls, "ms"),
               "request_latency": _dist(lats, "ms"),
               "request_throughput": {"unit": "requests/sec",
                                      "avg": len(lats) / ((end_ns - t0) / 1e9)},
               "input_config": {"benchmark": {"endpoint": {"model": "synthetic", "streaming": True},
                                              "load": {"concurrency": 50}}}}
    (folder / "profile_export_aiperf.json").write_text(json.dumps(summary), encoding="utf-8")
    slice_ns = 10 * 10**9
    rows = ["Timeslice,Start_NS,End_NS,Metric,Unit,Stat,Value"]
    for k in range(max(1, (end_ns - t0) // slice_ns)):
        for header, base in (("Time to First Token", 80.0), ("Inter Token Latency", 12.0)):
            rows.append(f"{k},{t0 + k * slice_ns},{t0 + (k + 1) * slice_ns},{header},ms,avg,"
                        f"{base * rng.uniform(0.9, 1.1):.3f}")
    (folder / "profile_export_aiperf_timeslices.csv").write_text("\n".join(rows) + "\n",
                                                                  encoding="utf-8")
    return folder


def _dist(values: list[float], unit: str) -> dict[str, float | str]:
    ordered = sorted(values)
    pick = lambda p: ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]  # noqa: E731
    return {"unit": unit, "avg": statistics.fmean(values), "min": ordered[0],
            "max": ordered[-1], "p50": pick(50), "p90": pick(90), "p99": pick(99),
            "std": statistics.pstdev(values)}


def time_plot(cli: list[str], run_dir: Path, home: Path) -> tuple[float, dict[str, float]]:
    """Wall seconds of one ``plot`` command, and the seconds per plot from its log."""
    shutil.rmtree(run_dir / "plots", ignore_errors=True)
    env = dict(os.environ, HOME=str(home))
    start = time.perf_counter()
    proc = subprocess.run([*cli, "plot", str(run_dir)], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"plot failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    per_plot = {}
    log = run_dir / "plots" / "aiperf_plot.log"
    if log.is_file():
        for m in re.finditer(r"^  (\S+): .+ \((\d+\.\d+) s\)$", log.read_text(), re.MULTILINE):
            per_plot[m.group(1)] = float(m.group(2))
    return wall, per_plot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-r", "--requests", type=int, action="append",
                        help="run sizes (repeat; default 10000 and 100000)")
    parser.add_argument("-n", "--runs", type=int, default=3, help="measurements per size")
    parser.add_argument("--reference", help="another aiperf executable to time the same way")
    args = parser.parse_args()
    sizes = args.requests or [10_000, 100_000]
    results = {}
    with tempfile.TemporaryDirectory(prefix="aiperf-plot-speed-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        for size in sizes:
            run_dir = synthesize(Path(tmp) / f"run-{size}", size)
            walls, ref_walls, plots = [], [], {}
            for _ in range(args.runs):
                wall, per_plot = time_plot(list(OURS), run_dir, home)
                walls.append(wall)
                for name, s in per_plot.items():
                    plots.setdefault(name, []).append(s)
                if args.reference:
                    ref_walls.append(time_plot([args.reference], run_dir, home)[0])
            ours = statistics.median(walls)
            target = TARGETS_S.get(size)
            verdict = "" if target is None else (" PASS" if ours < target else " FAIL")
            print(f"{size:,} requests: aiperf plot {ours:.2f} s (median of {len(walls)}: "
                  f"{', '.join(f'{w:.2f}' for w in walls)}); target < {target} s{verdict}")
            if ref_walls:
                ref = statistics.median(ref_walls)
                print(f"  reference {ref:.2f} s; reference / ours = x{ref / ours:.2f}")
            else:
                print("  reference: not given (--reference PATH to NVIDIA AIPerf's aiperf)")
            for name, secs in sorted(plots.items(), key=lambda kv: -statistics.median(kv[1])):
                print(f"    {name:<44} {statistics.median(secs):6.2f} s")
            results[size] = {"wall_s": ours, "target_s": target,
                             "per_plot_s": {k: statistics.median(v) for k, v in plots.items()}}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
