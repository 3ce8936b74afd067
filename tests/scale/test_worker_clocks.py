"""A worker's clock against the driver's: the shortest ping round wins, and records move
onto the driver's clock with every stamp."""

from __future__ import annotations

from aiperf.bench.records import Chunk, RequestRecord
from aiperf.scale.clock import ClockOffset, best_offset, same_clock, to_driver_clock


def test_the_shortest_round_trip_gives_the_offset_and_half_of_it_the_bound():
    rounds = [(1_000, 6_000, 3_000),   # trip 2000 ns
              (10_000, 15_400, 10_800),  # trip 800 ns: the best
              (20_000, 25_000, 21_500)]

    offset = best_offset(rounds, worker_wall_offset_ns=100, driver_wall_offset_ns=40)

    assert offset == ClockOffset(perf_ns=15_400 - 10_400, bound_ns=400,
                                 wall_ns=5_000 + 100 - 40)


def test_a_record_moves_onto_the_drivers_clock_with_every_stamp():
    record = RequestRecord(index=0, phase="profiling", x_request_id="x",
                           intended_perf_ns=1_000, start_perf_ns=1_100, start_wall_ns=9_100,
                           end_perf_ns=2_000, end_wall_ns=10_000, ack_perf_ns=1_200,
                           chunks=(Chunk(1_500, "a"), Chunk(1_900, "b")))

    moved = to_driver_clock(record, ClockOffset(perf_ns=100, bound_ns=5, wall_ns=300))

    assert (moved.intended_perf_ns, moved.start_perf_ns, moved.end_perf_ns,
            moved.ack_perf_ns) == (900, 1_000, 1_900, 1_100)
    assert (moved.start_wall_ns, moved.end_wall_ns) == (8_800, 9_700)
    assert [c.perf_ns for c in moved.chunks] == [1_400, 1_800]
    # What a record measures (its own differences) does not move.
    assert moved.chunks[0].perf_ns - moved.start_perf_ns == 400


def test_a_worker_on_the_drivers_machine_moves_by_the_wall_offsets_alone():
    offset = same_clock(worker_wall_offset_ns=1_000_500, driver_wall_offset_ns=1_000_000)
    record = RequestRecord(index=0, phase="profiling", x_request_id="x",
                           intended_perf_ns=10, start_perf_ns=20, start_wall_ns=1_000_520,
                           end_perf_ns=90, end_wall_ns=1_000_590)

    moved = to_driver_clock(record, offset)

    assert (offset.perf_ns, offset.bound_ns) == (0, 0)
    assert (moved.start_perf_ns, moved.end_perf_ns) == (20, 90)
    # The driver's wall clock of the same perf instants.
    assert (moved.start_wall_ns, moved.end_wall_ns) == (1_000_020, 1_000_090)
