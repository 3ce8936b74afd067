"""What merging a distributed run's records costs the driver, per record, beside what
one process spends on a record anyway.

    python benchmarks/merge_cost.py            # 3,000 records of 64 streamed tokens
    python benchmarks/merge_cost.py -n 10000 -t 256

Synthetic records shaped like a streamed chat response (``-t`` chunks each) go through
the steps of aiperf.scale.driver: pickling on the worker and unpickling on the driver
(what Ray does to the batches), moving onto the driver's clock (a worker on the same
machine, and one on another: every chunk stamp rewritten), then the steps a run in one
process takes too: metrics and tally, and the JSONL line. Medians of ``-r`` rounds, in
microseconds per record, with each step's ratio to the single-process baseline (metrics,
tally and JSONL line together). The bytes per record are the pickled size.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import time

from aiperf.bench.export import record_line_bytes
from aiperf.bench.records import Chunk, RequestRecord, Usage
from aiperf.bench.run_tally import RunTally
from aiperf.scale.clock import ClockOffset, to_driver_clock


def record(i: int, tokens: int) -> RequestRecord:
    chunks = tuple(Chunk(1_000_000 + i + j * 10_000, f"tok{j}") for j in range(tokens))
    return RequestRecord(index=i, phase="profiling", x_request_id=f"abcdef123456-p{i}",
                         intended_perf_ns=i, start_perf_ns=i + 2, start_wall_ns=i + 3,
                         end_perf_ns=i + 1_000_000 + tokens * 10_000,
                         end_wall_ns=i + 1_000_001 + tokens * 10_000, ack_perf_ns=i + 3,
                         chunks=chunks, input_tokens=550, output_tokens=tokens,
                         usage=Usage(550, tokens), status=200)


def one_round(records: list[RequestRecord]) -> dict[str, float]:
    n = len(records)
    out: dict[str, float] = {}
    t0 = time.perf_counter()
    blob = pickle.dumps(records)
    t1 = time.perf_counter()
    back = pickle.loads(blob)
    t2 = time.perf_counter()
    out["pickle on the worker"] = (t1 - t0) / n
    out["unpickle on the driver"] = (t2 - t1) / n
    out["bytes"] = len(blob) / n
    for name, offset in (("clock move, same machine", ClockOffset(0, 0, 300)),
                         ("clock move, other machine", ClockOffset(100, 5, 300))):
        t0 = time.perf_counter()
        for r in back:
            to_driver_clock(r, offset)
        out[name] = (time.perf_counter() - t0) / n
    tally = RunTally(streaming=True)
    t0 = time.perf_counter()
    items = []
    for r in back:
        item = tally.measure(r)
        tally.add(item)
        items.append(item)
    t1 = time.perf_counter()
    for item in items:
        record_line_bytes(item)
    t2 = time.perf_counter()
    out["metrics + tally"] = (t1 - t0) / n
    out["JSONL line"] = (t2 - t1) / n
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--records", type=int, default=3000)
    parser.add_argument("-t", "--tokens", type=int, default=64)
    parser.add_argument("-r", "--rounds", type=int, default=5)
    args = parser.parse_args()
    records = [record(i, args.tokens) for i in range(args.records)]
    rounds = [one_round(records) for _ in range(args.rounds)]
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    baseline = med["metrics + tally"] + med["JSONL line"]
    print(f"{args.records:,} records of {args.tokens} chunks, {args.rounds} rounds, medians")
    print(f"pickled size: {med['bytes']:,.0f} bytes per record")
    print(f"{'step':32}{'us/record':>12}{'x baseline':>12}")
    for key in ("metrics + tally", "JSONL line", "pickle on the worker",
                "unpickle on the driver", "clock move, same machine",
                "clock move, other machine"):
        print(f"{key:32}{med[key] * 1e6:>12.1f}{med[key] / baseline:>12.2f}")
    extra = med["unpickle on the driver"] + med["clock move, same machine"]
    print(f"{'single process (baseline)':32}{baseline * 1e6:>12.1f}{1:>12.2f}")
    print(f"{'driver, same machine':32}{(baseline + extra) * 1e6:>12.1f}"
          f"{(baseline + extra) / baseline:>12.2f}")
    print(f"driver capacity: about {1 / (baseline + extra):,.0f} records/s per core")


if __name__ == "__main__":
    main()
