"""Response bodies in the OpenAI formats, and the SSE chunks of a streamed answer.

Every output token is a short lowercase word followed by a space, so a whitespace tokenizer
counts exactly one token per chunk. Streamed chunks are built from pre-rendered JSON pieces
(the words never need escaping): the simulator writes tens of thousands of them a second
and ``json.dumps`` per chunk would be most of its cost.

Servers disagree on the details of a stream (a role chunk or not, where ``finish_reason``
and ``usage`` go); :class:`StreamShape` names those details and
:mod:`aiperf.sim.profiles` gives each imitated server its own.
"""

from __future__ import annotations

import functools
import json
import random
import string
from typing import Any

import attrs

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


def usage(prompt_tokens: int, completion_tokens: int, reasoning_tokens: int = 0, *,
          cached_details: bool = False, cached_tokens: int = 0) -> dict[str, Any]:
    """An OpenAI ``usage`` object; ``completion_tokens`` includes the reasoning tokens.

    ``cached_details`` adds ``prompt_tokens_details.cached_tokens`` (the prompt tokens
    found in the prefix cache), as OpenAI and llama.cpp report it.
    """
    body: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if reasoning_tokens:
        body["completion_tokens_details"] = {"reasoning_tokens": reasoning_tokens}
    if cached_details:
        body["prompt_tokens_details"] = {"cached_tokens": cached_tokens}
    return body


def error(message: str, *, type: str, code: int, param: str | None = None) -> dict[str, Any]:
    """An OpenAI error body."""
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def models(model: str, created: int, owned_by: str = "aiperf") -> dict[str, Any]:
    """The ``GET /v1/models`` body."""
    return {"object": "list",
            "data": [{"id": model, "object": "model", "created": created, "owned_by": owned_by}]}


def embeddings(model: str, input_tokens: tuple[int, ...], dim: int) -> dict[str, Any]:
    """The ``POST /v1/embeddings`` body: one vector per input, derived from its length."""
    data = [{"object": "embedding", "index": i,
             "embedding": [((j * 7919 + n * 104729 + i) % 2000) / 1000.0 - 1.0
                           for j in range(dim)]}
            for i, n in enumerate(input_tokens)]
    total = sum(input_tokens)
    return {"object": "list", "data": data, "model": model,
            "usage": {"prompt_tokens": total, "total_tokens": total}}


def _one_slot(template: str) -> None:
    if template.count("%s") != 1:
        raise ValueError(f"a delta template needs exactly one %s: {template!r}")


@attrs.frozen
class StreamShape:
    """Where a server puts what in its SSE chunks and bodies.

    JSON fragments are inserted verbatim (they are fixed text, rendered once):

    - ``role_delta``: the delta of the chat stream's opening role-only chunk; None sends
      no such chunk.
    - ``content_delta`` / ``reasoning_delta``: a token's delta, ``%s`` standing for its text.
    - ``finish_delta``: None puts a chat stream's ``finish_reason`` on its last token's
      chunk; a delta sends it on a closing chunk of its own, after the last token.
    - ``completion_finish_chunk``: a completion stream's ``finish_reason`` comes on a
      closing chunk with empty text instead of on the last token's chunk.
    - ``completion_usage_always``: ``usage`` rides on the finishing chunk of every
      completion stream, asked for or not, and no separate usage chunk is sent.
    - ``completion_pending_finish``: ``finish_reason`` (JSON) of a completion chunk before
      the end.
    - ``choice_extra``: members added to every streamed choice, each with a leading comma.
    - ``top_fields``: string members added to every chunk and body (``system_fingerprint``).
    - ``id_override``: the ``id`` of every chunk and body instead of the request's.
    - ``cached_details``: usage objects carry ``prompt_tokens_details.cached_tokens``.
    """

    role_delta: str | None = '{"role":"assistant","content":""}'
    content_delta: str = attrs.field(default='{"content":"%s"}',
                                     validator=lambda _s, _a, v: _one_slot(v))
    reasoning_delta: str = attrs.field(default='{"reasoning_content":"%s"}',
                                       validator=lambda _s, _a, v: _one_slot(v))
    finish_delta: str | None = None
    completion_finish_chunk: bool = False
    completion_usage_always: bool = False
    completion_pending_finish: str = "null"
    choice_extra: str = ""
    top_fields: tuple[tuple[str, str], ...] = ()
    id_override: str | None = None
    cached_details: bool = False


#: OpenAI's (and vLLM's) stream: role chunk, finish_reason on the last token, usage on
#: request in a final chunk with no choices.
OPENAI_STREAM = StreamShape()


