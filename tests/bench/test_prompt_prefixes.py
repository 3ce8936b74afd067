"""Prefix control in synthetic prompts: a per-run salt keeps runs apart, a shared system
prompt and a pool of prefixes are shared on purpose, and the ISL stays what was asked."""

from __future__ import annotations

import itertools
import json

from aiperf.bench.dataset import SALT_WORDS, SyntheticPrompts, new_salt
from aiperf.bench.payloads import request_body
from aiperf.bench.sse import _usage


def take(prompts: SyntheticPrompts, n: int = 20) -> list:
    return list(itertools.islice(iter(prompts), n))


def test_a_salt_starts_every_prompt_and_keeps_the_isl():
    salted = take(SyntheticPrompts(64, 0, None, 0, seed=1, salt=("alpha", "beta")))
    plain = take(SyntheticPrompts(64, 0, None, 0, seed=1))

    # Two salt words start each prompt, drawn for each prompt from the run's salt, then
    # the prompt's own words (the first prompt's are the unsalted first prompt's).
    assert salted[0].text.split()[2:] == plain[0].text.split()[:62]
    assert len({tuple(p.text.split()[:2]) for p in salted}) > 1
    assert {p.input_tokens for p in salted} == {64}
    assert {len(p.text.split()) for p in salted} == {64}


def test_two_runs_with_one_seed_differ_only_by_their_salt():
    first = take(SyntheticPrompts(32, 0, None, 0, seed=5, salt=new_salt()))
    second = take(SyntheticPrompts(32, 0, None, 0, seed=5, salt=new_salt()))

    assert all(a.text.split()[SALT_WORDS:] == b.text.split()[SALT_WORDS:]
               for a, b in zip(first, second, strict=True))
    assert first[0].text.split()[:SALT_WORDS] != second[0].text.split()[:SALT_WORDS]


def test_a_prompt_shorter_than_the_salt_keeps_its_length():
    prompts = take(SyntheticPrompts(2, 0, None, 0, seed=1, salt=new_salt()))

    assert {p.input_tokens for p in prompts} == {2}


def test_a_shared_system_prompt_is_the_same_for_every_request_and_counted():
    prompts = take(SyntheticPrompts(32, 0, None, 0, seed=2, system_prompt_length=100))

    assert len({p.system for p in prompts}) == 1
    assert len(prompts[0].system.split()) == 100
    assert {p.input_tokens for p in prompts} == {132}


def test_each_request_starts_with_one_prefix_of_the_pool_before_the_salt():
    salt = ("alpha", "beta", "gamma", "delta")
    prompts = take(SyntheticPrompts(16, 0, None, 0, seed=3, prefix_prompts=3,
                                    prefix_length=40, salt=salt), 60)
    unsalted = take(SyntheticPrompts(16, 0, None, 0, seed=3, prefix_prompts=3,
                                     prefix_length=40), 60)
    prefixes = {" ".join(p.text.split()[:40]) for p in prompts}

    assert len(prefixes) == 3
    # After the prefix, the salt words; then the request's own words.
    assert prompts[0].text.split()[44:] == unsalted[0].text.split()[40:52]
    assert {p.input_tokens for p in prompts} == {56}


def test_the_pool_is_the_same_in_every_run_with_the_seed():
    def pool(salt: tuple[str, ...]) -> set[str]:
        prompts = take(SyntheticPrompts(16, 0, None, 0, seed=3, prefix_prompts=2,
                                        prefix_length=20, salt=salt), 40)
        return {" ".join(p.text.split()[:20]) for p in prompts}

    assert pool(new_salt()) == pool(new_salt())


def test_chat_sends_the_system_prompt_as_a_system_message():
    body = request_body("chat", model="m", prompt="hello", system="be brief")

    assert body["messages"] == [{"role": "system", "content": "be brief"},
                                {"role": "user", "content": "hello"}]


def test_completions_put_the_system_prompt_before_the_prompt():
    body = request_body("completions", model="m", prompt="hello", system="be brief")

    assert body["prompt"] == "be brief\n\nhello"


def test_the_servers_cached_tokens_are_read_from_the_usage():
    usage = _usage(json.loads('{"prompt_tokens": 80, "completion_tokens": 4,'
                              ' "prompt_tokens_details": {"cached_tokens": 64}}'))

    assert usage is not None and usage.cached_tokens == 64
