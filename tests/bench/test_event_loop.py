"""The client's event loop: what each setting of benchmark.event_loop gets on this
machine, and what run.json is told about the loop a run went on."""

from __future__ import annotations

import asyncio
import importlib.util
import sys

import pytest

from aiperf.bench.event_loop import (
    EventLoopUnavailable,
    choose,
    describe_running_loop,
    new_event_loop,
)

UVLOOP_INSTALLED = importlib.util.find_spec("uvloop") is not None


@pytest.fixture
def no_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvloop cannot be imported, whether or not it is installed."""
    monkeypatch.setitem(sys.modules, "uvloop", None)


def test_asyncio_is_asyncio_whatever_is_installed():
    assert "asyncio" == choose("asyncio")


def test_auto_falls_back_to_asyncio_without_uvloop(no_uvloop):
    assert "asyncio" == choose("auto")


def test_uvloop_asked_without_uvloop_says_how_to_get_it(no_uvloop):
    with pytest.raises(EventLoopUnavailable, match=r"aiperf\[fast\]"):
        choose("uvloop")


@pytest.mark.skipif(not UVLOOP_INSTALLED, reason="uvloop (the [fast] extra) is not installed")
def test_auto_takes_uvloop_when_it_is_installed():
    assert "uvloop" == choose("auto")


def test_the_running_asyncio_loop_is_described_as_asyncio_without_a_version():
    described = _described_on("asyncio", asked="auto")

    assert {"asked": "auto", "used": "asyncio", "version": None} == described


@pytest.mark.skipif(not UVLOOP_INSTALLED, reason="uvloop (the [fast] extra) is not installed")
def test_the_running_uvloop_is_described_with_its_version():
    import uvloop

    described = _described_on("uvloop", asked="uvloop")

    assert {"asked": "uvloop", "used": "uvloop", "version": uvloop.__version__} == described


def _described_on(name: str, *, asked: str) -> dict:
    """What run.json would say, read from inside a new loop of kind ``name``."""

    async def describe() -> dict:
        await asyncio.sleep(0)
        return describe_running_loop(asked)

    loop = new_event_loop(name)
    try:
        return loop.run_until_complete(describe())
    finally:
        loop.close()
