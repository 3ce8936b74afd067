"""Size synthetic prompts in the server's own tokens, before the run, with nothing downloaded.

A server counts a prompt with its tokenizer and adds its chat template (llama.cpp on a
128-word prompt: 217-276 prompt tokens). How ``benchmark.prompt_sizing`` was decided is
the rules' business (``rules/prompt-sizing.yaml``); this module carries it out:

- ``server``: ask the server's ``/tokenize`` (llama.cpp's ``{"content"}`` form, vLLM's and
  SGLang's ``{"model", "prompt"}``, TGI's ``{"inputs"}``; the count of an empty text is
  taken off, for servers that always add a BOS token) for the count of every vocabulary
  word, check
  that counts add up over whole sample prompts, and send one request with ``max_tokens``
  1 whose ``usage.prompt_tokens`` gives the template's overhead. Prompts are then exact.
  A server without ``/tokenize`` falls through to calibration requests.
- ``calibration``: requests with ``max_tokens`` 1 whose prompts hold the whole vocabulary
  once, twice and once again (shuffled), so the measured tokens per word are exactly what
  uniformly drawn prompts average; the intercept is the template's overhead.
- ``file``: every vocabulary word counted by the ``--tokenizer`` file (no request; the
  template's overhead is unknown and taken as 0).
- ``builtin``: one token per word, as the built-in tokenizer counts.

Calibration requests are not part of the results; :class:`Calibration` lists them and
``run.json`` records it. When calibration fails the run falls back to built-in words and
says why.
"""

from __future__ import annotations

import asyncio
import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from aiperf.bench.dataset import BUILTIN_SIZER, VOCABULARY, PromptSizer
from aiperf.bench.payloads import ENDPOINT_PATHS, endpoint_url, request_body

#: Seconds each calibration request may take (a cold server may compile kernels first).
CALIBRATION_TIMEOUT_S = 60.0
#: /tokenize calls in flight at once while the vocabulary is counted.
TOKENIZE_PARALLEL = 8
#: Whole-prompt counts may differ from the sum of their words by this many tokens before
#: the words are judged not to count independently (then an average rate is used).
CONTEXT_TOLERANCE = 1


class CalibrationError(Exception):
    """The server could not be asked; the message says what went wrong."""


@attrs.frozen
class CalibrationRequest:
    """One request sent to size prompts (not part of the results)."""

    kind: str  # "tokenize" or "completion"
    words: int
    tokens: int | None


@attrs.frozen
class Calibration:
    """How prompts were sized, and what was sent to find out."""

    method: str  # builtin | file | server-tokenize | calibration-requests
    sizer: PromptSizer
    requests: tuple[CalibrationRequest, ...] = ()
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The record of this calibration that ``run.json`` keeps."""
        completions = [r for r in self.requests if r.kind == "completion"]
        tokenizes = [r for r in self.requests if r.kind == "tokenize"]
        return {
            "method": self.method,
            "tokens_per_word": self.sizer.tokens_per_word,
            "overhead_tokens": self.sizer.overhead,
            "exact_word_costs": self.sizer.word_costs is not None,
            "tokenize_calls": len(tokenizes),
            "calibration_requests": [attrs.asdict(r) for r in completions],
            "note": self.note,
        }


#: POST a JSON body to a URL: (status, decoded JSON or None). Raises on network failure.
PostJson = Callable[[str, Mapping[str, Any]], Any]


def server_root(base_url: str) -> str:
    """``http://h:8000/v1`` (or any endpoint URL under it) -> ``http://h:8000``."""
    base = base_url.rstrip("/")
    for path in ENDPOINT_PATHS.values():
        if base.endswith(path):
            base = base[: -len(path)]
            break
    return base[: -len("/v1")] if base.endswith("/v1") else base


def sizer_from_tokenizer(count: Callable[[str], int]) -> PromptSizer:
    """Exact word costs from a local tokenizer (the ``file`` method)."""
    costs = {w: max(1, count(" " + w)) for w in VOCABULARY}
    return PromptSizer(tokens_per_word=statistics.fmean(costs.values()), overhead=0.0,
                       word_costs=costs)


async def calibrate(method: str, post: PostJson, base_url: str, endpoint_type: str,
                    model: str | None, extra_inputs: Mapping[str, Any],
                    seed: int) -> Calibration:
    """Size prompts by ``method`` (``server`` or ``calibration``) against the server at
    ``base_url``; falls back to built-in words, with the reason in ``note``."""
    asker = _Asker(post, base_url, endpoint_type, model, extra_inputs, random.Random(seed))
    try:
        if method == "server":
            found = await asker.by_tokenize()
            if found is not None:
                return found
        return await asker.by_requests(
            "the server has no /tokenize endpoint" if method == "server" else None)
    except CalibrationError as e:
        return Calibration("builtin", BUILTIN_SIZER, tuple(asker.sent),
                           f"calibration failed ({e}); prompts are sized in built-in words")


