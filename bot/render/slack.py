"""Block Kit rendering. Every limit is enforced here, before Slack can refuse a message:
long reports become a head message plus replies in its thread.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from bot.render import limits
from bot.render.inline import to_mrkdwn, to_plain
from bot.report import Action, Report, Section, Status

EMOJI = {
    Status.HEALTHY: ":large_green_circle:",
    Status.INFO: ":information_source:",
    Status.UNKNOWN: ":white_circle:",
    Status.DEGRADED: ":large_yellow_circle:",
    Status.UNHEALTHY: ":red_circle:",
}

Block = dict[str, Any]


@dataclass
class SlackMessage:
    """One message: fallback `text` plus `blocks`."""

    text: str
    blocks: list[Block] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


@dataclass
class SlackPost:
    """A report as Slack will show it: a head message and, when long, replies in its thread."""

    head: SlackMessage
    thread: list[SlackMessage] = field(default_factory=list)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _chunks(lines: list[str], limit: int) -> list[str]:
    """Join lines into chunks no longer than `limit`, cutting only over-long single lines."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = _cut(line, limit)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def _mrkdwn(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, limits.SECTION_TEXT)}}


def _section_blocks(section: Section) -> list[Block]:
    mark = f"{EMOJI[section.status]} " if section.status else ""
    lines = [f"{mark}*{to_mrkdwn(section.title)}*"]
    if section.error:
        lines.append(f":warning: could not check: {to_mrkdwn(section.error)}")
    lines += [f"{EMOJI[row.status]} {to_mrkdwn(row.text)}" if row.status else to_mrkdwn(row.text)
              for row in section.rows]
    lines += [to_mrkdwn(line) for line in section.lines]
    blocks = [_mrkdwn(chunk) for chunk in _chunks(lines, limits.SECTION_TEXT)]
    fields = [
        {"type": "mrkdwn", "text": _cut(f"*{to_mrkdwn(kv.label)}*\n{to_mrkdwn(kv.value)}", limits.FIELD_TEXT)}
        for kv in section.fields
    ]
    # At most 10 fields per block, and few enough characters that one block never fills a message.
    batch: list[Block] = []
    for item in fields:
        if batch and (len(batch) == limits.MAX_FIELDS or _size([*batch, item]) > limits.SECTION_TEXT * 2):
            blocks.append({"type": "section", "fields": batch})
            batch = []
        batch.append(item)
    if batch:
        blocks.append({"type": "section", "fields": batch})
    # A section's own buttons stay with it (same group), so a split never separates them.
    blocks += _action_blocks(section.actions)
    return blocks


def _button(action: Action) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": _cut(action.label, limits.BUTTON_TEXT)},
        "action_id": _cut(action.action_id, limits.ID_CHARS),
        "value": action.value[: limits.BUTTON_VALUE],
    }
    if action.style in ("primary", "danger"):
        button["style"] = action.style
    if action.confirm:
        button["confirm"] = {
            "title": {"type": "plain_text", "text": _cut(action.label, limits.CONFIRM_TITLE)},
            "text": {"type": "mrkdwn", "text": _cut(action.confirm, limits.CONFIRM_TEXT)},
            "confirm": {"type": "plain_text", "text": _cut("Yes, " + action.label.lower(), limits.CONFIRM_BUTTON)},
            "deny": {"type": "plain_text", "text": "Cancel"},
        }
    return button


def _action_blocks(actions: list[Action]) -> list[Block]:
    return [
        {"type": "actions", "elements": [_button(a) for a in actions[start : start + limits.ACTIONS_ELEMENTS]]}
        for start in range(0, len(actions), limits.ACTIONS_ELEMENTS)
    ]


def _size(blocks: list[Block]) -> int:
    return len(json.dumps(blocks, ensure_ascii=False))


def fallback_text(report: Report) -> str:
    """The notification text: title, verdict and summary, short."""
    parts = [report.title]
    if report.status:
        parts[0] = f"{report.title}: {report.status.value}"
    if report.summary:
        parts.append(to_plain(report.summary))
    return _cut("\n".join(p for p in parts if p), limits.MESSAGE_TEXT)


_CONTINUED: Block = {"type": "context", "elements": [{"type": "mrkdwn", "text": "Details continue in the thread."}]}


def _pack(groups: list[list[Block]], first_blocks: int, first_chars: int) -> list[list[Block]]:
    """Fill messages with groups in order, a divider between groups; the first message has a smaller budget.

    A group that fits nowhere whole (one very long section) is split block by block, starting
    where the previous group ended: the head message then shows its beginning.
    """
    messages: list[list[Block]] = [[]]

    def room(index: int) -> tuple[int, int]:
        return (first_blocks, first_chars) if index == 0 else (limits.MAX_BLOCKS, limits.MESSAGE_BLOCK_CHARS)

    def fits(message: list[Block], extra: list[Block], index: int) -> bool:
        blocks, chars = room(index)
        return len(message) + len(extra) <= blocks and _size(message) + _size(extra) <= chars

    for group in groups:
        current = messages[-1]
        with_divider = [{"type": "divider"}, *group] if current and group and group[0]["type"] != "header" else group
        if fits(current, with_divider, len(messages) - 1):
            current += with_divider
            continue
        if current and fits([], group, len(messages)):
            messages.append([])  # it fits a message of its own: keep it whole
        elif current and group and fits(current, [{"type": "divider"}, group[0]], len(messages) - 1):
            current.append({"type": "divider"})
        for block in group:
            if not fits(messages[-1], [block], len(messages) - 1) and messages[-1]:
                messages.append([])
            messages[-1].append(block)
    return messages


