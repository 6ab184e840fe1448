"""Telegram's text formatting as the fake Bot API applies it: HTML, MarkdownV2 and legacy Markdown
parsers producing message entities (offsets in UTF-16 code units), and Telegram's whitespace trimming."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.telegram.errors import JSON, TelegramAPIError, bad_request


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts in."""
    return len(text.encode("utf-16-le")) // 2


def _u16(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


@dataclass
class FormattedText:
    """Plain text plus Telegram message entities (offsets/lengths in UTF-16 code units)."""

    text: str
    entities: list[JSON] = field(default_factory=list)


def _entity_error(message: str) -> TelegramAPIError:
    return bad_request(f"can't parse entities: {message}")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


_HTML_TAGS = frozenset(
    {"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler", "tg-emoji",
     "span", "pre", "code", "blockquote"}
)  # fmt: skip
_HTML_SIMPLE_ENTITIES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "tg-spoiler": "spoiler", "span": "spoiler",
}  # fmt: skip
_HTML_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9A-Fa-f]{1,8})|(lt|gt|amp|quot));")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_SPECIAL_RE = re.compile(r"[&<]")


def _decode_html_entity(text: str, index: int) -> tuple[str, int] | None:
    """Decode an HTML entity at ``text[index] == '&'`` the way Telegram does (4 names + numeric)."""
    match = _HTML_ENTITY_RE.match(text, index)
    if match is None:
        return None
    if match.group(3):
        return _HTML_NAMED[match.group(3)], match.end()
    code = int(match.group(1)) if match.group(1) else int(match.group(2), 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def parse_html(text: str, *, strict_ampersand: bool = True) -> FormattedText:
    """Parse Telegram-flavoured HTML into plain text + entities (mirrors tdlib's ``parse_html``).

    Raises :class:`TelegramAPIError` (400 ``can't parse entities: ...``) on unsupported or
    unbalanced tags and on a ``<`` that does not start a tag. With ``strict_ampersand`` an ``&``
    that is not a known entity is an error too (real Telegram keeps it literally).
    """
    out: list[str] = []
    u16 = 0
    entities: list[JSON] = []
    # each open tag: [name, argument, utf16 offset, attributes]
    stack: list[list[Any]] = []
    n = len(text)
    i = 0
    while i < n:
        char = text[i]
        if char == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                u16 += _u16(decoded[0])
                i = decoded[1]
                continue
            if strict_ampersand:
                raise _entity_error(f'Unescaped "&" at byte offset {_byte_offset(text, i)}; use "&amp;" instead')
        if char != "<":
            # Plain text up to the next tag or entity, in one step (long replies stay cheap).
            special = _HTML_SPECIAL_RE.search(text, i + 1)
            end = special.start() if special else n
            chunk = text[i:end]
            out.append(chunk)
            u16 += utf16_len(chunk)
            i = end
            continue
        begin = i
        i += 1
        if i < n and text[i] == "/":
            if not stack:
                raise _entity_error(f"Unexpected end tag at byte offset {_byte_offset(text, begin)}")
            j = i + 1
            while j < n and not text[j].isspace() and text[j] != ">":
                j += 1
            end_name = text[i + 1 : j]
            while j < n and text[j].isspace():
                j += 1
            if j >= n or text[j] != ">":
                raise _entity_error(f"Unclosed end tag at byte offset {_byte_offset(text, begin)}")
            name, argument, start, attrs = stack.pop()
            if end_name and end_name.lower() != name:
                raise _entity_error(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{name}>", found "</{end_name}>"'
                )
            i = j + 1
            if name == "code" and argument and stack and stack[-1][0] == "pre" and stack[-1][2] == start:
                stack[-1][1] = argument  # <pre><code class="language-x"> -> pre with language
                continue
            if u16 <= start:
                continue
            entity: JSON = {"offset": start, "length": u16 - start}
            if name in _HTML_SIMPLE_ENTITIES:
                entity["type"] = _HTML_SIMPLE_ENTITIES[name]
            elif name == "a":
                url = argument if argument is not None else "".join(out)[-(u16 - start) :]
                if not url:
                    continue
                entity["type"] = "text_link"
                entity["url"] = url
            elif name == "code":
                entity["type"] = "code"
            elif name == "pre":
                entity["type"] = "pre"
                if argument:
                    entity["language"] = argument
            elif name == "blockquote":
                entity["type"] = "expandable_blockquote" if "expandable" in attrs else "blockquote"
            elif name == "tg-emoji":
                if not argument:
                    continue
                entity["type"] = "custom_emoji"
                entity["custom_emoji_id"] = argument
            entities.append(entity)
            continue
        # start tag
        j = i
        while j < n and not text[j].isspace() and text[j] != ">":
            j += 1
        if j >= n:
            raise _entity_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
        name = text[i:j].lower()
        if name not in _HTML_TAGS:
            raise _entity_error(f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, begin)}')
        argument: str | None = None
        attrs: set[str] = set()
        while j < n and text[j] != ">":
            while j < n and text[j].isspace():
                j += 1
            if j < n and text[j] == ">":
                break
            attr_begin = j
            while j < n and not text[j].isspace() and text[j] not in "=>":
                j += 1
            attr_name = text[attr_begin:j].lower()
            if not attr_name:
                raise _entity_error(
                    f'Empty attribute name in the tag "{name}" at byte offset {_byte_offset(text, begin)}'
                )
            while j < n and text[j].isspace():
                j += 1
            if j < n and (text[j] == ">" or text[j].isspace()):
                attrs.add(attr_name)  # boolean attribute, e.g. <blockquote expandable>
                continue
            if j >= n or text[j] != "=":
                raise _entity_error(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                    f"at byte offset {_byte_offset(text, begin)}"
                )
            j += 1
            while j < n and text[j].isspace():
                j += 1
            if j >= n:
                raise _entity_error(f'Unclosed start tag "{name}" at byte offset {_byte_offset(text, begin)}')
            value_chars: list[str] = []
            if text[j] not in "'\"":
                token_begin = j
                while j < n and (text[j].isalnum() or text[j] in ".-"):
                    j += 1
                value = text[token_begin:j].lower()
                if j >= n or (not text[j].isspace() and text[j] != ">"):
                    offset = _byte_offset(text, token_begin)
                    raise _entity_error(f"Unexpected end of name token at byte offset {offset}")
            else:
                quote = text[j]
                j += 1
                while j < n and text[j] != quote:
                    if text[j] == "&":
                        decoded = _decode_html_entity(text, j)
                        if decoded is not None:
                            value_chars.append(decoded[0])
                            j = decoded[1]
                            continue
                    value_chars.append(text[j])
                    j += 1
                if j < n:
                    j += 1
                value = "".join(value_chars)
            if j >= n:
                raise _entity_error(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
            attrs.add(attr_name)
            if name == "a" and attr_name == "href":
                argument = value
            elif name == "code" and attr_name == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif name == "span" and attr_name == "class" and value.startswith("tg-"):
                argument = value[len("tg-") :]
            elif name == "tg-emoji" and attr_name == "emoji-id":
                argument = value
        if name == "span" and argument != "spoiler":
            raise _entity_error(f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, begin)}')
        stack.append([name, argument, u16, attrs])
        i = j + 1
    if stack:
        raise _entity_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return FormattedText("".join(out), entities)


