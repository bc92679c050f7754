"""Message text as Telegram handles it: UTF-16 entity offsets, parse_mode HTML and MarkdownV2."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

from simulator.errors import BotApiError

# What Telegram's servers mark up on their own in messages people type.
_AUTO_ENTITIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")),
    ("url", re.compile(r"\bhttps?://[^\s<>\"]+|\b(?:[a-z0-9-]+\.)+(?:com|org|net|io|me|ru|cn)\b")),
    ("mention", re.compile(r"(?<!\w)@[A-Za-z][A-Za-z0-9_]{3,31}\b")),
    ("hashtag", re.compile(r"(?<!\w)#\w+")),
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")),
)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of every Bot API entity offset."""
    return len(text.encode("utf-16-le")) // 2


def auto_entities(text: str) -> list[dict[str, Any]]:
    """Entities Telegram adds to a typed message: commands, links, mentions, hashtags, e-mails."""
    spans: list[tuple[int, int, str]] = []
    for kind, pattern in _AUTO_ENTITIES:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < e and s < end for s, e, _ in spans):
                continue
            spans.append((start, end, kind))
    spans.sort()
    return [
        {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}
        for start, end, kind in spans
    ]


def parse_text(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Apply a parse_mode: the plain text members see and its entities, or 400 like Telegram."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return _parse_html(text)
    if mode == "markdownv2":
        return _parse_markdown_v2(text)
    if mode == "markdown":
        return _parse_markdown_v2(text, legacy=True)
    raise BotApiError(400, f'Bad Request: unsupported parse_mode "{parse_mode}"')


_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


class _HtmlEntities(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = ""
        self.open: list[tuple[str, int, dict[str, Any]]] = []
        self.entities: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HTML_TAGS:
            raise BotApiError(
                400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"'
            )
        extra: dict[str, Any] = {}
        values = dict(attrs)
        if tag == "a":
            extra["url"] = values.get("href") or ""
        if tag == "tg-emoji":
            extra["custom_emoji_id"] = values.get("emoji-id") or ""
        if tag == "blockquote" and "expandable" in values:
            extra["type"] = "expandable_blockquote"
        self.open.append((tag, utf16_len(self.text), extra))

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1][0] != tag:
            raise BotApiError(400, f'Bad Request: can\'t parse entities: Unmatched end tag "{tag}"')
        _, start, extra = self.open.pop()
        length = utf16_len(self.text) - start
        if length:
            entity = {"type": _HTML_TAGS[tag], "offset": start, "length": length, **extra}
            self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.text += data


def _parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    parser = _HtmlEntities()
    parser.feed(text)
    parser.close()
    if parser.open:
        tag = parser.open[-1][0]
        raise BotApiError(
            400,
            f"Bad Request: can't parse entities: Can't find end tag corresponding to "
            f'start tag "{tag}"',
        )
    return unescape(parser.text), sorted(parser.entities, key=lambda e: e["offset"])


_MD_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MD_MARKS = (
    ("||", "spoiler"),
    ("__", "underline"),
    ("*", "bold"),
    ("_", "italic"),
    ("~", "strikethrough"),
)


def _parse_markdown_v2(text: str, legacy: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """A faithful-enough MarkdownV2 reader: the point is to reject what Telegram rejects."""
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    open_marks: dict[str, int] = {}
    i = 0

    def offset() -> int:
        return utf16_len("".join(out))

    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if text.startswith("```", i):
            end = text.find("```", i + 3)
            if end < 0:
                raise _md_error("Can't find end of pre entity", i)
            body = text[i + 3 : end]
            language, _, code = body.partition("\n") if "\n" in body else ("", "", body)
            start = offset()
            out.append(code)
            entity = {"type": "pre", "offset": start, "length": utf16_len(code)}
            if language:
                entity["language"] = language
            entities.append(entity)
            i = end + 3
            continue
        if char == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise _md_error("Can't find end of code entity", i)
            start = offset()
            out.append(text[i + 1 : end])
            entities.append({"type": "code", "offset": start, "length": offset() - start})
            i = end + 1
            continue
        if char == "[":
            close = text.find("](", i)
            end = text.find(")", close) if close >= 0 else -1
            if close < 0 or end < 0:
                raise _md_error("Can't find end of text_link entity", i)
            inner, _ = _parse_markdown_v2(text[i + 1 : close], legacy)
            start = offset()
            out.append(inner)
            url = text[close + 2 : end]
            entities.append(
                {"type": "text_link", "offset": start, "length": offset() - start, "url": url}
            )
            i = end + 1
            continue
        mark = next((m for m in _MD_MARKS if text.startswith(m[0], i)), None)
        if mark is not None and not (legacy and mark[0] in ("||", "__", "~")):
            token, kind = mark
            if token in open_marks:
                start = open_marks.pop(token)
                if offset() > start:
                    entities.append({"type": kind, "offset": start, "length": offset() - start})
            else:
                open_marks[token] = offset()
            i += len(token)
            continue
        if char in _MD_RESERVED and not legacy:
            raise _md_error(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'", i
            )
        out.append(char)
        i += 1
    if open_marks:
        kind = dict(_MD_MARKS)[next(iter(open_marks))]
        raise _md_error(f"Can't find end of {kind.title()} entity", len(text))
    return "".join(out), sorted(entities, key=lambda e: e["offset"])


def _md_error(reason: str, position: int) -> BotApiError:
    return BotApiError(
        400, f"Bad Request: can't parse entities: {reason} at byte offset {position}"
    )
