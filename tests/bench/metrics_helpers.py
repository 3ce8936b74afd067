"""Request records for the metrics and export tests: built by hand, or rebuilt from the
NVIDIA AIPerf 0.13 fixture so our formulas can be checked against the reference's output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiperf.bench.records import Chunk, RequestError, RequestRecord, Usage

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "aiperf-0.13" / "single-chat-c4"

MS = 1_000_000  # ns per ms
#: The fixture's profiling window (server_metrics_export.json, phase_time_ranges); the
#: reference divides its throughputs by it.
FIXTURE_START_NS = 1795907895302037298
FIXTURE_END_NS = 1795907897322545658
#: An arbitrary wall-clock origin (2023-11-14), so wall and perf clocks differ.
WALL0 = 1_700_000_000_000_000_000


def make_record(
    index: int = 0,
    *,
    start: int = 1_000 * MS,
    chunk_offsets_ms: tuple[float, ...] = (20, 25, 30, 35),
    input_tokens: int | None = 100,
    output_tokens: int | None = 4,
    lag_ms: float = 0.0,
    reasoning: tuple[bool, ...] | None = None,
    chunk_tokens: tuple[int | None, ...] | None = None,
    end_after_ms: float | None = None,
    error: RequestError | None = None,
    cancelled: bool = False,
    phase: str = "profiling",
    usage: Usage | None = None,
) -> RequestRecord:
    """A record sent at perf time ``start`` whose chunks arrive at the given offsets (ms)."""
    chunks = tuple(
        Chunk(
            perf_ns=start + round(off * MS),
            text="tok",
            reasoning=bool(reasoning and reasoning[i]),
            tokens=chunk_tokens[i] if chunk_tokens else None,
        )
        for i, off in enumerate(chunk_offsets_ms)
    )
    end_ms = end_after_ms if end_after_ms is not None else (max(chunk_offsets_ms, default=0) + 1)
    return RequestRecord(
        index=index,
        phase=phase,  # type: ignore[arg-type]
        x_request_id=f"req-{index}",
        intended_perf_ns=start - round(lag_ms * MS),
        start_perf_ns=start,
        start_wall_ns=WALL0 + start,
        end_perf_ns=start + round(end_ms * MS),
        end_wall_ns=WALL0 + start + round(end_ms * MS),
        ack_perf_ns=start + round(min(chunk_offsets_ms, default=end_ms) * MS),
        chunks=chunks,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        usage=usage,
        status=None if error else 200,
        error=error,
        cancelled=cancelled,
    )


def fixture_lines() -> list[dict[str, Any]]:
    """The fixture's JSONL records, parsed."""
    with (FIXTURE_DIR / "profile_export.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def fixture_summary() -> dict[str, Any]:
    """The fixture's summary JSON, parsed."""
    return json.loads((FIXTURE_DIR / "profile_export_aiperf.json").read_text(encoding="utf-8"))


def fixture_records() -> list[RequestRecord]:
    """The fixture's 40 requests rebuilt as RequestRecords.

    Chunk arrival times come from TTFT plus the inter-chunk gaps; the reference measured
    them in integer nanoseconds, so rounding the ms values back recovers them exactly.
    The perf clock is taken equal to the wall clock (only differences matter).
    """
    records = []
    for line in fixture_lines():
        meta, metrics = line["metadata"], line["metrics"]
        start = meta["request_start_ns"]
        arrivals = [start + round(metrics["time_to_first_token"]["value"] * MS)]
        for gap in metrics["inter_chunk_latency"]["value"]:
            arrivals.append(arrivals[-1] + round(gap * MS))
        records.append(
            RequestRecord(
                index=meta["session_num"],
                phase="profiling",
                x_request_id=meta["x_request_id"],
                intended_perf_ns=meta["credit_issued_ns"],
                start_perf_ns=start,
                start_wall_ns=start,
                end_perf_ns=meta["request_end_ns"],
                end_wall_ns=meta["request_end_ns"],
                ack_perf_ns=meta["request_ack_ns"],
                chunks=tuple(Chunk(perf_ns=t, text="x") for t in arrivals),
                input_tokens=metrics["input_sequence_length"]["value"],
                output_tokens=metrics["output_sequence_length"]["value"],
                usage=Usage(
                    prompt_tokens=metrics["usage_prompt_tokens"]["value"],
                    completion_tokens=metrics["usage_completion_tokens"]["value"],
                ),
                status=200,
            )
        )
    return records


def render_lines(records, *, streaming: bool = True) -> str:
    """The JSONL the record writer streams for ``records`` (warm-up ones left out)."""
    from aiperf.bench.export import record_line
    from aiperf.bench.metrics import record_metrics

    return "".join(record_line(record_metrics(r, streaming=streaming))
                   for r in records if r.phase == "profiling")


def write_jsonl(run_dir: Path, records, *, name: str = "profile_export.jsonl",
                streaming: bool = True) -> Path:
    """Write ``records``' JSONL into ``run_dir`` as a run's record writer does."""
    from aiperf.bench.metrics import record_metrics
    from aiperf.bench.record_writer import run_record_writer

    run_dir.mkdir(parents=True, exist_ok=True)
    writer = run_record_writer(run_dir / name)
    writer.start(None)
    for record in records:
        writer.add(record_metrics(record, streaming=streaming))
    writer.close()
    return run_dir / name