@attrs.define
class _Asker:
    post: PostJson
    base_url: str
    endpoint_type: str
    model: str | None
    extra_inputs: Mapping[str, Any]
    rng: random.Random
    sent: list[CalibrationRequest] = attrs.Factory(list)
    _tokenize_body: Callable[[str], dict[str, Any]] | None = None

    async def by_tokenize(self) -> Calibration | None:
        """Exact word costs from ``/tokenize``; None when the server has no such endpoint."""
        if not await self._find_tokenize():
            return None
        semaphore = asyncio.Semaphore(TOKENIZE_PARALLEL)
        empty = await self._tokenize("")  # special tokens the server adds to any text

        async def cost(word: str) -> int:
            async with semaphore:
                return await self._tokenize(" " + word) - empty

        counts = await asyncio.gather(*(cost(w) for w in VOCABULARY))
        costs = {w: max(1, c) for w, c in zip(VOCABULARY, counts, strict=True)}
        samples = [self._shuffled_vocabulary(1) for _ in range(3)]
        offsets = []
        for words in samples:
            whole = await self._tokenize(" ".join(words))
            offsets.append(whole - sum(costs[w] for w in words))
        rate = statistics.fmean(costs.values())
        template = await self._template_overhead(samples[0], sum(costs[w] for w in samples[0])
                                                 + offsets[0])
        note = None if template is not None else (
            "the server reported no usage, so the chat template's overhead is unknown (0)")
        overhead = statistics.median(offsets) + (template or 0)
        if max(offsets) - min(offsets) > CONTEXT_TOLERANCE:
            # Words do not count independently (tokens merge across spaces): use the
            # average rate over whole prompts instead of per-word costs.
            whole_rate = statistics.fmean(
                (sum(costs[w] for w in s) + o) / len(s) for s, o in zip(samples, offsets,
                                                                       strict=True))
            return Calibration("server-tokenize",
                               PromptSizer(whole_rate, float(template or 0)),
                               tuple(self.sent), note)
        return Calibration("server-tokenize", PromptSizer(rate, float(overhead), costs),
                           tuple(self.sent), note)

    async def by_requests(self, why: str | None) -> Calibration:
        """Tokens per word and the template's overhead from ``usage.prompt_tokens``."""
        points = []
        for copies in (1, 2, 1):
            words = self._shuffled_vocabulary(copies)
            tokens = await self._prompt_tokens(words)
            if tokens is None:
                raise CalibrationError("the server reported no usage.prompt_tokens")
            points.append((len(words), tokens))
        slope, intercept = _fit(points)
        if slope <= 0:
            raise CalibrationError(f"prompt tokens did not grow with prompt length {points}")
        return Calibration("calibration-requests", PromptSizer(slope, max(0.0, intercept)),
                           tuple(self.sent), why)

    def _shuffled_vocabulary(self, copies: int) -> list[str]:
        words = list(VOCABULARY) * copies
        self.rng.shuffle(words)
        return words

    async def _find_tokenize(self) -> bool:
        """Which ``/tokenize`` dialect the server speaks, if any."""
        url = server_root(self.base_url) + "/tokenize"
        dialects: list[Callable[[str], dict[str, Any]]] = [
            lambda text: {"content": text, "add_special": False},  # llama.cpp
            lambda text: {"model": self.model, "prompt": text,  # vLLM, SGLang
                          "add_special_tokens": False},
            lambda text: {"inputs": text},  # TGI
        ]
        for dialect in dialects:
            try:
                status, answer = await self.post(url, dialect("time"))
            except (OSError, TimeoutError) as e:
                raise CalibrationError(f"{url}: {e}") from None
            except Exception:  # aiohttp's errors: no usable endpoint
                return False
            if status == 200 and _token_count(answer):
                self._tokenize_body = dialect
                return True
        return False

    async def _tokenize(self, text: str) -> int:
        assert self._tokenize_body is not None
        url = server_root(self.base_url) + "/tokenize"
        status, answer = await self._post(url, self._tokenize_body(text))
        count = _token_count(answer, empty_ok=not text) if status == 200 else None
        if count is None:
            raise CalibrationError(f"{url} answered HTTP {status} without tokens")
        self.sent.append(CalibrationRequest("tokenize", len(text.split()), count))
        return count

    async def _template_overhead(self, words: Sequence[str], text_tokens: int) -> int | None:
        tokens = await self._prompt_tokens(words)
        return None if tokens is None else tokens - text_tokens

    async def _prompt_tokens(self, words: Sequence[str]) -> int | None:
        """``usage.prompt_tokens`` of one request with ``max_tokens`` 1."""
        url = endpoint_url(self.base_url, self.endpoint_type)
        body = request_body(self.endpoint_type, model=self.model, prompt=" ".join(words),
                            osl=1, streaming=False, extra_inputs=self.extra_inputs)
        status, answer = await self._post(url, body)
        if status != 200:
            raise CalibrationError(f"a calibration request got HTTP {status}")
        usage = answer.get("usage") if isinstance(answer, dict) else None
        tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        tokens = tokens if isinstance(tokens, int) and tokens > 0 else None
        self.sent.append(CalibrationRequest("completion", len(words), tokens))
        return tokens

    async def _post(self, url: str, body: Mapping[str, Any]) -> tuple[int, Any]:
        try:
            return await self.post(url, body)
        except (OSError, TimeoutError) as e:
            raise CalibrationError(f"{url}: {e or type(e).__name__}") from None
        except Exception as e:  # aiohttp's own errors
            raise CalibrationError(f"{url}: {type(e).__name__}: {e}") from None


def _token_count(answer: Any, *, empty_ok: bool = False) -> int | None:
    """Tokens in a ``/tokenize`` answer: vLLM's ``count``, the ``tokens`` list, or TGI's
    list of tokens; None when there is none (no tokens for a text is not an answer, but
    an empty text may have none)."""
    count = None
    if isinstance(answer, list):
        count = len(answer)
    elif isinstance(answer, dict) and isinstance(answer.get("count"), int):
        count = answer["count"]
    elif isinstance(answer, dict) and isinstance(answer.get("tokens"), list):
        count = len(answer["tokens"])
    if count is None or (count == 0 and not empty_ok):
        return None
    return count


def _fit(points: Sequence[tuple[int, int]]) -> tuple[float, float]:
    """Least-squares slope and intercept of tokens against words."""
    xs = [float(x) for x, _ in points]
    ys = [float(y) for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    return slope, my - slope * mx
