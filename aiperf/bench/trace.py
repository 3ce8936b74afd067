"""Replaying a Mooncake trace: each line is a request that came at ``timestamp`` (ms)
with ``input_length`` prompt tokens, ``output_length`` to generate, and ``hash_ids``: the
ids of its prompt's blocks of :data:`BLOCK_TOKENS` tokens, equal ids for equal blocks
(a shared prefix). The prompts are synthesized: each block id becomes the same random
words wherever it appears in the trace, so the prefix sharing the trace recorded is the
prefix sharing the server sees; the run's salt goes into every block's words, so two
runs never share a block by accident.

With a fixed schedule the requests go out at their timestamps (shifted by the start
offset and divided by the speed-up), between ``--fixed-schedule-start-offset`` and
``--fixed-schedule-end-offset``; without one, in the trace's order under the load mode.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeGuard

import attrs

from aiperf.bench.dataset import (
    BUILTIN_SIZER,
    DatasetError,
    Prompt,
    PromptSizer,
    jsonl_objects,
)

#: Tokens per block of a Mooncake trace's ``hash_ids``.
BLOCK_TOKENS = 512


@attrs.frozen
class TraceRequest:
    """One line of a trace."""

    timestamp_ms: float
    input_length: int
    output_length: int | None
    hash_ids: tuple[int, ...]


def read_mooncake_trace(path: Path) -> list[TraceRequest]:
    """The requests of a Mooncake trace, in timestamp order; DatasetError naming the file
    and line of a bad one."""
    out = [_request(obj, path, n) for n, obj in jsonl_objects(path, "the trace")]
    if not out:
        raise DatasetError(f"{path}: no requests in the trace")
    return sorted(out, key=lambda r: r.timestamp_ms)


def _request(obj: object, path: Path, n: int) -> TraceRequest:
    where = f"{path}:{n}"
    if not isinstance(obj, dict):
        raise DatasetError(f"{where}: expected an object with timestamp and input_length")
    stamp, length = obj.get("timestamp", 0), obj.get("input_length")
    if not _number(stamp) or stamp < 0:
        raise DatasetError(f"{where}: timestamp must be a number of milliseconds >= 0")
    if not _count(length):
        raise DatasetError(f"{where}: input_length must be a positive integer")
    output = obj.get("output_length")
    if output is not None and not _count(output):
        raise DatasetError(f"{where}: output_length must be a positive integer")
    hashes = obj.get("hash_ids", [])
    if not isinstance(hashes, list) or not all(_count(h) or h == 0 for h in hashes):
        raise DatasetError(f"{where}: hash_ids must be a list of block ids (integers)")
    return TraceRequest(float(stamp), int(length), output, tuple(hashes))


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _count(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def schedule_window(requests: Sequence[TraceRequest], start_ms: float | None,
                    end_ms: float | None) -> list[TraceRequest]:
    """The requests whose timestamps fall within ``[start_ms, end_ms]``."""
    return [r for r in requests
            if (start_ms is None or r.timestamp_ms >= start_ms)
            and (end_ms is None or r.timestamp_ms <= end_ms)]


def schedule_offsets(requests: Sequence[TraceRequest], start_ms: float | None,
                     speedup: float) -> tuple[float, ...]:
    """Seconds after the run's start at which each request is due: its timestamp less
    the start offset (else the first timestamp), divided by ``speedup``."""
    if not requests:
        return ()
    origin = start_ms if start_ms is not None else requests[0].timestamp_ms
    return tuple(max(0.0, (r.timestamp_ms - origin) / 1000 / speedup) for r in requests)


@attrs.frozen
class TracePrompts:
    """The trace's prompts, in order: each built from its blocks' words (the same block
    id, the same words, within a run), cut to its input length, then words of its own
    for what its blocks do not cover."""

    requests: tuple[TraceRequest, ...]
    seed: int
    sizer: PromptSizer = BUILTIN_SIZER
    salt: tuple[str, ...] = ()
    #: Start over at the end (a trace sent under the load mode, not on its timestamps).
    repeat: bool = False

    def __iter__(self) -> Iterator[Prompt]:
        blocks: dict[int, list[str]] = {}
        rng = random.Random(self.seed)
        while True:
            yield from self._once(blocks, rng)
            if not self.repeat:
                return

    def _once(self, blocks: dict[int, list[str]], rng: random.Random) -> Iterator[Prompt]:
        """The trace's prompts once, in order (``blocks`` keeps each block's words)."""
        for request in self.requests:
            budget = request.input_length - round(self.sizer.overhead)
            words: list[str] = []
            for block in request.hash_ids:
                if budget <= 0:
                    break
                if block not in blocks:
                    blocks[block] = self._block(block)
                taken = self._fitting(blocks[block], budget)
                words += taken
                budget -= self._cost(taken)
            if budget > 0:  # what its blocks do not cover: words of its own
                own, _ = self.sizer.words(rng, budget + round(self.sizer.overhead))
                words += own
            yield Prompt(" ".join(words), round(self.sizer.overhead) + self._cost(words),
                         request.output_length)

    def _block(self, block: int) -> list[str]:
        """The words of one block: drawn from the seed, the salt and the block's id
        (without the per-prompt overhead, which the whole prompt pays once)."""
        rng = random.Random(f"{self.seed}-{'-'.join(self.salt)}-block-{block}")
        return self.sizer.words(rng, BLOCK_TOKENS + round(self.sizer.overhead))[0]

    def _cost(self, words: Sequence[str]) -> int:
        """What ``words`` cost in the sizer's tokens (without the per-prompt overhead)."""
        costs = self.sizer.word_costs
        if costs is not None:
            return sum(costs[w] for w in words)
        return round(len(words) * self.sizer.tokens_per_word)

    def _fitting(self, words: Sequence[str], budget: int) -> list[str]:
        """The leading ``words`` that cost at most ``budget`` tokens."""
        if self._cost(words) <= budget:
            return list(words)
        costs, rate = self.sizer.word_costs, self.sizer.tokens_per_word
        taken: list[str] = []
        spent = 0.0
        for word in words:
            spent += costs[word] if costs is not None else rate
            if spent > budget + 1e-9:
                break
            taken.append(word)
        return taken