class Answer:
    """One request's answer: its identity, its token texts, streamed chunks and full body.

    Tokens ``0 .. reasoning - 1`` are reasoning (chat only), the rest the answer proper.
    A stream is ``opening() + chunks(0, total) + closing(include_usage)``.
    """

    def __init__(self, endpoint: Endpoint, request_id: str, model: str, created: int, *,
                 reasoning: int, content: int, chars_per_token: int, finish_reason: str,
                 prompt_tokens: int = 0, cached_tokens: int = 0,
                 shape: StreamShape = OPENAI_STREAM) -> None:
        self.endpoint = endpoint
        self.request_id = request_id if shape.id_override is None else shape.id_override
        self.model = model
        self.created = created
        self.reasoning = reasoning
        self.total = reasoning + content
        self.chars_per_token = chars_per_token
        self.finish_reason = finish_reason
        self.prompt_tokens = prompt_tokens
        self.cached_tokens = cached_tokens
        self.shape = shape
        self._vocab = vocabulary(chars_per_token)
        chat = endpoint == "chat"
        self._object = "chat.completion" if chat else "text_completion"
        chunk_object = "chat.completion.chunk" if chat else "text_completion"
        extra = "".join(f",{json.dumps(k)}:{json.dumps(v)}" for k, v in shape.top_fields)
        self._head = (f'data: {{"id":{json.dumps(self.request_id)},"object":"{chunk_object}",'
                      f'"created":{created},"model":{json.dumps(model)}{extra},"choices":')
        self._separate_finish = (shape.finish_delta is not None if chat
                                 else shape.completion_finish_chunk)
        self._usage_always = not chat and shape.completion_usage_always
        pending = "null" if chat else shape.completion_pending_finish
        # A token's event is these fixed pieces around its text (the hot path: no format
        # or join per token beyond plain concatenation).
        self._open = self._head + '[{"index":0,'
        self._pending_close = (f',"logprobs":null,"finish_reason":{pending}'
                               f'{shape.choice_extra}}}]}}\n\n')
        self._text = (('"text":"', '"') if not chat
                      else tuple(('"delta":' + shape.content_delta).split("%s")))
        self._reasoning_text = tuple(('"delta":' + shape.reasoning_delta).split("%s"))

    # -- streaming -------------------------------------------------------------------------

    def _event(self, choices: list[str], *, with_usage: bool = False) -> str:
        tail = f',"usage":{self._usage_json()}' if with_usage else ""
        return f"{self._head}[{','.join(choices)}]{tail}}}\n\n"

    def _choice(self, body: str, finish: str) -> str:
        return (f'{{"index":0,{body},"logprobs":null,"finish_reason":{finish}'
                f'{self.shape.choice_extra}}}')

    def _usage_json(self) -> str:
        return json.dumps(self._usage(), separators=(",", ":"))

    def _usage(self) -> dict[str, Any]:
        return usage(self.prompt_tokens, self.total, self.reasoning,
                     cached_details=self.shape.cached_details, cached_tokens=self.cached_tokens)

    def opening(self) -> bytes:
        """What a stream starts with: a chat stream's role-only chunk, where the server
        sends one (empty otherwise)."""
        if self.endpoint != "chat" or self.shape.role_delta is None:
            return b""
        return self._event([self._choice(f'"delta":{self.shape.role_delta}', "null")]).encode()

    def chunks(self, first: int, count: int) -> bytes:
        """SSE events for tokens ``first .. first + count - 1``, one event per token."""
        parts = []
        last = self.total - 1
        vocab, opening, closing = self._vocab, self._open, self._pending_close
        for i in range(first, first + count):
            before, after = self._reasoning_text if i < self.reasoning else self._text
            body = before + vocab[i % _VOCABULARY_SIZE] + after
            if i == last and not self._separate_finish:
                parts.append(self._event([self._choice(body, f'"{self.finish_reason}"')],
                                         with_usage=self._usage_always))
            else:
                parts.append(opening + body + closing)
        return "".join(parts).encode()

    def closing(self, include_usage: bool) -> bytes:
        """What follows the last token: the server's own finish chunk if it sends one, the
        usage chunk when due, and ``[DONE]``."""
        parts = []
        if self._separate_finish:
            body = f'"delta":{self.shape.finish_delta}' if self.endpoint == "chat" else '"text":""'
            parts.append(self._event([self._choice(body, f'"{self.finish_reason}"')],
                                     with_usage=self._usage_always))
        if include_usage and not self._usage_always:
            parts.append(self._event([], with_usage=True))
        return "".join(parts).encode() + DONE

    def usage_chunk(self) -> bytes:
        """The usage-only chunk (``choices: []``) of ``stream_options.include_usage``."""
        return self._event([], with_usage=True).encode()

    def malformed_chunk(self) -> bytes:
        """An SSE event whose data is cut-off JSON."""
        return f'{self._head}[{{"index":0,"delta":{{"content":\n\n'.encode()

    # -- non-streaming ---------------------------------------------------------------------

    def body(self) -> dict[str, Any]:
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
        body: dict[str, Any] = {"id": self.request_id, "object": self._object,
                                "created": self.created, "model": self.model}
        body.update(self.shape.top_fields)
        body["choices"] = [choice]
        body["usage"] = self._usage()
        return body
