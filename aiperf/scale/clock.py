"""Each worker's clock against the driver's, and records moved onto the driver's clock.

Every process stamps with ``perf_counter_ns`` and derives wall instants from it by one
offset of its own (:mod:`aiperf.bench.clock`). Before a distributed run starts, the driver
asks each worker for its perf clock several times; each round trip brackets the worker's
reading between two of the driver's, so the worker's clock is ``reading - midpoint``
ahead, give or take half the round trip. The round with the shortest trip wins (its
bound is the tightest). A worker on the driver's own machine (the same kernel boot id)
shares its monotonic clock: its perf offset is exactly zero, and only the processes'
wall-clock offsets differ. A record's perf stamps then move by that offset, and its wall
stamps are the driver's wall clock of the moved perf stamps: every timestamp of the
merged run is on the driver's clock, within the bound.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from aiperf.bench.records import Chunk, RequestRecord

__all__ = ["ClockOffset", "best_offset", "boot_id", "same_clock", "to_driver_clock"]

#: The kernel's id of this boot: two processes that read the same one share one
#: monotonic clock (perf_counter), so their perf stamps need no moving at all.
_BOOT_ID = "/proc/sys/kernel/random/boot_id"


def boot_id() -> str | None:
    """This machine's boot id, or None where the kernel does not say (not Linux)."""
    try:
        with open(_BOOT_ID, encoding="ascii") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def same_clock(worker_wall_offset_ns: int, driver_wall_offset_ns: int) -> ClockOffset:
    """The offset of a worker on the driver's machine: its perf clock is the driver's,
    exactly; only the two processes' wall-clock offsets differ."""
    return ClockOffset(perf_ns=0, bound_ns=0,
                       wall_ns=worker_wall_offset_ns - driver_wall_offset_ns)


@attrs.frozen
class ClockOffset:
    """A worker's perf clock minus the driver's (ns), within ``bound_ns`` either way;
    ``wall_ns`` is what to subtract from the worker's wall stamps (its perf offset plus
    the difference of the two processes' wall offsets)."""

    perf_ns: int
    bound_ns: int
    wall_ns: int

    def to_json(self) -> dict[str, float]:
        """The offset and its bound in milliseconds, for run.json."""
        return {"offset_ms": self.wall_ns / 1e6, "error_bound_ms": self.bound_ns / 1e6}


def best_offset(rounds: Sequence[tuple[int, int, int]], worker_wall_offset_ns: int,
                driver_wall_offset_ns: int) -> ClockOffset:
    """The offset from ping rounds ``(driver perf before, worker perf, driver perf
    after)``: the round with the shortest trip."""
    if not rounds:
        raise ValueError("no clock rounds to judge")
    before, worker, after = min(rounds, key=lambda r: r[2] - r[0])
    perf = worker - (before + after) // 2
    return ClockOffset(perf_ns=perf, bound_ns=(after - before + 1) // 2,
                       wall_ns=perf + worker_wall_offset_ns - driver_wall_offset_ns)


def to_driver_clock(record: RequestRecord, offset: ClockOffset) -> RequestRecord:
    """``record`` with every stamp moved onto the driver's clock."""
    perf, wall = offset.perf_ns, offset.wall_ns
    if perf == 0:
        # One machine, one monotonic clock: only the wall-clock offsets differ.
        if wall == 0:
            return record
        return attrs.evolve(record, start_wall_ns=record.start_wall_ns - wall,
                            end_wall_ns=record.end_wall_ns - wall)
    chunks = tuple(Chunk(c.perf_ns - perf, c.text, c.reasoning, c.tokens)
                   for c in record.chunks)
    return attrs.evolve(
        record,
        intended_perf_ns=record.intended_perf_ns - perf,
        start_perf_ns=record.start_perf_ns - perf,
        end_perf_ns=record.end_perf_ns - perf,
        ack_perf_ns=None if record.ack_perf_ns is None else record.ack_perf_ns - perf,
        start_wall_ns=record.start_wall_ns - wall,
        end_wall_ns=record.end_wall_ns - wall,
        chunks=chunks,
    )
