"""Token counting: an offline built-in tokenizer, or a local ``tokenizer.json``.

The built-in tokenizer ships with the package and never downloads anything: it splits
text into words and punctuation marks, one token each. It is an approximation of a
model's tokenizer (real BPE vocabularies give ~1.3 tokens per English word), exact for
the synthetic prompts aiperf generates and for the simulator, which both work in
words. For counts that match a model, pass ``--tokenizer path/to/tokenizer.json``
(needs the optional ``tokenizers`` package: ``pip install 'aiperf[tokenizers]'``).
Server-reported ``usage`` always wins for output counts when the server sends it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

_WORDS = re.compile(r"\w+|[^\w\s]")

Tokenizer = Callable[[str], int]


class TokenizerError(Exception):
    """The configured tokenizer cannot be used; the message says why and what to do."""


def builtin_count(text: str) -> int:
    """Tokens in ``text`` by the built-in word-and-punctuation tokenizer."""
    return len(_WORDS.findall(text))


def load_tokenizer(spec: str) -> Tokenizer:
    """A token-counting function for ``benchmark.tokenizer``: ``builtin`` or a path to a
    local ``tokenizer.json`` (never a model-hub name: nothing is downloaded)."""
    if spec == "builtin":
        return builtin_count
    path = Path(spec).expanduser()
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise TokenizerError(
            f"tokenizer '{spec}' is neither 'builtin' nor a local tokenizer.json "
            "(aiperf never downloads tokenizers)"
        )
    try:
        from tokenizers import Tokenizer as HFTokenizer
    except ImportError:
        raise TokenizerError(
            "--tokenizer PATH needs the 'tokenizers' package: pip install 'aiperf[tokenizers]'"
        ) from None
    try:
        tok = HFTokenizer.from_file(str(path))
    except Exception as e:  # the library raises its own exception types
        raise TokenizerError(f"cannot load tokenizer {path}: {e}") from None

    def count(text: str) -> int:
        return len(tok.encode(text, add_special_tokens=False).ids)

    return count
