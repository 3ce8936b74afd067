"""What an OpenAI request asks for: its input length, output length and streaming flags.

Token counting follows a :class:`~aiperf.sim.tokenizer.PromptTokens` rule. The default,
:data:`~aiperf.sim.tokenizer.WORDS`, counts one input token per whitespace-separated word
(all message contents for chat; the prompt for completions; each input for embeddings),
which aiperf's built-in offline tokenizer agrees with. Server profiles count like a real
server instead: longer words cost more, a chat adds its template, a text prompt its BOS.
A list of token ids always counts one per id.

Each prompt is also rendered as a sequence of hashable tokens, for the prefix cache
(:mod:`aiperf.sim.prefix_cache`): exactly as many as it counts. A chat is its messages in
order, each its template tokens and content pieces tagged with the message's index and
role (so the same words under another role, or split across messages differently, are
another prompt); a text is its BOS and pieces; token ids are themselves.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Literal

import attrs

from aiperf.sim.tokenizer import WORDS, PromptTokens

Endpoint = Literal["chat", "completions", "embeddings"]
Prompt = tuple[Hashable, ...]
# Template and BOS tokens: they hold a space, so no whitespace-split piece equals them.
_BOS = " bos"
_TEMPLATE = " template"


class BadRequest(ValueError):
    """The request body is not a valid request for this endpoint (answered with HTTP 400)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@attrs.frozen
class Request:
    """The parts of a request body that shape the simulated answer.

    ``input_tokens`` has one count per input: a single one for chat and completions, one
    per embedding input; ``prompts`` the rendered tokens of each input (chat and
    completions only). ``cache_prompt`` is llama.cpp's request field (false: no prefix
    reuse for this request).
    """

    endpoint: Endpoint
    model: str | None
    input_tokens: tuple[int, ...]
    max_tokens: int | None = None
    stream: bool = False
    include_usage: bool = False
    prompts: tuple[Prompt, ...] = ()
    cache_prompt: bool = True

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


def _text_prompt(text: str, tokens: PromptTokens) -> Prompt:
    return (_BOS,) * tokens.bos + tuple(tokens.pieces(text))


def _prompts(prompt: Any, param: str, tokens: PromptTokens) -> tuple[Prompt, ...]:
    """One rendered prompt per input: a string, a list of token ids, or a list of either."""
    if isinstance(prompt, str):
        return (_text_prompt(prompt, tokens),)
    if isinstance(prompt, list) and prompt and all(isinstance(t, int) for t in prompt):
        return (tuple(prompt),)
    if isinstance(prompt, list) and prompt:
        out: list[Prompt] = []
        for item in prompt:
            if isinstance(item, str):
                out.append(_text_prompt(item, tokens))
            elif isinstance(item, list) and all(isinstance(t, int) for t in item):
                out.append(tuple(item))
            else:
                raise BadRequest(f"'{param}' items must be strings or lists of token ids", param)
        return tuple(out)
    raise BadRequest(f"'{param}' must be a non-empty string or list", param)


def _chat_prompt(messages: list[dict[str, Any]], tokens: PromptTokens) -> Prompt:
    """The chat rendered in order: template, then each message's role tokens and content."""
    out: list[Hashable] = [_TEMPLATE] * tokens.chat_preamble
    for i, message in enumerate(messages):
        role = str(message.get("role"))
        out += [(i, role, _TEMPLATE)] * tokens.chat_per_message
        out += [(i, role, piece) for piece in tokens.pieces(content_text(message.get("content")))]
    return tuple(out)


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
        counts = tuple(len(p) for p in _prompts(body["input"], "input", tokens))
        return Request(endpoint, model, counts)
    if endpoint == "chat":
        chat_messages(body)  # validates
        prompts: tuple[Prompt, ...] = (_chat_prompt(body["messages"], tokens),)
    else:
        if "prompt" not in body:
            raise BadRequest("'prompt' is required", "prompt")
        prompts = _prompts(body["prompt"], "prompt", tokens)
    stream_options = body.get("stream_options") or {}
    return Request(
        endpoint, model, (sum(len(p) for p in prompts),),
        prompts=prompts, cache_prompt=body.get("cache_prompt") is not False,
        max_tokens=_max_tokens(body),
        stream=bool(body.get("stream", False)),
        include_usage=bool(isinstance(stream_options, dict)
                           and stream_options.get("include_usage")),
    )
