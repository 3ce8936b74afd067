"""Whether a run's memory grows with its number of requests: peak RSS at two run lengths.

    python benchmarks/run_memory.py                        # 2,000 and 20,000 requests
    python benchmarks/run_memory.py -r 5000 -r 50000 --osl 256
    python benchmarks/run_memory.py --baseline-rev f3fdb4f # side by side with that commit

An "instant" simulator (deterministic, TTFT 0, ITL 0, ``--osl`` tokens per answer) runs
as a separate process, and ``aiperf profile`` (streaming chat, closed loop, concurrency
``-c``) runs against it as a subprocess for each run length ``-r``. Per tool and length:
the peak resident set size of the profile process (``os.wait4`` rusage), and then the
growth per 1,000 requests between the shortest and the longest run: what a long run pays
for each further request. Figures are medians over ``-n`` runs, the tools interleaved.

``--baseline-rev REV`` checks REV out into a temporary git worktree and runs its aiperf
(``python -m aiperf`` from there, with this interpreter) the same way, so a change's
effect is printed as a ratio of growths, baseline over this checkout. The exit code is 0
either way: a measurement, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _sim import OURS, SimServer, checkouts_to_run, profile_argv, run_profile  # noqa: E402

MIB = 1024 * 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-r", "--requests", type=int, action="append",
                    help="run length to measure (repeat; default 2,000 and 20,000)")
    ap.add_argument("-c", "--concurrency", type=int, default=64)
    ap.add_argument("--osl", type=int, default=128, help="tokens per answer")
    ap.add_argument("-n", "--runs", type=int, default=1, help="runs per length and tool")
    ap.add_argument("--baseline-rev", help="a git revision to run side by side")
    opts = ap.parse_args()
    lengths = sorted(set(opts.requests or [2_000, 20_000]))

    with contextlib.ExitStack() as stack:
        tools = checkouts_to_run(stack, opts.baseline_rev)
        sim = stack.enter_context(SimServer(mode="deterministic", ttft_ms=0, itl_ms=0,
                                            osl=opts.osl))
        out = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="aiperf-mem-")))
        peaks: dict[tuple[str, int], list[float]] = {}
        for i in range(opts.runs):
            for n in lengths:
                for name, cwd in tools.items():
                    run_dir = out / f"{name.split()[0]}-{n}-{i}"
                    argv = profile_argv(OURS, sim.url, run_dir, concurrency=opts.concurrency,
                                        requests=n, warmup=opts.concurrency,
                                        extra=["--prompt-sizing", "builtin"])
                    run = run_profile(argv, run_dir, timeout_s=1800, cwd=cwd)
                    peaks.setdefault((name, n), []).append(run.max_rss_bytes)
                    sim.reset()

    print(f"instant simulator, streaming chat, concurrency {opts.concurrency}, "
          f"{opts.osl} tokens per answer; peak RSS of the profile process, median of "
          f"{opts.runs}")
    header = f"{'tool':<24}" + "".join(f"{n:>12,} req" for n in lengths) + "  per 1,000 req"
    print(header)
    growth: dict[str, float] = {}
    for name in tools:
        medians = [statistics.median(peaks[(name, n)]) for n in lengths]
        per_k = (medians[-1] - medians[0]) / ((lengths[-1] - lengths[0]) / 1000)
        growth[name] = per_k
        cells = "".join(f"{m / MIB:>12.1f} MiB" for m in medians)
        print(f"{name:<24}{cells}  {per_k / MIB:>8.2f} MiB")
    if len(growth) == 2:
        ours, base = growth["this checkout"], next(v for k, v in growth.items()
                                                  if k != "this checkout")
        ratio = base / ours if ours > 0 else float("inf")
        print(f"growth per request, baseline / this checkout: x{ratio:.1f}"
              + (" (this checkout: no measurable growth)" if ours <= 0 else ""))


if __name__ == "__main__":
    main()
