"""Inline text (:data:`bot.report.Text`) as Slack mrkdwn or as plain terminal text.

The only code that escapes user text and writes mrkdwn syntax. Plain strings
inside a span tuple are escaped: `<`, `>` and `&` carry Slack's special syntax
(`<!channel>`, `<@U1>`, `<url|x>`), so escaping them disarms every one of
those; a word joiner stops a plain `@here` from being linkified; a backtick
would open a code span, so it becomes an apostrophe.
"""

from __future__ import annotations

import re

from bot import humanize
from bot.report import Bold, Code, Duration, Emoji, Inline, Link, Mention, Size, Text, When

_BROADCAST = re.compile(r"@(?=(here|channel|everyone)\b)", re.I)


def escape_mrkdwn(text: str) -> str:
    """``text`` safe inside mrkdwn: no mentions, no links, no formatting it did not ask for."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u2060", text).replace("`", "'")


def _value(span: Size | Duration | When) -> str:
    if isinstance(span, Size):
        return humanize.signed_size(span.bytes) if span.signed else humanize.size(span.bytes)
    if isinstance(span, Duration):
        return humanize.clock_duration(span.seconds) if span.clock else humanize.duration(span.seconds)
    return humanize.date(span.at) if span.style == "date" else humanize.moment(span.at)


def _mrkdwn_span(span: Inline) -> str:
    if isinstance(span, str):
        return escape_mrkdwn(span)
    if isinstance(span, Code):
        return f"`{escape_mrkdwn(span.text)}`" if span.text else ""
    if isinstance(span, Bold):
        text = escape_mrkdwn(span.text).replace("*", "")
        return f"*{text}*" if text.strip() else text
    if isinstance(span, Link):
        label = escape_mrkdwn(span.label).replace("|", "/")
        url = span.url.replace(">", "%3E").replace("|", "%7C").replace("<", "%3C")
        return f"<{url}|{label}>"
    if isinstance(span, Mention):
        ident = re.sub(r"[^A-Z0-9]", "", span.id.upper())
        return {"user": f"<@{ident}>", "group": f"<!subteam^{ident}>", "channel": f"<#{ident}>"}[span.of]
    if isinstance(span, Emoji):
        return f":{re.sub(r'[^a-z0-9_+-]', '', span.name.lower())}:"
    return escape_mrkdwn(_value(span))


def _plain_span(span: Inline) -> str:
    if isinstance(span, str):
        return span
    if isinstance(span, Code):
        return f"`{span.text}`"
    if isinstance(span, Bold):
        return span.text
    if isinstance(span, Link):
        return f"{span.label} ({span.url})"
    if isinstance(span, Mention):
        return f"@{span.id}" if span.of != "channel" else f"#{span.id}"
    if isinstance(span, Emoji):
        return ""
    return _value(span)


def to_mrkdwn(text: Text) -> str:
    """Slack mrkdwn for ``text``."""
    if isinstance(text, str):
        return escape_mrkdwn(text)
    return "".join(_mrkdwn_span(span) for span in text)


def to_plain(text: Text) -> str:
    """Terminal text for ``text`` (code keeps its backticks so names stand out)."""
    if isinstance(text, str):
        return text
    if text and isinstance(text[0], Emoji):
        return "".join(_plain_span(span) for span in text[1:]).lstrip()
    return "".join(_plain_span(span) for span in text)


_EMOJI_CODE = re.compile(r"(?<![\w:]):[a-z0-9_+-]+: ?")


def mrkdwn_as_terminal_text(text: str) -> str:
    """Slack mrkdwn someone received, readable in a terminal (the demo shows what Slack got):
    links as ``label (url)``, mentions as ``@U…``, no bold stars, no emoji codes, entities decoded."""
    text = re.sub(r"<([^|>@#!][^|>]*)\|([^>]+)>", r"\2 (\1)", text)
    text = re.sub(r"<@([A-Z0-9]+)>", r"@\1", text)
    text = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"\1", text)
    text = _EMOJI_CODE.sub("", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("\u2060", "")

