"""How a simulated server counts prompt tokens, and the token ids its ``/tokenize`` returns.

Two rules, both deterministic and offline:

- :data:`WORDS` (the ``generic`` profile): one token per whitespace-separated word, no
  chat template, no BOS. aiperf's built-in tokenizer counts these prompts the same way,
  so client and server agree exactly.
- ``PromptTokens(chars_per_token=4, ...)`` with a per-profile chat template (the other
  profiles, see :mod:`aiperf.sim.profiles`): a word of ``L`` characters costs
  ``ceil(L / 4)`` tokens (1 up to 4 characters, 2 up to 8, ...), so a real-looking server
  counts *more* tokens than aiperf's word tokenizer and the client's prompt calibration
  has something to correct.

The word cost is context-free: the tokens of a text are the sum over its
whitespace-separated words, so a client can calibrate by tokenizing its words one by one.
A chat request adds ``chat_preamble + chat_per_message * messages`` (the template's text:
BOS, role headers, generation prompt); a completion or embedding text adds ``bos``.
"""

from __future__ import annotations

import functools
import re
import zlib

import attrs

#: Token ids below this are reserved for special tokens; word pieces map above it.
_FIRST_WORD_ID = 100
VOCAB_SIZE = 32000
BOS_ID = 1
#: Ids of the chat template's own tokens (role headers and the like).
_TEMPLATE_ID = 3


@attrs.frozen
class PromptTokens:
    """A server's prompt-token rule.

    ``chars_per_token``: None counts one token per word (the generic rule); a number N
    makes a word of L characters cost ``ceil(L / N)``.
    """

    chars_per_token: int | None = None
    chat_preamble: int = 0
    chat_per_message: int = 0
    bos: int = 0

    def count(self, text: str) -> int:
        """Tokens of ``text`` alone (no template, no BOS)."""
        words = text.split()
        n = self.chars_per_token
        if n is None:
            return len(words)
        return sum(-(-len(w) // n) for w in words)

    def chat(self, messages: int, content_tokens: int) -> int:
        """``prompt_tokens`` of a chat request: its contents plus the template."""
        return content_tokens + self.chat_preamble + self.chat_per_message * messages

    def prompt(self, text_tokens: int) -> int:
        """``prompt_tokens`` of a completion (or embedding) text: the text plus BOS."""
        return text_tokens + self.bos

    def pieces(self, text: str) -> list[str]:
        """The text's tokens as strings (``len(pieces(t)) == count(t)``)."""
        n = self.chars_per_token
        if n is None:
            return text.split()
        # Each word cut into runs of up to n characters; a regex does it several times
        # faster than slicing, and the prefix cache renders every prompt this way.
        return _runs(n).findall(text)

    def ids(self, text: str, *, add_special: bool = False) -> list[int]:
        """Deterministic token ids of ``text`` (BOS first when ``add_special``)."""
        ids = [_piece_id(p) for p in self.pieces(text)]
        return [BOS_ID] * (self.bos if add_special else 0) + ids

    def chat_ids(self, contents: list[str]) -> list[int]:
        """Token ids of a templated chat: exactly :meth:`chat` of them."""
        ids = [_TEMPLATE_ID] * self.chat_preamble
        for content in contents:
            ids += [_TEMPLATE_ID] * self.chat_per_message + self.ids(content)
        return ids


@functools.cache
def _runs(n: int) -> re.Pattern[str]:
    # \S and str.split() agree on what whitespace is (both use Unicode's definition).
    return re.compile(rf"\S{{1,{n}}}")


def _piece_id(piece: str) -> int:
    # crc32, not hash(): the ids must not change from one process to the next.
    return _FIRST_WORD_ID + zlib.crc32(piece.encode()) % (VOCAB_SIZE - _FIRST_WORD_ID)


#: The generic rule: words, no template, no BOS (what the simulator always counted).
WORDS = PromptTokens()
