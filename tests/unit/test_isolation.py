"""The shared fixtures in tests/conftest.py do what they promise."""

from __future__ import annotations

import os
from pathlib import Path

import hypothesis


def test_home_is_isolated(home, tmp_path):
    """HOME (and so ``~``) is an empty folder inside this test's tmp_path."""
    expected = (str(home), home.parent, [])
    assert expected == (os.environ["HOME"], tmp_path, list(home.iterdir()))
    assert str(home) == os.path.expanduser("~") == str(Path.home())


def test_leaky_variables_are_removed():
    """No AIPERF_* variable, OPENAI_API_KEY or XDG cache/config override reaches a test."""
    leaked = sorted(
        name for name in os.environ
        if name.startswith("AIPERF_")
        or name in ("OPENAI_API_KEY", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")
    )
    assert [] == leaked


def test_write_yaml_dedents_and_creates_folders(write_yaml, tmp_path):
    """write_yaml dedents its text, creates sub-folders and returns the path."""
    path = write_yaml(
        """\
        benchmark:
          ui: none
        """,
        "a/b/c.yaml",
    )
    expected = (tmp_path / "a" / "b" / "c.yaml", "benchmark:\n  ui: none\n")
    assert expected == (path, path.read_text(encoding="utf-8"))


def test_write_yaml_can_keep_text_as_is(write_yaml):
    """dedent=False writes the text byte for byte."""
    assert "  x: 1\n" == write_yaml("  x: 1\n", dedent=False).read_text(encoding="utf-8")


def test_hypothesis_profiles_are_registered():
    """The ci profile has no deadline and 100 examples; a dev profile exists too."""
    ci = hypothesis.settings.get_profile("ci")
    hypothesis.settings.get_profile("dev")
    assert (None, 100) == (ci.deadline, ci.max_examples)
