"""How many requests per second the client sustains, and its CPU time per request.

    python benchmarks/client_capacity.py                 # concurrency 64 and 256; 3 runs each
    python benchmarks/client_capacity.py -r 10000 -c 256 -n 5
    python benchmarks/client_capacity.py --reference /path/to/venv/bin/aiperf

An "instant" simulator (deterministic, TTFT 0, ITL 0, 16 tokens) runs as a separate
process (``aiperf sim serve``), so its CPU time is never counted as the client's, and
``aiperf profile`` runs against it as a subprocess, streaming chat, closed loop: every
request is answered as fast as the server can write it, so the client is the limit
(unless the simulator is: see ``sim cpu`` below).

Per run: ``req/s`` is the tool's own request throughput over its measured window
(``request_throughput`` in profile_export_aiperf.json); ``cpu/req`` is the user +
system CPU time of the whole profile process (``os.wait4`` rusage: start-up, warm-up
and export included) divided by the measured requests; ``steady`` is the marginal CPU
per request, (cpu of this run - cpu of a run of one request per slot) / (difference in
requests), i.e. with the fixed start-up and export cost taken out. ``sim cpu`` is the
simulator's CPU time over the run's wall time: near 1.0 means the simulator, not the
client, saturated a core. ``client cpu`` is the client's own figure from the summary's
``client_health`` (one busy core = 1.0). Every run has a warm-up of one request per slot.
Figures are medians over the ``-n`` runs, the runs of every tool interleaved.

Every tool runs against each ``--server-profile`` (default: all of ``generic``;
``llama.cpp``, which closes the connection after every streamed response, so the client
opens a connection per request; and ``llama.cpp-pooled``, the same answers with the
connections kept), each in its own simulator process, the runs interleaved.

Targets (from the issues): at least 1,000 requests/s and at most 1 ms of client CPU per
request (cpu/req, everything included) at each concurrency on the generic profile, and
with a connection per request (``llama.cpp``) at least 80% of the requests/s of the same
answers over pooled connections (``llama.cpp-pooled``); the ratio to ``generic`` is
printed too (it also differs in stream shape: a role chunk and a usage chunk). PASS/FAIL is
printed per target; the exit code is 0 either way (a measurement, not a test).

The lean client (``lean_client.py``: raw asyncio streams, standard library only, the least
a Python client can do) runs too, as a subprocess measured the same way (its own req/s
over its measured window; its whole process's CPU per measured request), interleaved with
the others against the same simulator processes; aiperf's figures are printed as ratios
to it. Targets (issue 15): aiperf reaches at least 0.75x the lean client's requests/s at
concurrency 64 and uses at most 1.5x its CPU per request (``--no-lean`` skips it).

``--bytecode`` gives the runs a private bytecode cache (``PYTHONPYCACHEPREFIX``) even when
``PYTHONDONTWRITEBYTECODE`` is set, as an installed wheel would have (it lowers the fixed
cost); by default the environment is used as it is.

``--reference`` runs another aiperf (e.g. NVIDIA AIPerf in its own venv) the same way and
prints reference/ours ratios (above 1: ours is faster / cheaper); ``--reference-arg``
passes extra flags to it only (e.g. a local ``--tokenizer``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sim import (  # noqa: E402
    NO_SCRAPE,
    SERVER_PROFILES,
    ProfileRun,
    SimServer,
    compiles_every_run,
    measure_or_drop,
    profile_argv,
    run_profile,
    tools_to_measure,
    use_private_bytecode_cache,
)

RPS_TARGET = 1000.0
CPU_MS_TARGET = 1.0
#: A connection per request (llama.cpp profile) against pooled connections, requests/s.
PER_REQUEST_CONNECTION_RATIO_TARGET = 0.80
#: aiperf against the lean client at this concurrency: at least this share of its
#: requests/s, at most this multiple of its CPU per request.
LEAN = "lean"
LEAN_CONCURRENCY = 64
LEAN_RPS_RATIO_TARGET = 0.75
LEAN_CPU_RATIO_TARGET = 1.5
LEAN_CLIENT = Path(__file__).resolve().parent / "lean_client.py"


def _throughput(run: ProfileRun, requests: int) -> float:
    """Requests/s over the measured window: the tool's own figure, else from the records."""
    try:
        return float(run.summary()["request_throughput"]["avg"])
    except (KeyError, OSError, TypeError, ValueError):
        rows = run.records()
        start = min(r["metadata"]["request_start_ns"] for r in rows)
        end = max(r["metadata"]["request_end_ns"] for r in rows)
        return requests / ((end - start) / 1e9)


