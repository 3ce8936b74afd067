"""Mooncake traces: read and checked line by line, windowed by the offsets, their due
times shifted and sped up, and their prompts built so equal block ids are equal text."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from aiperf.bench.dataset import DatasetError
from aiperf.bench.trace import (
    BLOCK_TOKENS,
    TracePrompts,
    TraceRequest,
    read_mooncake_trace,
    schedule_offsets,
    schedule_window,
)


def write(tmp_path: Path, *lines: object) -> Path:
    path = tmp_path / "trace.jsonl"
    path.write_text("\n".join(json.dumps(x) if not isinstance(x, str) else x
                              for x in lines) + "\n", encoding="utf-8")
    return path


def test_a_trace_is_read_in_timestamp_order(tmp_path):
    path = write(tmp_path, {"timestamp": 30, "input_length": 10, "output_length": 2},
                 {"timestamp": 10, "input_length": 20, "output_length": 3, "hash_ids": [1]})

    requests = read_mooncake_trace(path)

    assert [r.timestamp_ms for r in requests] == [10, 30]
    assert requests[0] == TraceRequest(10, 20, 3, (1,))


@pytest.mark.parametrize(("line", "words"), [
    ("{not json", "not valid JSON"),
    ({"timestamp": 1}, "input_length must be a positive integer"),
    ({"timestamp": -5, "input_length": 3}, "timestamp must be a number"),
    ({"input_length": 3, "hash_ids": "abc"}, "hash_ids must be a list"),
])
def test_a_bad_line_is_named_with_its_file_and_line(tmp_path, line, words):
    path = write(tmp_path, {"timestamp": 0, "input_length": 4}, line)

    with pytest.raises(DatasetError, match=rf"trace.jsonl:2: {words}"):
        read_mooncake_trace(path)


def test_the_window_and_the_speedup_shape_the_due_times():
    requests = [TraceRequest(t, 8, 2, ()) for t in (0, 1000, 2000, 3000, 4000)]
    window = schedule_window(requests, 1000, 3000)

    assert [r.timestamp_ms for r in window] == [1000, 2000, 3000]
    assert schedule_offsets(window, 1000, 2.0) == (0.0, 0.5, 1.0)
    assert schedule_offsets(window, None, 1.0) == (0.0, 1.0, 2.0)


def test_equal_block_ids_give_equal_text_and_lengths_are_kept():
    requests = (TraceRequest(0, 700, 2, (1, 2)), TraceRequest(1, 600, 2, (1, 3)),
                TraceRequest(2, 40, 2, ()))
    first, second, own = itertools.islice(iter(TracePrompts(requests, seed=4)), 3)

    assert first.text.split()[:BLOCK_TOKENS] == second.text.split()[:BLOCK_TOKENS]
    assert first.text.split()[BLOCK_TOKENS:] != second.text.split()[BLOCK_TOKENS:600]
    assert (first.input_tokens, second.input_tokens, own.input_tokens) == (700, 600, 40)


def test_the_salt_makes_a_runs_blocks_its_own():
    requests = (TraceRequest(0, 64, 2, (7,)),)
    a = next(iter(TracePrompts(requests, seed=4, salt=("x",))))
    b = next(iter(TracePrompts(requests, seed=4, salt=("y",))))

    assert a.text != b.text


def test_a_trace_sent_under_the_load_mode_starts_over_at_its_end():
    requests = (TraceRequest(0, 8, 2, ()), TraceRequest(1, 9, 2, ()))
    lengths = [p.input_tokens for p in
               itertools.islice(iter(TracePrompts(requests, seed=1, repeat=True)), 5)]

    assert lengths == [8, 9, 8, 9, 8]
