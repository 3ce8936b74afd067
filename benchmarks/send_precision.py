"""How close to its due time each request of a rate-driven run is sent, and what it costs.

    python benchmarks/send_precision.py                          # 50 and 500 requests/s
    python benchmarks/send_precision.py --baseline-rev HEAD~1    # side by side with a commit
    python benchmarks/send_precision.py -r 20 -r 200 -n 5 --seconds 10

A deterministic simulator (TTFT 20 ms, ITL 2 ms, 16 tokens) runs as a separate process,
and ``aiperf profile --request-rate R`` (Poisson arrivals, streaming chat, ``--seconds``
worth of requests) runs against it as a subprocess for each rate ``-r``. Per tool and rate:
the median and p90 over requests of the scheduling lag (send stamp minus due time, the
``scheduling_lag`` of every record), the client's CPU as a fraction of one core, and the
achieved over the requested rate; each the median over ``-n`` runs, the tools interleaved.

``--baseline-rev REV`` runs that commit's aiperf (from a temporary git worktree, with this
interpreter) the same way and prints the ratios of this checkout over the baseline (below
1: closer to the due time, or less CPU). The exit code is 0 either way: a measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sim import OURS, SimServer, checkouts_to_run, run_profile  # noqa: E402


def _one(cwd: Path, url: str, rate: float, seconds: float, run_dir: Path) -> dict[str, float]:
    argv = [*OURS, "profile", "--model", "m", "--url", url, "--endpoint-type", "chat",
            "--streaming", "--request-rate", f"{rate:g}", "--arrival-pattern", "poisson",
            "--request-count", str(max(2, int(rate * seconds))), "--prompt-sizing", "builtin",
            "--no-server-metrics", "--no-gpu-telemetry", "--ui", "none",
            "--artifact-dir", str(run_dir)]
    run = run_profile(argv, run_dir, cwd=cwd)
    lags = sorted(json.loads(line)["metrics"]["scheduling_lag"]["value"]
                  for line in (run_dir / "profile_export.jsonl").read_text().splitlines())
    health = json.loads((run_dir / "profile_export_aiperf.json").read_text())["client_health"]
    return {"median": statistics.median(lags), "p90": lags[int(0.9 * (len(lags) - 1))],
            "cpu": health["client_cpu_fraction"], "share": health["rate_share"],
            "wall": run.wall_s}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-r", "--rate", type=float, action="append",
                    help="requests/s to measure (repeat; default 50 and 500)")
    ap.add_argument("--seconds", type=float, default=8.0, help="run length at each rate")
    ap.add_argument("-n", "--runs", type=int, default=3, help="runs per rate and tool")
    ap.add_argument("--baseline-rev", help="a git revision to run side by side")
    opts = ap.parse_args()
    rates = opts.rate or [50.0, 500.0]

    with contextlib.ExitStack() as stack:
        tools = checkouts_to_run(stack, opts.baseline_rev)
        sim = stack.enter_context(SimServer(mode="deterministic", ttft_ms=20, itl_ms=2,
                                            osl=16))
        out = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aiperf-send-")))
        got: dict[tuple[str, float], list[dict[str, float]]] = {}
        for i in range(opts.runs):
            for rate in rates:
                for name, cwd in tools.items():
                    run_dir = out / f"{name.split()[0]}-{rate:g}-{i}"
                    got.setdefault((name, rate), []).append(
                        _one(cwd, sim.url, rate, opts.seconds, run_dir))
                    sim.reset()

    def med(name: str, rate: float, key: str) -> float:
        return statistics.median(r[key] for r in got[(name, rate)])

    print(f"deterministic simulator (separate process), Poisson arrivals, {opts.seconds:g} s "
          f"per run; medians of {opts.runs} runs")
    print(f"{'tool':<24} {'rate/s':>7}  {'lag p50 ms':>10}  {'lag p90 ms':>10}  "
          f"{'client cpu':>10}  {'achieved/requested':>18}")
    for rate in rates:
        for name in tools:
            print(f"{name:<24} {rate:>7g}  {med(name, rate, 'median'):>10.3f}  "
                  f"{med(name, rate, 'p90'):>10.3f}  {med(name, rate, 'cpu'):>10.3f}  "
                  f"{med(name, rate, 'share'):>18.4f}")
    if len(tools) == 2:
        base = next(n for n in tools if n != "this checkout")
        print("this checkout / baseline (below 1: better):")
        for rate in rates:
            ratios = {key: med("this checkout", rate, key) / med(base, rate, key)
                      for key in ("median", "p90", "cpu")}
            print(f"  {rate:g} requests/s: lag p50 x{ratios['median']:.2f}, "
                  f"lag p90 x{ratios['p90']:.2f}, client CPU x{ratios['cpu']:.2f}")


if __name__ == "__main__":
    main()