def _one_run(cli: tuple[str, ...], extra: list[str], sim: SimServer, concurrency: int,
             requests: int, work: Path, tag: str) -> dict[str, Any]:
    """A full run and a one-request-per-slot run (for the fixed cost) of one tool."""
    small_dir = work / f"{tag}-fixed"
    small = run_profile(profile_argv(cli, sim.url, small_dir, concurrency=concurrency,
                                     requests=concurrency, warmup=concurrency, extra=extra),
                        small_dir)
    sim.reset()
    sim_cpu0 = sim.cpu_s()
    run_dir = work / tag
    run = run_profile(profile_argv(cli, sim.url, run_dir, concurrency=concurrency,
                                   requests=requests, warmup=concurrency, extra=extra), run_dir)
    sim_cpu1 = sim.cpu_s()
    rows = run.records()
    failed = sum(1 for r in rows if r.get("error"))
    try:
        client_cpu = run.summary()["client_health"]["client_cpu_fraction"]
    except (KeyError, TypeError):
        client_cpu = None  # the reference has no client_health
    return {
        "rps": _throughput(run, requests),
        "cpu_ms": run.cpu_s / requests * 1e3,
        "steady_ms": (run.cpu_s - small.cpu_s) / (requests - concurrency) * 1e3,
        "fixed_cpu_s": small.cpu_s,
        "wall_s": run.wall_s,
        "sim_cpu": (None if sim_cpu0 is None or sim_cpu1 is None
                    else (sim_cpu1 - sim_cpu0) / run.wall_s),
        "client_cpu": client_cpu,
        "records": len(rows),
        "failed": failed,
    }


