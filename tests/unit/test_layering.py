"""The import rules of DESIGN.md section 8, read from the source with ``ast``.

Every import counts, at module level or inside a function (where the lazy imports live),
relative or absolute, and ``importlib.import_module("...")`` / ``__import__("...")`` with a
literal name too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import aiperf

PACKAGE = Path(aiperf.__file__).parent


def module_name(path: Path, root: Path) -> str:
    """``<root>/aiperf/bench/profile.py`` -> ``aiperf.bench.profile`` (a package: its own
    name)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, root: Path) -> Iterator[tuple[int, str]]:
    """Each module ``path`` imports, with the line: ``from a import b`` yields ``a.b``
    as well as ``a`` (``b`` may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[:len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            yield node.lineno, base
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func) and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def violations(package: str, forbidden: tuple[str, ...],
               root: Path = PACKAGE.parent) -> list[str]:
    """``file:line imports name`` for every import of a ``forbidden`` package from the
    modules of ``package`` (found under ``root``)."""
    found = []
    for path in sorted((root / package.replace(".", "/")).rglob("*.py")):
        for line, name in imported_names(path, root):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(root).as_posix()}:{line} imports {name}")
    return found


def test_bench_imports_nothing_from_plot_cli_or_sim():
    """The runner never imports the renderer, the CLI or the simulator it is measured
    against: the profile command chains auto-plot and serves ``sim://`` from above."""
    assert [] == violations("aiperf.bench", ("aiperf.plot", "aiperf.cli", "aiperf.sim"))


def test_plot_imports_nothing_from_bench():
    """The renderer reads run directories through ``aiperf.artifacts`` only: it works on
    runs this install did not write, and never loads the load generator."""
    assert [] == violations("aiperf.plot", ("aiperf.bench",))


def test_artifacts_imports_nothing_from_bench_plot_cli_or_sim():
    """The run directory's files (atomic writes, ``run.json``, the sweep aggregate's names)
    sit below both their writer and their reader."""
    assert [] == violations("aiperf.artifacts",
                            ("aiperf.bench", "aiperf.plot", "aiperf.cli", "aiperf.sim"))


def test_the_checker_sees_lazy_relative_and_dynamic_imports(tmp_path):
    """The rule's reader finds imports inside functions, relative ones and
    ``importlib.import_module`` with a literal name."""
    root = tmp_path / "aiperf" / "bench"
    root.mkdir(parents=True)
    (tmp_path / "aiperf" / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / "m.py").write_text(
        "import importlib\n"
        "def f():\n"
        "    from aiperf.sim.inprocess import serve\n"
        "def g():\n"
        "    from .. import plot\n"
        "def h():\n"
        "    return importlib.import_module('aiperf.cli.profile')\n")

    assert [
        "aiperf/bench/m.py:3 imports aiperf.sim.inprocess",
        "aiperf/bench/m.py:3 imports aiperf.sim.inprocess.serve",
        "aiperf/bench/m.py:5 imports aiperf.plot",
        "aiperf/bench/m.py:7 imports aiperf.cli.profile",
    ] == violations("aiperf.bench", ("aiperf.plot", "aiperf.cli", "aiperf.sim"), tmp_path)


def test_recipes_import_nothing_from_bench_plot_cli_or_sim():
    """A recipe's cells, probes and answer are pure functions of settings and summaries:
    the runner drives them and the renderer draws their answers, so they know neither."""
    assert [] == violations("aiperf.recipes",
                            ("aiperf.bench", "aiperf.plot", "aiperf.cli", "aiperf.sim"))


def test_telemetry_imports_nothing_from_bench_plot_cli_or_sim():
    """The scrapers, summaries and exports of server metrics and GPU telemetry know
    neither who starts them nor who draws them, nor the simulator they may scrape."""
    assert [] == violations("aiperf.telemetry",
                            ("aiperf.bench", "aiperf.plot", "aiperf.cli", "aiperf.sim"))
