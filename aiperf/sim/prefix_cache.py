"""The simulated prefix cache: which leading prompt tokens a server could reuse.

Modelled on vLLM's automatic prefix caching. A prompt (a sequence of hashable tokens, see
:func:`aiperf.sim.inputs.parse`) is cut into blocks of ``block_tokens``; only full blocks
are cached. Each block is named by a hash of its tokens chained with the previous block's
hash, so a block can only hit when the whole prompt up to and including it matches: two
prompts that share their first 40 tokens share the first two 16-token blocks, never a
later block that happens to hold the same text.

A query counts the leading blocks already held (the *cached tokens*), then stores every
full block of the prompt, touching the ones it already had. Like vLLM, a prompt never hits
on its very last token: the server must compute it to sample the first output token, so
the lookup stops at ``len(tokens) - 1`` (an identical 32-token prompt reuses 16 tokens,
an identical 40-token one 32).

Capacity is ``capacity_tokens // block_tokens`` blocks, evicted least recently used
first. A prompt's blocks are touched from its last to its first, so that under pressure
a prompt's tail goes before its head (vLLM frees a request's blocks in reverse for the
same reason: a tail block is useless once its head is gone). Only prompt blocks are
stored, not the generated answer's: a multi-turn chat hits on its history because the
client sends the earlier answers back as messages, which are prompt tokens of the next
turn.

Block names use Python's ``hash`` of tuples: the same within one process, which is all a
cache that lives in the server's memory needs; the counts it returns do not depend on
the hash seed (barring a 64-bit collision).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterable, Sequence


class PrefixCache:
    """LRU store of chained block hashes; ``capacity_tokens == 0`` turns it off."""

    def __init__(self, capacity_tokens: int, block_tokens: int) -> None:
        if block_tokens < 1:
            raise ValueError(f"block_tokens must be >= 1, got {block_tokens}")
        self.block_tokens = block_tokens
        self.capacity_blocks = max(0, capacity_tokens) // block_tokens
        self._blocks: OrderedDict[int, None] = OrderedDict()  # oldest first

    @property
    def enabled(self) -> bool:
        """False when the capacity holds not even one block."""
        return self.capacity_blocks > 0

    @property
    def held_tokens(self) -> int:
        """Tokens in the blocks held now."""
        return len(self._blocks) * self.block_tokens

    def block_hashes(self, tokens: Sequence[Hashable]) -> list[int]:
        """The chained hashes of the full blocks of ``tokens``, first block first."""
        size = self.block_tokens
        hashes: list[int] = []
        previous = 0
        for start in range(0, len(tokens) - size + 1, size):
            previous = hash((previous, tuple(tokens[start:start + size])))
            hashes.append(previous)
        return hashes

    def query(self, tokens: Sequence[Hashable], *, reuse: bool = True) -> int:
        """Cached leading tokens of ``tokens`` (0 with ``reuse=False``); then store its blocks."""
        if not self.enabled:
            return 0
        hashes = self.block_hashes(tokens)
        hits = 0
        if reuse:
            lookable = (len(tokens) - 1) // self.block_tokens
            for block in hashes[:lookable]:
                if block not in self._blocks:
                    break
                hits += 1
        for block in reversed(hashes):
            self._blocks[block] = None
            self._blocks.move_to_end(block)
        while len(self._blocks) > self.capacity_blocks:
            self._blocks.popitem(last=False)
        return hits * self.block_tokens

    def query_all(self, prompts: Iterable[Sequence[Hashable]], *, reuse: bool = True) -> int:
        """:meth:`query` of each prompt in turn (a batch of completion prompts), summed."""
        return sum(self.query(p, reuse=reuse) for p in prompts)

    def clear(self) -> None:
        """Drop every block (``POST /sim/reset``: a run starts with a cold cache)."""
        self._blocks.clear()
