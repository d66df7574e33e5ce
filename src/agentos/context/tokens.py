"""Token counting: a deterministic, local approximation of a GPT-like tokenizer."""

from __future__ import annotations

import re
from typing import Protocol

# letter runs, digit runs, or any other single non-space character
_PIECE = re.compile(r"[^\W\d_]+|\d+|\S")
_CHARS_PER_WORD_TOKEN = 4
_CHARS_PER_NUMBER_TOKEN = 3


class TokenCounter(Protocol):
    """Counts tokens and cuts text to a token limit."""

    def count(self, text: str) -> int:
        """Return the number of tokens in `text`."""
        ...

    def truncate(self, text: str, max_tokens: int) -> str:
        """Return the longest prefix of `text` holding at most `max_tokens` tokens."""
        ...


def _chars_per_token(piece: str) -> int:
    first = piece[0]
    if first.isdigit():
        return _CHARS_PER_NUMBER_TOKEN
    if first.isalpha():
        return _CHARS_PER_WORD_TOKEN
    return 1


class SimpleTokenCounter:
    """Whitespace is free; a letter run costs ceil(len/4), a digit run ceil(len/3), any
    other character 1. Counts are additive over text joined by whitespace."""

    def count(self, text: str) -> int:
        """Return the number of tokens in `text`."""
        total = 0
        for piece in _PIECE.findall(text):
            size = _chars_per_token(piece)
            total += -(-len(piece) // size)
        return total

    def truncate(self, text: str, max_tokens: int) -> str:
        """Return the longest prefix of `text` holding at most `max_tokens` tokens."""
        if max_tokens <= 0:
            return ""
        left = max_tokens
        end = 0
        for match in _PIECE.finditer(text):
            piece = match.group()
            size = _chars_per_token(piece)
            cost = -(-len(piece) // size)
            if cost <= left:
                left -= cost
                end = match.end()
                if left == 0:
                    break
                continue
            # split a long run: keep the whole tokens that still fit
            end = match.start() + left * size
            break
        return text[:end]
