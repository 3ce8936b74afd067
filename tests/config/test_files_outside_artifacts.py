"""Where aiperf writes outside the artifact directory, and the variables that move it."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiperf.config import parse_cache as pc
from aiperf.config import rulebook as rb


@pytest.fixture
def fresh_rulebook(monkeypatch: pytest.MonkeyPatch):
    """A rulebook loaded anew (not the one kept in memory by earlier tests)."""
    rb.load_rulebook.cache_clear()
    yield lambda: rb.load_rulebook()
    rb.load_rulebook.cache_clear()


def test_xdg_cache_home_moves_the_parse_cache(tmp_path, monkeypatch, fresh_rulebook):
    """XDG_CACHE_HOME (absolute) moves the rules parse cache to $XDG_CACHE_HOME/aiperf."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    fresh_rulebook()

    assert list((tmp_path / "xdg" / "aiperf").glob("rulebook-*.json"))


def test_aiperf_no_cache_turns_the_parse_cache_off(tmp_path, monkeypatch, fresh_rulebook):
    """AIPERF_NO_CACHE=1: the rulebook loads the same and nothing is written."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv(pc.NO_CACHE_ENV, "1")
    book = fresh_rulebook()

    assert repr(rb.load_rulebook_from(Path(rb.rules_dir()))) == repr(book)
    assert not (tmp_path / "xdg").exists()


def test_aiperf_no_cache_zero_keeps_the_cache_on(monkeypatch):
    """AIPERF_NO_CACHE=0 (or empty) leaves the cache on."""
    monkeypatch.setenv(pc.NO_CACHE_ENV, "0")

    assert pc.cache_disabled() is False
