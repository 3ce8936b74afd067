"""Shared test set-up: Hypothesis profiles, a YAML-file factory and an isolated environment.

Hypothesis profiles: ``ci`` (no deadline, 100 examples) is loaded when ``CI`` is set,
``dev`` (no deadline, fewer examples, for a quick local loop) otherwise; choose one
explicitly with ``HYPOTHESIS_PROFILE=ci``.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

settings.register_profile("ci", deadline=None, max_examples=100)
settings.register_profile("dev", deadline=None, max_examples=25)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

#: Environment variables that would leak the developer's own setup into a test.
_LEAKY_PREFIXES = ("AIPERF_",)
_LEAKY_NAMES = frozenset({"OPENAI_API_KEY"})
#: Variables that would move ``~/.cache`` / ``~/.config`` out of the isolated HOME.
_HOME_OVERRIDES = ("XDG_CACHE_HOME", "XDG_CONFIG_HOME")

WriteYaml = Callable[..., Path]


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Point HOME at an empty ``tmp_path/home`` and drop AIPERF_* / OPENAI_API_KEY variables.

    XDG_CACHE_HOME / XDG_CONFIG_HOME are dropped too, so caches and configs also land in
    that folder. Nothing a test does can then read or write the developer's ``~/.aiperf``
    or ``~/.cache/aiperf``, and no variable set in the developer's shell changes a
    resolved value.
    """
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in _HOME_OVERRIDES:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith(_LEAKY_PREFIXES) or name in _LEAKY_NAMES:
            monkeypatch.delenv(name, raising=False)
    yield home


@pytest.fixture
def home(_isolated_environment: Path) -> Path:
    """The isolated home folder (``~``) of this test."""
    return _isolated_environment


@pytest.fixture
def write_yaml(tmp_path: Path) -> WriteYaml:
    """A factory: ``write_yaml(text, name="config.yaml") -> Path``.

    Writes ``text`` (dedented, so it can be indented inside the test) to ``name`` below
    ``tmp_path`` (folders in ``name`` are created) and returns the file's path. Pass
    ``dedent=False`` to write the text byte for byte (for tab and whitespace tests).
    """

    def write(text: str, name: str = "config.yaml", *, dedent: bool = True) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if dedent else text, encoding="utf-8")
        return path

    return write
