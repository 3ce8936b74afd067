"""What a run sends and when, from the resolved settings: the prompts (synthetic, a
prompt file, a file of conversations, or a Mooncake trace), how they are sized, and the
load plan (closed loop, request rate, a trace's fixed schedule, or multi-turn sessions).
Read before the run starts, so a bad file costs no run time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from aiperf.bench.calibrate import Calibration, sizer_from_tokenizer
from aiperf.bench.dataset import (
    BUILTIN_SIZER,
    Conversation,
    DatasetError,
    Prompt,
    SyntheticPrompts,
    cycle,
    new_salt,
    read_conversations,
    read_prompt_file,
)
from aiperf.bench.schedule import LoadPlan, SessionPlan, plan_load
from aiperf.bench.tokenizer import Tokenizer
from aiperf.bench.trace import TracePrompts
from aiperf.config.model import Benchmark

#: Prompts made of sized words (synthetic ones, a trace's): sized once the server can say
#: what a word costs.
Sizable = SyntheticPrompts | TracePrompts


@attrs.frozen
class Workload:
    """The prompts and the load plan of a run. ``unsized``: prompts still to be sized
    against the server (then ``prompts`` are provisional); ``calibration``: how they were
    sized when that needed no server; ``conversations``: a file's, one per session."""

    prompts: Iterator[Prompt] = attrs.field(repr=False)
    plan: LoadPlan
    unsized: Sizable | None = attrs.field(default=None, repr=False)
    calibration: Calibration | None = None
    conversations: tuple[Conversation, ...] | None = attrs.field(default=None, repr=False)


def build_workload(cfg: Benchmark, count: Tokenizer) -> Workload:
    """The run's prompts and load plan; DatasetError naming a bad input file's line."""
    data, load = cfg.dataset, cfg.load
    unsized: Sizable | None = None
    calibration: Calibration | None = None
    schedule: tuple[float, ...] | None = None
    conversations: tuple[Conversation, ...] | None = None
    if data.input_file is not None and data.type == "multi_turn":
        conversations = tuple(read_conversations(Path(data.input_file), count,
                                                 data.osl.mean))
        # Sessions take their turns from the conversations; a warm-up sends their
        # prompts one by one.
        prompts: Iterator[Prompt] = cycle([t.prompt for c in conversations for t in c.turns])
    elif data.input_file is not None and data.type == "single_turn":
        prompts = cycle(read_prompt_file(Path(data.input_file), count, data.osl.mean))
    else:
        salt = new_salt() if data.prompt_salt else ()
        source: Sizable
        if data.input_file is not None:  # a trace: prompts synthesized from its lengths
            source, schedule = _trace(Path(data.input_file), load, data.seed, salt)
        else:
            isl = data.isl.mean
            assert isl is not None  # a built-in default (550) that no source can unset
            source = SyntheticPrompts(
                isl, data.isl.stddev, data.osl.mean, data.osl.stddev, data.seed,
                system_prompt_length=data.system_prompt_length,
                prefix_prompts=data.prefix_prompts, prefix_length=data.prefix_length,
                salt=salt)
        if cfg.prompt_sizing == "file":
            calibration = Calibration("file", sizer_from_tokenizer(count))
        elif cfg.prompt_sizing == "builtin":
            calibration = Calibration("builtin", BUILTIN_SIZER)
        else:
            unsized = source  # sized against the server once it is up
        sizer = calibration.sizer if calibration is not None else BUILTIN_SIZER
        prompts = iter(attrs.evolve(source, sizer=sizer))
    plan = plan_load(load.concurrency, load.request_rate, load.arrival, load.request_count,
                     load.duration, load.warmup_request_count, data.seed,
                     burstiness=load.burstiness, rate_ramp_s=load.rate_ramp_duration,
                     concurrency_ramp_s=load.concurrency_ramp_duration,
                     cancel_share=load.cancellation_rate / 100,
                     cancel_delay_s=load.cancellation_delay, schedule=schedule,
                     sessions=_session_plan(cfg.sessions, conversations))
    return Workload(prompts, plan, unsized, calibration, conversations)


def _session_plan(sessions: Any, conversations: Sequence[Conversation] | None
                  ) -> SessionPlan | None:
    """The multi-turn sessions to run (think times in seconds), or None: as many as asked,
    else one per conversation of the file."""
    count = sessions.count if sessions.count is not None else (
        len(conversations) if conversations else None)
    if count is None:
        return None
    return SessionPlan(count, sessions.turns_mean, sessions.turns_stddev,
                       sessions.turn_delay_mean / 1000, sessions.turn_delay_stddev / 1000,
                       sessions.header)


def _trace(path: Path, load: Any, seed: int, salt: tuple[str, ...]
           ) -> tuple[TracePrompts, tuple[float, ...] | None]:
    """A Mooncake trace's prompts (its window, in order) and, with a fixed schedule, their
    due times; under the load mode its prompts repeat as long as the run goes."""
    from aiperf.bench.trace import (
        read_mooncake_trace,
        schedule_offsets,
        schedule_window,
    )

    window = schedule_window(read_mooncake_trace(path), load.schedule_start_offset,
                             load.schedule_end_offset)
    if not window:
        raise DatasetError(f"{path}: no request of the trace falls between "
                           "--fixed-schedule-start-offset and --fixed-schedule-end-offset")
    prompts = TracePrompts(tuple(window), seed, salt=salt, repeat=not load.fixed_schedule)
    if not load.fixed_schedule:
        return prompts, None
    return prompts, schedule_offsets(window, load.schedule_start_offset, load.schedule_speedup)
