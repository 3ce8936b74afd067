"""The built wheel works on its own: it ships the rules and schemas and runs the CLI.

The wheel is built from this checkout and installed into a fresh virtual environment.
Its dependencies come from the environment running the tests, so nothing is downloaded;
``aiperf`` itself must come only from the wheel, never from the source tree or an
editable install. To get that, the test venv is created without system site-packages
and a ``.pth`` file lists the current interpreter's ``sys.path`` entries. Directories
named in a ``.pth`` file are appended after the venv's own site-packages, and the
``.pth`` files inside them are not processed, so an editable-install hook of the outer
environment never runs and the wheel's copy of ``aiperf`` is found first.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 120


def _run(args: list[str | Path], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a command, capturing text output; never raise on a non-zero exit."""
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def _check(proc: subprocess.CompletedProcess) -> str:
    """Return stdout of a finished command, failing the test with its output if it failed."""
    assert proc.returncode == 0, (
        f"command failed with exit code {proc.returncode}: {' '.join(proc.args)}\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )
    return proc.stdout


def _clean_env() -> dict[str, str]:
    """Return an environment that cannot leak the source tree into child interpreters."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"}
    }
    env.update(
        PYTHONNOUSERSITE="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        NO_COLOR="1",
        COLUMNS="200",
    )
    return env


def _outer_sys_path(cwd: Path, env: dict[str, str]) -> list[str]:
    """Return the current interpreter's import path, minus anything inside the checkout.

    Asked of a fresh isolated interpreter, so pytest's own path changes are not included.
    The editable install's entry (the checkout root) is the one this drops.
    """
    code = "import json, sys; print(json.dumps(sys.path))"
    entries = json.loads(_check(_run([sys.executable, "-I", "-c", code], cwd, env)))
    kept = []
    for entry in entries:
        path = Path(entry)
        # Drop only the checkout root (where an editable install points), not everything
        # below it: the README puts its virtual environment in ./.venv inside the clone.
        if entry and path.is_dir() and path.resolve() != REPO:
            kept.append(str(path.resolve()))
    return kept


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel from this checkout and return its path."""
    for module in ("build", "hatchling"):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module!r} is not importable; install the 'test' extra to build wheels")
    outdir = tmp_path_factory.mktemp("dist")
    args = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", outdir, REPO]
    _check(_run(args, outdir, _clean_env()))
    (built,) = outdir.glob("aiperf-*.whl")
    return built


@pytest.fixture(scope="module")
def venv_bin(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the wheel (without dependencies) into a fresh venv; return its scripts folder."""
    root = tmp_path_factory.mktemp("wheel-venv")
    env = _clean_env()
    venv = root / "venv"
    _check(_run([sys.executable, "-m", "venv", venv], root, env))
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"

    code = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site_packages = Path(_check(_run([python, "-c", code], root, env)).strip())
    outer = _outer_sys_path(root, env)
    (site_packages / "_aiperf_test_outer_env.pth").write_text("\n".join(outer) + "\n")

    _check(_run([bin_dir / "pip", "install", "--no-deps", "--no-index", wheel], root, env))
    return bin_dir


def test_wheel_ships_rules_and_schemas(wheel: Path) -> None:
    """The wheel carries the decision tables and the JSON Schemas inside the package."""
    names = zipfile.ZipFile(wheel).namelist()

    rules = [n for n in names if n.startswith("aiperf/_rules/") and n.endswith(".yaml")]
    schemas = [n for n in names if n.startswith("aiperf/_schemas/") and n.endswith(".json")]
    assert rules, f"no aiperf/_rules/*.yaml in {wheel.name}: {names}"
    assert schemas, f"no aiperf/_schemas/*.json in {wheel.name}: {names}"


def test_aiperf_is_imported_from_the_wheel(venv_bin: Path, tmp_path: Path) -> None:
    """The test venv imports aiperf from its own site-packages, not from the checkout."""
    venv = venv_bin.parent.resolve()
    code = "import aiperf; print(aiperf.__file__)"

    out = _check(_run([venv_bin / "python", "-c", code], tmp_path, _clean_env()))

    location = Path(out.strip()).resolve()
    assert location.is_relative_to(venv), f"aiperf imported from {location}, not from {venv}"


def test_installed_data_dirs_are_inside_the_package(venv_bin: Path, tmp_path: Path) -> None:
    """An installed aiperf finds its rules and schemas in the package, not in a checkout."""
    venv = venv_bin.parent.resolve()
    code = (
        "from aiperf._resources import rules_dir, schemas_dir; "
        "print(rules_dir()); print(schemas_dir())"
    )

    out = _check(_run([venv_bin / "python", "-c", code], tmp_path, _clean_env()))

    rules, schemas = (Path(line).resolve() for line in out.splitlines())
    assert (rules.name, schemas.name) == ("_rules", "_schemas")
    assert rules.is_relative_to(venv), rules
    assert schemas.is_relative_to(venv), schemas


def test_installed_cli_explains_auto_plot(venv_bin: Path, tmp_path: Path) -> None:
    """The installed console script runs `config explain` outside the repository."""
    args = [venv_bin / "aiperf", "config", "explain", "benchmark.artifacts.auto_plot"]

    out = _check(_run(args, tmp_path, _clean_env()))

    assert "auto_plot" in out
