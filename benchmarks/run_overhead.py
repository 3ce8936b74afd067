"""How much longer a whole ``aiperf profile`` run takes than its requests alone need.

    python benchmarks/run_overhead.py                    # 200 requests, concurrency 16, 3 runs
    python benchmarks/run_overhead.py -n 5 --bytecode
    python benchmarks/run_overhead.py --reference /path/to/venv/bin/aiperf

A deterministic simulator with a known latency (TTFT 50 ms, ITL 10 ms, 64 tokens: 0.68 s
a request) runs as a separate process (``aiperf sim serve``), and each run times the
whole ``aiperf profile`` subprocess, from spawn to exit (start-up, every request, metrics
and export; no warm-up). The ideal is requests x latency / concurrency (8.5 s for 200
requests at 16); with a server this regular the requests go in waves, so
ceil(requests / concurrency) x latency (8.84 s) is the floor a closed loop can reach, and
the ``waves`` overhead is measured against that floor.

The time is split with the records' wall-clock stamps: ``startup`` from spawn to the
first request's start, ``load`` from there to the last request's end, ``teardown`` from
there to the process's exit (metrics, export, interpreter exit); ``load excess`` is load
minus the wave floor (the client's latency added over the waves), and ``latency +`` the
median measured request latency minus the true one. Figures are medians over ``-n`` runs.

Target (from the issue): the whole run takes at most 1 s more than the ideal, start-up
included. The script prints PASS/FAIL and exits 0 either way (a measurement, not a test).

``--bytecode`` gives the runs a private bytecode cache (``PYTHONPYCACHEPREFIX``) even when
``PYTHONDONTWRITEBYTECODE`` is set, as an installed wheel would have; by default the
environment is used as it is. ``--reference`` runs another aiperf (e.g. NVIDIA AIPerf in
its own venv) the same way, interleaved, and prints reference/ours ratios;
``--reference-arg`` passes extra flags to it only (e.g. a local ``--tokenizer``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sim import (  # noqa: E402
    SimServer,
    compiles_every_run,
    measure_or_drop,
    profile_argv,
    run_profile,
    tools_to_measure,
    use_private_bytecode_cache,
)

OVERHEAD_TARGET_S = 1.0


def _one_run(cli: tuple[str, ...], extra: list[str], sim: SimServer, concurrency: int,
             requests: int, latency_s: float, run_dir: Path) -> dict[str, Any]:
    run = run_profile(profile_argv(cli, sim.url, run_dir, concurrency=concurrency,
                                   requests=requests, warmup=0, extra=extra), run_dir)
    rows = run.records()
    first = min(r["metadata"]["request_start_ns"] for r in rows)
    last = max(r["metadata"]["request_end_ns"] for r in rows)
    lat = [r["metrics"]["request_latency"]["value"] for r in rows
           if "request_latency" in r["metrics"]]
    waves = math.ceil(requests / concurrency) * latency_s
    load = (last - first) / 1e9
    return {
        "wall": run.wall_s,
        "startup": (first - run.spawned_ns) / 1e9,
        "load": load,
        "teardown": (run.exited_ns - last) / 1e9,
        "load_excess": load - waves,
        "latency_plus_ms": statistics.median(lat) - latency_s * 1e3 if lat else float("nan"),
        "cpu": run.cpu_s,
        "records": len(rows),
        "failed": sum(1 for r in rows if r.get("error")),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=3, help="runs per tool")
    ap.add_argument("-r", "--requests", type=int, default=200)
    ap.add_argument("-c", "--concurrency", type=int, default=16)
    ap.add_argument("--ttft-ms", type=float, default=50.0)
    ap.add_argument("--itl-ms", type=float, default=10.0)
    ap.add_argument("--osl", type=int, default=64)
    ap.add_argument("--bytecode", action="store_true",
                    help="use a private bytecode cache even if PYTHONDONTWRITEBYTECODE is set")
    ap.add_argument("--reference", type=Path, metavar="AIPERF",
                    help="another aiperf executable to measure the same way (optional)")
    ap.add_argument("--reference-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for the reference's profile command (repeat)")
    ap.add_argument("--keep", type=Path, metavar="DIR",
                    help="keep the run directories under DIR (default: a temporary one)")
    opts = ap.parse_args()

    latency_s = (opts.ttft_ms + (opts.osl - 1) * opts.itl_ms) / 1e3
    ideal = opts.requests * latency_s / opts.concurrency
    floor = math.ceil(opts.requests / opts.concurrency) * latency_s

    tools = tools_to_measure(opts.reference, opts.reference_arg)

    work = Path(opts.keep) if opts.keep else Path(tempfile.mkdtemp(prefix="aiperf-overhead-"))
    if opts.bytecode:
        use_private_bytecode_cache(work / "pycache")
    no_pyc = compiles_every_run()
    results: dict[str, list[dict[str, Any]]] = {t: [] for t in tools}
    try:
        with SimServer(mode="deterministic", ttft_ms=opts.ttft_ms, itl_ms=opts.itl_ms,
                       osl=opts.osl) as sim:
            if opts.bytecode:  # an untimed run of each tool fills the bytecode cache
                for name, (cli, extra) in tools.items():
                    run_profile(profile_argv(cli, sim.url, work / f"{name}-fill",
                                             concurrency=1, requests=1, warmup=0, extra=extra),
                                work / f"{name}-fill")
            for i in range(opts.runs):
                for name, (cli, extra) in list(tools.items()):
                    run_dir = work / f"{name}-run{i}"
                    res = measure_or_drop(tools, name, lambda cli=cli, extra=extra,
                                          run_dir=run_dir: _one_run(
                                              cli, extra, sim, opts.concurrency,
                                              opts.requests, latency_s, run_dir))
                    if res is not None:
                        results[name].append(res)
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)

    med = statistics.median
    load_avg = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"deterministic simulator (separate process): {opts.requests} requests at "
          f"concurrency {opts.concurrency}, {latency_s:.3f} s per request; {opts.runs} runs; "
          f"{os.cpu_count()} CPUs; load average {load_avg:.2f} at the end")
    if no_pyc:
        print("note: PYTHONDONTWRITEBYTECODE is set, so aiperf's own modules are compiled on "
              "every run (part of startup); --bytecode measures with a cache")
    print(f"ideal (requests x latency / concurrency): {ideal:.3f} s; wave floor "
          f"(ceil(requests / concurrency) x latency): {floor:.3f} s")
    print("seconds, medians over the runs (min-max of wall beside); overhead = wall - ideal")
    print(f"{'tool':<9}  {'wall':>6} {'(runs)':>11}  {'overhead':>8}  {'startup':>7}  "
          f"{'load':>6}  {'load excess':>11}  {'teardown':>8}  {'latency + ms':>12}  "
          f"{'cpu':>5}  {'failed':>6}")
    for name in tools:
        rs = results[name]
        if not rs:
            continue
        walls = [r["wall"] for r in rs]
        print(f"{name:<9}  {med(walls):6.3f} {f'{min(walls):.2f}-{max(walls):.2f}':>11}  "
              f"{med(walls) - ideal:8.3f}  {med([r['startup'] for r in rs]):7.3f}  "
              f"{med([r['load'] for r in rs]):6.3f}  {med([r['load_excess'] for r in rs]):11.3f}  "
              f"{med([r['teardown'] for r in rs]):8.3f}  "
              f"{med([r['latency_plus_ms'] for r in rs]):12.2f}  "
              f"{med([r['cpu'] for r in rs]):5.2f}  "
              f"{sum(r['failed'] for r in rs):>6}")

    rs = results["aiperf"]
    wall = med([r["wall"] for r in rs])
    summary: dict[str, Any] = {
        "ideal_s": round(ideal, 3), "wave_floor_s": round(floor, 3), "wall_s": round(wall, 3),
        "overhead_s": round(wall - ideal, 3),
        "overhead_over_floor_s": round(wall - floor, 3),
        "startup_s": round(med([r["startup"] for r in rs]), 3),
        "load_excess_s": round(med([r["load_excess"] for r in rs]), 3),
        "teardown_s": round(med([r["teardown"] for r in rs]), 3),
        "bytecode_cache": not no_pyc,
        "reference": None,
    }
    if "reference" in tools and results["reference"]:
        ref = results["reference"]
        ratios = {key: med([r[key] for r in ref]) / med([r[key] for r in rs])
                  for key in ("wall", "startup", "teardown")}
        ratios["overhead"] = (med([r["wall"] for r in ref]) - ideal) / (wall - ideal)
        print("reference / ours (above 1: ours is quicker): "
              + ", ".join(f"{k} x{v:.2f}" for k, v in ratios.items()))
        summary["reference"] = {k: round(v, 3) for k, v in ratios.items()}
    ok = wall - ideal <= OVERHEAD_TARGET_S
    summary["pass"] = ok
    print(f"{'PASS' if ok else 'FAIL'}: {wall:.3f} s for a run whose ideal is {ideal:.3f} s: "
          f"overhead {wall - ideal:.3f} s (target <= {OVERHEAD_TARGET_S:g} s; "
          f"{wall - floor:.3f} s over the wave floor)")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
