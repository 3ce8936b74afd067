"""``POST /tokenize`` as each imitated server takes and answers it (pure: body in, JSON out).

- llama.cpp: ``{"content": str, "add_special": bool = false, "with_pieces": bool = false}``
  -> ``{"tokens": [int, ...]}``, or with pieces ``{"tokens": [{"id": int, "piece": str}]}``.
- vLLM: ``{"model"?, "prompt": str, "add_special_tokens": bool = true}`` or ``{"model"?,
  "messages": [...], "add_special_tokens": bool = false}`` -> ``{"count": n,
  "max_model_len": m, "tokens": [...]}``; messages are counted with the chat template, so
  ``count`` equals the ``prompt_tokens`` of a chat request with those messages.
- SGLang: ``{"model"?, "prompt": str | [str, ...], "add_special_tokens": bool = true}`` ->
  ``{"tokens": [...], "count": n, "max_model_len": m}`` (lists of both for a list prompt).
- TGI: ``{"inputs": str, ...}`` -> ``[{"id": int, "text": str, "start": int, "stop": int}]``,
  BOS first (TGI's tokenizer adds it).

Without special tokens, the ids of a text are exactly
:meth:`~aiperf.sim.tokenizer.PromptTokens.count` of it; with them, one more (BOS).
"""

from __future__ import annotations

import re
from typing import Any

from aiperf.sim.inputs import BadRequest, chat_messages
from aiperf.sim.tokenizer import BOS_ID, PromptTokens

_WORD = re.compile(r"\S+")


def tokenize(flavour: str, body: Any, tokens: PromptTokens, context_len: int) -> Any:
    """The JSON answer of ``flavour``'s ``/tokenize``; :class:`BadRequest` for a bad body."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    if flavour == "llama.cpp":
        return _llama_cpp(body, tokens)
    if flavour == "vllm":
        return _vllm(body, tokens, context_len)
    if flavour == "sglang":
        return _sglang(body, tokens, context_len)
    if flavour == "tgi":
        return _tgi(body, tokens)
    raise ValueError(f"no /tokenize flavour {flavour!r}")


def _flag(body: dict[str, Any], name: str, default: bool) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise BadRequest(f"'{name}' must be true or false", name)
    return value


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string", name)
    return value


def _llama_cpp(body: dict[str, Any], tokens: PromptTokens) -> dict[str, Any]:
    text = _text(body, "content")
    add_special = _flag(body, "add_special", False)
    ids = tokens.ids(text, add_special=add_special)
    if not _flag(body, "with_pieces", False):
        return {"tokens": ids}
    pieces = ["<s>"] * (len(ids) - tokens.count(text)) + tokens.pieces(text)
    return {"tokens": [{"id": i, "piece": p} for i, p in zip(ids, pieces, strict=True)]}


def _vllm(body: dict[str, Any], tokens: PromptTokens, context_len: int) -> dict[str, Any]:
    if "messages" in body:
        ids = tokens.chat_ids(chat_messages(body))
        if _flag(body, "add_special_tokens", False):
            ids = [BOS_ID] * tokens.bos + ids
    else:
        ids = tokens.ids(_text(body, "prompt"),
                         add_special=_flag(body, "add_special_tokens", True))
    return {"count": len(ids), "max_model_len": context_len, "tokens": ids}


def _sglang(body: dict[str, Any], tokens: PromptTokens, context_len: int) -> dict[str, Any]:
    add_special = _flag(body, "add_special_tokens", True)
    prompt = body.get("prompt")
    if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
        lists = [tokens.ids(p, add_special=add_special) for p in prompt]
        return {"tokens": lists, "count": [len(ids) for ids in lists],
                "max_model_len": context_len}
    ids = tokens.ids(_text(body, "prompt"), add_special=add_special)
    return {"tokens": ids, "count": len(ids), "max_model_len": context_len}


def _tgi(body: dict[str, Any], tokens: PromptTokens) -> list[dict[str, Any]]:
    text = _text(body, "inputs")
    out = [{"id": BOS_ID, "text": "<s>", "start": 0, "stop": 0} for _ in range(tokens.bos)]
    ids = iter(tokens.ids(text))
    for word in _WORD.finditer(text):
        start = word.start()
        for piece in tokens.pieces(word.group()):
            out.append({"id": next(ids), "text": piece, "start": start,
                        "stop": start + len(piece)})
            start += len(piece)
    return out
