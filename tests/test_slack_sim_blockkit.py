"""Block Kit limits: the simulator refuses what Slack refuses, with Slack's error names."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack_sim import validate_blocks, validate_view

OPS = "C0OPS"


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(action_id: str = "approve", text: str = "Approve", value: str = "v") -> dict[str, Any]:
    return {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": text}, "value": value}


def mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


OVER_THE_LIMIT = {
    "51 blocks": [section("x")] * 51,
    "section text 3001": [section("x" * 3001)],
    "11 fields": [{"type": "section", "fields": [mrkdwn("f")] * 11}],
    "field 2001": [{"type": "section", "fields": [mrkdwn("f" * 2001)]}],
    "header 151": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
    "header in mrkdwn": [{"type": "header", "text": mrkdwn("h")}],
    "context 11 elements": [{"type": "context", "elements": [mrkdwn("c")] * 11}],
    "actions 26 elements": [{"type": "actions", "elements": [button(f"a{i}") for i in range(26)]}],
    "block_id 256": [section("x", block_id="b" * 256)],
    "action_id 256": [{"type": "actions", "elements": [button("a" * 256)]}],
    "button text 76": [{"type": "actions", "elements": [button(text="t" * 76)]}],
    "button value 2001": [{"type": "actions", "elements": [button(value="v" * 2001)]}],
    "duplicate block_id": [section("a", block_id="same"), section("b", block_id="same")],
    "missing type": [{"text": mrkdwn("x")}],
    "unknown type": [{"type": "carousel"}],
    "empty text": [section("")],
    "section without text": [{"type": "section"}],
    "confirm title 101": [
        {
            "type": "actions",
            "elements": [
                {
                    **button(),
                    "confirm": {
                        "title": {"type": "plain_text", "text": "t" * 101},
                        "text": mrkdwn("sure?"),
                        "confirm": {"type": "plain_text", "text": "Yes"},
                        "deny": {"type": "plain_text", "text": "No"},
                    },
                }
            ],
        }
    ],
}


@pytest.mark.parametrize("blocks", list(OVER_THE_LIMIT.values()), ids=list(OVER_THE_LIMIT))
def test_over_the_limit_blocks_are_invalid_blocks(slack_client: WebClient, blocks: list[dict[str, Any]]) -> None:
    with pytest.raises(SlackApiError) as caught:
        slack_client.chat_postMessage(channel=OPS, text="fallback", blocks=blocks)
    assert caught.value.response["error"] == "invalid_blocks"
    assert "[json-pointer:/blocks" in caught.value.response["errors"][0]


def test_a_message_exactly_at_every_limit_is_accepted(slack_client: WebClient) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        section("s" * 3000, block_id="b" * 255),
        {"type": "section", "fields": [mrkdwn("f" * 200)] * 10},
        {"type": "context", "elements": [mrkdwn("c")] * 10},
        {"type": "actions", "elements": [button(f"{i:0>255}", "t" * 75, "v" * 80) for i in range(25)]},
        *[{"type": "divider"}] * 45,
    ]
    assert len(blocks) == 50
    assert slack_client.chat_postMessage(channel=OPS, text="t" * 40_000, blocks=blocks)["ok"]


def test_blocks_adding_up_past_13k_characters_are_too_long(slack_client: WebClient) -> None:
    blocks = [section("x" * 2900) for _ in range(5)]
    with pytest.raises(SlackApiError) as caught:
        slack_client.chat_postMessage(channel=OPS, text="report", blocks=blocks)
    assert caught.value.response["error"] == "msg_blocks_too_long"


def test_update_and_ephemeral_check_the_same_limits(slack_client: WebClient) -> None:
    ts = slack_client.chat_postMessage(channel=OPS, text="ok")["ts"]
    too_big = [section("x" * 3001)]
    for call in (
        lambda: slack_client.chat_update(channel=OPS, ts=ts, text="x", blocks=too_big),
        lambda: slack_client.chat_postEphemeral(channel=OPS, user="U0ALICE", text="x", blocks=too_big),
    ):
        with pytest.raises(SlackApiError) as caught:
            call()
        assert caught.value.response["error"] == "invalid_blocks"


def test_blocks_that_are_not_a_list_are_a_format_error(slack_sim: Any, slack_client: WebClient) -> None:
    with pytest.raises(SlackApiError) as caught:
        slack_client.api_call("chat.postMessage", params={"channel": OPS, "text": "x", "blocks": "{not json"})
    assert caught.value.response["error"] == "invalid_blocks_format"


def test_modal_limits() -> None:
    base = {"type": "modal", "title": {"type": "plain_text", "text": "Restart"}, "blocks": []}
    assert validate_view(base) is None
    for broken in (
        {**base, "title": {"type": "plain_text", "text": "t" * 25}},
        {**base, "submit": {"type": "plain_text", "text": "s" * 25}},
        {**base, "private_metadata": "m" * 3001},
        {**base, "blocks": [section("x")] * 101},
    ):
        problem = validate_view(broken)
        assert problem is not None and problem.error == "invalid_arguments"


@settings(max_examples=40, deadline=None)
@given(length=st.integers(min_value=1, max_value=4000))
def test_section_text_is_valid_exactly_up_to_3000_characters(length: int) -> None:
    problem = validate_blocks([section("x" * length)])
    assert (problem is None) == (length <= 3000)
