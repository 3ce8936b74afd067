"""What an OpenAI request asks for: its input length, output length and streaming flags.

Token counting: the simulator has no tokenizer. One input token is one whitespace-separated
word of the prompt (all message contents for chat; the prompt for completions; each input
for embeddings; a list of token ids counts one per id). aiperf's built-in offline tokenizer
is word-like too, so client and server counts agree; a real model's tokenizer would not.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

Endpoint = Literal["chat", "completions", "embeddings"]


class BadRequest(ValueError):
    """The request body is not a valid request for this endpoint (answered with HTTP 400)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@attrs.frozen
class Request:
    """The parts of a request body that shape the simulated answer.

    ``input_tokens`` has one count per input: a single one for chat and completions, one
    per embedding input.
    """

    endpoint: Endpoint
    model: str | None
    input_tokens: tuple[int, ...]
    max_tokens: int | None = None
    stream: bool = False
    include_usage: bool = False

    @property
    def isl(self) -> int:
        """Total input tokens."""
        return sum(self.input_tokens)


def count_words(text: str) -> int:
    """Input tokens in ``text``: its whitespace-separated words."""
    return len(text.split())


def _content_words(content: Any) -> int:
    if content is None:
        return 0
    if isinstance(content, str):
        return count_words(content)
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        return sum(count_words(p.get("text") or "") for p in content if isinstance(p, dict))
    raise BadRequest("message content must be a string or a list of content parts",
                     "messages")


def _prompt_tokens(prompt: Any, param: str) -> tuple[int, ...]:
    """One count per input: a string, a list of token ids, or a list of either."""
    if isinstance(prompt, str):
        return (count_words(prompt),)
    if isinstance(prompt, list) and prompt and all(isinstance(t, int) for t in prompt):
        return (len(prompt),)
    if isinstance(prompt, list) and prompt:
        counts: list[int] = []
        for item in prompt:
            if isinstance(item, str):
                counts.append(count_words(item))
            elif isinstance(item, list) and all(isinstance(t, int) for t in item):
                counts.append(len(item))
            else:
                raise BadRequest(f"'{param}' items must be strings or lists of token ids", param)
        return tuple(counts)
    raise BadRequest(f"'{param}' must be a non-empty string or list", param)


def _max_tokens(body: dict[str, Any]) -> int | None:
    # Chat prefers the newer name; both are accepted everywhere, as servers such as vLLM do.
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise BadRequest(f"'{name}' must be a whole number >= 1", name)
        return value
    return None


def parse(endpoint: Endpoint, body: Any) -> Request:
    """Read a decoded JSON body; raise :class:`BadRequest` when it is not a valid request."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    model = body.get("model")
    if endpoint == "embeddings":
        if "input" not in body:
            raise BadRequest("'input' is required", "input")
        return Request(endpoint, model, _prompt_tokens(body["input"], "input"))
    if endpoint == "chat":
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest("'messages' must be a non-empty list", "messages")
        if not all(isinstance(m, dict) for m in messages):
            raise BadRequest("each message must be an object", "messages")
        inputs: tuple[int, ...] = (sum(_content_words(m.get("content")) for m in messages),)
    else:
        if "prompt" not in body:
            raise BadRequest("'prompt' is required", "prompt")
        inputs = (sum(_prompt_tokens(body["prompt"], "prompt")),)
    stream_options = body.get("stream_options") or {}
    return Request(
        endpoint, model, inputs,
        max_tokens=_max_tokens(body),
        stream=bool(body.get("stream", False)),
        include_usage=bool(isinstance(stream_options, dict)
                           and stream_options.get("include_usage")),
    )
