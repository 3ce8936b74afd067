"""Per-request time limits that share one timer: :func:`asyncio.timeout` semantics at a
fraction of its cost.

Every request of a run has the same limit, so a deadline made later is never earlier:
the deadlines of a run come in order. :class:`Deadlines` keeps them in a queue and has
one timer at a time, at the earliest deadline of a request still running. Entering a
limit appends to the queue and leaving it marks the entry done, where
:func:`asyncio.timeout` schedules and cancels a timer per request (about three quarters
of the cost, once per request on the client's hot path).

Like :func:`asyncio.timeout`, an expired limit cancels the task that entered it, and the
``async with`` block then raises :class:`TimeoutError` in place of the
:class:`asyncio.CancelledError`; a cancellation from anywhere else passes through.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType


class Deadlines:
    """The limits of one event loop's requests, ``limit_s`` seconds each."""

    __slots__ = ("limit_s", "_queue", "_timer", "_timer_loop", "_running")

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self._queue: deque[Limit] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None
        self._running = 0  # limits entered and not yet left

    def limit(self) -> Limit:
        """A limit for the current task, starting when its block is entered."""
        return Limit(self)

    def _enter(self, limit: Limit) -> None:
        queue = self._queue
        # Done entries ahead of the first running one are dropped as new ones come, and
        # the queue is rebuilt when done ones behind a long-running one pile up.
        while queue and not queue[0].running:
            queue.popleft()
        if len(queue) > 64 and len(queue) > 4 * self._running:
            self._queue = queue = deque(e for e in queue if e.running)
        queue.append(limit)
        self._running += 1
        if self._timer is None or self._timer_loop is not limit.loop:
            # (a timer of a loop that has since closed would never fire)
            self._set_timer(limit)

    def _set_timer(self, limit: Limit) -> None:
        self._timer_loop = limit.loop
        self._timer = limit.loop.call_at(limit.deadline, self._expire)

    def _leave(self) -> None:
        self._running -= 1

    def _expire(self) -> None:
        """The timer fired: cancel every running request past its deadline, and set the
        timer for the next one."""
        self._timer = None
        queue = self._queue
        while queue:
            head = queue[0]
            if not head.running:
                queue.popleft()
                continue
            if head.deadline > head.loop.time():
                self._set_timer(head)
                return
            queue.popleft()
            head.expire()


class Limit:
    """One request's limit: an async context manager, entered once."""

    __slots__ = ("_owner", "task", "loop", "deadline", "running", "expired", "_cancelling")

    def __init__(self, owner: Deadlines) -> None:
        self._owner = owner
        self.running = False
        self.expired = False

    async def __aenter__(self) -> Limit:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a request limit must be used inside a task")
        self.task = task
        self.loop = loop = asyncio.get_running_loop()
        self.deadline = loop.time() + self._owner.limit_s
        self._cancelling = task.cancelling()
        self.running = True
        self._owner._enter(self)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        if self.running:
            self.running = False
            self._owner._leave()
        if self.expired and self.task.uncancel() <= self._cancelling \
                and exc_type is asyncio.CancelledError:
            raise TimeoutError from exc

    def expire(self) -> None:
        """The deadline passed while the block ran: cancel its task."""
        self.running = False
        self._owner._leave()
        self.expired = True
        self.task.cancel()


class NoLimit:
    """A limit that never expires (a run without a request timeout); stateless, so one
    instance serves every request."""

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


NO_LIMIT = NoLimit()
