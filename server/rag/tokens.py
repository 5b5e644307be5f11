"""Cheap, dependency-free, deliberately high estimates of OpenAI-style BPE token counts.

Used to pack prompts within the model's context window, where an estimate that is too low is
an error from the provider and one that is a little too high only costs some context.
(tiktoken is not usable offline: it downloads its encodings at run time.)

Rules of thumb behind the numbers: English BPE (cl100k/o200k) runs about 4 characters or
0.75 words per token; accented Latin, Greek and Cyrillic run 2 to 3 characters per token;
CJK and other scripts above U+0800 are about one token per character; digits go in groups
of at most three.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

_WIDE = re.compile(r"[^\u0000-\u07ff]")  # CJK, Thai, emoji, ...: ~1 token per character
_WORD = re.compile(r"\w+")
_PUNCT = re.compile(r"[^\w\s]")
_DIGIT = re.compile(r"\d")  # numbers split into groups of at most 3 digits

# Chat framing: OpenAI counts ~3 tokens per message plus 3 to prime the reply.
MESSAGE_OVERHEAD = 4
REPLY_PRIMING = 3


def estimate_tokens(text: str) -> int:
    """A conservative estimate of the tokens in `text` (0 for an empty string)."""
    if not text:
        return 0
    n_ascii = len(text.encode("ascii", "ignore"))
    n_wide = len(_WIDE.findall(text))
    n_mid = len(text) - n_ascii - n_wide
    by_chars = n_ascii / 3.6 + n_mid / 2.0 + n_wide * 1.0
    by_words = len(_WORD.findall(text)) * 1.35 + len(_PUNCT.findall(text)) * 0.5 + len(_DIGIT.findall(text)) / 3
    return max(1, math.ceil(max(by_chars, by_words)))


def estimate_messages_tokens(messages: Iterable[Mapping[str, str]]) -> int:
    """Estimated prompt tokens of chat `messages`, framing included."""
    total = REPLY_PRIMING
    for message in messages:
        total += MESSAGE_OVERHEAD + estimate_tokens(str(message.get("content") or ""))
    return total
