"""Prompts to send: synthetic (ISL/OSL as mean and stddev, deterministic for a seed) or
read from a JSONL file.

Synthetic prompts are random words from a fixed vocabulary, so every prompt is
different (no accidental prefix-cache hits). A :class:`PromptSizer` says what a word costs
in the tokens ``--isl`` counts: one built-in token each by default; each word's own count
when a tokenizer (the server's ``/tokenize``, or a tokenizer file) counted the
vocabulary; or an average rate when calibration requests measured it. Its ``overhead`` is
what the server adds to every prompt (chat template, BOS token).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator, Mapping
from pathlib import Path

import attrs

from aiperf.bench.tokenizer import Tokenizer

# A fixed vocabulary of plain lowercase words: each is one token for the built-in
# tokenizer and for the simulator.
VOCABULARY = tuple(
    """time year people way day man thing woman life child world school state family
    student group country problem hand part place case week company system program
    question work government number night point home water room mother area money story
    fact month lot right study book eye job word business issue side kind head house
    service friend father power hour game line end member law car city community name
    president team minute idea kid body information back parent face others level office
    door health person art war history party result change morning reason research girl
    guy moment air teacher force education foot boy age policy music market sense nation
    plan college interest death experience effect use class control care field
    development role effort rate heart drug show leader light voice wife police mind
    price report decision son view relationship town road arm difference value building
    action model season society tax director position player record paper space ground
    form event official matter center couple site project activity star table need court
    oil situation cost industry figure street image phone data picture practice piece
    land product doctor wall patient worker news test movie north love support technology
    step baby computer type attention film tree source organization hair window evidence
    population site river""".split()
)


@attrs.frozen
class PromptSizer:
    """How many words make a prompt of N tokens.

    ``word_costs``: each vocabulary word's token count (exact sizing), or None to use
    ``tokens_per_word`` as an average rate. ``overhead``: tokens the server adds to every
    prompt. The default counts words as the built-in tokenizer does.
    """

    tokens_per_word: float = 1.0
    overhead: float = 0.0
    word_costs: Mapping[str, int] | None = None

    def words(self, rng: random.Random, target: int) -> tuple[list[str], int]:
        """Random words whose prompt is ``target`` tokens, and its planned token count."""
        costs = self.word_costs
        if costs is None:
            n = max(1, round((target - self.overhead) / self.tokens_per_word))
            words = rng.choices(VOCABULARY, k=n)
            return words, max(1, round(self.overhead + n * self.tokens_per_word))
        return self._exact(rng, target, costs)

    def _exact(self, rng: random.Random, target: int,
               costs: Mapping[str, int]) -> tuple[list[str], int]:
        # Draw words until the budget is spent; a word that would overshoot is swapped
        # for one that fits, so the prompt lands on the target when a 1-token word exists.
        remaining = target - round(self.overhead)
        words: list[str] = []
        planned = round(self.overhead)
        while remaining > 0 or not words:
            word = rng.choice(VOCABULARY)
            if costs[word] > remaining > 0:
                fitting = [w for w in VOCABULARY if costs[w] <= remaining]
                if fitting:
                    word = rng.choice(fitting)
            words.append(word)
            remaining -= costs[word]
            planned += costs[word]
        return words, planned


BUILTIN_SIZER = PromptSizer()


class DatasetError(Exception):
    """The input file cannot be used; the message names the file and line."""


@attrs.frozen
class Prompt:
    """One prompt: its text, its length in tokens, and the output length to ask for."""

    text: str
    input_tokens: int
    max_tokens: int | None


def _length(rng: random.Random, mean: float, stddev: float) -> int:
    if stddev <= 0:
        return max(1, round(mean))
    return max(1, round(rng.gauss(mean, stddev)))


@attrs.frozen
class SyntheticPrompts:
    """An endless, reproducible stream of random-word prompts."""

    isl_mean: int
    isl_stddev: float
    osl_mean: int | None
    osl_stddev: float
    seed: int
    sizer: PromptSizer = BUILTIN_SIZER

    def __iter__(self) -> Iterator[Prompt]:
        rng = random.Random(self.seed)
        while True:
            n = _length(rng, self.isl_mean, self.isl_stddev)
            words, planned = self.sizer.words(rng, n)
            osl = None if self.osl_mean is None else _length(rng, self.osl_mean,
                                                               self.osl_stddev)
            yield Prompt(" ".join(words), planned, osl)


def read_prompt_file(path: Path, count: Tokenizer, osl_mean: int | None) -> list[Prompt]:
    """Prompts from a JSONL file: one object per line with ``text`` (or ``prompt``) and,
    optionally, ``max_tokens`` (else the configured OSL)."""
    prompts = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read input file: {e}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{path}:{n}: not valid JSON ({e.msg})") from None
        text = obj.get("text", obj.get("prompt")) if isinstance(obj, dict) else None
        if not isinstance(text, str) or not text:
            raise DatasetError(f"{path}:{n}: expected an object with a non-empty 'text'")
        max_tokens = obj.get("max_tokens", osl_mean)
        if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
            raise DatasetError(f"{path}:{n}: max_tokens must be a positive integer")
        prompts.append(Prompt(text, count(text), max_tokens))
    if not prompts:
        raise DatasetError(f"{path}: no prompts in the input file")
    return prompts


def cycle(prompts: list[Prompt]) -> Iterator[Prompt]:
    """File prompts in order, starting over at the end."""
    while True:
        yield from prompts
