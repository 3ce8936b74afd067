"""Response bodies in the OpenAI formats, and the SSE chunks of a streamed answer.

Every output token is a short lowercase word followed by a space, so a whitespace tokenizer
counts exactly one token per chunk. Streamed chunks are built from pre-rendered JSON pieces
(the words never need escaping): the simulator writes tens of thousands of them a second
and ``json.dumps`` per chunk would be most of its cost.
"""

from __future__ import annotations

import functools
import json
import random
import string
from typing import Any

from aiperf.sim.inputs import Endpoint

DONE = b"data: [DONE]\n\n"
_VOCABULARY_SIZE = 64


@functools.lru_cache(maxsize=8)
def vocabulary(chars_per_token: int) -> tuple[str, ...]:
    """The output words: ``chars_per_token - 1`` letters and a space each."""
    rng = random.Random(chars_per_token)  # fixed text for a given size, run after run
    letters = string.ascii_lowercase
    return tuple("".join(rng.choice(letters) for _ in range(chars_per_token - 1)) + " "
                 for _ in range(_VOCABULARY_SIZE))


def words(chars_per_token: int, first: int, count: int) -> str:
    """The text of tokens ``first .. first + count - 1`` of an answer."""
    vocab = vocabulary(chars_per_token)
    return "".join(vocab[i % _VOCABULARY_SIZE] for i in range(first, first + count))


def usage(prompt_tokens: int, completion_tokens: int, reasoning_tokens: int = 0) -> dict[str, Any]:
    """An OpenAI ``usage`` object; ``completion_tokens`` includes the reasoning tokens."""
    body: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if reasoning_tokens:
        body["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    return body


def error(message: str, *, type: str, code: int, param: str | None = None) -> dict[str, Any]:
    """An OpenAI error body."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def models(model: str, created: int) -> dict[str, Any]:
    """The ``GET /v1/models`` body."""
    return {"object": "list",
            "data": [{"id": model, "object": "model", "created": created, "owned_by": "aiperf"}]}


def embeddings(model: str, input_tokens: tuple[int, ...], dim: int) -> dict[str, Any]:
    """The ``POST /v1/embeddings`` body: one vector per input, derived from its length."""
    data = [{"object": "embedding", "index": i,
             "embedding": [((j * 7919 + n * 104729 + i) % 2000) / 1000.0 - 1.0
                           for j in range(dim)]}
            for i, n in enumerate(input_tokens)]
    total = sum(input_tokens)
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": total, "total_tokens": total}}


class Answer:
    """One request's answer: its identity, its token texts, streamed chunks and full body.

    Tokens ``0 .. reasoning - 1`` are reasoning (chat only), the rest the answer proper.
    """

    def __init__(self, endpoint: Endpoint, request_id: str, model: str, created: int, *,
                 reasoning: int, content: int, chars_per_token: int, finish_reason: str) -> None:
        self.endpoint = endpoint
        self.request_id = request_id
        self.model = model
        self.created = created
        self.reasoning = reasoning
        self.total = reasoning + content
        self.chars_per_token = chars_per_token
        self.finish_reason = finish_reason
        self._vocab = vocabulary(chars_per_token)
        self._object = "chat.completion" if endpoint == "chat" else "text_completion"
        chunk_object = "chat.completion.chunk" if endpoint == "chat" else "text_completion"
        self._head = (f'data: {{"id":{json.dumps(request_id)},"object":"{chunk_object}",'
                      f'"created":{created},"model":{json.dumps(model)},"choices":')

    # -- streaming -------------------------------------------------------------------------

    def _choice(self, delta: str, finish: str | None) -> str:
        finish_json = "null" if finish is None else f'"{finish}"'
        choice = f'{{"index":0,{delta},"logprobs":null,"finish_reason":{finish_json}}}'
        return f"{self._head}[{choice}]}}\n\n"

    def role_chunk(self) -> bytes:
        """The chat stream's opening chunk (role, empty content), as OpenAI and vLLM send it."""
        return self._choice('"delta":{"role":"assistant","content":""}', None).encode()

    def chunks(self, first: int, count: int) -> bytes:
        """SSE events for tokens ``first .. first + count - 1``, one event per token."""
        parts = []
        for i in range(first, first + count):
            word = self._vocab[i % _VOCABULARY_SIZE]
            if self.endpoint != "chat":
                delta = f'"text":"{word}"'
            elif i < self.reasoning:
                delta = f'"delta":{{"reasoning_content":"{word}"}}'
            else:
                delta = f'"delta":{{"content":"{word}"}}'
            parts.append(self._choice(delta, self.finish_reason if i == self.total - 1 else None))
        return "".join(parts).encode()

    def usage_chunk(self, prompt_tokens: int) -> bytes:
        """The final usage-only chunk (``choices: []``) for ``stream_options.include_usage``."""
        body = json.dumps(usage(prompt_tokens, self.total, self.reasoning), separators=(",", ":"))
        return f'{self._head}[],"usage":{body}}}\n\n'.encode()

    def malformed_chunk(self) -> bytes:
        """An SSE event whose data is cut-off JSON."""
        return f'{self._head}[{{"index":0,"delta":{{"content":\n\n'.encode()

    # -- non-streaming ---------------------------------------------------------------------

    def body(self, prompt_tokens: int) -> dict[str, Any]:
        """The complete (non-streamed) response body."""
        text = words(self.chars_per_token, self.reasoning, self.total - self.reasoning)
        choice: dict[str, Any] = {"index": 0, "logprobs": None, "finish_reason": self.finish_reason}
        if self.endpoint == "chat":
            choice["message"] = {"role": "assistant", "content": text}
            if self.reasoning:
                choice["message"]["reasoning_content"] = words(self.chars_per_token, 0,
                                                               self.reasoning)
        else:
            choice["text"] = text
        return {"id": self.request_id, "object": self._object, "created": self.created,
                "model": self.model, "choices": [choice],
                "usage": usage(prompt_tokens, self.total, self.reasoning)}