_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_TYPE_NAMES = {
    "bold": "Bold", "italic": "Italic", "underline": "Underline", "strikethrough": "Strikethrough",
    "spoiler": "Spoiler", "code": "Code", "pre": "Pre", "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}  # fmt: skip


def parse_markdown_v2(text: str) -> FormattedText:
    """Parse MarkdownV2 (approximation of tdlib's ``parse_markdown_v2``, incl. its error texts)."""
    out: list[str] = []
    u16 = 0
    entities: list[JSON] = []
    stack: list[list[Any]] = []  # [type, argument, utf16 offset, char index]
    quote_start: int | None = None
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else ""

    def emit(char: str) -> None:
        nonlocal u16
        out.append(char)
        u16 += _u16(char)

    i = 0
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            emit(text[i + 1])
            i += 2
            continue
        in_code = bool(stack) and stack[-1][0] in ("code", "pre")
        if char == ">" and not in_code and (i == 0 or text[i - 1] == "\n"):
            if quote_start is None:
                quote_start = u16
            i += 1
            continue
        if char == "\n" and quote_start is not None and at(i + 1) != ">" and not in_code:
            if u16 > quote_start:
                entities.append({"type": "blockquote", "offset": quote_start, "length": u16 - quote_start})
            quote_start = None
        if char != "`" if in_code else char not in _MDV2_RESERVED:
            emit(char)
            i += 1
            continue
        top = stack[-1][0] if stack else None
        is_end = (
            (top == "bold" and char == "*")
            or (top == "italic" and char == "_" and at(i + 1) != "_")
            or (top == "code" and char == "`")
            or (top == "pre" and char == "`" and at(i + 1) == "`" and at(i + 2) == "`")
            or (top in ("text_link", "custom_emoji") and char == "]")
            or (top == "underline" and char == "_" and at(i + 1) == "_")
            or (top == "strikethrough" and char == "~")
            or (top == "spoiler" and char == "|" and at(i + 1) == "|")
        )
        if not is_end:
            begin = i
            argument: str | None = None
            if char == "_":
                kind = "italic"
                if at(i + 1) == "_":
                    kind = "underline"
                    i += 1
            elif char == "*":
                kind = "bold"
            elif char == "~":
                kind = "strikethrough"
            elif char == "|" and at(i + 1) == "|":
                kind = "spoiler"
                i += 1
            elif char == "[":
                kind = "text_link"
            elif char == "!" and at(i + 1) == "[":
                kind = "custom_emoji"
                i += 1
            elif char == "`":
                if at(i + 1) == "`" and at(i + 2) == "`":
                    kind = "pre"
                    i += 3
                    lang_end = i
                    while lang_end < n and not text[lang_end].isspace() and text[lang_end] != "`":
                        lang_end += 1
                    if i != lang_end and lang_end < n and text[lang_end] != "`":
                        argument = text[i:lang_end]
                        i = lang_end
                    if at(i) in ("\n", "\r") and at(i):
                        i += 2 if at(i + 1) in ("\n", "\r") and at(i + 1) and at(i + 1) != at(i) else 1
                    i -= 1
                else:
                    kind = "code"
            else:
                raise _entity_error(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")
            stack.append([kind, argument, u16, begin])
            i += 1
            continue
        kind, argument, start, begin = stack.pop()
        if kind in ("text_link", "custom_emoji"):
            url = ""
            if at(i + 1) == "(":
                url_begin = i + 1
                i += 2
                chars: list[str] = []
                while i < n and text[i] != ")":
                    if text[i] == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
                        chars.append(text[i + 1])
                        i += 2
                        continue
                    chars.append(text[i])
                    i += 1
                if i >= n:
                    offset = _byte_offset(text, url_begin)
                    raise _entity_error(f"Can't find end of a url at byte offset {offset}")
                url = "".join(chars)
            argument = url
        elif kind == "pre":
            i += 2
        elif kind in ("underline", "spoiler"):
            i += 1
        i += 1
        if u16 > start:
            entity: JSON = {"type": kind, "offset": start, "length": u16 - start}
            if kind == "pre" and argument:
                entity["language"] = argument
            elif kind == "text_link":
                if not argument:
                    continue
                entity["url"] = argument
            elif kind == "custom_emoji":
                entity["custom_emoji_id"] = argument.rpartition("id=")[2]
            entities.append(entity)
    if stack:
        kind, _argument, _start, begin = stack[-1]
        raise _entity_error(
            f"Can't find end of {_MDV2_TYPE_NAMES[kind]} entity at byte offset {_byte_offset(text, begin)}"
        )
    if quote_start is not None and u16 > quote_start:
        entities.append({"type": "blockquote", "offset": quote_start, "length": u16 - quote_start})
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return FormattedText("".join(out), entities)


def parse_markdown(text: str) -> FormattedText:
    """Parse legacy ``Markdown`` (mirrors tdlib's ``parse_markdown``)."""
    out: list[str] = []
    u16 = 0
    entities: list[JSON] = []
    n = len(text)
    i = 0
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.append(text[i + 1])
            u16 += 1
            i += 2
            continue
        if char not in "_*`[":
            out.append(char)
            u16 += _u16(char)
            i += 1
            continue
        begin = i
        end_char = "]" if char == "[" else char
        is_pre = False
        language = ""
        i += 1
        if char == "`" and text[i : i + 2] == "``":
            i += 2
            is_pre = True
            lang_end = i
            while lang_end < n and not text[lang_end].isspace() and text[lang_end] != "`":
                lang_end += 1
            if i != lang_end and lang_end < n and text[lang_end] != "`":
                language = text[i:lang_end]
                i = lang_end
            if i < n and text[i] in "\r\n":
                i += 2 if i + 1 < n and text[i + 1] in "\r\n" and text[i + 1] != text[i] else 1
        start = u16
        while i < n and (text[i] != end_char or (is_pre and text[i + 1 : i + 3] != "``")):
            out.append(text[i])
            u16 += _u16(text[i])
            i += 1
        if i >= n:
            offset = _byte_offset(text, begin)
            raise _entity_error(f"Can't find end of the entity starting at byte offset {offset}")
        entity: JSON | None = None
        if u16 > start:
            entity = {"offset": start, "length": u16 - start}
            if char == "_":
                entity["type"] = "italic"
            elif char == "*":
                entity["type"] = "bold"
            elif char == "`":
                entity["type"] = "pre" if is_pre else "code"
                if language:
                    entity["language"] = language
        if char == "[":
            url = ""
            if i + 1 < n and text[i + 1] == "(":
                close = text.find(")", i + 2)
                if close != -1:
                    url = text[i + 2 : close]
                    i = close
            if entity is not None:
                entity["type"] = "text_link"
                entity["url"] = url or "".join(out)[len(out) - (u16 - start) :]
        if is_pre:
            i += 2
        i += 1
        if entity is not None:
            entities.append(entity)
    return FormattedText("".join(out), entities)


def _trim(formatted: FormattedText) -> FormattedText:
    """Strip leading/trailing whitespace as Telegram does, fixing entity offsets."""
    text = formatted.text
    stripped = text.strip()
    if stripped == text:
        return formatted
    if not stripped:
        return FormattedText("", [])
    left = utf16_len(text[: len(text) - len(text.lstrip())])
    new_len = utf16_len(stripped)
    entities: list[JSON] = []
    for entity in formatted.entities:
        begin = max(entity["offset"] - left, 0)
        end = min(entity["offset"] + entity["length"] - left, new_len)
        if end > begin:
            entities.append({**entity, "offset": begin, "length": end - begin})
    return FormattedText(stripped, entities)


def parse_formatted_text(
    text: str,
    parse_mode: str | None,
    entities: list[JSON] | None = None,
    *,
    strict_ampersand: bool = True,
) -> FormattedText:
    """Apply ``parse_mode`` (or explicit ``entities``) and Telegram's whitespace trimming."""
    if entities:
        parsed = FormattedText(text, [dict(e) for e in entities])
    elif not parse_mode:
        parsed = FormattedText(text, [])
    else:
        mode = parse_mode.lower()
        if mode == "html":
            parsed = parse_html(text, strict_ampersand=strict_ampersand)
        elif mode == "markdownv2":
            parsed = parse_markdown_v2(text)
        elif mode == "markdown":
            parsed = parse_markdown(text)
        else:
            raise bad_request(f"unsupported parse_mode {parse_mode!r}")
    return _trim(parsed)
