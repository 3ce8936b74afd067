"""The one-line note before matplotlib builds its font cache (first plot on a machine).

No test here makes matplotlib build the cache (seconds): the check that matplotlib's
font manager is already loaded in this process is switched off instead, and the cache
folder is an empty (or stocked) tmp folder named by MPLCONFIGDIR.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aiperf.plot import font_cache
from aiperf.plot import render as render_module
from aiperf.plot.font_cache import (
    FONT_CACHE_NOTE,
    font_cache_dir,
    font_cache_missing,
    note_font_cache,
)


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if matplotlib's font manager had not been loaded in this process yet."""
    monkeypatch.setattr(font_cache, "_font_manager_loaded", lambda: False)


def test_mplconfigdir_names_the_cache_folder(tmp_path: Path):
    env = {"MPLCONFIGDIR": str(tmp_path), "XDG_CACHE_HOME": "/elsewhere"}
    assert font_cache_dir(env, "linux") == tmp_path
    assert font_cache_dir(env, "darwin") == tmp_path


def test_on_linux_the_cache_is_under_xdg_cache_home_or_dot_cache(home: Path):
    assert font_cache_dir({"XDG_CACHE_HOME": "/xdg"}, "linux") == Path("/xdg/matplotlib")
    assert font_cache_dir({}, "linux") == home / ".cache" / "matplotlib"
    assert font_cache_dir({}, "darwin") == home / ".matplotlib"


@pytest.mark.parametrize("own_dir", [False, True])
def test_the_folder_is_the_one_matplotlib_itself_uses(tmp_path: Path, own_dir: bool):
    # matplotlib memoizes its answer per process: ask a fresh one.
    env = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "XDG_CACHE_HOME")}
    env["HOME"] = str(tmp_path / "home")
    if own_dir:
        env["MPLCONFIGDIR"] = str(tmp_path / "mpl")
    ask = "import json, matplotlib; print(json.dumps(matplotlib.get_cachedir()))"
    out = subprocess.run(
        [sys.executable, "-c", ask],
        env=env, capture_output=True, text=True, check=True, timeout=120)
    assert Path(json.loads(out.stdout)).resolve() == font_cache_dir(env).resolve()


def test_an_empty_cache_folder_gets_the_note(tmp_path: Path, monkeypatch, fresh_process):
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path))
    notes: list[str] = []
    note_font_cache(notes.append)
    assert notes == [FONT_CACHE_NOTE]
    assert FONT_CACHE_NOTE == ("note: building matplotlib's font cache "
                               "(first run on this machine; a few seconds)")


def test_a_missing_cache_folder_gets_the_note(tmp_path: Path, fresh_process):
    assert font_cache_missing(tmp_path / "not-made-yet")


def test_a_built_cache_gets_no_note(tmp_path: Path, monkeypatch, fresh_process):
    (tmp_path / "fontlist-v3.11.0.json").write_text("{}")
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path))
    notes: list[str] = []
    note_font_cache(notes.append)
    assert notes == []


def test_no_note_once_the_font_manager_is_loaded_in_this_process(tmp_path: Path,
                                                                 monkeypatch):
    monkeypatch.setattr(font_cache, "_font_manager_loaded", lambda: True)
    assert not font_cache_missing(tmp_path)


def test_the_plotting_import_says_it_first(tmp_path: Path, monkeypatch, fresh_process):
    render_module.import_plotting()  # loaded (a no-op when another test already did)
    monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path))
    notes: list[str] = []
    render_module.import_plotting(notes.append)
    assert notes == [FONT_CACHE_NOTE]
