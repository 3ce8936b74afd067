"""How long the CLI takes to start, against a bare ``python -c pass``.

    python benchmarks/startup.py            # 15 runs of each command
    python benchmarks/startup.py -n 31 -f examples/quickstart.yaml

Every command runs in a fresh subprocess (``sys.executable -m aiperf ...``, so no
console script is needed); the runs of the commands are interleaved so that a burst of
load on a shared machine hits them alike. One untimed warm-up run of each command comes
first (it also fills the rulebook cache). The medians are printed as milliseconds and
as ratios to ``python -c pass``, followed by the heavy modules each command imported
(there should be none: plotting and HTTP libraries are only for ``aiperf profile``).

``--against DIR`` also runs the aiperf commands from another checkout (e.g. a copy of
the tree before a change, run from that folder so that ``-m aiperf`` imports its code),
interleaved with this one, for a before/after comparison under the same load.

``--cold-cache`` adds a row for ``config explain`` with the rulebook cache switched
off (``XDG_CACHE_HOME`` pointed at a path that cannot be created), to show what the
cache saves. ``--bytecode`` runs everything with a private bytecode cache
(``PYTHONPYCACHEPREFIX``) even when ``PYTHONDONTWRITEBYTECODE`` is set, as an installed
wheel would have; by default the environment is used as it is, and the script says
whether aiperf's own modules are being compiled from source on every run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "seaborn", "matplotlib", "aiohttp", "numpy")

#: Runs ``python -m aiperf ARGS`` and writes the names of every imported module to the
#: file named by the first argument (at exit, so after typer's own SystemExit).
_WRAPPER = """\
import atexit, runpy, sys
out = sys.argv[1]
def _dump():
    with open(out, "w", encoding="utf-8") as fh:
        fh.write("\\n".join(sorted(sys.modules)))
atexit.register(_dump)
sys.argv = ["aiperf", *sys.argv[2:]]
runpy.run_module("aiperf", run_name="__main__", alter_sys=True)
"""


def _run(argv: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) for one run of ``argv``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    if hasattr(os, "wait4"):
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t0
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        cpu = usage.ru_utime + usage.ru_stime
    else:  # no rusage of one child here (Windows): wall time only
        code = proc.wait()
        elapsed, cpu = time.perf_counter() - t0, float("nan")
    if code not in (0, 2):  # 2: the config has constraint problems; still timed
        again = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
        sys.exit(f"{' '.join(argv)} failed ({code}):\n{again.stderr}")
    return elapsed, cpu


def _heavy_imports(args: list[str], env: dict[str, str]) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "modules.txt"
        subprocess.run([sys.executable, "-c", _WRAPPER, str(out), *args], cwd=ROOT, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        modules = out.read_text(encoding="utf-8").split() if out.exists() else ["<no report>"]
    return sorted({m.split(".")[0] for m in modules if m.split(".")[0] in HEAVY})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--runs", type=int, default=15, help="timed runs per command")
    ap.add_argument("-f", "--file", default="examples/quickstart.yaml",
                    help="config file for `config explain` (relative to the repo root)")
    ap.add_argument("--cold-cache", action="store_true",
                    help="also time `config explain` with the rulebook cache switched off")
    ap.add_argument("--against", type=Path, metavar="DIR",
                    help="also time the aiperf commands run from the checkout in DIR")
    ap.add_argument("--bytecode", action="store_true",
                    help="use a private bytecode cache even if PYTHONDONTWRITEBYTECODE is set")
    opts = ap.parse_args()

    env = dict(os.environ)
    pyc_dir = None
    if opts.bytecode:
        pyc_dir = tempfile.TemporaryDirectory(prefix="aiperf-pyc-")
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pyc_dir.name
    cold_env = dict(env, XDG_CACHE_HOME="/dev/null/aiperf-no-cache")

    py = sys.executable
    explain = ["config", "explain", "-f", opts.file]
    commands: dict[str, tuple[list[str], dict[str, str], Path]] = {
        "python -c pass": ([py, "-c", "pass"], env, ROOT),
        "aiperf --help": ([py, "-m", "aiperf", "--help"], env, ROOT),
        f"aiperf config explain -f {opts.file}": ([py, "-m", "aiperf", *explain], env, ROOT),
    }
    if opts.cold_cache:
        commands["  ... rulebook cache off"] = ([py, "-m", "aiperf", *explain], cold_env, ROOT)
    if opts.against is not None:
        other = opts.against.resolve()
        explain_other = [py, "-m", "aiperf", "config", "explain", "-f", str(ROOT / opts.file)]
        commands[f"[{other.name}] aiperf --help"] = ([py, "-m", "aiperf", "--help"], env, other)
        commands[f"[{other.name}] aiperf config explain"] = (explain_other, env, other)

    for argv, e, cwd in commands.values():  # warm-up: page cache, bytecode, rulebook cache
        _run(argv, e, cwd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(opts.runs):
        for name, (argv, e, cwd) in commands.items():
            wall, used = _run(argv, e, cwd)
            times[name].append(wall)
            cpu[name].append(used)

    base = statistics.median(times["python -c pass"])
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    no_pyc = env.get("PYTHONDONTWRITEBYTECODE") and not env.get("PYTHONPYCACHEPREFIX")
    print(f"{py}  ({opts.runs} runs each, interleaved; {os.cpu_count()} CPUs; "
          f"load average {load:.2f} at the end)")
    if no_pyc:
        print("note: PYTHONDONTWRITEBYTECODE is set, so modules without a .pyc (aiperf's own, "
              "in a checkout) are compiled on every run; --bytecode measures with a cache")
    width = max(map(len, times))
    print("wall: median and fastest run; x pass and - pass: the median against that of "
          "`python -c pass`;\ncpu: median user+system time of the process, which a busy "
          "machine disturbs far less than wall time")
    print(f"{'command':<{width}}  {'median ms':>9}  {'min ms':>7}  {'x pass':>7}  "
          f"{'- pass ms':>9}  {'cpu ms':>7}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"{name:<{width}}  {med * 1e3:9.1f}  {min(ts) * 1e3:7.1f}  {med / base:7.1f}  "
              f"{(med - base) * 1e3:9.1f}  {statistics.median(cpu[name]) * 1e3:7.1f}")

    print("heavy modules imported (should be none):")
    for name, args in (("aiperf --help", ["--help"]), ("aiperf config explain", explain)):
        heavy = _heavy_imports(args, env)
        print(f"  {name}: {', '.join(heavy) if heavy else 'none'}")
    if pyc_dir is not None:
        pyc_dir.cleanup()
    print(json.dumps({name.strip(): {"wall_ms": round(statistics.median(ts) * 1e3, 1),
                                     "cpu_ms": round(statistics.median(cpu[name]) * 1e3, 1)}
                      for name, ts in times.items()}))


if __name__ == "__main__":
    main()
