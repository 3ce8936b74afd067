"""How many requests per second one run reaches with its load sent from 1, 2 and 4 workers.

    python benchmarks/scale_out.py                       # workers 1, 2, 4; 6000 requests; 3 rounds
    python benchmarks/scale_out.py -n 5 -r 10000 -c 128
    python benchmarks/scale_out.py -w 1 -w 2             # only these worker counts

An "instant" simulator (deterministic, TTFT 0, ITL 0, 16 tokens) runs as a separate
process (``aiperf sim serve``), and ``aiperf profile --workers N`` runs against it as a
subprocess: streaming chat, closed loop at a fixed total concurrency (``-c``, split over
the workers), ``-r`` measured requests after a warm-up of one request per slot.
``--workers 1`` is one process without Ray; 2 and 4 start a local Ray for the run (one
worker actor per shard; the driver merges the records). The worker counts run
interleaved, round after round (``-n``); figures are medians over the rounds.

While a run goes, this script samples every 10 ms (Linux ``/proc``) the simulator's CPU
time, the profile process's own CPU time and the machine's busy time; the run's measured
window is ``started`` to ``ended`` in its run.json (the first request's start to the last
one's end), and the samples are interpolated at both ends of it. Columns:

- ``req/s``: the run's own ``request_throughput`` (profile_export_aiperf.json), with the
  min-max over the rounds beside; ``x1``: its ratio to the 1-worker median.
- ``cpu/req ms``: client CPU per measured request. With workers (Ray), the sum over the
  workers of their ``cpu_s`` in run.json (each worker's CPU over its measured phase, Ray's
  calls into it included) divided by the measured requests; the driver's CPU is not in
  it (see ``drv s``). With 1 worker, the profile process's own CPU time over the measured
  window (sampled here, as above; the summary's ``client_health.client_cpu_fraction``
  also counts the warm-up) divided by the measured requests: the same span either way.
- ``wrk cpu``: the busiest worker's ``cpu_share`` from run.json (1.0 = one busy core); for
  1 worker, the profile process's CPU share over the window.
- ``sim cpu``: the simulator's CPU time over the measured window divided by the window
  (near 1.0: the simulator saturated a core; it is one asyncio process).
- ``run``: cores used over the window by the profile process (its 10 ms samples) and
  every process below it (workers, the local Ray's own processes: their ``/proc`` CPU
  times, listed every 0.1 s; one that exits keeps its last figure); ``busy``: cores busy
  on the whole machine over the window (``/proc/stat``), out of ``os.cpu_count()``;
  ``other``: busy - run - sim cpu, the rest of the machine (other work on it, and this
  script's sampling).
- ``drv s``: the profile (driver) process's own CPU seconds, start-up to exit (its last
  sample before it exited, so up to 10 ms short); ``tree s``: its CPU by ``os.wait4``,
  which adds the children it reaped (the local Ray's processes, where Ray reaped them);
  with 1 worker both are the whole client.
- ``wall s``: spawn to exit; ``window s``: the measured window; ``fixed s``: wall minus
  window (start-up, warm-up, export, exit); ``ray s``: fixed minus the 1-worker fixed
  cost, i.e. what starting (and stopping) the local Ray and its actors adds (the
  driver's clock ping rounds and its 1.5 s start lead included): a fixed cost per
  invocation, which a longer run amortizes.

A verdict line follows, from the measured medians: whether, at the most workers, the
simulator saturated a core (``sim cpu`` >= 0.85: the simulator, not the client, is the
limit), or the machine's cores did (``busy`` >= 0.85 of the cores: CPU-bound; simulator,
workers, driver, Ray and any other work share them; ``other`` says how much went
elsewhere; a client event loop at >= 0.85 of a core is named too), or neither; the same
for 1 worker on a second line. After every run the script checks that no process the run
started (the local Ray's among them: it lists the run's process tree every 0.1 s) is
left, and ends any left, by pid. It exits 0 either way (a measurement, not a test).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sim import (  # noqa: E402
    OURS,
    ROOT,
    SimServer,
    compiles_every_run,
    profile_argv,
)

#: A share of a core (simulator) or of the machine (busy) from which it counts as saturated.
SATURATED = 0.85
SAMPLE_S = 0.010
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
#: How often the run's process tree is listed (its CPU, and what it may leave behind).
TREE_EVERY_S = 0.1


def _proc_cpu(pid: int) -> float | None:
    """A process's own user + system CPU seconds so far (None once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def _machine_busy() -> float | None:
    """Busy CPU seconds of the whole machine so far, all cores (None without /proc)."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            cpu = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = cpu[3] + (cpu[4] if len(cpu) > 4 else 0)  # idle + iowait
    return (sum(cpu[:8]) - idle) / TICK  # guest time is already in user


def _at(samples: Sequence[tuple[int, float | None]], t_ns: int,
        hold: bool = False) -> float | None:
    """The sampled counter at ``t_ns``, linearly between the samples around it (``hold``:
    the last sample's value after it)."""
    pts = [(t, v) for t, v in samples if v is not None]
    if pts and hold and t_ns > pts[-1][0]:
        return pts[-1][1]
    if not pts or t_ns < pts[0][0] or t_ns > pts[-1][0]:
        return None
    for (t0, v0), (t1, v1) in zip(pts, pts[1:], strict=False):
        if t0 <= t_ns <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t_ns - t0) / (t1 - t0)
    return pts[-1][1]