def render_slack(report: Report) -> SlackPost:
    """Render a report as one message, or a head message plus thread replies when it is long.

    The title, the start of the report, its buttons and footer stay in the head
    message where people look; whatever does not fit continues in its thread,
    followed by the sections marked ``in_thread``.
    """
    groups: list[list[Block]] = []
    if report.title:
        title = f"{report.title}: {report.status.value}" if report.status else report.title
        groups.append([{"type": "header", "text": {"type": "plain_text", "text": _cut(title, limits.HEADER_TEXT)}}])
    intro = []
    if report.summary:
        summary = to_mrkdwn(report.summary)
        intro.append(f"{EMOJI[report.status]} {summary}" if report.status else summary)
    intro += [f"• {to_mrkdwn(reason)}" for reason in report.reasons]
    intro_blocks = [_mrkdwn(chunk) for chunk in _chunks(intro, limits.SECTION_TEXT)]
    if groups and intro_blocks:
        groups[0] += intro_blocks[:1]  # the header and the verdict belong together
        intro_blocks = intro_blocks[1:]
    groups += [[block] for block in intro_blocks]
    groups += [_section_blocks(s) for s in report.sections if not s.in_thread]

    tail: list[Block] = _action_blocks(report.actions)
    if report.footer:
        elements = [{"type": "mrkdwn", "text": _cut(to_mrkdwn(f), limits.SECTION_TEXT)} for f in report.footer]
        tail.append({"type": "context", "elements": elements[: limits.CONTEXT_ELEMENTS]})
    # The head keeps room for the buttons, the footer and the "continues" note.
    reserve = [*tail, _CONTINUED]
    messages = _pack(groups, limits.MAX_BLOCKS - len(reserve), limits.MESSAGE_BLOCK_CHARS - _size(reserve))
    # Sections meant for the thread start a reply of their own, however much room the head has left.
    details = [_section_blocks(s) for s in report.sections if s.in_thread]
    if details:
        messages += [m for m in _pack(details, limits.MAX_BLOCKS, limits.MESSAGE_BLOCK_CHARS) if m]
    head = messages[0] + tail
    if len(messages) > 1:
        head.append(_CONTINUED)
    post = SlackPost(head=SlackMessage(text=fallback_text(report), blocks=head))
    for index, blocks in enumerate(messages[1:], start=2):
        post.thread.append(SlackMessage(text=f"{report.title} (part {index})", blocks=blocks))
    return post


def _view_blocks(report: Report, *, with_actions: bool) -> list[Block]:
    """A report as the blocks of a view (Home tab or modal): at most 100, footer (and buttons) kept."""
    blocks: list[Block] = []
    if report.title:
        title = f"{report.title}: {report.status.value}" if report.status else report.title
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": _cut(title, limits.HEADER_TEXT)}})
    if report.summary:
        summary = to_mrkdwn(report.summary)
        blocks.append(_mrkdwn(f"{EMOJI[report.status]} {summary}" if report.status else summary))
    reasons = [f"• {to_mrkdwn(reason)}" for reason in report.reasons]
    blocks += [_mrkdwn(chunk) for chunk in _chunks(reasons, limits.SECTION_TEXT)]
    for section in report.sections:
        section_blocks = _section_blocks(section)
        if not with_actions:
            section_blocks = [b for b in section_blocks if b.get("type") != "actions"]
        blocks += section_blocks
    tail: list[Block] = _action_blocks(report.actions) if with_actions else []
    if report.footer:
        elements = [{"type": "mrkdwn", "text": _cut(to_mrkdwn(f), limits.SECTION_TEXT)} for f in report.footer]
        tail.append({"type": "context", "elements": elements[: limits.CONTEXT_ELEMENTS]})
    room = limits.VIEW_BLOCKS - len(tail)
    if len(blocks) > room:
        cut = {"type": "context", "elements": [{"type": "mrkdwn", "text": "(cut: too long)"}]}
        blocks = [*blocks[: room - 1], cut]
    return blocks + tail


def render_home(report: Report) -> dict[str, Any]:
    """A report as an App Home view (``views.publish``): at most 100 blocks, the buttons and footer kept.

    Capabilities page their own content (a Home has no thread to continue in);
    anything past the limit is cut with a note rather than refused by Slack.
    """
    return {"type": "home", "blocks": _view_blocks(report, with_actions=True)}


def render_modal(report: Report) -> dict[str, Any]:
    """A report as a read-only modal (a Home button's full report): no buttons, they act in channels."""
    title = _cut(report.title or "minio-chatops", limits.MODAL_TITLE)
    return {"type": "modal", "title": {"type": "plain_text", "text": title},
            "close": {"type": "plain_text", "text": "Close"}, "blocks": _view_blocks(report, with_actions=False)}
