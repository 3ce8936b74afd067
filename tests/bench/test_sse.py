"""Tests for the incremental SSE parser and the OpenAI chunk interpreter."""

from __future__ import annotations

import json
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiperf.bench.records import RequestError, Usage
from aiperf.bench.sse import ChunkInfo, SSEEvent, SSEParser, interpret, interpret_object


def parse(*reads: bytes) -> list[SSEEvent]:
    """Feed each read in turn, then close the stream."""
    parser = SSEParser()
    events = [e for r in reads for e in parser.feed(r)]
    return events + parser.close()


def chunk(obj: object) -> SSEEvent:
    return SSEEvent(json.dumps(obj))


class TestParser:
    """Tests for `SSEParser`."""

    def test_one_event(self):
        """A data line and a blank line make one event of type message."""
        assert [SSEEvent("hello")] == parse(b"data: hello\n\n")

    def test_several_events_in_one_read(self):
        """Every event completed by a read is returned by that read."""
        parser = SSEParser()

        events = parser.feed(b"data: a\n\ndata: b\n\ndata: c\n\n")

        assert ["a", "b", "c"] == [e.data for e in events]

    def test_event_split_across_reads(self):
        """An event is returned by the read that completes it, not earlier."""
        parser = SSEParser()

        assert [] == parser.feed(b"da")
        assert [] == parser.feed(b"ta: hel")
        assert [] == parser.feed(b"lo\n")
        assert [SSEEvent("hello")] == parser.feed(b"\n")

    @pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["lf", "crlf", "cr"])
    def test_line_endings(self, eol):
        """LF, CRLF and CR all end lines."""
        stream = b"data: a" + eol + b"data: b" + eol + eol + b"data: c" + eol + eol

        assert ["a\nb", "c"] == [e.data for e in parse(stream)]

    def test_crlf_split_between_reads(self):
        """CR at the end of a read and LF at the start of the next are one line end."""
        assert ["a\nb"] == [e.data for e in parse(b"data: a\r", b"\ndata: b\r\n\r", b"\n")]

    def test_cr_at_end_of_read_then_other_byte(self):
        """A CR that is not followed by LF still ends the line."""
        assert ["a", "b"] == [e.data for e in parse(b"data: a\r", b"\rdata: b\r", b"\r")]

    def test_utf8_character_split_across_reads(self):
        """A multi-byte character cut between reads decodes whole."""
        raw = "data: héllo 世界\n\n".encode()
        cut = raw.index("世".encode()) + 1

        assert ["héllo 世界"] == [e.data for e in parse(raw[:cut], raw[cut:])]

    def test_comments_are_ignored(self):
        """Comment lines (keep-alives) produce no events and do not end one."""
        stream = b": keep-alive\n\ndata: a\n: in the middle\ndata: b\n\n:\n\n"

        assert ["a\nb"] == [e.data for e in parse(stream)]

    def test_fields(self):
        """event names the type; id persists to later events; retry sets the parser's value."""
        parser = SSEParser()

        events = parser.feed(b"event: delta\nid: 7\nretry: 1500\ndata: x\n\ndata: y\n\n")

        assert [SSEEvent("x", "delta", "7"), SSEEvent("y", "message", "7")] == events
        assert 1500 == parser.retry

    def test_invalid_retry_and_id_are_ignored(self):
        """retry must be digits and id must not contain NUL, else the field is ignored."""
        parser = SSEParser()

        events = parser.feed(b"retry: soon\nid: a\x00b\ndata: x\n\n")

        assert [SSEEvent("x")] == events
        assert None is parser.retry

    def test_field_value_forms(self):
        """One leading space is dropped; no space is fine; a bare 'data' is an empty line."""
        assert [" x", "y", "\nz"] == [
            e.data for e in parse(b"data:  x\n\ndata:y\n\ndata\ndata: z\n\n")
        ]

    def test_unknown_fields_are_ignored(self):
        """Fields the spec does not define change nothing."""
        assert [SSEEvent("x")] == parse(b"foo: bar\ndata: x\nweird\n\n")

    def test_blank_lines_without_data_dispatch_nothing(self):
        """A block with no data field is not an event, and its type does not leak."""
        assert [SSEEvent("x")] == parse(b"\n\nevent: ping\n\ndata: x\n\n")

    def test_empty_data_is_an_event(self):
        """'data:' with an empty value still dispatches an (empty) event."""
        assert [SSEEvent("")] == parse(b"data:\n\n")

    def test_done_marks_the_parser(self):
        """data: [DONE] is an event with done set, and the parser remembers it."""
        parser = SSEParser()

        events = parser.feed(b"data: {}\n\ndata: [DONE]\n\n")

        assert [False, True] == [e.done for e in events]
        assert parser.done

    def test_close_flushes_an_unterminated_event(self):
        """A last event without its blank line (or even its newline) is still delivered."""
        assert ["a", "b"] == [e.data for e in parse(b"data: a\n\ndata: b")]
        assert ["c"] == [e.data for e in parse(b"data: c\n")]

    def test_close_on_empty_stream(self):
        """Closing a stream that sent nothing gives nothing."""
        assert [] == parse(b"")

    def test_byte_order_mark_is_stripped(self):
        """A UTF-8 BOM at the very start of the stream is not part of the first field."""
        assert [SSEEvent("x")] == parse(b"\xef\xbb", b"\xbfdata: x\n\n")

    def test_invalid_utf8_is_replaced(self):
        """Undecodable bytes become U+FFFD instead of raising."""
        assert ["a\ufffdb"] == [e.data for e in parse(b"data: a\xffb\n\n")]


