"""The in-process simulator runs on its own event loop and thread, and nothing outlives it.

Every wait here is bounded by generous timeouts (seconds); no assertion is on timing.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import urllib.request

import pytest

from aiperf.sim.inprocess import THREAD_NAME, parse_sim_url, serve

OPTIONS = parse_sim_url("sim://?mode=deterministic&ttft_ms=0&itl_ms=0")


def _sim_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


def _get_models(url: str, out: list[object]) -> None:
    try:
        with urllib.request.urlopen(f"{url}/v1/models", timeout=30) as resp:
            out.append(json.load(resp))
    except Exception as e:  # noqa: BLE001 - the test reports it
        out.append(e)


def test_answers_while_the_callers_loop_is_blocked():
    """A request from another thread is answered while the caller's loop is stuck in a
    synchronous join: only a simulator on a loop of its own can answer it."""

    async def main() -> list[object]:
        async with serve(OPTIONS) as url:
            assert 1 == len(_sim_threads())
            got: list[object] = []
            asker = threading.Thread(target=_get_models, args=(url, got))
            asker.start()
            asker.join(timeout=30)  # blocks this loop on purpose
            assert not asker.is_alive()
            return got

    got = asyncio.run(main())
    assert 1 == len(got)
    assert isinstance(got[0], dict), got[0]
    assert "list" == got[0]["object"]


def test_thread_is_gone_after_the_block():
    async def main() -> None:
        async with serve(OPTIONS) as url:
            assert url.startswith("http://127.0.0.1:")
            assert _sim_threads()

    asyncio.run(main())
    assert [] == _sim_threads()


def test_an_exception_in_the_body_still_stops_the_thread():
    async def main() -> None:
        async with serve(OPTIONS):
            raise LookupError("boom")

    with pytest.raises(LookupError, match="boom"):
        asyncio.run(main())
    assert [] == _sim_threads()


def test_cancelling_the_body_stops_the_thread():
    async def main() -> None:
        entered = asyncio.Event()

        async def body() -> None:
            async with serve(OPTIONS):
                entered.set()
                await asyncio.Event().wait()  # until cancelled

        task = asyncio.create_task(body())
        await asyncio.wait_for(entered.wait(), timeout=30)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert [] == _sim_threads()


def test_cancelling_while_it_starts_stops_the_thread():
    async def main() -> None:
        async def body() -> None:
            async with serve(OPTIONS):
                await asyncio.Event().wait()

        task = asyncio.create_task(body())
        await asyncio.sleep(0)  # the task is now waiting for the server to start
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert [] == _sim_threads()


def test_a_bind_failure_is_raised_in_the_caller():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        async def main() -> None:
            async def body() -> None:
                async with serve(OPTIONS, "127.0.0.1", port):
                    pytest.fail("served on a port that was taken")

            await asyncio.wait_for(body(), timeout=60)

        with pytest.raises(OSError) as caught:
            asyncio.run(main())
    assert not isinstance(caught.value, TimeoutError)
    assert [] == _sim_threads()


def test_two_simulators_at_once_each_have_their_own_thread():
    async def main() -> None:
        async with serve(OPTIONS) as a, serve(OPTIONS) as b:
            assert a != b
            assert 2 == len(_sim_threads())

    asyncio.run(main())
    assert [] == _sim_threads()
