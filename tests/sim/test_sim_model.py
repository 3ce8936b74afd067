"""The pieces below HTTP: latency formulas, FIFO batch, engine pacing, request parsing,
chunk rendering and fault draws."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
from simhelpers import timing_sensitive

from aiperf.sim import faults, inputs, model, payloads
from aiperf.sim.engine import Engine
from aiperf.sim.options import SimOptions
from aiperf.sim.scheduler import BatchScheduler

REALISTIC = SimOptions(base_ttft_ms=10, prefill_ms_per_token=0.5, base_itl_ms=4,
                       itl_ms_per_seq=2, jitter=0)
DETERMINISTIC = SimOptions(mode="deterministic", ttft_ms=30, itl_ms=7)


class TestFormulas:
    """Tests for the pure latency formulas."""

    def test_realistic_prefill_grows_with_input_length(self):
        """prefill = base_ttft + per-token cost * ISL."""
        assert 10 + 0.5 * 100 == model.prefill_ms(REALISTIC, 100)
        assert 10 + 0.5 * 2000 == model.prefill_ms(REALISTIC, 2000)

    def test_realistic_itl_grows_with_active_sequences(self):
        """itl = base_itl + per-sequence cost * active."""
        assert [6, 36] == [model.itl_ms(REALISTIC, 1), model.itl_ms(REALISTIC, 16)]

    def test_deterministic_ignores_input_length_and_load(self):
        """Fixed TTFT and ITL, whatever the prompt and the batch."""
        assert {30} == {model.prefill_ms(DETERMINISTIC, n) for n in (1, 10_000)}
        assert {7} == {model.itl_ms(DETERMINISTIC, n) for n in (1, 500)}

    def test_output_length_prefers_the_request(self):
        """max_tokens when sent, else osl."""
        assert (5, 64) == (model.output_length(SimOptions(osl=64), 5),
                           model.output_length(SimOptions(osl=64), None))

    def test_jitter_only_in_realistic_mode_and_never_negative(self):
        """Deterministic delays are exact; realistic ones are noisy but >= 0."""
        rng = random.Random(1)
        noisy = SimOptions(jitter=1.0)

        assert 7 == model.jittered(DETERMINISTIC, 7, rng)
        samples = [model.jittered(noisy, 10, rng) for _ in range(500)]
        assert min(samples) >= 0
        assert len(set(samples)) > 400


class TestBatchScheduler:
    """Tests for the FIFO admission gate."""

    def test_waiters_are_admitted_in_arrival_order(self):
        """With one slot, holders run strictly one after another in arrival order."""
        order = []

        async def user(batch, name):
            await batch.acquire()
            order.append(name)
            await asyncio.sleep(0.001)
            batch.release()

        async def main():
            batch = BatchScheduler(1)
            await asyncio.gather(*(user(batch, i) for i in range(8)))
            return batch

        batch = asyncio.run(main())

        assert list(range(8)) == order
        assert (1, 7, 0) == (batch.max_active, batch.max_waiting, batch.active)

    def test_cancelled_waiter_leaves_the_queue(self):
        """A request cancelled while queued neither holds nor leaks a slot."""

        async def main():
            batch = BatchScheduler(1)
            await batch.acquire()
            waiter = asyncio.ensure_future(batch.acquire())
            await asyncio.sleep(0)
            waiter.cancel()
            await asyncio.gather(waiter, return_exceptions=True)
            batch.release()
            return batch

        batch = asyncio.run(main())

        assert (0, 0) == (batch.active, batch.waiting)

    def test_unlimited_capacity_never_queues(self):
        """Deterministic mode's batch has no capacity limit."""

        async def main():
            batch = BatchScheduler(None)
            queued = [await batch.acquire() for _ in range(100)]
            return batch, queued

        batch, queued = asyncio.run(main())

        assert not any(queued)
        assert 100 == batch.max_active


class TestEngine:
    """Tests for token pacing, without HTTP."""

    @timing_sensitive
    def test_deterministic_deadlines_are_exact(self):
        """First token at ttft, then one per itl, measured on the loop clock."""
        options = SimOptions(mode="deterministic", ttft_ms=20, itl_ms=5)

        async def main():
            engine = Engine(options)
            loop = asyncio.get_running_loop()
            start = loop.time()
            times = []
            async with engine.admit(10, start) as seq:
                async for n in seq.tokens(6):
                    times += [loop.time() - start] * n
            return seq, times

        seq, times = asyncio.run(main())

        assert pytest.approx(0.020) == seq.first_at - seq.start
        assert pytest.approx(0.005) == seq.mean_itl_s
        assert 6 == len(times)
        for i, t in enumerate(times):
            assert 0.020 + 0.005 * i <= t + 1e-4 < 0.020 + 0.005 * i + 0.004

    def test_instant_server_hands_out_every_token_at_once(self):
        """ttft=0, itl=0: one yield with all the tokens, no sleeping."""
        options = SimOptions(mode="deterministic", ttft_ms=0, itl_ms=0)

        async def main():
            engine = Engine(options)
            async with engine.admit(1, asyncio.get_running_loop().time()) as seq:
                return [n async for n in seq.tokens(16)]

        assert [16] == asyncio.run(main())

    def test_realistic_engine_queues_beyond_max_batch(self):
        """Two slots, four requests: the last two wait for the first two to finish."""
        options = SimOptions(max_batch=2, base_ttft_ms=10, prefill_ms_per_token=0,
                             base_itl_ms=5, itl_ms_per_seq=0, jitter=0)

        async def one(engine):
            loop = asyncio.get_running_loop()
            async with engine.admit(1, loop.time()) as seq:
                async for _ in seq.tokens(3):
                    pass
            return seq.queued_s

        async def main():
            engine = Engine(options)
            waits = await asyncio.gather(*(one(engine) for _ in range(4)))
            return engine, waits

        engine, waits = asyncio.run(main())

        assert [0, 0] == waits[:2]
        assert all(w >= 0.018 for w in waits[2:])  # a slot is held 10 + 2 * 5 = 20 ms
        assert (2, 2) == (engine.batch.max_active, engine.batch.max_waiting)


