"""Rendering: whatever a handler returns, Slack never refuses the message."""

from __future__ import annotations

import json
import os

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render import limits, render_slack, render_text
from bot.report import Action, KeyValue, Report, Row, Section, Status

text = st.text(min_size=0, max_size=400)
long_text = st.text(min_size=0, max_size=4000)
status = st.sampled_from(list(Status)) | st.none()

sections = st.builds(
    Section,
    title=st.text(min_size=1, max_size=200),
    status=status,
    rows=st.lists(st.builds(Row, status=status, text=text), max_size=30),
    lines=st.lists(long_text, max_size=8),
    fields=st.lists(st.builds(KeyValue, label=text, value=long_text), max_size=25),
    error=st.none() | text,
    in_thread=st.booleans(),
)
reports = st.builds(
    Report,
    title=st.text(max_size=300),
    status=status,
    summary=long_text,
    reasons=st.lists(text, max_size=20),
    sections=st.lists(sections, max_size=60),
    actions=st.lists(
        st.builds(Action, label=text, action_id=st.text(min_size=1, max_size=300), value=long_text,
                  confirm=st.none() | long_text),
        max_size=30,
    ),
    footer=st.lists(text, max_size=15),
)


def check_message(blocks: list[dict], fallback: str) -> None:
    assert len(blocks) <= limits.MAX_BLOCKS
    # Slack refuses around 13,000 characters of blocks.
    assert len(json.dumps(blocks, ensure_ascii=False)) <= 12500
    assert len(fallback) <= limits.MESSAGE_TEXT
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= limits.HEADER_TEXT
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= limits.SECTION_TEXT
            for field in block.get("fields", []):
                assert len(field["text"]) <= limits.FIELD_TEXT
            assert len(block.get("fields", [])) <= limits.MAX_FIELDS
        if block["type"] == "context":
            assert len(block["elements"]) <= limits.CONTEXT_ELEMENTS
        if block["type"] == "actions":
            assert len(block["elements"]) <= limits.ACTIONS_ELEMENTS
            for button in block["elements"]:
                assert len(button["text"]["text"]) <= limits.BUTTON_TEXT
                assert len(button["value"]) <= limits.BUTTON_VALUE
                assert len(button["action_id"]) <= limits.ID_CHARS
                if "confirm" in button:
                    assert len(button["confirm"]["text"]["text"]) <= limits.CONFIRM_TEXT
                    assert len(button["confirm"]["title"]["text"]) <= limits.CONFIRM_TITLE


@settings(max_examples=int(os.environ.get('RENDER_EXAMPLES', '60')), deadline=None)
@given(reports)
def test_every_rendered_message_respects_slack_limits(report: Report) -> None:
    post = render_slack(report)
    for message in [post.head, *post.thread]:
        check_message(message.blocks, message.text)


def test_long_report_continues_in_a_thread_without_losing_lines() -> None:
    rows = [Row(status=Status.HEALTHY, text=f"node {i}: ok, uptime {i}h") for i in range(400)]
    report = Report(title="Health of big", status=Status.HEALTHY, sections=[Section(title="Nodes", rows=rows)])
    post = render_slack(report)
    assert post.thread, "400 rows cannot fit one message"
    everything = json.dumps([post.head.blocks] + [m.blocks for m in post.thread])
    for i in (0, 199, 399):
        assert f"node {i}: ok" in everything
    assert "continue in the thread" in json.dumps(post.head.blocks)


def test_text_rendering_names_status_and_failed_sections() -> None:
    report = Report(
        title="Health of demo",
        status=Status.DEGRADED,
        reasons=["node 2 is offline"],
        sections=[Section(title="Kubernetes", error="Kubernetes API unreachable: connection refused")],
    )
    out = render_text(report)
    assert out.startswith("Health of demo: DEGRADED")
    assert "node 2 is offline" in out
    assert "could not check: Kubernetes API unreachable" in out


def test_sections_marked_for_the_thread_are_never_in_the_head_and_follow_in_order() -> None:
    details = [Section(title=f"tenant-{i}", in_thread=True, lines=[f"detail of tenant-{i}"]) for i in range(3)]
    report = Report(title="Daily report", sections=[Section(title="Tenants", rows=[Row(text="3 tenants")]), *details])
    post = render_slack(report)
    head = json.dumps(post.head.blocks)
    assert "3 tenants" in head and "detail of" not in head, "short as it is, the detail goes to the thread"
    assert "continue in the thread" in head
    thread = json.dumps([m.blocks for m in post.thread])
    assert [thread.index(f"detail of tenant-{i}") for i in range(3)] == sorted(
        thread.index(f"detail of tenant-{i}") for i in range(3)
    )
    for message in [post.head, *post.thread]:
        check_message(message.blocks, message.text)
    assert "detail of tenant-2" in render_text(report), "the terminal shows them in place"


def test_a_section_too_long_for_any_message_starts_in_the_head_message() -> None:
    rows = [Row(status=Status.DEGRADED, text=f"tenant-{i:03d}: " + "x" * 500) for i in range(120)]
    report = Report(title="Daily report", summary="120 tenants", sections=[Section(title="Tenants", rows=rows)])
    post = render_slack(report)
    head = json.dumps(post.head.blocks)
    assert "tenant-000" in head, "people see the first rows where they look"
    everything = head + json.dumps([m.blocks for m in post.thread])
    assert [everything.index(f"tenant-{i:03d}") for i in range(120)] == sorted(
        everything.index(f"tenant-{i:03d}") for i in range(120)
    )
    for message in [post.head, *post.thread]:
        check_message(message.blocks, message.text)


def test_the_demo_shows_received_mrkdwn_as_readable_terminal_text() -> None:
    from bot.render.inline import mrkdwn_as_terminal_text

    received = ":large_green_circle: *Security* by <@U0ALICE>, <https://x.example|docs> &lt;b&gt; 12:30:00"
    shown = mrkdwn_as_terminal_text(received)
    assert shown == "Security by @U0ALICE, docs (https://x.example) <b> 12:30:00"