def _over(samples: Sequence[tuple[int, float | None]], a_ns: int, b_ns: int,
          hold: bool = False) -> float | None:
    va, vb = _at(samples, a_ns, hold), _at(samples, b_ns, hold)
    return None if va is None or vb is None else vb - va


def _iso_ns(text: str) -> int:
    when = dt.datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    delta = when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000


def _stat(pid: int | str) -> tuple[int, int, float] | None:
    """(parent pid, start time in ticks, own CPU seconds) of a process (None once gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[1]), int(fields[19]), (int(fields[11]) + int(fields[12])) / TICK


def _descendants(root: int) -> dict[tuple[int, int], float]:
    """Every process below ``root`` (children, theirs, ...): (pid, start time) -> its own
    CPU seconds so far."""
    tree: dict[int, list[tuple[int, int, float]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            st = _stat(entry.name)
            if st is not None:
                tree.setdefault(st[0], []).append((int(entry.name), st[1], st[2]))
    found: dict[tuple[int, int], float] = {}
    todo = [root]
    while todo:
        for pid, start, used in tree.get(todo.pop(), ()):
            if (pid, start) not in found:
                found[(pid, start)] = used
                todo.append(pid)
    return found


def _alive(seen: Iterable[tuple[int, int]]) -> list[int]:
    """The pids of ``seen`` ((pid, start time)) still running (the same processes)."""
    alive = []
    for pid, start in seen:
        st = _stat(pid)
        if st is not None and st[1] == start:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append(pid)
    return sorted(alive)


def _end_left_over(seen: Iterable[tuple[int, int]]) -> list[int]:
    """End (by pid) the processes the run started (``seen``: its descendants, Ray's
    among them) that are still there a few seconds after it exited; those pids."""
    deadline = time.monotonic() + 5.0
    left = _alive(seen)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = _alive(seen)
    ended = list(left)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in left:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        time.sleep(1.0)
        left = _alive(seen)
        if not left:
            break
    return ended


def _run(sim: SimServer, workers: int, concurrency: int, requests: int, run_dir: Path,
         timeout_s: float = 600.0) -> dict[str, Any]:
    """One ``aiperf profile --workers N`` run, sampled as the module docstring says."""
    argv = profile_argv(OURS, sim.url, run_dir, concurrency=concurrency, requests=requests,
                        warmup=concurrency,
                        extra=["--prompt-sizing", "builtin", "--workers", str(workers)])
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    log_path = run_dir.with_name(run_dir.name + ".log")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    sim_s: list[tuple[int, float | None]] = []
    drv_s: list[tuple[int, float | None]] = []
    box_s: list[tuple[int, float | None]] = []
    tree_s: list[tuple[int, float | None]] = []
    # (pid, start time) -> own CPU seconds when last listed; a process that has exited
    # keeps its last figure, so the sum never drops.
    seen: dict[tuple[int, int], float] = {}
    next_tree = 0.0
    with open(log_path, "wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                now = time.time_ns()
                sim_s.append((now, sim.cpu_s()))
                box_s.append((now, _machine_busy()))
                own = _proc_cpu(proc.pid)
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    proc.returncode = os.waitstatus_to_exitcode(status)
                    tree_cpu = usage.ru_utime + usage.ru_stime
                    break
                drv_s.append((now, own))
                if time.monotonic() >= next_tree:
                    seen.update(_descendants(proc.pid))
                    tree_s.append((now, sum(seen.values())))
                    next_tree = time.monotonic() + TREE_EVERY_S
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{' '.join(argv)} still running after {timeout_s:g} s")
                time.sleep(SAMPLE_S)
        finally:
            if proc.returncode is None:  # interrupted or timed out: leave nothing behind
                proc.kill()
                proc.wait()
                _end_left_over(seen)
        wall = time.perf_counter() - t0
    left = _end_left_over(seen)
    if left:
        print(f"note: ended {len(left)} process(es) the run left behind: {left}")
    if proc.returncode != 0:
        tail = log_path.read_text("utf-8", errors="replace")[-3000:]
        raise RuntimeError(f"{' '.join(argv)} exited with {proc.returncode}:\n{tail}")

    summary = json.loads((run_dir / "profile_export_aiperf.json").read_text("utf-8"))
    manifest = json.loads((run_dir / "run.json").read_text("utf-8"))
    a_ns, b_ns = _iso_ns(manifest["started"]), _iso_ns(manifest["ended"])
    window = (b_ns - a_ns) / 1e9
    counts = manifest.get("record_counts") or {}
    measured = int(counts.get("profiling") or requests)
    listed = manifest.get("workers") or []
    own_window = _over(drv_s, a_ns, b_ns)
    if listed:
        worker_cpu = sum(float(w.get("cpu_s") or 0.0) for w in listed)
        shares = [w["cpu_share"] for w in listed if w.get("cpu_share") is not None]
        worker_share = max(shares) if shares else None
    else:  # one process: it is the client
        if own_window is None:  # no /proc: the summary's figure (warm-up included)
            frac = (summary.get("client_health") or {}).get("client_cpu_fraction")
            own_window = None if frac is None else frac * window
        worker_cpu = own_window
        worker_share = None if own_window is None or window <= 0 else own_window / window
    sim_cpu = _over(sim_s, a_ns, b_ns)
    busy = _over(box_s, a_ns, b_ns)
    below = _over(tree_s, a_ns, b_ns, hold=True)
    run_cpu = None if below is None or own_window is None else own_window + below
    own_total = next((v for _, v in reversed(drv_s) if v is not None), None)
    return {
        "rps": float(summary["request_throughput"]["avg"]),
        "requests": measured,
        "failed": int(counts.get("failed") or 0),
        "cpu_ms": None if worker_cpu is None else worker_cpu / measured * 1e3,
        "worker_share": worker_share,
        "workers_listed": len(listed) or 1,
        "sim_cpu": None if sim_cpu is None or window <= 0 else sim_cpu / window,
        "busy": None if busy is None or window <= 0 else busy / window,
        "run_cores": None if run_cpu is None or window <= 0 else run_cpu / window,
        "other": (None if busy is None or run_cpu is None or sim_cpu is None or window <= 0
                  else (busy - run_cpu - sim_cpu) / window),
        "driver_cpu_s": own_total,
        "tree_cpu_s": tree_cpu,
        "wall_s": wall,
        "window_s": window,
        "fixed_s": wall - window,
    }


def _med(xs: Sequence[float | None]) -> float | None:
    vals = [x for x in xs if x is not None]
    return statistics.median(vals) if vals else None


def _fmt(x: float | None, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def _verdict(workers: int, row: dict[str, Any], x1: float | None, ncpu: int) -> str:
    """Which of the simulator and the machine's cores saturated (from the medians)."""
    sim, busy, run, other = row["sim_cpu"], row["busy"], row["run_cores"], row["other"]
    gain = "" if x1 is None else f"{workers} worker(s) reach x{x1:.2f} the req/s of 1; "
    who = "1 client process" if workers == 1 else f"driver + {workers} workers + Ray"
    parts = (f"simulator {_fmt(sim, '.2f')}, {who} {_fmt(run, '.2f')}, other work "
             f"{_fmt(other, '.2f')}")
    cores = f"{_fmt(busy, '.2f')} of the machine's {ncpu} cores busy ({parts})"
    if sim is not None and sim >= SATURATED:
        return (f"verdict: {gain}the simulator used {sim:.2f} of a core over the measured "
                f"window ({cores}): it, not the client, is the limit")
    if busy is not None and busy >= SATURATED * ncpu:
        starved = ("" if other is None or other < 0.25 else
                   f"; other work on the machine took {other:.2f} of a core, so these "
                   f"figures understate what the client reaches on an idle machine")
        share = row["worker_share"]
        loop = ("" if share is None or share < SATURATED else
                f"; the busiest client event loop used {share:.2f} of a core")
        return (f"verdict: {gain}{ncpu} cores run the simulator + {who}, {cores}: "
                f"CPU-bound{loop}{starved}")
    return (f"verdict: {gain}neither the simulator nor the cores saturated ({cores}): the "
            f"limit is elsewhere (latency, coordination)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--rounds", type=int, default=3,
                    help="rounds (each runs every worker count once, interleaved)")
    ap.add_argument("-w", "--workers", type=int, action="append",
                    help="worker count to measure (repeat; default 1, 2 and 4)")
    ap.add_argument("-c", "--concurrency", type=int, default=64,
                    help="total concurrency, split over the workers")
    ap.add_argument("-r", "--requests", type=int, default=6000, help="measured requests per run")
    ap.add_argument("--osl", type=int, default=16, help="tokens per answer")
    ap.add_argument("--keep", type=Path, metavar="DIR",
                    help="keep the run directories under DIR (default: a temporary one)")
    opts = ap.parse_args()
    counts = sorted(set(opts.workers or [1, 2, 4]))
    if any(w < 1 or w > opts.concurrency for w in counts):
        ap.error("every worker count must be between 1 and the concurrency")
    if opts.requests <= opts.concurrency:
        ap.error("--requests must be larger than the concurrency")

    work = Path(opts.keep) if opts.keep else Path(tempfile.mkdtemp(prefix="aiperf-scale-"))
    results: dict[int, list[dict[str, Any]]] = {w: [] for w in counts}
    try:
        with SimServer(mode="deterministic", ttft_ms=0, itl_ms=0, osl=opts.osl) as sim:
            for i in range(opts.rounds):
                for w in counts:
                    sim.reset()
                    try:
                        results[w].append(_run(sim, w, opts.concurrency, opts.requests,
                                               work / f"w{w}-round{i}"))
                    except (RuntimeError, TimeoutError) as e:
                        print(f"note: {w} worker(s), round {i}: failed, left out: {e}"[:3000])
    finally:
        if not opts.keep:
            shutil.rmtree(work, ignore_errors=True)

    ncpu = os.cpu_count() or 1
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"instant simulator (separate process; deterministic, TTFT 0, ITL 0, {opts.osl} "
          f"tokens); streaming chat, closed loop, total concurrency {opts.concurrency}; "
          f"{opts.requests} requests per run, {opts.rounds} round(s); {ncpu} CPUs; load "
          f"average {load:.2f} at the end")
    if compiles_every_run():
        print("note: PYTHONDONTWRITEBYTECODE is set: every run compiles aiperf's modules "
              "(in fixed s)")
    print("medians over the rounds; cpu/req: workers' CPU (run.json cpu_s; 1 worker: the "
          "process over the window) / measured requests;\nwrk cpu: busiest worker's share "
          "of a core;\nsim cpu, run (the profile process and all below it), other (the rest), "
          "busy (the machine): cores over the measured window;\ndrv s: the driver's own "
          "CPU, start to exit; tree s: by wait4 (reaped children too)")
    print(f"{'workers':>7}  {'req/s':>6} {'(rounds)':>11}  {'x1':>5}  {'cpu/req ms':>10}  "
          f"{'wrk cpu':>7}  {'sim cpu':>7}  {'run':>5}  {'other':>5}  {'busy':>5}  "
          f"{'drv s':>6}  {'tree s':>6}  "
          f"{'wall s':>6}  {'window s':>8}  {'fixed s':>7}  {'ray s':>6}  {'failed':>6}")
    medians: dict[int, dict[str, Any]] = {}
    for w in counts:
        rs = results[w]
        if rs:
            medians[w] = {k: _med([r[k] for r in rs]) for k in rs[0]}
            rps = [r["rps"] for r in rs]
            medians[w]["spread"] = f"{min(rps):.0f}-{max(rps):.0f}"
            medians[w]["failed"] = sum(r["failed"] for r in rs)
    base = medians.get(1)
    summary: dict[str, Any] = {"concurrency": opts.concurrency, "requests": opts.requests,
                               "rounds": opts.rounds, "cpus": ncpu, "workers": {}}
    for w, m in medians.items():
        x1 = None if base is None else m["rps"] / base["rps"]
        ray_s = None if base is None or w == 1 else m["fixed_s"] - base["fixed_s"]
        print(f"{w:>7}  {m['rps']:6.0f} {m['spread']:>11}  {_fmt(x1, '5.2f'):>5}  "
              f"{_fmt(m['cpu_ms'], '10.3f'):>10}  {_fmt(m['worker_share'], '7.2f'):>7}  "
              f"{_fmt(m['sim_cpu'], '7.2f'):>7}  {_fmt(m['run_cores'], '5.2f'):>5}  "
              f"{_fmt(m['other'], '5.2f'):>5}  {_fmt(m['busy'], '5.2f'):>5}  "
              f"{_fmt(m['driver_cpu_s'], '6.2f'):>6}  {m['tree_cpu_s']:6.2f}  "
              f"{m['wall_s']:6.2f}  {m['window_s']:8.2f}  {m['fixed_s']:7.2f}  "
              f"{_fmt(ray_s, '6.2f'):>6}  {m['failed']:>6}")
        summary["workers"][str(w)] = {
            "requests_per_s": round(m["rps"], 1),
            "ratio_to_1": None if x1 is None else round(x1, 3),
            "cpu_ms_per_request": None if m["cpu_ms"] is None else round(m["cpu_ms"], 4),
            "sim_cpu_fraction": None if m["sim_cpu"] is None else round(m["sim_cpu"], 3),
            "busy_cores": None if m["busy"] is None else round(m["busy"], 3),
            "run_cores": None if m["run_cores"] is None else round(m["run_cores"], 3),
            "other_cores": None if m["other"] is None else round(m["other"], 3),
            "driver_cpu_s": None if m["driver_cpu_s"] is None else round(m["driver_cpu_s"], 3),
            "wall_s": round(m["wall_s"], 3), "window_s": round(m["window_s"], 3),
            "ray_startup_s": None if ray_s is None else round(ray_s, 3)}
    if medians:
        top = max(medians)
        x1 = None if base is None or top == 1 else medians[top]["rps"] / base["rps"]
        print(_verdict(top, medians[top], x1, ncpu))
        if base is not None and top != 1:
            print("at 1 worker: " + _verdict(1, base, None, ncpu).removeprefix("verdict: "))
    else:
        print("verdict: no run finished")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
