"""Prompts (synthetic and from a file), the built-in tokenizer, and arrival schedules."""

from __future__ import annotations

import collections
import itertools
import json
import random
import statistics

import attrs
import pytest

from aiperf.bench.dataset import (
    VOCABULARY,
    DatasetError,
    SyntheticPrompts,
    draw_text,
    draw_words,
    read_prompt_file,
)
from aiperf.bench.schedule import arrival_offsets, plan_load
from aiperf.bench.tokenizer import TokenizerError, builtin_count, load_tokenizer


def take(prompts, n):
    return list(itertools.islice(iter(prompts), n))


def test_synthetic_prompts_have_the_exact_length_without_stddev():
    """With stddev 0 every prompt is exactly ISL built-in tokens long."""
    prompts = take(SyntheticPrompts(128, 0.0, 32, 0.0, seed=1), 20)

    assert {128} == {p.input_tokens for p in prompts}
    assert {128} == {builtin_count(p.text) for p in prompts}
    assert {32} == {p.max_tokens for p in prompts}


def test_the_vocabulary_is_256_different_words():
    """256 words, none twice: a random byte picks a word, exactly uniformly."""
    assert 256 == len(VOCABULARY) == len(set(VOCABULARY))
    assert all(w.isalpha() and w.islower() for w in VOCABULARY)


def test_drawn_words_are_the_vocabulary_uniformly():
    """Every word of the vocabulary is drawn within a few percent of 1/256 of the time."""
    counts = collections.Counter(draw_words(random.Random(7), 400_000))

    assert set(counts) == set(VOCABULARY)
    expected = 400_000 / len(VOCABULARY)
    assert max(abs(n - expected) / expected for n in counts.values()) < 0.12


def test_drawn_words_are_independent_of_their_neighbours():
    """A word is the one before it again about 1/256 of the time."""
    words = draw_words(random.Random(11), 400_001)
    repeats = sum(a == b for a, b in zip(words, words[1:], strict=False))

    expected = 400_000 / 256
    assert abs(repeats - expected) / expected < 0.15


def test_a_shorter_draw_is_the_start_of_a_longer_one():
    """The first j words of k drawn from one seed are the j drawn from it (so a prompt's
    words do not depend on how many the salt took)."""
    longest = draw_words(random.Random(3), 101)

    assert all(draw_words(random.Random(3), j) == longest[:j] for j in range(102))


def test_drawn_text_is_the_drawn_words_joined():
    """draw_text gives the words of draw_words, one space apart."""
    assert all(draw_text(random.Random(5), k) == " ".join(draw_words(random.Random(5), k))
               for k in range(40))


@pytest.mark.parametrize("k", [0, 1, 2, 550])
def test_drawn_words_are_as_many_as_asked_and_repeat_for_a_seed(k):
    words = draw_words(random.Random(3), k)

    assert len(words) == k and all(isinstance(w, str) for w in words)
    assert words == draw_words(random.Random(3), k)


def test_synthetic_prompts_are_deterministic_for_a_seed():
    """The same seed gives the same prompts; another seed gives others."""
    a = take(SyntheticPrompts(64, 8.0, 16, 4.0, seed=7), 10)
    b = take(SyntheticPrompts(64, 8.0, 16, 4.0, seed=7), 10)
    c = take(SyntheticPrompts(64, 8.0, 16, 4.0, seed=8), 10)

    assert a == b
    assert a != c


def test_synthetic_prompt_lengths_follow_mean_and_stddev():
    """Lengths drawn with a stddev scatter around the mean."""
    lengths = [p.input_tokens for p in take(SyntheticPrompts(200, 20.0, None, 0.0, seed=3), 500)]

    assert 190 < statistics.mean(lengths) < 210
    assert 15 < statistics.pstdev(lengths) < 25


def test_prompts_differ_so_no_prefix_cache_helps():
    """Consecutive prompts share no common prefix of more than a few words."""
    a, b = take(SyntheticPrompts(100, 0.0, None, 0.0, seed=0), 2)

    assert a.text.split()[:5] != b.text.split()[:5]


def test_no_osl_means_no_max_tokens():
    """Without an OSL the server decides the output length."""
    (p,) = take(SyntheticPrompts(10, 0.0, None, 0.0, seed=0), 1)

    assert p.max_tokens is None


def test_prompt_file_is_read_with_token_counts(tmp_path):
    """A JSONL file gives its prompts, counted by the tokenizer, with per-line max_tokens."""
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"text": "hello there, world"}) + "\n\n"
                    + json.dumps({"prompt": "one two", "max_tokens": 5}) + "\n")

    prompts = read_prompt_file(path, builtin_count, 64)

    assert [(4, 64), (2, 5)] == [(p.input_tokens, p.max_tokens) for p in prompts]