# -- property tests ----------------------------------------------------------------

_text = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
                max_size=12)
_line = st.one_of(
    _text.map(lambda t: "data: " + t),
    _text.map(lambda t: "data:" + t),
    st.just("data"),
    _text.map(lambda t: ": " + t),
    st.sampled_from(["event: delta", "event: error", "id: 1", "id: 2", "retry: 300", "retry: x"]),
    _text,
    st.just(""),
)
_eol = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def sse_streams(draw: st.DrawFn) -> bytes:
    """SSE-shaped byte streams with mixed line endings and a possibly unterminated end."""
    lines = draw(st.lists(st.tuples(_line, _eol), max_size=25))
    tail = draw(st.sampled_from(["", "data: tail", "da"]))
    return ("".join(line + eol for line, eol in lines) + tail).encode()


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in pairwise(edges)]


def parse_all(reads: list[bytes]) -> tuple[list[SSEEvent], int | None, bool]:
    parser = SSEParser()
    events = [e for r in reads for e in parser.feed(r)] + parser.close()
    return events, parser.retry, parser.done


@given(sse_streams(), st.lists(st.integers(min_value=0, max_value=400), max_size=30))
def test_split_points_do_not_change_events(stream, cuts):
    """Splitting an SSE stream at any byte positions yields the events of the whole stream."""
    assert parse_all([stream]) == parse_all(split_at(stream, cuts))


@given(st.binary(max_size=200), st.lists(st.integers(min_value=0, max_value=200), max_size=20))
def test_split_points_do_not_change_events_for_any_bytes(stream, cuts):
    """The same holds for arbitrary bytes, including invalid UTF-8 and stray CRs."""
    assert parse_all([stream]) == parse_all(split_at(stream, cuts))


@given(st.lists(st.integers(min_value=0, max_value=400), max_size=30))
def test_single_byte_reads(cuts):
    """Reading one byte at a time (the worst case) matches reading the whole stream."""
    stream = "data: a\r\n: c\r\nevent: e\rdata: 世界\n\ndata: [DONE]\r\n\r\n".encode()

    assert parse_all([stream]) == parse_all([stream[i : i + 1] for i in range(len(stream))])


@st.composite
def event_lists(draw: st.DrawFn) -> list[tuple[str | None, list[str]]]:
    return draw(st.lists(st.tuples(st.none() | st.sampled_from(["delta", "x"]),
                                   st.lists(_text, min_size=1, max_size=3)), max_size=8))


@given(event_lists(), _eol)
def test_round_trip(events, eol):
    """Serialised events parse back to their type and data lines joined with LF."""
    stream = "".join(
        (f"event: {kind}{eol}" if kind else "")
        + "".join(f"data: {line}{eol}" for line in lines)
        + eol
        for kind, lines in events
    ).encode()

    parsed = parse_all([stream])[0]

    assert [(kind or "message", "\n".join(lines)) for kind, lines in events] == [
        (e.event, e.data) for e in parsed
    ]


# -- interpret ---------------------------------------------------------------------


def _delta(delta: dict, **extra: object) -> SSEEvent:
    return chunk({"choices": [{"index": 0, "delta": delta, "finish_reason": None}], **extra})


