"""What an OpenAI request asks for: its input length, output length and streaming flags.

Token counting follows a :class:`~aiperf.sim.tokenizer.PromptTokens` rule. The default,
:data:`~aiperf.sim.tokenizer.WORDS`, counts one input token per whitespace-separated word
(all message contents for chat; the prompt for completions; each input for embeddings),
which aiperf's built-in offline tokenizer agrees with. Server profiles count like a real
server instead: longer words cost more, a chat adds its template, a text prompt its BOS.
A list of token ids always counts one per id.
"""

from __future__ import annotations

from typing import Any, Literal

import attrs

from aiperf.sim.tokenizer import WORDS, PromptTokens

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


def content_text(content: Any) -> str:
    """The text of a chat message's content: a string, or its text parts joined by spaces."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}, ...]
        return " ".join(p.get("text") or "" for p in content if isinstance(p, dict))
    raise BadRequest("message content must be a string or a list of content parts",
                     "messages")


def _prompt_tokens(prompt: Any, param: str, tokens: PromptTokens) -> tuple[int, ...]:
    """One count per input: a string, a list of token ids, or a list of either."""
    if isinstance(prompt, str):
        return (tokens.prompt(tokens.count(prompt)),)
    if isinstance(prompt, list) and prompt and all(isinstance(t, int) for t in prompt):
        return (len(prompt),)
    if isinstance(prompt, list) and prompt:
        counts: list[int] = []
        for item in prompt:
            if isinstance(item, str):
                counts.append(tokens.prompt(tokens.count(item)))
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


def chat_messages(body: dict[str, Any]) -> list[str]:
    """The content texts of a body's ``messages``; :class:`BadRequest` when malformed."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty list", "messages")
    if not all(isinstance(m, dict) for m in messages):
        raise BadRequest("each message must be an object", "messages")
    return [content_text(m.get("content")) for m in messages]


def parse(endpoint: Endpoint, body: Any, tokens: PromptTokens = WORDS) -> Request:
    """Read a decoded JSON body; raise :class:`BadRequest` when it is not a valid request.

    ``tokens`` is the server's rule for counting prompt tokens.
    """
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    model = body.get("model")
    if endpoint == "embeddings":
        if "input" not in body:
            raise BadRequest("'input' is required", "input")
        return Request(endpoint, model, _prompt_tokens(body["input"], "input", tokens))
    if endpoint == "chat":
        contents = chat_messages(body)
        inputs: tuple[int, ...] = (
            tokens.chat(len(contents), sum(tokens.count(c) for c in contents)),)
    else:
        if "prompt" not in body:
            raise BadRequest("'prompt' is required", "prompt")
        inputs = (sum(_prompt_tokens(body["prompt"], "prompt", tokens)),)
    stream_options = body.get("stream_options") or {}
    return Request(
        endpoint, model, inputs,
        max_tokens=_max_tokens(body),
        stream=bool(body.get("stream", False)),
        include_usage=bool(isinstance(stream_options, dict)
                           and stream_options.get("include_usage")),
    )
