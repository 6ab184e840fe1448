"""Text normalisation for matching what officers type: case, diacritics, đ, punctuation, spacing."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s/:.,+\-–]")
_COMBINING = re.compile("[\u0300-\u036f]+")


def strip_diacritics(text: str) -> str:
    """'Kim Bảng' -> 'Kim Bang'; 'Đồng Hóa' -> 'Dong Hoa'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    if text.isascii():
        return text
    # Vietnamese marks are all in the Combining Diacritical Marks block (every one of them is Mn);
    # other non-spacing marks, rarer, go one character at a time.
    stripped = _COMBINING.sub("", unicodedata.normalize("NFD", text))
    if stripped.isascii():
        return stripped
    return "".join(ch for ch in stripped if unicodedata.category(ch) != "Mn")


def normalize(text: str) -> str:
    """Lower case, no diacritics, punctuation other than date/time separators dropped, single spaces.

    '  Hôm nay AI trực chỉ huy?? ' -> 'hom nay ai truc chi huy'
    """
    text = strip_diacritics(unicodedata.normalize("NFC", text)).lower()
    text = _PUNCT.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def contains_phrase(haystack: str, phrase: str) -> bool:
    """Whole-word phrase match on normalised text ('ba sao' is in 'xa ba sao' but not in 'ba saob')."""
    if not phrase:
        return False
    return re.search(rf"(?<![\w]){re.escape(phrase)}(?![\w])", haystack) is not None
