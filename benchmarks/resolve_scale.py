"""How resolution cost grows with the number of keys and of layers (config files).

    python benchmarks/resolve_scale.py              # the full grid, under a minute
    python benchmarks/resolve_scale.py --quick      # fewer repetitions
    python benchmarks/resolve_scale.py --part engine   # only part 1 (a few seconds)

Part 1, the engine: the real field table has ~58 fields, so to reach 100 and 1,000
keys this builds synthetic fields (``bench.k0`` ... as integers) and synthetic file
layers that each set every key, then times, per configuration, ``decide`` over every
field (the generic precedence table, as ``resolve`` runs it) plus rendering every
field's provenance the way ``aiperf config explain KEY`` does (``explain_one``). It
prints the median time of one resolution and the time per key x layer, and fits
``time ~ (keys x layers)^slope`` on a log-log scale: a slope at or below 1 means cost
grows no faster than linearly.

Part 2, end to end: ``aiperf.config.load([files])``, from reading and typing the YAML
to the frozen Config: one file with more and more keys (2a), then 1 to 16 real YAML
files of 10 keys (2b) and of every field of the real table that a file can set (2c).
Slow points get fewer repetitions so that the script stays well under a minute.

Layers count the files; the built-in defaults layer is always there on top.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from aiperf.config import fields as F  # noqa: E402
from aiperf.config.kinds import (  # noqa: E402
    BoolKind,
    EnumKind,
    EnvelopeKind,
    FloatKind,
    IntKind,
    ListKind,
    MapKind,
    RecordKind,
    ScalarKind,
    StrKind,
)
from aiperf.config.layer import Layer, Origin, Value  # noqa: E402
from aiperf.config.provenance import Resolved  # noqa: E402
from aiperf.config.resolve import DEFAULT_ORIGIN, decide, order_layers  # noqa: E402
from aiperf.config.rulebook import load_rulebook  # noqa: E402

KEYS = (10, 100, 1000)
LAYERS = (1, 2, 4, 8, 16)


def median_time(fn: Callable[[], Any], reps: int,
                min_total: float = 0.2) -> tuple[float, float]:
    """(median, fastest) of at least ``reps`` runs, more (up to 500) until ``min_total``
    seconds are spent, so that short timings are not at the mercy of one hiccup."""
    gc.collect()  # start every configuration from the same heap state
    times: list[float] = []
    while len(times) < reps or (sum(times) < min_total and len(times) < 500):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def fit_linear(rows: list[tuple[int, int, float]]) -> tuple[float, float, float, float]:
    """Least squares ``time = c + a*keys + b*keys*layers`` on relative errors: (c, a, b,
    worst relative error of the fit). A good fit with this purely linear model is the
    point."""
    xs = [(1.0 / t, k / t, k * n / t) for k, n, t in rows]  # weighted by 1/time
    ys = [1.0] * len(rows)
    # Normal equations (3x3), solved by Gaussian elimination.
    m = [[sum(x[i] * x[j] for x in xs) for j in range(3)]
         + [sum(x[i] * y for x, y in zip(xs, ys, strict=True))]
         for i in range(3)]
    for i in range(3):
        p = max(range(i, 3), key=lambda r: abs(m[r][i]))
        m[i], m[p] = m[p], m[i]
        for r in range(3):
            if r != i:
                f = m[r][i] / m[i][i]
                m[r] = [a - f * b for a, b in zip(m[r], m[i], strict=True)]
    c, a, b = (m[i][3] / m[i][i] for i in range(3))
    worst = max(abs(c + a * k + b * k * n - t) / t for k, n, t in rows)
    return c, a, b, worst


def fit_slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of log(time) against log(size)."""
    xs = [math.log(x) for x, _ in points]
    ys = [math.log(y) for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return cov / sum((x - mx) ** 2 for x in xs)


# --- part 1: the engine over synthetic fields ------------------------------------------

def _render(explain_one: Callable[..., str] | None, resolved: Resolved, provs: list) -> int:
    if explain_one is not None:
        return sum(len(explain_one(resolved, p)) for p in provs)
    return len(json.dumps([repr(p) for p in provs]))  # explain.py without explain_one


def engine(reps: int) -> None:
    try:
        from aiperf.explain import explain_one
    except ImportError:
        explain_one = None
    rulebook = load_rulebook()
    print("part 1: decide + explain_one over synthetic integer fields "
          f"(median of at least {reps} runs; default layer not counted)")
    print("(median times; `fastest`: the sum of the fastest runs, steadier on a busy machine)")
    print(f"{'keys':>6} {'layers':>6} {'key x layer':>11} {'resolve ms':>10} "
          f"{'explain ms':>10} {'total ms':>9} {'us / key x layer':>16} {'fastest ms':>10}")
    points: list[tuple[float, float]] = []
    fastest: list[tuple[float, float]] = []
    rows: list[tuple[int, int, float]] = []
    for n_keys in KEYS:
        fields = [F.Field(key=f"bench.k{i}", kind=IntKind(), default=0, doc="")
                  for i in range(n_keys)]
        table = rulebook.table_for(fields[0].key)  # the generic precedence table
        defaults = Layer("default", "built-in defaults",
                         {f.key: Value(0, DEFAULT_ORIGIN) for f in fields})
        for n_layers in LAYERS:
            files = [
                Layer("file", f"f{j}.yaml", {
                    f.key: Value(i * 31 + j, Origin("file", f"f{j}.yaml", 2 * i + 1, 3))
                    for i, f in enumerate(fields)
                })
                for j in range(n_layers)
            ]
            layers = order_layers([defaults, *files])

            def resolve_all(fields=fields, layers=layers, table=table) -> list:
                return [decide(f, layers, table, None, None) for f in fields]

            provs = resolve_all()
            assert provs[-1].value == (n_keys - 1) * 31 + n_layers - 1  # the last file won
            resolved = Resolved(None, {p.key: p for p in provs})  # type: ignore[arg-type]
            t_resolve, f_resolve = median_time(resolve_all, reps)
            t_explain, f_explain = median_time(
                lambda resolved=resolved, provs=provs: _render(explain_one, resolved, provs),
                reps)
            total, best = t_resolve + t_explain, f_resolve + f_explain
            units = n_keys * n_layers
            points.append((units, total))
            fastest.append((units, best))
            rows.append((n_keys, n_layers, best))
            print(f"{n_keys:>6} {n_layers:>6} {units:>11} {t_resolve * 1e3:>10.2f} "
                  f"{t_explain * 1e3:>10.2f} {total * 1e3:>9.2f} {total / units * 1e6:>16.2f} "
                  f"{best * 1e3:>10.2f}")
    print("  medians:")
    _summary(points)
    print("  fastest runs:")
    _summary(fastest)
    c, a, b, worst = fit_linear(rows)
    print(f"  linear fit of the fastest runs: time = {c * 1e6:.0f} us + {a * 1e6:.2f} us x keys"
          f" + {b * 1e6:.2f} us x keys x layers (worst point off by {worst:.0%})")


def _summary(points: list[tuple[float, float]]) -> None:
    small, large = min(points), max(points)
    per_small, per_large = small[1] / small[0], large[1] / large[0]
    print(f"  fitted slope of log(time) vs log(keys x layers): {fit_slope(points):.2f} "
          "(1 = linear; below 1: a fixed per-key or per-call part is spread thinner)")
    print(f"  time per key x layer, largest / smallest configuration: "
          f"{per_large / per_small:.2f} ({int(large[0])} vs {int(small[0])} key x layers)")


# --- part 2: end to end through real YAML files ----------------------------------------

def _value(kind: Any, j: int) -> Any:
    """A valid value of ``kind`` (varied by file number ``j``)."""
    if isinstance(kind, BoolKind):
        return j % 2 == 0
    if isinstance(kind, IntKind):
        low = max(kind.min if kind.min is not None else 0, 1)
        return min(low + j, kind.max) if kind.max is not None else low + j
    if isinstance(kind, FloatKind):
        return 0.5 if kind.le is not None or kind.lt is not None else 1.5 + j
    if isinstance(kind, EnumKind):
        return kind.choices[j % len(kind.choices)]
    if isinstance(kind, StrKind | ScalarKind):
        return f"v{j}"
    if isinstance(kind, ListKind):
        return [_value(kind.item, j)]
    if isinstance(kind, MapKind):
        return {(kind.keys[0] if kind.keys else "k"): _value(kind.value, j)}
    if isinstance(kind, RecordKind):
        return {name: _value(k, j) for name, k in kind.members}
    raise TypeError(kind)


def _yaml(node: Any, indent: int = 0) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, dict | list):
                lines.append(f"{pad}{k}:")
                lines += _yaml(v, indent + 2)
            else:
                lines.append(f"{pad}{k}: {_scalar(v)}")
    else:
        for item in node:
            if isinstance(item, dict):
                first, *rest = _yaml(item, indent + 2)
                lines.append(f"{pad}- {first.strip()}")
                lines += rest
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    return lines


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return json.dumps(v)  # a double-quoted YAML string


