"""Text normalisation shared by training and prediction.

Cases arrive as raw text (punctuation, full-width characters, sometimes traditional
characters, emoji); the public training data is word-segmented with stop-words removed.
Features must not care which of the two they see, so both go through the same steps:
NFKC, traditional → simplified (OpenCC t2s), lower case, one space for any run of
whitespace, a length cap, and for the character features no spaces and no punctuation.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

# Features are computed on the first MAX_FEATURE_CHARS characters: the subject and the
# opening of a message carry the category; 50,000 pasted characters must not cost 50 ms.
MAX_FEATURE_CHARS = 2000
# Below this many informative characters a text is "garbage": predictions stay low-confidence.
MIN_INFORMATIVE_CHARS = 4

_WHITESPACE = re.compile(r"\s+")
# Anything that is not a letter or digit of any script (punctuation, symbols, emoji, spaces).
_NON_WORD = re.compile(r"[\W_]+")
_CJK = re.compile(r"[\u3400-\u9fff]")

_converter_lock = threading.Lock()


@lru_cache(maxsize=1)
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    with _converter_lock:  # the OpenCC handle is not documented as thread-safe
        return _converter().convert(text)


def normalize(text: str | None, *, limit: int = MAX_FEATURE_CHARS) -> str:
    """NFKC, traditional → simplified, lower case, collapsed whitespace, at most `limit` characters."""
    if not text:
        return ""
    text = str(text)[: limit * 2]  # cheap cut before the costlier steps (NFKC may change length)
    text = unicodedata.normalize("NFKC", text)
    text = _WHITESPACE.sub(" ", text).strip().lower()
    if _CJK.search(text):
        text = to_simplified(text)
    return text[:limit]


def char_text(normalized: str) -> str:
    """What character n-grams are taken from: letters and digits only, no spaces (tokenized == raw)."""
    return _NON_WORD.sub("", normalized)


def informative_length(text: str | None) -> int:
    """How many letters/digits a text has after normalisation (emoji and punctuation do not count)."""
    return len(char_text(normalize(text)))


def is_garbage(text: str | None) -> bool:
    """Too little text to route on: empty, a character or two, emoji or punctuation only."""
    return informative_length(text) < MIN_INFORMATIVE_CHARS


_jieba_lock = threading.Lock()
_jieba_ready = False


def _jieba():
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(60)
                jieba.initialize()  # builds the prefix dictionary from the package's own file
                _jieba_ready = True
    return jieba


def words(normalized: str) -> list[str]:
    """jieba words of the letters-and-digits text (the same segmentation for tokenized and raw input)."""
    text = char_text(normalized)
    if not text:
        return []
    return [w for w in _jieba().lcut(text, HMM=False) if w]
