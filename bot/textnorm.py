"""Text normalisation for matching what officers type: case, diacritics, đ, punctuation, spacing."""

from __future__ import annotations

import re
import unicodedata

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
    if not text.isascii():  # ASCII is its own NFC form and has no marks to strip
        text = strip_diacritics(unicodedata.normalize("NFC", text))
    # str.split() splits on exactly what \s matches: runs of spaces become one, none at the ends.
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def contains_phrase(haystack: str, phrase: str) -> bool:
    """Whole-word phrase match on normalised text ('ba sao' is in 'xa ba sao' but not in 'ba saob')."""
    if not phrase or phrase not in haystack:  # the pattern cannot match otherwise
        return False
    return re.search(rf"(?<![\w]){re.escape(phrase)}(?![\w])", haystack) is not None
