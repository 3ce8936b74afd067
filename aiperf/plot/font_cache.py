"""A one-line note before matplotlib builds its font cache.

The first plot on a fresh machine takes seconds longer (6.9 s against 4.3 s warm)
because importing pyplot first scans the system's fonts into
``<cache dir>/fontlist-v<version>.json``. Silence during those seconds looks like a hang,
so the plotter says what is happening, once, when that file is not there yet.

The cache folder is found the way ``matplotlib.get_cachedir()`` finds it, without
importing matplotlib (whose answer is also memoized for the whole process, which tests
cannot move): ``$MPLCONFIGDIR``, else ``$XDG_CACHE_HOME/matplotlib`` or
``~/.cache/matplotlib`` on Linux and FreeBSD, ``%LOCALAPPDATA%\\matplotlib`` on Windows,
``~/.matplotlib`` elsewhere. ``tests/plot/test_font_cache_note.py`` checks it against
matplotlib's own answer.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

FONT_CACHE_NOTE = ("note: building matplotlib's font cache "
                   "(first run on this machine; a few seconds)")


def font_cache_dir(environ: Mapping[str, str] | None = None,
                   platform: str | None = None) -> Path | None:
    """Where matplotlib keeps its caches (None when no home folder can be found)."""
    environ = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    if environ.get("MPLCONFIGDIR"):
        return Path(environ["MPLCONFIGDIR"])
    try:
        if platform.startswith(("linux", "freebsd")):
            return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "matplotlib")
        old = Path.home() / ".matplotlib"
        if platform == "win32" and not old.is_dir() and environ.get("LOCALAPPDATA"):
            return Path(environ["LOCALAPPDATA"], "matplotlib")
        return old
    except RuntimeError:  # Path.home() without a home: matplotlib uses a temporary folder
        return None


def font_cache_missing(cache_dir: Path | None) -> bool:
    """Whether importing pyplot in this process is about to build the font cache.

    Any ``fontlist-v*.json`` counts as present: the version in the name is only known by
    importing matplotlib's font manager, which is what builds the file.
    """
    if _font_manager_loaded():
        return False  # already loaded in this process: nothing left to build
    return cache_dir is None or not any(cache_dir.glob("fontlist-v*.json"))


def note_font_cache(notice: Callable[[str], None],
                    environ: Mapping[str, str] | None = None) -> None:
    """Tell ``notice`` (one line) when the font cache is about to be built."""
    # Without matplotlib the import fails at once; a note about fonts would only mislead.
    if importlib.util.find_spec("matplotlib") is None:
        return
    if font_cache_missing(font_cache_dir(environ)):
        notice(FONT_CACHE_NOTE)


def _font_manager_loaded() -> bool:
    return "matplotlib.font_manager" in sys.modules
