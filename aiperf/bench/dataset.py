"""Prompts to send: synthetic (ISL/OSL as mean and stddev, deterministic for a seed) or
read from a JSONL file.

Synthetic prompts are random words from a fixed vocabulary. Shared prefixes are asked for
explicitly: one system prompt for every request (``--shared-system-prompt-length``), or a
pool of prefix prompts one of which starts each request (``--num-prefix-prompts``,
``--prefix-prompt-length``). After them comes a per-run salt (a few random words drawn
for each run), so two runs with the same seed never share a prefix by accident.

A :class:`PromptSizer` says what a word costs in the tokens ``--isl`` counts: one
built-in token each by default; each word's own count when a tokenizer (the server's
``/tokenize``, or a tokenizer file) counted the vocabulary; or an average rate when
calibration requests measured it. Its ``overhead`` is what the server adds to every
prompt (chat template, BOS token).
"""

from __future__ import annotations

import json
import operator
import os
import random
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs

from aiperf.bench.tokenizer import Tokenizer

# A fixed vocabulary of 256 different plain lowercase words: each is one token for the
# built-in tokenizer and for the simulator. 256 so that one random byte picks a word,
# exactly uniformly.
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
    population river island garden summer winter spring chair glass letter animal horse
    bird fish dog cat bridge forest mountain ocean lake farm village church hospital hotel
    restaurant kitchen floor color sound song dance sport ball train plane ship boat bank
    store card box bag bottle cup plate food bread fruit""".split()
)


def _picks(rng: random.Random, k: int) -> bytes:
    """``k`` random bytes, one per word: whole 32-bit draws cut to length, so the first
    ``j`` of a draw of ``k`` are what a draw of ``j`` gives."""
    draws = (k + 3) // 4
    return rng.getrandbits(32 * draws).to_bytes(4 * draws, "little")[:k]


def draw_words(rng: random.Random, k: int) -> list[str]:
    """``k`` vocabulary words drawn at random from ``rng``: one random byte per word,
    looked up in C (a prompt is drawn on the client's hot path, and drawing its words one
    ``random()`` at a time cost more than sending it). The table is the vocabulary
    itself, small enough to stay in the processor's cache between prompts. Every word is
    uniform and independent of the others, and the first ``j`` words of a draw of ``k``
    are what a draw of ``j`` gives."""
    if k <= 0:
        return []
    if k == 1:
        return [VOCABULARY[_picks(rng, 1)[0]]]
    return list(operator.itemgetter(*_picks(rng, k))(VOCABULARY))


def draw_text(rng: random.Random, k: int) -> str:
    """The words of :func:`draw_words` (the same words from the same ``rng`` state), one
    space apart, without making a list of them."""
    if k <= 1:
        return " ".join(draw_words(rng, k))
    return " ".join(operator.itemgetter(*_picks(rng, k))(VOCABULARY))


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
    #: With ``word_costs``: the dearest word's cost, and for each budget below it the words
    #: that fit (vocabulary order). Worked out once: a prompt is sized on the hot path.
    _dearest: int = attrs.field(init=False, repr=False, eq=False)
    _fitting: tuple[tuple[str, ...], ...] = attrs.field(init=False, repr=False, eq=False)

    @_dearest.default
    def _dearest_cost(self) -> int:
        costs = self.word_costs
        return 1 if costs is None else max(costs[w] for w in VOCABULARY)

    @_fitting.default
    def _words_that_fit(self) -> tuple[tuple[str, ...], ...]:
        costs = self.word_costs
        if costs is None:
            return ()
        return tuple(tuple(w for w in VOCABULARY if costs[w] <= budget)
                     for budget in range(self._dearest))

    def words(self, rng: random.Random, target: int) -> tuple[list[str], int]:
        """Random words whose prompt is ``target`` tokens, and its planned token count."""
        costs = self.word_costs
        if costs is None:
            n, planned = self._by_rate(target)
            return draw_words(rng, n), planned
        return self._exact(rng, target, costs)

    def text(self, rng: random.Random, target: int) -> tuple[str, int]:
        """:meth:`words` joined by spaces (the same words from the same ``rng`` state),
        without making a list of them when the sizing is by rate."""
        costs = self.word_costs
        if costs is None:
            n, planned = self._by_rate(target)
            return draw_text(rng, n), planned
        words, planned = self._exact(rng, target, costs)
        return " ".join(words), planned

    def _by_rate(self, target: int) -> tuple[int, int]:
        """How many words make ``target`` tokens at the average rate, and their planned
        token count."""
        n = max(1, round((target - self.overhead) / self.tokens_per_word))
        return n, max(1, round(self.overhead + n * self.tokens_per_word))

    def _exact(self, rng: random.Random, target: int,
               costs: Mapping[str, int]) -> tuple[list[str], int]:
        # Draw words until the budget is spent; a word that would overshoot is swapped
        # for one that fits, so the prompt lands on the target when a 1-token word exists.
        remaining = target - round(self.overhead)
        words: list[str] = []
        planned = round(self.overhead)
        # While even the dearest word fits, draw in batches that cannot overshoot: one
        # call per batch rather than per word (a prompt is sized on the client's hot path).
        dearest = self._dearest
        while remaining >= dearest:
            batch = draw_words(rng, remaining // dearest)
            spent = sum(map(costs.__getitem__, batch))
            words += batch
            remaining -= spent
            planned += spent
        while remaining > 0 or not words:
            word = rng.choice(VOCABULARY)
            if costs[word] > remaining > 0:
                # remaining < dearest here: every budget it can be is in the table.
                fitting = self._fitting[remaining]
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
    """One prompt: its text, its length in tokens (the system prompt's included), the
    output length to ask for, and the system prompt sent before it (or None)."""

    text: str
    input_tokens: int
    max_tokens: int | None
    system: str | None = None


#: Words in a run's salt: 256**4 (about 4.3e9) different salts.
SALT_WORDS = 4


def new_salt() -> tuple[str, ...]:
    """A run's salt: vocabulary words drawn from the operating system's randomness (not
    the seed: two runs with one seed must differ here)."""
    rng = random.Random(int.from_bytes(os.urandom(8), "big"))
    return tuple(rng.choices(VOCABULARY, k=SALT_WORDS))


def _length(rng: random.Random, mean: float, stddev: float) -> int:
    if stddev <= 0:
        return max(1, round(mean))
    return max(1, round(rng.gauss(mean, stddev)))


@attrs.frozen
class SyntheticPrompts:
    """An endless, reproducible stream of random-word prompts (the salt aside).

    ``system_prompt_length`` tokens of one shared system prompt; ``prefix_prompts``
    prefixes of ``prefix_length`` tokens, one drawn per request and put first; then as
    many words as ``salt`` holds, drawn for each prompt from it (so each run's differ).
    The ISL counts the salt and the request's own words; the system prompt and the prefix
    come on top, and ``input_tokens`` counts everything sent.
    """

    isl_mean: int
    isl_stddev: float
    osl_mean: int | None
    osl_stddev: float
    seed: int
    sizer: PromptSizer = BUILTIN_SIZER
    system_prompt_length: int | None = None
    prefix_prompts: int | None = None
    prefix_length: int | None = None
    salt: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Prompt]:
        rng = random.Random(self.seed)
        system: str | None = None
        system_tokens = 0
        if self.system_prompt_length:
            system, system_tokens = self._shared("system", self.system_prompt_length)
        pool = [self._shared(f"prefix-{g}", self.prefix_length)
                for g in range(self.prefix_prompts or 0)] if self.prefix_length else []
        # Each prompt's salt words are drawn from the run's salt: they differ from prompt
        # to prompt, so what they cost the server's tokenizer averages out like the rest
        # of the prompt (one fixed salt would put the same error in every prompt).
        salt_rng = random.Random("-".join(self.salt))
        while True:
            n = _length(rng, self.isl_mean, self.isl_stddev)
            # The salt is part of the ISL, so a salted prompt is as long as an unsalted one
            # (a prompt too short for the whole salt keeps what fits).
            drawn = tuple(salt_rng.choices(VOCABULARY, k=len(self.salt)))
            salt = drawn if n > self._cost(drawn) else drawn[:max(0, n - 1)]
            cost = self._cost(salt)
            own, planned = self.sizer.text(rng, max(1, n - cost))
            osl = None if self.osl_mean is None else _length(rng, self.osl_mean,
                                                               self.osl_stddev)
            # The prefix, the salt and the words, one space apart.
            text = own
            if salt:
                text = " ".join(salt) + " " + text
            planned += cost + system_tokens
            if pool:
                prefix, prefix_tokens = pool[rng.randrange(len(pool))]
                text = prefix + " " + text
                planned += prefix_tokens
            yield Prompt(text, planned, osl, system)

    def _shared(self, name: str, length: int) -> tuple[str, int]:
        """A shared text of ``length`` tokens (the same in every run with this seed), and
        its planned token count less the server's per-prompt overhead (it is part of a
        prompt that already pays it)."""
        text, planned = self.sizer.text(random.Random(f"{self.seed}-{name}"), length)
        return text, max(0, planned - round(self.sizer.overhead))

    def _cost(self, words: tuple[str, ...]) -> int:
        """What ``words`` cost in the sizer's tokens."""
        costs = self.sizer.word_costs
        if costs is not None:
            return sum(costs[w] for w in words)
        return round(len(words) * self.sizer.tokens_per_word)


def jsonl_objects(path: Path, what: str) -> Iterator[tuple[int, Any]]:
    """Each non-blank line of a JSONL file, parsed, with its line number; DatasetError
    naming the file (``what`` it is) and line when it cannot be read or a line is not
    JSON."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read {what}: {e}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{path}:{n}: not valid JSON ({e.msg})") from None


def read_prompt_file(path: Path, count: Tokenizer, osl_mean: int | None) -> list[Prompt]:
    """Prompts from a JSONL file: one object per line with ``text`` (or ``prompt``) and,
    optionally, ``max_tokens`` (else the configured OSL)."""
    prompts = []
    for n, obj in jsonl_objects(path, "input file"):
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


@attrs.frozen
class Turn:
    """One turn of a conversation: its prompt, and the think time before it (seconds
    after the previous turn's answer)."""

    prompt: Prompt
    delay_s: float = 0.0


@attrs.frozen
class Conversation:
    """A conversation from a file: its id there (None when it has none) and its turns."""

    session_id: str | None
    turns: tuple[Turn, ...]


def read_conversations(path: Path, count: Tokenizer, osl_mean: int | None
                       ) -> list[Conversation]:
    """Conversations from a JSONL file (``--custom-dataset-type multi_turn``): one object
    per line with ``turns``, a list of ``{"text": ..., "delay": ms, "max_tokens": N}``
    (``texts``, a list, is joined), and optionally ``session_id``."""
    out = []
    for n, obj in jsonl_objects(path, "input file"):
        turns = obj.get("turns") if isinstance(obj, dict) else None
        if not isinstance(turns, list) or not turns:
            raise DatasetError(f"{path}:{n}: expected an object with a non-empty 'turns' list")
        sid = obj.get("session_id")
        out.append(Conversation(None if sid is None else str(sid),
                                tuple(_turn(t, path, n, count, osl_mean) for t in turns)))
    if not out:
        raise DatasetError(f"{path}: no conversations in the input file")
    return out


def _turn(raw: Any, path: Path, n: int, count: Tokenizer, osl_mean: int | None) -> Turn:
    where = f"{path}:{n}"
    texts = raw.get("texts") if isinstance(raw, dict) else None
    text = " ".join(texts) if isinstance(texts, list) and all(
        isinstance(t, str) for t in texts) else (raw.get("text") if isinstance(raw, dict)
                                                 else None)
    if not isinstance(text, str) or not text:
        raise DatasetError(f"{where}: every turn needs a non-empty 'text'")
    delay = raw.get("delay", 0)
    if not isinstance(delay, int | float) or isinstance(delay, bool) or delay < 0:
        raise DatasetError(f"{where}: a turn's delay must be a number of milliseconds >= 0")
    max_tokens = raw.get("max_tokens", osl_mean)
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise DatasetError(f"{where}: max_tokens must be a positive integer")
    return Turn(Prompt(text, count(text), max_tokens), delay / 1000)