class TestInterpret:
    """Tests for `interpret` and `interpret_object`."""

    def test_content(self):
        """A chat delta's content is the chunk's content."""
        assert ChunkInfo(content="Hi") == interpret(_delta({"content": "Hi"}))

    def test_role_only_and_finish_chunks_are_empty(self):
        """Deltas that carry no text and no usage say nothing."""
        finish = {"choices": [{"delta": {}, "finish_reason": "stop"}]}

        assert ChunkInfo() == interpret(_delta({"role": "assistant", "content": ""}))
        assert ChunkInfo() == interpret(chunk(finish))

    @pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
    def test_reasoning(self, field):
        """Reasoning text comes from reasoning_content or reasoning."""
        assert ChunkInfo(reasoning="hmm") == interpret(_delta({field: "hmm", "content": None}))

    def test_completions_text(self):
        """A completions chunk's text is its content."""
        assert ChunkInfo(content="x") == interpret(chunk({"choices": [{"text": "x"}]}))

    def test_final_usage_only_chunk(self):
        """choices == [] with usage is the usage-only trailing chunk."""
        info = interpret(chunk({"choices": [], "usage": {
            "prompt_tokens": 5, "completion_tokens": 9,
            "completion_tokens_details": {"reasoning_tokens": 4}}}))

        assert ChunkInfo(usage=Usage(5, 9, 4), usage_only=True) == info

    def test_per_chunk_usage(self):
        """Usage on a content chunk is kept beside the content."""
        info = interpret(_delta({"content": "a"}, usage={"completion_tokens": 3}))

        assert ChunkInfo(content="a", usage=Usage(completion_tokens=3)) == info

    def test_null_usage_is_no_usage(self):
        """OpenAI sends usage: null on every chunk but the last."""
        assert ChunkInfo(content="a") == interpret(_delta({"content": "a"}, usage=None))

    def test_error_object(self):
        """An error object mid-stream is a server-error with the server's message and code."""
        info = interpret(chunk({"error": {"message": "out of memory", "code": 500}}))

        assert ChunkInfo(error=RequestError("server-error", "out of memory", 500)) == info

    def test_error_forms(self):
        """A string error, a vLLM error object and an `event: error` are errors too."""
        assert "boom" == interpret(chunk({"error": "boom"})).error.message
        assert "bad" == interpret(chunk({"object": "error", "message": "bad"})).error.message
        assert "down" == interpret(SSEEvent("down", "error")).error.message

    def test_null_error_is_no_error(self):
        """A chunk with error: null is a normal chunk."""
        assert ChunkInfo(content="a") == interpret(_delta({"content": "a"}, error=None))

    @pytest.mark.parametrize("data", ['{"choices": [{"delta": ', "[1, 2]", "42", '"text"',
                                      '{"choices": {"a": 1}}', '{"choices": [{"delta": 3}]}',
                                      '{"choices": [{"delta": {"content": 7}}]}'])
    def test_malformed(self, data):
        """Bad JSON, a non-object, or an object of the wrong shape is flagged, not raised."""
        assert ChunkInfo(malformed=True) == interpret(SSEEvent(data))

    def test_done_and_blank(self):
        """[DONE] marks done; blank data is nothing."""
        assert ChunkInfo(done=True) == interpret(SSEEvent("[DONE]"))
        assert ChunkInfo() == interpret(SSEEvent(" "))

    def test_whole_body(self):
        """A non-streaming chat body: message content, reasoning and usage."""
        body = {"choices": [{"message": {"role": "assistant", "content": "Hi",
                                         "reasoning_content": "think"}}],
                "usage": {"prompt_tokens": 2, "completion_tokens": 3}}

        assert ChunkInfo("Hi", "think", Usage(2, 3, None)) == interpret_object(body)

    def test_content_parts(self):
        """A list of content parts is joined."""
        body = {"choices": [{"message": {"content": [{"type": "text", "text": "a"},
                                                     {"type": "text", "text": "b"}]}}]}

        assert "ab" == interpret_object(body).content


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["choices", "delta", "message", "text", "content", "usage", "error",
                         "reasoning", "completion_tokens", "object", "message", "x"]),
        inner, max_size=4),
    max_leaves=12,
)


@given(_json)
def test_interpret_never_raises(obj):
    """Any JSON value, however shaped, interprets without raising."""
    assert isinstance(interpret(SSEEvent(json.dumps(obj))), ChunkInfo)


@given(st.text(max_size=50), st.sampled_from(["message", "error", "ping"]))
def test_interpret_never_raises_on_text(data, kind):
    """Any text as event data interprets without raising."""
    assert isinstance(interpret(SSEEvent(data, kind)), ChunkInfo)
