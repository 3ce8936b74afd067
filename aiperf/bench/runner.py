"""Drive the load: warm-up, then the measured phase, in closed loop or at a rate.

The runner owns the event loop's side of a run: it paces requests (``schedule``), sends
them (``client``), watches its own health (event-loop lag, CPU), and stops cleanly
when asked (Ctrl-C/SIGTERM set ``stop``): in-flight requests are cancelled and kept as
cancelled records, and the result says the run is partial. It computes no metrics and
keeps no record: each goes to ``on_record`` as it finishes.

It also notices a server that went away (:mod:`aiperf.bench.outage`): it then stops
sending, cancels what is in flight and marks the run ``aborted``, keeping every record.
Resources stay bounded by the work left: a closed loop never starts more workers than
there are requests to send.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Literal

import attrs
import orjson

from aiperf.bench.clock import perf_ns, wall_ns
from aiperf.bench.connections import ConnectionHealth
from aiperf.bench.dataset import Conversation, Prompt, Turn
from aiperf.bench.due_wait import DueWait
from aiperf.bench.outage import OutageWatch
from aiperf.bench.payloads import RequestSpec, encode_body, request_body
from aiperf.bench.records import Phase, RequestRecord
from aiperf.bench.sample import Sample
from aiperf.bench.schedule import LoadPlan, SessionPlan, slot_opening_s

_perf_ns = perf_ns
_wall_ns = wall_ns
#: How often the loop-lag probe wakes up.
LOOP_PROBE_S = 0.01
#: Requests per block of which exactly the cancellation share is cancelled.
CANCEL_BLOCK = 100


@attrs.frozen
class _Turn:
    """A session's next turn: its id, the turn's index, the messages so far and their
    tokens, and the header that carries the id."""

    session: str
    index: int
    history: tuple[Mapping[str, str], ...]
    history_tokens: int
    header: str | None
    #: The endpoint (index into ``Target.urls``) every turn of the session goes to.
    endpoint: int = 0


@attrs.frozen
class Target:
    """Where and what to send: the endpoint and the request shape."""

    url: str
    endpoint_type: str
    model: str | None
    streaming: bool
    headers: Mapping[str, str] = attrs.field(repr=False)  # may hold secrets
    extra_inputs: Mapping[str, Any]
    timeout_s: float | None
    #: Every configured secret value, scrubbed from what the server says back.
    secrets: tuple[str, ...] = attrs.field(default=(), repr=False)
    #: With several endpoints (a repeated --url), each one's full URL and the configured
    #: URL it stands for as records and summaries show it (password left out); empty for
    #: one endpoint, whose requests all go to ``url``.
    urls: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    #: How requests are spread over ``urls``: round_robin or random (from the seed).
    url_strategy: str = "round_robin"


@attrs.frozen
class RunResult:
    """What happened, besides the records (each went to ``on_record`` as it finished):
    the measured phase's window, how the run ended and the client's own health."""

    #: Profiling records handed to ``on_record`` (warm-up ones are not counted here).
    profiling_count: int
    #: The measured phase's window (warm-up excluded): throughputs are per this window.
    start_wall_ns: int
    end_wall_ns: int
    #: ``partial``: stopped by the user; ``aborted``: the server went away (``reason`` says
    #: so, naming the last error). Both keep every record measured until then.
    status: Literal["complete", "partial", "aborted"]
    reason: str | None
    #: Event-loop lag samples (ms), one every LOOP_PROBE_S.
    loop_lag_ms: Sample
    cpu_s: float
    wall_s: float
    #: What happened to the connections (the client fills it in; the runner cannot see it).
    connections: ConnectionHealth = ConnectionHealth()
    #: How the prompts were sized (``Calibration.to_json``), for run.json.
    prompt_sizing: Mapping[str, Any] | None = None
    #: What the server-metrics and GPU collectors read during the run
    #: (:class:`aiperf.bench.telemetry_run.Collected`), None when nothing was read.
    telemetry: Any = None
    #: The event loop asked for and the one the run went on
    #: (:func:`aiperf.bench.event_loop.describe_running_loop`), for run.json.
    event_loop: Mapping[str, Any] | None = None



class _Recorder:
    """Shows each finished record to the outage watch and hands it on as it lands; it
    keeps none of them (a long run's memory must not grow with its requests), only the
    profiling count and the last response's end."""

    def __init__(self, on_record: Callable[[RequestRecord], None] | None,
                 outage: OutageWatch) -> None:
        self.profiling_count = 0
        self.last_end_wall_ns: int | None = None
        self._on_record = on_record
        self._outage = outage

    def add(self, record: RequestRecord) -> None:
        if record.phase == "profiling":
            self.profiling_count += 1
            if self.last_end_wall_ns is None or record.end_wall_ns > self.last_end_wall_ns:
                self.last_end_wall_ns = record.end_wall_ns
        self._outage.observe(record)
        if self._on_record is not None:
            self._on_record(record)


class Runner:
    """One benchmark run against ``target`` with the load shape of ``plan``.

    ``on_record`` gets every record as it finishes (warm-up and profiling); ``on_start``
    the wall-clock instant the profiling phase begins (``RunResult.start_wall_ns``),
    before its first record.
    """

    def __init__(self, plan: LoadPlan, target: Target, prompts: Iterator[Prompt],
                 client: Any, on_record: Callable[[RequestRecord], None] | None = None,
                 on_start: Callable[[int], None] | None = None,
                 conversations: Iterator[Conversation] | None = None):
        self.plan = plan
        self._on_start = on_start
        self.target = target
        self.prompts = prompts
        #: A file's conversations, one per session (else sessions are synthetic).
        self.conversations = conversations
        self.client = client
        self.outage = OutageWatch()
        self.recorder = _Recorder(on_record, self.outage)
        self._run_id = uuid.uuid4().hex[:12]
        self._cancelled_in: dict[int, frozenset[int]] = {}
        self._in_turn = 0  # session turns in flight (not yet counted by the recorder)
        self._endpoint_rng = random.Random(plan.seed * 104_729 + 17)

    def _endpoint(self, number: int) -> int:
        """The endpoint of request (or session) ``number``: in turn, or drawn from the
        run's seed."""
        n = len(self.target.urls)
        if n < 2:
            return 0
        if self.target.url_strategy == "random":
            return self._endpoint_rng.randrange(n)
        return number % n

    def _spec(self, index: int, phase: Phase, intended_perf_ns: int,
              turn: _Turn | None = None, prompt: Prompt | None = None
              ) -> tuple[RequestSpec, Prompt]:
        prompt = next(self.prompts) if prompt is None else prompt
        t = self.target
        body = request_body(t.endpoint_type, model=t.model, prompt=prompt.text,
                            osl=prompt.max_tokens, streaming=t.streaming,
                            extra_inputs=t.extra_inputs, system=prompt.system,
                            history=turn.history if turn is not None else ())
        headers = t.headers
        input_tokens = prompt.input_tokens
        if turn is not None:
            input_tokens += turn.history_tokens
            if turn.header is not None:
                headers = {**headers, turn.header: turn.session}
        url, label = t.url, None
        if t.urls:
            # A session's turns stay on its endpoint (its prefix cache holds the history).
            which = turn.endpoint if turn is not None else self._endpoint(index)
            url, label = t.urls[which], t.labels[which]
        spec = RequestSpec(index, phase, f"{self._run_id}-{phase[0]}{index}", intended_perf_ns,
                           url, _encode(body), headers, input_tokens,
                           streaming=t.streaming and t.endpoint_type != "embeddings",
                           session=None if turn is None else turn.session,
                           turn=None if turn is None else turn.index, endpoint=label)
        return spec, prompt

    async def _one(self, index: int, phase: Phase, intended_perf_ns: int,
                   turn: _Turn | None = None, prompt: Prompt | None = None
                   ) -> tuple[RequestRecord | None, Prompt]:
        """Send one request (with ``prompt``, else the next of the run's); its record
        (None when it was cancelled before it finished) and the prompt it carried."""
        spec, prompt = self._spec(index, phase, intended_perf_ns, turn, prompt)
        flight = self.client.prepare(spec)
        if phase == "profiling" and self._cancels(index):
            return await self._cancelled_after_delay(flight), prompt
        try:
            record = await self.client.run(flight)
        except asyncio.CancelledError:
            if flight.sent:  # a request that reached the network counts, as cancelled
                self.recorder.add(flight.record())
            raise
        self.recorder.add(record)
        return record, prompt

    def _cancels(self, index: int) -> bool:
        """Whether profiling request ``index`` is one the client cancels on purpose
        (``--request-cancellation-rate``). Each block of :data:`CANCEL_BLOCK` requests has
        exactly its share cancelled, at places drawn from the run's seed: the share holds
        in every run, not only on average, and the same requests are cancelled in every
        run with that seed."""
        share = self.plan.cancel_share
        if share <= 0:
            return False
        block = index // CANCEL_BLOCK
        chosen = self._cancelled_in.get(block)
        if chosen is None:
            rng = random.Random(self.plan.seed * 1_000_003 + block)
            chosen = frozenset(rng.sample(range(CANCEL_BLOCK), round(CANCEL_BLOCK * share)))
            self._cancelled_in = {block: chosen}  # blocks are met in order: keep one
        return index % CANCEL_BLOCK in chosen

    async def _cancelled_after_delay(self, flight: Any) -> RequestRecord | None:
        """Send ``flight`` and cancel it ``cancel_delay_s`` later unless it finished: a
        cancelled record (by design, never an error; None comes back), or the finished
        one."""
        task = asyncio.ensure_future(self.client.run(flight))
        try:
            done, _ = await asyncio.wait({task}, timeout=self.plan.cancel_delay_s)
        except asyncio.CancelledError:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            if flight.sent:
                self.recorder.add(flight.record())
            raise
        if done:
            record: RequestRecord = task.result()
            self.recorder.add(record)
            return record
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        self.recorder.add(flight.record())
        return None

    async def _closed_loop(self, phase: Phase, count: int | None, deadline_ns: int | None,
                           first_index: int = 0) -> None:
        indices = itertools.count(first_index)
        last = None if count is None else first_index + count
        opened_ns = _perf_ns()
        slots = self.plan.concurrency or 1
        ramp_s = self.plan.concurrency_ramp_s if phase == "profiling" else None

        async def worker(slot: int) -> None:
            # A concurrency ramp opens the slots one by one over the ramp.
            opens_ns = opened_ns + int(slot_opening_s(slot, slots, ramp_s) * 1e9)
            if opens_ns > _perf_ns():
                await asyncio.sleep((opens_ns - _perf_ns()) / 1e9)
            while True:
                index = next(indices)
                if last is not None and index >= last:
                    return
                await self.outage.turn()
                now = _perf_ns()
                if deadline_ns is not None and now >= deadline_ns:
                    return
                await self._one(index, phase, now)

        # An uncapped request-rate run has no concurrency; its warm-up goes one at a time.
        # A worker per request still to send at most: a concurrency far above the request
        # count must not cost a coroutine (and its memory) per unused slot.
        workers = self.plan.concurrency or 1
        if count is not None:
            workers = min(workers, count)
        await _gather_or_cancel([worker(slot) for slot in range(workers)])

    async def _session_loop(self, request_budget: int | None,
                            deadline_ns: int | None) -> None:
        """Multi-turn sessions in closed loop: each slot runs one session at a time, its
        turns one after another (each sending the whole history), with the think time
        between them; the run ends when every session is done (or the request count or
        the duration is reached)."""
        sessions_plan = self.plan.sessions
        assert sessions_plan is not None
        numbers = itertools.count()
        indices = itertools.count()

        def budget_left() -> bool:
            return request_budget is None or self.recorder.profiling_count + self._in_turn \
                < request_budget

        async def worker() -> None:
            while True:
                number = next(numbers)
                if number >= sessions_plan.count or not budget_left():
                    return
                await self._session(number, sessions_plan, indices, budget_left, deadline_ns)

        slots = min(self.plan.concurrency or 1, sessions_plan.count)
        await _gather_or_cancel([worker() for _ in range(slots)])

    def _turns(self, number: int, plan: SessionPlan) -> tuple[Turn, ...]:
        """Session ``number``'s turns: the next conversation of the file, or synthetic
        turns (their count and think times drawn from the seed, their prompts the run's)."""
        if self.conversations is not None:
            return next(self.conversations).turns
        rng = random.Random(self.plan.seed * 7919 + number)
        count = plan.turns_mean
        if plan.turns_stddev > 0:
            count = max(1, round(rng.gauss(plan.turns_mean, plan.turns_stddev)))
        turns = []
        for index in range(count):
            think = (max(0.0, rng.gauss(plan.delay_mean_s, plan.delay_stddev_s))
                     if plan.delay_stddev_s > 0 else plan.delay_mean_s)
            turns.append(Turn(next(self.prompts), think if index else 0.0))
        return tuple(turns)

    async def _session(self, number: int, plan: SessionPlan, indices: Iterator[int],
                       budget_left: Callable[[], bool], deadline_ns: int | None) -> None:
        """One session's turns; a failed or cancelled turn ends it (its history is broken)."""
        session = _Turn(f"{self._run_id}-s{number}", 0, (), 0, plan.header,
                        self._endpoint(number))
        for index, turn in enumerate(self._turns(number, plan)):
            if turn.delay_s > 0:
                await asyncio.sleep(turn.delay_s)
            if not budget_left() or (deadline_ns is not None and _perf_ns() >= deadline_ns):
                return
            await self.outage.turn()
            self._in_turn += 1
            try:
                record, prompt = await self._one(next(indices), "profiling", _perf_ns(),
                                                 attrs.evolve(session, index=index),
                                                 turn.prompt)
            finally:
                self._in_turn -= 1
            if record is None or not record.ok:
                return
            answer = "".join(c.text for c in record.content_chunks if not c.reasoning)
            seen = (record.usage.prompt_tokens if record.usage is not None
                    and record.usage.prompt_tokens is not None else record.input_tokens)
            session = attrs.evolve(
                session, history=(*session.history, {"role": "user", "content": prompt.text},
                                  {"role": "assistant", "content": answer}),
                history_tokens=(seen or 0) + (record.output_tokens or 0))

    async def _open_loop(self, count: int | None, deadline_ns: int | None,
                         start_ns: int) -> None:
        plan = self.plan
        # No concurrency means no cap: the rate (or the trace's schedule) alone decides.
        cap = asyncio.Semaphore(plan.concurrency) if plan.concurrency else None
        tasks: set[asyncio.Task[Any]] = set()
        offsets = plan.due_offsets()
        if plan.schedule is not None:
            count = len(plan.schedule) if count is None else min(count, len(plan.schedule))
        due_wait = DueWait()
        try:
            for index in itertools.count() if count is None else range(count):
                due_ns = start_ns + int(next(offsets) * 1e9)
                if deadline_ns is not None and due_ns >= deadline_ns:
                    break
                await due_wait.until(due_ns)
                # While nothing reaches the server, sends wait for a probe's turn (the
                # wait is scheduling lag, as for a full cap).
                await self.outage.turn()
                # A full cap delays the send but not the due time: the wait is lag.
                if cap is not None:
                    await cap.acquire()
                task = asyncio.create_task(self._one(index, "profiling", due_ns))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                if cap is not None:
                    task.add_done_callback(lambda _: cap.release())
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

    async def run(self, stop: asyncio.Event, start_perf_ns: int | None = None) -> RunResult:
        """Warm up, run the measured phase, and stop early if ``stop`` is set.

        ``start_perf_ns`` anchors the measured phase's schedule and duration to a given
        instant (a distributed run's common start) instead of the moment it begins."""
        plan = self.plan
        window: list[int] = []
        cpu0, wall0 = time.process_time(), time.perf_counter()
        lag = Sample()
        reason = None

        async def phases() -> None:
            if plan.warmup_count:
                await self._closed_loop("warmup", plan.warmup_count, None, first_index=0)
            probe = asyncio.create_task(_probe_loop_lag(lag))
            window.append(_wall_ns())
            if self._on_start is not None:
                self._on_start(window[0])
            start_ns = _perf_ns() if start_perf_ns is None else start_perf_ns
            deadline = None if plan.duration_s is None else start_ns + int(plan.duration_s * 1e9)
            try:
                if plan.mode in ("request_rate", "fixed_schedule"):
                    await self._open_loop(plan.request_count, deadline, start_ns)
                elif plan.mode == "sessions":
                    await self._session_loop(plan.request_count, deadline)
                else:
                    await self._closed_loop("profiling", plan.request_count, deadline)
            finally:
                probe.cancel()

        work = asyncio.create_task(phases())
        stopper = asyncio.create_task(stop.wait())
        gone = asyncio.create_task(self.outage.gone.wait())
        await asyncio.wait({work, stopper, gone}, return_when=asyncio.FIRST_COMPLETED)
        status: Literal["complete", "partial", "aborted"] = "complete"
        if not work.done():
            if gone.done():
                status, reason = "aborted", self.outage.reason
            else:
                status, reason = "partial", "stopped by the user (Ctrl-C or SIGTERM)"
            work.cancel()
        stopper.cancel()
        gone.cancel()
        await asyncio.gather(work, stopper, gone, return_exceptions=True)
        if work.done() and not work.cancelled() and work.exception() is not None:
            raise work.exception()  # type: ignore[misc]
        end_wall = self.recorder.last_end_wall_ns
        return RunResult(
            profiling_count=self.recorder.profiling_count,
            start_wall_ns=window[0] if window else _wall_ns(),
            end_wall_ns=_wall_ns() if end_wall is None else end_wall,
            status=status,
            reason=reason,
            loop_lag_ms=lag,
            cpu_s=time.process_time() - cpu0,
            wall_s=time.perf_counter() - wall0,
        )


def _encode(body: Mapping[str, Any]) -> bytes:
    """The request body as :func:`~aiperf.bench.payloads.encode_body` writes it (compact
    UTF-8 JSON), by orjson: a 550-word prompt costs it a twentieth of ``json.dumps``'s time.
    What orjson cannot write (a read-only mapping from the config in extra inputs, an
    integer past 64 bits) goes the standard way."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return encode_body(body)


async def _gather_or_cancel(coros: list[Any]) -> None:
    """Run ``coros`` together; if this is cancelled, cancel them and wait for them."""
    tasks = [asyncio.create_task(c) for c in coros]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _probe_loop_lag(samples: Sample) -> None:
    """How late the loop wakes a sleeper: a busy client shows up here first."""
    while True:
        before = _perf_ns()
        await asyncio.sleep(LOOP_PROBE_S)
        samples.add(max(0.0, (_perf_ns() - before) / 1e6 - LOOP_PROBE_S * 1e3))