def _config_text(j: int, limit: int | None) -> tuple[str, int]:
    chosen = [f for f in F.FIELDS
              if f.key != "benchmark.search.recipe" and not isinstance(f.kind, EnvelopeKind)]
    chosen = chosen[:limit] if limit else chosen
    tree: dict[str, Any] = {}
    for f in chosen:
        *parents, last = f.key.split(".")
        node = tree
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = _value(f.kind, j)
    n = len(chosen)
    if limit is None:
        tree["plot"] = {"theme": "light", "dpi": 100 + j}
        n += 1
    return "\n".join(_yaml(tree)) + "\n", n


def _adaptive_median(fn: Callable[[], Any], reps: int, budget: float) -> tuple[float, int]:
    """Median of up to ``reps`` runs, stopping early once ``budget`` seconds are spent."""
    times: list[float] = []
    while len(times) < reps and sum(times) < budget:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), len(times)


def end_to_end(reps: int, budget: float) -> None:
    from aiperf.config import load

    print(f"\npart 2: aiperf.config.load(files) end to end, from reading the YAML to the "
          f"frozen Config (median of up to {reps} runs, fewer past {budget:g} s)")
    with tempfile.TemporaryDirectory(prefix="aiperf-scale-") as tmp:

        def write(j: int, limit: int | None) -> tuple[Path, int]:
            text, n_keys = _config_text(j, limit)
            path = Path(tmp) / f"{limit or 'all'}-f{j}.yaml"
            path.write_text(text, encoding="utf-8")
            return path, n_keys

        print("2a: one file, more keys in it")
        print(f"{'keys/file':>9} {'files':>6} {'load ms':>9} {'runs':>4} {'us / key':>9}")
        points = []
        for limit in (5, 10, 20, 40):  # the whole table in one file is 2c's first row
            path, n_keys = write(0, limit)
            load([path], {}, {})  # also checks that the file is valid
            t, runs = _adaptive_median(lambda path=path: load([path], {}, {}), reps, budget)
            points.append((n_keys, t))
            print(f"{n_keys:>9} {1:>6} {t * 1e3:>9.1f} {runs:>4} {t / n_keys * 1e6:>9.1f}")
        print(f"  fitted slope of log(time) vs log(keys per file): {fit_slope(points):.2f} "
              "(1 = linear)")

        for label, limit in (("2b: 10 keys per file", 10),
                             ("2c: every field a file can set", None)):
            print(label)
            print(f"{'keys/file':>9} {'files':>6} {'key x layer':>11} {'load ms':>9} "
                  f"{'runs':>4} {'us / key x layer':>16}")
            written = [write(j, limit) for j in range(max(LAYERS))]
            paths, n_keys = [p for p, _ in written], written[0][1]
            points = []
            for n_files in LAYERS:
                files = paths[:n_files]
                resolved = load(files, {}, {})  # also checks that the files are valid
                won = resolved.provenance["benchmark.load.concurrency"].origin.source
                assert won == str(files[-1]), won
                t, runs = _adaptive_median(lambda files=files: load(files, {}, {}), reps,
                                           budget)
                units = n_keys * n_files
                points.append((units, t))
                print(f"{n_keys:>9} {n_files:>6} {units:>11} {t * 1e3:>9.1f} {runs:>4} "
                      f"{t / units * 1e6:>16.1f}")
            _summary(points)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--part", choices=("engine", "e2e", "both"), default="both")
    opts = ap.parse_args()
    t0 = time.perf_counter()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if opts.part in ("engine", "both"):
        engine(reps=3 if opts.quick else 7)
    if opts.part in ("e2e", "both"):
        end_to_end(reps=1 if opts.quick else 3, budget=0.5 if opts.quick else 1.0)
    print(f"\n(total {time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
