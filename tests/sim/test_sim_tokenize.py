"""The server tokenizer of the profiles and each server's POST /tokenize."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rawhttp import RawConnection
from simhelpers import run

from aiperf.sim.profiles import LLAMA_CPP, PROFILES
from aiperf.sim.tokenizer import BOS_ID, WORDS

FAST = "sim://?mode=deterministic&ttft_ms=0&itl_ms=0"
TOKENS = LLAMA_CPP.tokens
TEXT = "hello wonderful world, a b"  # 2 + 3 + 2 + 1 + 1 = 9 server tokens


class TestServerTokenizer:
    """The deterministic rule: ceil(characters / 4) per whitespace-separated word."""

    @pytest.mark.parametrize("word,cost", [("a", 1), ("four", 1), ("fives", 2), ("eightchr", 2),
                                           ("ninechars", 3), ("hello,", 2)])
    def test_a_word_costs_one_token_per_started_four_characters(self, word, cost):
        assert cost == TOKENS.count(word)

    @given(st.lists(st.text(alphabet="abcdefghij,.!", min_size=1, max_size=14), max_size=12))
    def test_the_count_is_context_free(self, words):
        """The tokens of words joined by spaces are the sum of each word's tokens, so a
        client can calibrate word by word."""
        assert sum(TOKENS.count(w) for w in words) == TOKENS.count(" ".join(words))

    def test_ids_match_the_count_and_bos_comes_first_when_asked(self):
        plain = TOKENS.ids(TEXT)
        special = TOKENS.ids(TEXT, add_special=True)

        assert 9 == len(plain) == TOKENS.count(TEXT)
        assert [BOS_ID] + plain == special
        assert plain == TOKENS.ids(TEXT)  # deterministic

    def test_chat_ids_are_as_many_as_the_chat_prompt_tokens(self):
        contents = ["be brief", TEXT]

        assert TOKENS.chat(2, sum(TOKENS.count(c) for c in contents)) == \
            len(TOKENS.chat_ids(contents))

    def test_every_non_generic_profile_counts_with_the_server_rule(self):
        """Generic counts words; the others ceil(L / 4) with a template and BOS."""
        assert WORDS is PROFILES["generic"].tokens
        for name in ("llama.cpp", "vllm", "sglang", "tgi"):
            tokens = PROFILES[name].tokens
            assert (4, 1) == (tokens.chars_per_token, tokens.bos)
            assert tokens.chat_preamble > 0 and tokens.chat_per_message > 0


def _tokenize(profile: str, body: dict, path: str = "/tokenize"):
    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            return await conn.post(path, body)

    return run(FAST + f"&profile={profile}&model=served", scenario)


def test_llama_cpp_tokenize_has_no_bos_unless_add_special():
    """{"content"} -> {"tokens"}; add_special: true puts BOS first."""
    plain = _tokenize("llama.cpp", {"content": TEXT}).json()
    special = _tokenize("llama.cpp", {"content": TEXT, "add_special": True}).json()

    assert {"tokens": TOKENS.ids(TEXT)} == plain
    assert [BOS_ID] + plain["tokens"] == special["tokens"]


def test_llama_cpp_tokenize_with_pieces():
    """with_pieces: one {"id", "piece"} per token; the pieces spell the words."""
    tokens = _tokenize("llama.cpp", {"content": "wonderful", "with_pieces": True}).json()["tokens"]

    assert ["wond", "erfu", "l"] == [t["piece"] for t in tokens]
    assert TOKENS.ids("wonderful") == [t["id"] for t in tokens]


def test_tokenizing_word_by_word_adds_up_to_the_whole_text():
    """The calibration property, through the endpoint: per-word counts sum to the text's."""
    words = TEXT.split()
    whole = len(_tokenize("llama.cpp", {"content": TEXT}).json()["tokens"])

    assert whole == sum(len(_tokenize("llama.cpp", {"content": w}).json()["tokens"])
                        for w in words)


def test_vllm_tokenize_prompt_adds_bos_by_default():
    """vLLM's add_special_tokens defaults to true for a prompt."""
    default = _tokenize("vllm", {"model": "served", "prompt": TEXT}).json()
    plain = _tokenize("vllm", {"model": "served", "prompt": TEXT,
                               "add_special_tokens": False}).json()

    assert (10, 4096) == (default["count"], default["max_model_len"])
    assert [BOS_ID] + plain["tokens"] == default["tokens"]
    assert 9 == plain["count"] == len(plain["tokens"])


def test_vllm_tokenize_messages_counts_like_the_chat_request():
    """Templated messages: count equals the usage.prompt_tokens of the same chat."""
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": TEXT}]

    async def scenario(_session, base):
        async with RawConnection(base) as conn:
            tokenized = await conn.post("/tokenize", {"model": "served", "messages": messages})
            chat = await conn.post("/v1/chat/completions",
                                   {"model": "served", "messages": messages, "max_tokens": 1})
            return tokenized.json(), chat.json()

    tokenized, chat = run(FAST + "&profile=vllm&model=served", scenario)

    assert chat["usage"]["prompt_tokens"] == tokenized["count"] == len(tokenized["tokens"])


@pytest.mark.parametrize("path", ["/tokenize", "/v1/tokenize"])
def test_sglang_tokenize(path):
    """Both paths; BOS by default; a list prompt gets lists of both."""
    single = _tokenize("sglang", {"prompt": TEXT}, path).json()
    many = _tokenize("sglang", {"prompt": [TEXT, "a"], "add_special_tokens": False}, path).json()

    assert (10, 4096) == (single["count"], single["max_model_len"])
    assert [9, 1] == many["count"] == [len(t) for t in many["tokens"]]


def test_tgi_tokenize_lists_tokens_with_offsets_bos_first():
    """[{"id", "text", "start", "stop"}]: BOS, then pieces whose offsets index the input."""
    tokens = _tokenize("tgi", {"inputs": TEXT}).json()

    assert {"id": BOS_ID, "text": "<s>", "start": 0, "stop": 0} == tokens[0]
    assert 10 == len(tokens)
    assert all(TEXT[t["start"]:t["stop"]] == t["text"] for t in tokens[1:])


@pytest.mark.parametrize("profile,body,param", [
    ("llama.cpp", {"prompt": "x"}, "content"),
    ("llama.cpp", {"content": "x", "add_special": "yes"}, "add_special"),
    ("vllm", {"prompt": 5}, "prompt"),
    ("tgi", {}, "inputs"),
])
def test_bad_tokenize_bodies_get_a_400_naming_the_field(profile, body, param):
    response = _tokenize(profile, body)

    assert (400, param) == (response.status, response.json()["error"]["param"])
