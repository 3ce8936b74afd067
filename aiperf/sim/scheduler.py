"""A FIFO admission gate with a fixed number of slots: the simulated server's batch.

``asyncio.Semaphore`` is not used because its wake-up order has not always been strictly
first-come first-served, and the latency model promises a FIFO queue. A released slot is
handed straight to the oldest waiter, so a newcomer can never overtake the queue.
"""

from __future__ import annotations

import asyncio
from collections import deque


class BatchScheduler:
    """At most ``capacity`` holders at once (None: unlimited); the rest queue in order."""

    def __init__(self, capacity: int | None) -> None:
        self.capacity = capacity
        self.active = 0
        self.max_active = 0
        self.max_waiting = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        """How many requests are queued for a slot."""
        return len(self._waiters)

    def _has_room(self) -> bool:
        return self.capacity is None or self.active < self.capacity

    async def acquire(self) -> bool:
        """Wait for a slot; return True when the caller had to queue."""
        if self._has_room() and not self._waiters:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            return False
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        self.max_waiting = max(self.max_waiting, len(self._waiters))
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # the slot was handed over just as we were cancelled
            elif fut in self._waiters:  # release() may already have skipped it
                self._waiters.remove(fut)
            raise
        return True

    def release(self) -> None:
        """Give the slot to the oldest waiter, or free it."""
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)  # hand-over: ``active`` stays the same
                return
        self.active -= 1

    def reset_peaks(self) -> None:
        """Start the observed maxima again from the current state."""
        self.max_active = self.active
        self.max_waiting = len(self._waiters)
