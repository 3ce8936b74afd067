"""Locate the data folders that ship with aiperf: the decision tables and the JSON Schemas.

In an installed wheel they live inside the package as ``aiperf/_rules`` and
``aiperf/_schemas`` (see ``[tool.hatch.build.targets.wheel.force-include]`` in
``pyproject.toml``). When running from a source checkout or an editable install they are
the repository's top-level ``rules/`` and ``schemas/`` folders, next to ``pyproject.toml``.
"""

from __future__ import annotations

import importlib.resources
import os
import pathlib

__all__ = ["cache_dir", "rules_dir", "schemas_dir"]


def rules_dir() -> pathlib.Path:
    """Return the folder holding the decision tables (``*.yaml``)."""
    return _data_dir(installed="_rules", checkout="rules")


def schemas_dir() -> pathlib.Path:
    """Return the folder holding the JSON Schemas (``*.json``)."""
    return _data_dir(installed="_schemas", checkout="schemas")


def cache_dir() -> pathlib.Path:
    """Return the folder for aiperf's caches (it may not exist yet, or be unwritable).

    ``$XDG_CACHE_HOME/aiperf`` when ``XDG_CACHE_HOME`` is an absolute path (the XDG spec
    says to ignore a relative one), else ``~/.cache/aiperf``. Everything kept there can
    be rebuilt, so callers treat any failure to read or write it as a cache miss.
    """
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = pathlib.Path(base) if os.path.isabs(base) else pathlib.Path.home() / ".cache"
    return root / "aiperf"


def _package_dir() -> pathlib.Path:
    """Return the directory of the ``aiperf`` package on the file system."""
    files = importlib.resources.files("aiperf")
    if isinstance(files, pathlib.Path):
        return files
    # Not a plain directory (e.g. a namespace package); this module sits in the package.
    return pathlib.Path(__file__).resolve().parent


def _data_dir(*, installed: str, checkout: str) -> pathlib.Path:
    """Return the installed data folder, else the checkout's top-level one.

    The checkout folder only counts when ``pyproject.toml`` sits beside it, so that a
    stray ``rules/`` folder in ``site-packages`` is never picked up by mistake.
    """
    package = _package_dir()
    candidate = package / installed
    if candidate.is_dir():
        return candidate
    root = package.parent
    fallback = root / checkout
    if fallback.is_dir() and (root / "pyproject.toml").is_file():
        return fallback
    msg = (
        f"aiperf data folder {checkout!r} not found; looked for {candidate} (installed "
        f"package) and {fallback} (source checkout, next to pyproject.toml). "
        "Reinstall aiperf, or run from a complete checkout of the repository."
    )
    raise RuntimeError(msg)