class TestInputs:
    """Tests for reading request bodies."""

    def test_chat_counts_words_of_every_message_and_content_part(self):
        """String contents and text parts all count; roles do not."""
        body = {"messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": [{"type": "text", "text": "one two  three"},
                                         {"type": "image_url", "image_url": {"url": "x"}}]},
        ], "max_completion_tokens": 9, "stream": True,
            "stream_options": {"include_usage": True}}

        req = inputs.parse("chat", body)

        assert (5, 9, True, True) == (req.isl, req.max_tokens, req.stream, req.include_usage)

    def test_completions_prompt_forms(self):
        """A string, token ids, or a list of either."""
        assert 3 == inputs.parse("completions", {"prompt": "a b c"}).isl
        assert 4 == inputs.parse("completions", {"prompt": [1, 2, 3, 4]}).isl
        assert 5 == inputs.parse("completions", {"prompt": ["a b", [7, 8, 9]]}).isl

    def test_embeddings_count_each_input(self):
        """One count per input, for one vector per input."""
        assert (2, 1) == inputs.parse("embeddings", {"input": ["a b", "c"]}).input_tokens

    @pytest.mark.parametrize("endpoint,body,param", [
        ("chat", {"messages": []}, "messages"),
        ("chat", {"messages": "hi"}, "messages"),
        ("completions", {}, "prompt"),
        ("completions", {"prompt": "x", "max_tokens": 0}, "max_tokens"),
        ("completions", {"prompt": "x", "max_tokens": "9"}, "max_tokens"),
        ("embeddings", {"input": [{"a": 1}]}, "input"),
    ])
    def test_bad_bodies_name_the_parameter(self, endpoint, body, param):
        """A BadRequest says which field is wrong."""
        with pytest.raises(inputs.BadRequest) as info:
            inputs.parse(endpoint, body)

        assert param == info.value.param


class TestPayloads:
    """Tests for rendered chunks and bodies."""

    def answer(self, endpoint="chat", reasoning=0, content=4):
        return payloads.Answer(endpoint, "chatcmpl-1", 'we"ird', 123, reasoning=reasoning,
                               content=content, chars_per_token=5, finish_reason="length",
                               prompt_tokens=3)

    def events(self, raw: bytes):
        return [json.loads(e[len("data: "):]) for e in raw.decode().split("\n\n") if e]

    def test_each_token_is_one_word_and_a_space(self):
        """chars_per_token counts the space; a whitespace split counts one token each."""
        text = payloads.words(5, 0, 10)

        assert 10 == len(text.split())
        assert 50 == len(text)
        assert set(payloads.vocabulary(5)) == {w for w in payloads.vocabulary(5)
                                               if len(w) == 5 and w.endswith(" ")}

    def test_chunks_are_valid_json_with_escaped_model_name(self):
        """Pre-rendered pieces still make valid JSON, even for odd model names."""
        events = self.events(self.answer(reasoning=2).chunks(0, 4))

        assert ['we"ird'] * 4 == [e["model"] for e in events]
        assert ["reasoning_content"] * 2 + ["content"] * 2 == \
            [next(iter(e["choices"][0]["delta"])) for e in events]
        assert [None, None, None, None] == [e["choices"][0]["finish_reason"] for e in events]

    def test_last_token_carries_the_finish_reason(self):
        """finish_reason sits on the final token's chunk."""
        events = self.events(self.answer(content=3).chunks(0, 3))

        assert "length" == events[-1]["choices"][0]["finish_reason"]

    def test_body_text_matches_the_streamed_text(self):
        """Streaming and non-streaming answers say the same words."""
        answer = self.answer(endpoint="completions", content=6)
        streamed = "".join(e["choices"][0]["text"] for e in self.events(answer.chunks(0, 6)))

        assert streamed == answer.body()["choices"][0]["text"]

    def test_malformed_chunk_does_not_parse(self):
        """The injected event is cut-off JSON."""
        raw = self.answer().malformed_chunk().decode()

        assert raw.startswith("data: {") and raw.endswith("\n\n")
        with pytest.raises(json.JSONDecodeError):
            json.loads(raw[len("data: "):])


class TestFaultDraws:
    """Tests for the per-request fault decision."""

    def test_rates_are_exclusive_shares(self):
        """error, disconnect and malformed each get their own share of requests."""
        options = SimOptions(error_rate=0.2, disconnect_rate=0.3, malformed_rate=0.1)
        rng = random.Random(7)

        kinds = [faults.draw(options, rng).kind for _ in range(20_000)]

        for kind, rate in (("error", 0.2), ("disconnect", 0.3), ("malformed", 0.1), (None, 0.4)):
            assert kinds.count(kind) / len(kinds) == pytest.approx(rate, abs=0.02)

    def test_no_faults_configured_means_no_draws(self):
        """A fault-free simulator does not consume random numbers (jitter stays comparable)."""
        rng = random.Random(3)
        before = rng.getstate()

        assert faults.NONE == faults.draw(SimOptions(), rng)
        assert before == rng.getstate()
