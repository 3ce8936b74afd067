"""The simulated inference engine: admits sequences into the batch and paces their tokens.

Every token has an absolute deadline (event-loop clock) computed from the previous one, and
the engine sleeps until it. Sleeping *until* rather than *for* keeps timer overshoot from
adding up over a long answer, so deterministic mode stays exact to the loop's timer
resolution. Tokens that are already due are handed out together (one write for the caller)
and a due token never costs a sleep: an "instant" server (``ttft_ms=0&itl_ms=0``) never
sleeps at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncGenerator, AsyncIterator

from aiperf.sim import faults, model
from aiperf.sim.inputs import Prompt
from aiperf.sim.load import Load
from aiperf.sim.options import SimOptions
from aiperf.sim.prefix_cache import PrefixCache
from aiperf.sim.scheduler import BatchScheduler


class Engine:
    """The server-wide state behind the latency model: the batch, the queue, the seeded RNG."""

    def __init__(self, options: SimOptions) -> None:
        self.options = options
        self.rng = random.Random(options.seed)
        # Deterministic mode promises timings unaffected by load, so nothing ever queues.
        self.batch = BatchScheduler(None if options.deterministic else options.max_batch)
        self.load = Load(lambda active: model.itl_ms(options, active))
        #: The admitted sequences (their tokens are what the KV cache holds).
        self.running: set[Sequence] = set()
        self.prefix_cache = PrefixCache(options.prefix_cache_tokens, options.block_tokens)

    def reset(self) -> None:
        """Re-seed the RNG, restart the observed maxima and empty the prefix cache (for
        ``POST /sim/reset``)."""
        self.rng.seed(self.options.seed)
        self.batch.reset_peaks()
        self.prefix_cache.clear()

    def draw_faults(self) -> faults.Faults:
        """The faults of the next request."""
        return faults.draw(self.options, self.rng)

    @contextlib.asynccontextmanager
    async def admit(self, isl: int, ready_at: float, prompts: tuple[Prompt, ...] = (),
                    *, reuse: bool = True) -> AsyncIterator[Sequence]:
        """Hold a batch slot (queueing FIFO for one) for a sequence of ``isl`` input tokens.

        ``ready_at`` (event-loop time) is when the request could first have been served;
        without a wait the sequence's clock starts there, else at admission. The rendered
        ``prompts`` are looked up in and stored into the prefix cache on admission, when
        the real scheduler would look (``reuse=False``: stored only).
        """
        loop = asyncio.get_running_loop()
        queued = await self.batch.acquire()
        self.load.changed(self.batch.active)
        start = loop.time() if queued else ready_at
        seq = Sequence(self, isl, start, queued_s=start - ready_at,
                       cached=self.prefix_cache.query_all(prompts, reuse=reuse))
        self.running.add(seq)
        try:
            yield seq
        finally:
            self.running.discard(seq)
            self.batch.release()
            self.load.changed(self.batch.active)

    def kv_tokens(self) -> int:
        """Tokens the running sequences hold: each one's prompt and the tokens it was given
        so far (the simulator has no KV-block model; this is what one would hold)."""
        return sum(seq.isl + seq.scheduled for seq in self.running)


class Sequence:
    """One admitted request: paces its prefill and tokens and remembers their deadlines."""

    def __init__(self, engine: Engine, isl: int, start: float, queued_s: float,
                 cached: int = 0) -> None:
        self._engine = engine
        self.isl = isl
        self.cached = cached  # leading prompt tokens found in the prefix cache
        self.start = start
        self.queued_s = queued_s
        self.first_at: float | None = None  # deadline of the first token (or of prefill)
        self.last_at: float | None = None   # deadline of the latest token handed out
        self.scheduled = 0                  # tokens given a deadline so far
        self.max_lag_s = 0.0                # worst lateness of a wake-up past its deadline

    async def _sleep_until(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        delay = deadline - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        self.max_lag_s = max(self.max_lag_s, loop.time() - deadline)

    def _prefill_deadline(self) -> float:
        e = self._engine
        prefill = model.prefill_ms(e.options, self.isl, self.cached)
        return self.start + model.jittered(e.options, prefill, e.rng) / 1000.0

    async def prefill(self) -> None:
        """Wait out the prefill alone (embeddings: no tokens follow)."""
        self.first_at = self.last_at = self._prefill_deadline()
        await self._sleep_until(self.first_at)

    async def tokens(self, count: int) -> AsyncGenerator[int, None]:
        """Yield how many of ``count`` tokens are due, each time one or more become due."""
        e = self._engine
        loop = asyncio.get_running_loop()
        now = loop.time()
        deadline = 0.0
        due = 0
        for i in range(count):
            if i == 0:
                deadline = self._prefill_deadline()
                self.first_at = deadline
            else:
                # Sampled now, just after the previous token: the batch as it is at this step.
                gap = model.itl_ms(e.options, e.batch.active)
                deadline += model.jittered(e.options, gap, e.rng) / 1000.0
            if deadline > now:
                if due:
                    yield due
                    due = 0
                await self._sleep_until(deadline)
                now = loop.time()
            self.last_at = deadline
            self.scheduled += 1
            due += 1
        if due:
            yield due

    @property
    def mean_itl_s(self) -> float | None:
        """Scheduled mean gap between consecutive tokens (None below two tokens)."""
        if self.scheduled < 2 or self.first_at is None or self.last_at is None:
            return None
        return (self.last_at - self.first_at) / (self.scheduled - 1)