@pytest.mark.parametrize(("line", "problem"), [
    ("not json", "not valid JSON"),
    ('{"nope": 1}', "non-empty 'text'"),
    ('{"text": "x", "max_tokens": 0}', "max_tokens must be a positive integer"),
])
def test_bad_prompt_file_names_file_and_line(tmp_path, line, problem):
    """A bad line is an error naming the file and the line number."""
    path = tmp_path / "p.jsonl"
    path.write_text('{"text": "fine"}\n' + line + "\n")

    with pytest.raises(DatasetError) as e:
        read_prompt_file(path, builtin_count, None)

    assert f"{path}:2:" in str(e.value) and problem in str(e.value)


def test_builtin_tokenizer_counts_words_and_punctuation():
    """Words and punctuation marks are one token each."""
    assert 7 == builtin_count("Hello, world! It's")  # Hello , world ! It ' s


def test_tokenizer_spec_must_be_builtin_or_a_local_file(tmp_path):
    """A hub name is refused: aiperf never downloads a tokenizer."""
    assert builtin_count is load_tokenizer("builtin")
    with pytest.raises(TokenizerError, match="never downloads"):
        load_tokenizer("meta-llama/Llama-3.1-8B")


def test_constant_arrivals_are_evenly_spaced():
    """Constant arrivals at 4/s come every 0.25 s."""
    offsets = list(itertools.islice(arrival_offsets(4.0, "constant", 0), 5))

    assert [0.0, 0.25, 0.5, 0.75, 1.0] == offsets


def test_poisson_arrivals_have_the_requested_mean_rate_and_are_seeded():
    """Poisson gaps average 1/rate and repeat for the same seed."""
    a = list(itertools.islice(arrival_offsets(50.0, "poisson", 9), 5001))
    b = list(itertools.islice(arrival_offsets(50.0, "poisson", 9), 5001))

    assert a == b
    assert 48 < 5000 / a[-1] < 52


def test_plan_mode_follows_the_rate():
    """A request rate makes an open-loop plan; otherwise it is closed loop."""
    assert "request_rate" == plan_load(None, 5.0, "poisson", 10, None, 0, 0).mode
    assert "concurrency" == plan_load(4, None, "poisson", 10, None, 0, 0).mode


def _trace_plan(schedule: tuple[float, ...], request_count: int | None = None):
    plan = plan_load(None, None, "poisson", request_count, None, 0, 0)
    return attrs.evolve(plan, mode="fixed_schedule", schedule=schedule)


def test_a_traces_requested_rate_counts_intervals_as_the_achieved_rate_does():
    """Twelve requests 100 ms apart ask for 10 requests/s (11 intervals over 1.1 s),
    however long the run lasted after the last one was sent."""
    plan = _trace_plan(tuple(j * 0.1 for j in range(12)))

    assert 10.0 == pytest.approx(plan.requested_rate(1.11))
    assert 10.0 == pytest.approx(plan.requested_rate(5.0))


def test_a_traces_requested_rate_covers_only_what_was_due_and_counted():
    """A window that ends early counts the due times inside it; --request-count the first
    requests only."""
    plan = _trace_plan((0.0, 0.1, 0.2, 0.3, 1.3, 2.3))

    assert 10.0 == pytest.approx(plan.requested_rate(0.35))
    assert 10.0 == pytest.approx(_trace_plan(plan.schedule, request_count=4).requested_rate(9.0))
    assert 5 / 2.3 == pytest.approx(plan.requested_rate(2.5))


def test_a_trace_of_one_due_time_has_no_rate():
    assert _trace_plan((0.0, 0.5)).requested_rate(0.2) is None
    assert _trace_plan((0.3, 0.3)).requested_rate(1.0) is None


def test_a_poisson_plans_requested_rate_is_the_rate_of_its_own_draws():
    """40 Poisson arrivals at 4/s with seed 0 span 11.86 s: they ask for 3.29/s, and a
    client that sent each on time reaches exactly that."""
    plan = plan_load(None, 4.0, "poisson", 40, None, 0, 0)
    due = list(itertools.islice(arrival_offsets(4.0, "poisson", 0), 40))

    assert plan.requested_rate(60.0) == pytest.approx(39 / (due[-1] - due[0]))
    assert plan.requested_rate(60.0) == pytest.approx(3.287, abs=0.001)


def test_a_rate_runs_requested_rate_stops_at_its_duration():
    """Constant arrivals at 20/s for 2 s: the 40 due before the deadline, however long
    the run took to finish its last responses."""
    plan = plan_load(None, 20.0, "constant", None, 2.0, 0, 0)

    assert plan.requested_rate(2.4) == pytest.approx(20.0)
    assert plan.requested_rate(1.0) == pytest.approx(20.0)
