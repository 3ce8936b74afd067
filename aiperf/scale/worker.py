"""One worker of a distributed run: a long-lived Ray actor that sends its shard of the
plan with the same asyncio runner a run in one process uses
(:func:`aiperf.bench.profile.drive_load`), keeps its finished records until the driver
drains them, and never makes a remote call per request.

The driver serves any in-process simulator (``sim://``) itself and hands the workers the
plain base URLs; :class:`ServedByDriver` stands for those servers when the worker
prepares its run from the resolved configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Mapping
from typing import Any

import attrs

from aiperf.bench.clock import WALL_OFFSET_NS, perf_ns
from aiperf.bench.records import RequestRecord
from aiperf.bench.runner import RunResult
from aiperf.bench.schedule import LoadPlan
from aiperf.config.provenance import Resolved
from aiperf.scale.clock import boot_id

__all__ = ["LoadWorker", "ServedByDriver"]


class ServedByDriver:
    """:class:`aiperf.bench.profile.InProcessServers` for a worker: every configured URL
    is already served (by the driver, or by the server itself) at the base URL mapped to
    it."""

    def __init__(self, base_urls: Mapping[str, str]) -> None:
        self._base_urls = dict(base_urls)

    def claims(self, url: str) -> bool:
        return url in self._base_urls

    def check(self, url: str) -> None:
        return None

    @contextlib.asynccontextmanager
    async def _serving(self, url: str) -> AsyncIterator[str]:
        yield self._base_urls[url]

    def open(self, url: str) -> contextlib.AbstractAsyncContextManager[str]:
        return self._serving(url)

    def dcgm_url(self, url: str, base_url: str) -> str | None:
        return None  # telemetry is the driver's


class LoadWorker:
    """Worker ``index`` of ``count``: prepares its run on creation (prompts ready), then
    :meth:`warm_up`, :meth:`run` from a start instant on its own clock, :meth:`drain`
    (the records finished since the last drain) and :meth:`stop`."""

    def __init__(self, resolved: Resolved, index: int, count: int, plan: LoadPlan,
                 base_urls: Mapping[str, str]) -> None:
        from aiperf.bench.profile import prepare

        prepared = prepare(resolved, ServedByDriver(base_urls))
        self._prepared = attrs.evolve(prepared, plan=plan, shard=(index, count))
        self._bases = tuple(base_urls[u] for u in self._prepared.endpoints)
        self._records: list[RequestRecord] = []
        self._stop = asyncio.Event()
        self._sent = 0

    def identity(self) -> dict[str, Any]:
        """Where the worker runs: its host, Ray node, process id and wall-clock offset."""
        import ray

        return {"host": socket.gethostname(), "pid": os.getpid(),
                "node": ray.get_runtime_context().get_node_id(),
                "wall_offset_ns": WALL_OFFSET_NS, "boot_id": boot_id()}

    def clock(self) -> int:
        """The worker's perf clock now (for the driver's ping rounds)."""
        return perf_ns()

    async def warm_up(self) -> int:
        """Send the shard's warm-up requests (before the start barrier); how many."""
        from aiperf.bench.profile import drive_load

        plan = self._prepared.plan
        if not plan.warmup_count:
            return 0
        warm = attrs.evolve(plan, mode="concurrency", request_count=0, duration_s=None,
                            schedule=None, sessions=None, request_rate=None,
                            concurrency=max(1, plan.concurrency or 1))
        await drive_load(attrs.evolve(self._prepared, plan=warm), self._bases,
                         asyncio.Event(), self._records.append)
        return plan.warmup_count

    async def run(self, start_perf_ns: int) -> RunResult:
        """Wait for ``start_perf_ns`` (this worker's perf clock), then send the shard's
        measured phase until done or :meth:`stop`; the runner's result."""
        from aiperf.bench.profile import drive_load

        async def until_start() -> None:
            # Everything is ready (sessions, prompts, the runner): wait for the start.
            delay = (start_perf_ns - perf_ns()) / 1e9
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)

        plan = attrs.evolve(self._prepared.plan, warmup_count=0)
        # The schedule counts from the common start, not from when this worker got going.
        return await drive_load(attrs.evolve(self._prepared, plan=plan), self._bases,
                                self._stop, self._add, start_perf_ns=start_perf_ns,
                                before_start=until_start)

    def _add(self, record: RequestRecord) -> None:
        self._sent += 1
        self._records.append(record)

    def drain(self) -> tuple[list[RequestRecord], int]:
        """The records finished since the last drain, and how many this worker has sent
        in all."""
        records, self._records = self._records, []
        return records, self._sent

    def stop(self) -> None:
        """Stop sending: in-flight requests are cancelled and kept as cancelled records."""
        self._stop.set()