def _lean_run(sim: SimServer, concurrency: int, requests: int, osl: int, work: Path,
              tag: str) -> dict[str, Any]:
    """The lean client's run and its one-request-per-slot run, measured as :func:`_one_run`
    measures a profile (its summary is the last line of its output)."""
    def run(count: int, name: str) -> tuple[ProfileRun, dict[str, Any]]:
        run_dir = work / name
        argv = [sys.executable, str(LEAN_CLIENT), "--url", sim.url, "-c", str(concurrency),
                "-r", str(count), "-w", str(concurrency), "--osl", str(osl)]
        done = run_profile(argv, run_dir)
        out = run_dir.with_name(run_dir.name + ".log").read_text("utf-8").strip()
        return done, json.loads(out.splitlines()[-1])

    small, _ = run(concurrency, f"{tag}-fixed")
    sim.reset()
    sim_cpu0 = sim.cpu_s()
    full, said = run(requests, tag)
    sim_cpu1 = sim.cpu_s()
    return {
        "rps": said["requests_per_s"],
        "cpu_ms": full.cpu_s / requests * 1e3,
        "steady_ms": (full.cpu_s - small.cpu_s) / (requests - concurrency) * 1e3,
        "fixed_cpu_s": small.cpu_s,
        "wall_s": full.wall_s,
        "sim_cpu": (None if sim_cpu0 is None or sim_cpu1 is None
                    else (sim_cpu1 - sim_cpu0) / full.wall_s),
        "client_cpu": None,
        "records": said["requests"],
        "failed": said["failed"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=3, help="runs per concurrency and tool")
    ap.add_argument("-c", "--concurrency", type=int, action="append",
                    help="concurrency to measure (repeat; default 64 and 256)")
    ap.add_argument("-r", "--requests", type=int, default=5000,
                    help="measured requests per run")
    ap.add_argument("--osl", type=int, default=16, help="tokens per answer")
    ap.add_argument("--bytecode", action="store_true",
                    help="use a private bytecode cache even if PYTHONDONTWRITEBYTECODE is set")
    ap.add_argument("--reference", type=Path, metavar="AIPERF",
                    help="another aiperf executable to measure the same way (optional)")
    ap.add_argument("--reference-arg", action="append", default=[], metavar="ARG",
                    help="extra argument for the reference's profile command (repeat)")
    ap.add_argument("--keep", type=Path, metavar="DIR",
                    help="keep the run directories under DIR (default: a temporary one)")
    ap.add_argument("--server-profile", action="append", choices=list(SERVER_PROFILES),
                    help="simulator profile to measure against (repeat; default: all)")
    ap.add_argument("--no-lean", action="store_true",
                    help="do not run the lean client (benchmarks/lean_client.py) beside")
    ap.add_argument("--no-scrape-too", action="store_true",
                    help="also run aiperf with --no-server-metrics --no-gpu-telemetry (by "
                         "default it scrapes the simulator's /metrics every second) and "
                         "print the ratio of the two")
    opts = ap.parse_args()
    concurrencies = opts.concurrency or [64, 256]
    profiles = opts.server_profile or list(SERVER_PROFILES)
    if any(opts.requests <= c for c in concurrencies):
        ap.error("--requests must be larger than every concurrency")

    tools = tools_to_measure(opts.reference, opts.reference_arg, opts.no_scrape_too)
    if not opts.no_lean:
        tools[LEAN] = ((), [])  # not a profile command line: see _lean_run

    work = Path(opts.keep) if opts.keep else Path(tempfile.mkdtemp(prefix="aiperf-capacity-"))
    if opts.bytecode:
        use_private_bytecode_cache(work / "pycache")
    no_pyc = compiles_every_run()
    results: dict[tuple[str, str, int], list[dict[str, Any]]] = {
        (t, p, c): [] for t in tools for p in profiles for c in concurrencies}
    try:
        with contextlib.ExitStack() as stack:
            # Every profile's simulator runs from the start, so the runs of every profile
            # and tool interleave and a drift of the machine hits them all alike.
            sims = {p: stack.enter_context(SimServer(mode="deterministic", ttft_ms=0, itl_ms=0,
                                                     osl=opts.osl, **SERVER_PROFILES[p]))
                    for p in profiles}
            if opts.bytecode:  # an untimed run of each tool fills the bytecode cache
                for name, (cli, extra) in tools.items():
                    if name == LEAN:
                        continue
                    fill = work / f"{name}-fill"
                    run_profile(profile_argv(cli, sims[profiles[0]].url, fill, concurrency=1,
                                             requests=1, warmup=0, extra=extra), fill)
            for i in range(opts.runs):
                for c in concurrencies:
                    for profile, sim in sims.items():
                        for name, (cli, extra) in list(tools.items()):
                            tag = f"{name}-{profile}-c{c}-run{i}"
                            if name == LEAN:
                                results[(name, profile, c)].append(_lean_run(
                                    sim, c, opts.requests, opts.osl, work, tag))
                                continue
                            res = measure_or_drop(
                                tools, name, lambda cli=cli, extra=extra, sim=sim, c=c, tag=tag:
                                _one_run(cli, extra, sim, c, opts.requests, work, tag))
                            if res is not None:
                                results[(name, profile, c)].append(res)
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)

    med = statistics.median
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"instant simulator (separate process; deterministic, TTFT 0, ITL 0, {opts.osl} "
          f"tokens); {opts.requests} requests per run, {opts.runs} runs; {os.cpu_count()} "
          f"CPUs; load average {load:.2f} at the end")
    if no_pyc:
        print("note: PYTHONDONTWRITEBYTECODE is set, so aiperf's own modules are compiled on "
              "every run (in the fixed cost); --bytecode measures with a cache")
    print("medians over the runs (min-max of req/s beside); cpu/req: whole profile process "
          "/ measured requests; steady: fixed cost taken out;\nsim cpu and client cpu: "
          "fraction of one core over the run")
    print(f"{'tool':<9} {'profile':<16} {'conc':>4}  {'req/s':>7} {'(runs)':>11}  "
          f"{'cpu/req ms':>10}  "
          f"{'steady ms':>9}  {'fixed cpu s':>11}  {'wall s':>6}  {'sim cpu':>7}  "
          f"{'client cpu':>10}  {'failed':>6}")

    def opt_med(xs: list[float | None]) -> float | None:
        vals = [x for x in xs if x is not None]
        return med(vals) if vals else None

    def fmt(x: float | None, spec: str) -> str:
        return "n/a" if x is None else format(x, spec)

    for name, profile, c in results:
        rs = results[(name, profile, c)]
        if rs:
            rps = [r["rps"] for r in rs]
            spread = f"{min(rps):.0f}-{max(rps):.0f}"
            print(f"{name:<9} {profile:<16} {c:>4}  {med(rps):7.0f} {spread:>11}  "
                  f"{med([r['cpu_ms'] for r in rs]):10.3f}  "
                  f"{med([r['steady_ms'] for r in rs]):9.3f}  "
                  f"{med([r['fixed_cpu_s'] for r in rs]):11.2f}  "
                  f"{med([r['wall_s'] for r in rs]):6.2f}  "
                  f"{fmt(opt_med([r['sim_cpu'] for r in rs]), '7.2f'):>7}  "
                  f"{fmt(opt_med([r['client_cpu'] for r in rs]), '10.2f'):>10}  "
                  f"{sum(r['failed'] for r in rs):>6}")
    base = profiles[0]

    summary: dict[str, Any] = {"requests_per_s": {}, "cpu_ms_per_request": {},
                               "steady_cpu_ms_per_request": {}, "sim_cpu_fraction": {},
                               "bytecode_cache": not no_pyc, "pass": {}, "reference": None}
    if "reference" in tools:
        print("reference / ours (above 1: ours is faster, or cheaper):")
        ratios: dict[str, Any] = {}
        for c in concurrencies:
            ours, ref = results[("aiperf", base, c)], results[("reference", base, c)]
            if not ours or not ref:
                continue
            r_rps = med([r["rps"] for r in ours]) / med([r["rps"] for r in ref])
            r_cpu = med([r["cpu_ms"] for r in ref]) / med([r["cpu_ms"] for r in ours])
            print(f"  concurrency {c:>3}: requests/s x{r_rps:.2f}, CPU per request x{r_cpu:.2f}")
            ratios[str(c)] = {"rps_ratio": round(r_rps, 3), "cpu_ratio": round(r_cpu, 3)}
        summary["reference"] = ratios

    if NO_SCRAPE in tools:
        print("scraping server metrics every second / not scraping (near 1: no cost):")
        for c in concurrencies:
            on, off = results[("aiperf", base, c)], results[(NO_SCRAPE, base, c)]
            if on and off:
                r_rps = med([r["rps"] for r in on]) / med([r["rps"] for r in off])
                r_cpu = med([r["cpu_ms"] for r in on]) / med([r["cpu_ms"] for r in off])
                print(f"  concurrency {c:>3}: requests/s x{r_rps:.2f}, CPU per request "
                      f"x{r_cpu:.2f}")
                summary.setdefault("scraping", {})[str(c)] = {
                    "rps_ratio": round(r_rps, 3), "cpu_ratio": round(r_cpu, 3)}

    if LEAN in tools:
        print("aiperf / lean client (requests/s: above 1 is faster; CPU per request: "
              "below 1 is cheaper):")
        for profile in profiles:
            for c in concurrencies:
                ours, lean = results[("aiperf", profile, c)], results[(LEAN, profile, c)]
                if not ours or not lean:
                    continue
                r_rps = med([r["rps"] for r in ours]) / med([r["rps"] for r in lean])
                r_cpu = med([r["cpu_ms"] for r in ours]) / med([r["cpu_ms"] for r in lean])
                r_steady = (med([r["steady_ms"] for r in ours])
                            / med([r["steady_ms"] for r in lean]))
                print(f"  {profile:<16} concurrency {c:>3}: requests/s x{r_rps:.2f}, CPU per "
                      f"request x{r_cpu:.2f} (steady x{r_steady:.2f})")
                summary.setdefault("lean", {})[f"{profile}:{c}"] = {
                    "rps_ratio": round(r_rps, 3), "cpu_ratio": round(r_cpu, 3),
                    "steady_cpu_ratio": round(r_steady, 3)}
                if profile == base and c == LEAN_CONCURRENCY:
                    ok_rps = r_rps >= LEAN_RPS_RATIO_TARGET
                    ok_cpu = r_cpu <= LEAN_CPU_RATIO_TARGET
                    summary["pass"][f"lean_rps_c{c}"] = ok_rps
                    summary["pass"][f"lean_cpu_c{c}"] = ok_cpu
                    print(f"{'PASS' if ok_rps else 'FAIL'}: aiperf reaches x{r_rps:.2f} the "
                          f"lean client's requests/s at concurrency {c} (target >= "
                          f"{LEAN_RPS_RATIO_TARGET:.2f})")
                    print(f"{'PASS' if ok_cpu else 'FAIL'}: aiperf uses x{r_cpu:.2f} the lean "
                          f"client's CPU per request at concurrency {c} (target <= "
                          f"{LEAN_CPU_RATIO_TARGET:.2f})")

    for c in concurrencies:
        rs = results[("aiperf", base, c)]
        rps, cpu = med([r["rps"] for r in rs]), med([r["cpu_ms"] for r in rs])
        summary["requests_per_s"][str(c)] = round(rps, 1)
        summary["cpu_ms_per_request"][str(c)] = round(cpu, 4)
        summary["steady_cpu_ms_per_request"][str(c)] = round(med([r["steady_ms"] for r in rs]), 4)
        sim_cpu = opt_med([r["sim_cpu"] for r in rs])
        summary["sim_cpu_fraction"][str(c)] = None if sim_cpu is None else round(sim_cpu, 3)
        ok_rps, ok_cpu = rps >= RPS_TARGET, cpu <= CPU_MS_TARGET
        summary["pass"][f"rps_c{c}"] = ok_rps
        summary["pass"][f"cpu_c{c}"] = ok_cpu
        print(f"{'PASS' if ok_rps else 'FAIL'}: {rps:.0f} requests/s at concurrency {c} "
              f"(target >= {RPS_TARGET:,.0f})")
        print(f"{'PASS' if ok_cpu else 'FAIL'}: {cpu:.3f} ms client CPU per request at "
              f"concurrency {c} (target <= {CPU_MS_TARGET:g} ms)")
        if "llama.cpp" in profiles:
            per_request = med([r["rps"] for r in results[("aiperf", "llama.cpp", c)]])
            for pooled in ("llama.cpp-pooled", "generic"):
                if pooled not in profiles:
                    continue
                ratio = per_request / med([r["rps"] for r in results[("aiperf", pooled, c)]])
                summary.setdefault("per_request_connection_ratio", {})[
                    f"{pooled}:{c}"] = round(ratio, 3)
                line = (f"a connection per request (llama.cpp) gives x{ratio:.2f} the "
                        f"requests/s of {pooled} at concurrency {c}")
                if pooled == "llama.cpp-pooled":
                    ok = ratio >= PER_REQUEST_CONNECTION_RATIO_TARGET
                    summary["pass"][f"per_request_connection_c{c}"] = ok
                    print(f"{'PASS' if ok else 'FAIL'}: {line} (target >= "
                          f"{PER_REQUEST_CONNECTION_RATIO_TARGET:.2f})")
                else:
                    print(f"note: {line}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
