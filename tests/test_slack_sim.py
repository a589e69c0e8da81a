"""The Slack simulator's Web API, exercised with the real slack_sdk WebClient."""

from __future__ import annotations

import json
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack_sim import SlackSim

OPS = "C0OPS"
PLATFORM = "C0PLATFORM"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def slack_error(call: Any, *args: Any, **kwargs: Any) -> str:
    """Run a WebClient call that must fail; return Slack's error name."""
    with pytest.raises(SlackApiError) as caught:
        call(*args, **kwargs)
    return str(caught.value.response["error"])


# -- auth ---------------------------------------------------------------------------------


def test_auth_test_identifies_the_bot(slack_client: WebClient) -> None:
    identity = slack_client.auth_test()
    assert identity["user_id"] == "U0BOT"
    assert identity["team_id"] == "T0SIM"
    assert identity["bot_id"] == "B0BOT"


@pytest.mark.parametrize(
    ("token", "error"),
    [(None, "not_authed"), ("xoxb-stolen", "invalid_auth"), ("xapp-sim-token", "not_allowed_token_type")],
)
def test_bad_tokens_are_refused(slack_sim: SlackSim, token: str | None, error: str) -> None:
    client = WebClient(token=token, base_url=slack_sim.api_url)
    assert slack_error(client.chat_postMessage, channel=OPS, text="hi") == error


def test_socket_mode_url_needs_the_app_token(slack_sim: SlackSim, slack_client: WebClient) -> None:
    url = WebClient(base_url=slack_sim.api_url).apps_connections_open(app_token=slack_sim.app_token)["url"]
    assert url.startswith(f"ws://127.0.0.1:{slack_sim.socket.port}/link/?ticket=")
    assert slack_error(slack_client.apps_connections_open, app_token=slack_sim.bot_token) == "not_allowed_token_type"


# -- chat.* -------------------------------------------------------------------------------


def test_posted_message_and_thread_reply_are_visible(slack_sim: SlackSim, slack_client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*tenant demo* healthy"}}]
    parent = slack_client.chat_postMessage(channel=OPS, text="demo healthy", blocks=blocks)
    assert parent["message"]["user"] == "U0BOT"
    reply = slack_client.chat_postMessage(channel=OPS, text="details", thread_ts=parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]

    shown = slack_sim.messages(OPS)
    assert [m.text for m in shown] == ["demo healthy", "details"]
    assert shown[0].blocks == blocks
    assert [m.ts for m in slack_sim.thread(OPS, parent["ts"])] == [parent["ts"], reply["ts"]]
    assert [m.text for m in slack_sim.messages(OPS, include_replies=False)] == ["demo healthy"]
    replies = slack_client.conversations_replies(channel=OPS, ts=parent["ts"])["messages"]
    assert [m["text"] for m in replies] == ["demo healthy", "details"]


def test_post_by_channel_name_and_to_a_user_dm(slack_sim: SlackSim, slack_client: WebClient) -> None:
    assert slack_client.chat_postMessage(channel="#ops", text="by name")["channel"] == OPS
    dm = slack_client.chat_postMessage(channel="U0BOB", text="psst")["channel"]
    assert dm.startswith("D")
    assert [m.text for m in slack_sim.messages(dm)] == ["psst"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "C0NOPE", "text": "x"}, "channel_not_found"),
        ({"channel": PLATFORM, "text": "x"}, "not_in_channel"),
        ({"channel": OPS, "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": OPS, "text": ""}, "no_text"),
        ({"channel": OPS, "text": "x", "thread_ts": "123.456"}, "thread_not_found"),
    ],
)
def test_post_message_errors(slack_client: WebClient, kwargs: dict[str, Any], error: str) -> None:
    assert slack_error(slack_client.chat_postMessage, **kwargs) == error


def test_message_metadata_is_kept_and_history_shows_it_only_when_asked(
    slack_sim: SlackSim, slack_client: WebClient
) -> None:
    metadata = {"event_type": "daily_report", "event_payload": {"key": "report:C0OPS:2024-05-14T07:00Z"}}
    posted = slack_client.chat_postMessage(channel=OPS, text="report", metadata=metadata)
    assert posted["message"]["metadata"] == metadata
    assert slack_sim.messages(OPS)[0].metadata == metadata
    plain = slack_client.conversations_history(channel=OPS)["messages"]
    assert [m["text"] for m in plain] == ["report"] and "metadata" not in plain[0], "not unless asked for"
    [shown] = slack_client.conversations_history(channel=OPS, include_all_metadata=True)["messages"]
    assert shown["metadata"] == metadata
    [in_thread] = slack_client.conversations_replies(channel=OPS, ts=posted["ts"], include_all_metadata=True)[
        "messages"
    ]
    assert in_thread["metadata"] == metadata


def test_malformed_metadata_is_refused_and_a_bad_event_type_is_dropped_with_a_warning(
    slack_sim: SlackSim, slack_client: WebClient
) -> None:
    for bad in ({"event_payload": {}}, {"event_type": "x", "event_payload": "key"}, ["x"]):
        error = slack_error(slack_client.chat_postMessage, channel=OPS, text="x", metadata=bad)
        assert error == "invalid_metadata_format"
    assert slack_sim.messages(OPS) == []
    posted = slack_client.chat_postMessage(
        channel=OPS, text="posted anyway", metadata={"event_type": "daily.report", "event_payload": {"k": 1}}
    )
    assert posted["warning"] == "invalid_metadata_schema"
    assert "metadata" not in posted["message"] and slack_sim.messages(OPS)[0].metadata is None


def test_update_replaces_content_and_keeps_history(slack_sim: SlackSim, slack_client: WebClient) -> None:
    ts = slack_client.chat_postMessage(channel=OPS, text="approval pending")["ts"]
    updated = slack_client.chat_update(channel=OPS, ts=ts, text="approved by alice", blocks=[])
    assert updated["message"]["edited"]["user"] == "U0BOT"
    (message,) = slack_sim.messages(OPS)
    assert message.text == "approved by alice"
    assert [v.text for v in message.edits] == ["approval pending"]


def test_bot_cannot_update_or_delete_a_human_message(slack_sim: SlackSim, slack_client: WebClient) -> None:
    ts = slack_sim.driver().say("U0ALICE", OPS, "my own words")
    assert slack_error(slack_client.chat_update, channel=OPS, ts=ts, text="edited") == "cant_update_message"
    assert slack_error(slack_client.chat_delete, channel=OPS, ts=ts) == "cant_delete_message"
    assert slack_error(slack_client.chat_update, channel=OPS, ts="1.000001", text="x") == "message_not_found"


def test_delete_removes_the_message(slack_sim: SlackSim, slack_client: WebClient) -> None:
    ts = slack_client.chat_postMessage(channel=OPS, text="oops")["ts"]
    slack_client.chat_delete(channel=OPS, ts=ts)
    assert slack_sim.messages(OPS) == []


def test_ephemeral_goes_to_one_member_only(slack_sim: SlackSim, slack_client: WebClient) -> None:
    slack_client.chat_postEphemeral(channel=OPS, user="U0BOB", text="only bob sees this")
    assert [e.text for e in slack_sim.ephemerals(OPS, "U0BOB")] == ["only bob sees this"]
    assert slack_sim.ephemerals(OPS, "U0ALICE") == []
    assert slack_sim.messages(OPS) == []
    slack_sim.add_user("U0DAVE", "dave")
    assert slack_error(slack_client.chat_postEphemeral, channel=OPS, user="U0DAVE", text="x") == "user_not_in_channel"


def test_pins(slack_sim: SlackSim, slack_client: WebClient) -> None:
    ts = slack_client.chat_postMessage(channel=OPS, text="runbook")["ts"]
    slack_client.pins_add(channel=OPS, timestamp=ts)
    assert slack_sim.pins(OPS) == [ts]
    assert slack_error(slack_client.pins_add, channel=OPS, timestamp=ts) == "already_pinned"
    assert slack_error(slack_client.pins_add, channel=OPS, timestamp="1.000002") == "message_not_found"


def test_views_open_needs_a_fresh_unused_trigger(slack_sim: SlackSim, slack_client: WebClient) -> None:
    view = {
        "type": "modal",
        "callback_id": "confirm",
        "title": {"type": "plain_text", "text": "Confirm restart"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Restart pool 1?"}}],
    }
    driver = slack_sim.driver()
    trigger = driver.trigger_for("U0ALICE")
    opened = slack_client.views_open(trigger_id=trigger, view=view)["view"]
    assert [v.id for v in slack_sim.views("U0ALICE")] == [opened["id"]]
    assert slack_error(slack_client.views_open, trigger_id=trigger, view=view) == "exchanged_trigger_id"
    assert slack_error(slack_client.views_open, trigger_id="123.456.abc", view=view) == "invalid_trigger_id"
    stale = driver.trigger_for("U0ALICE")
    slack_sim.advance_clock(3.5)
    assert slack_error(slack_client.views_open, trigger_id=stale, view=view) == "expired_trigger_id"
    too_long = {**view, "title": {"type": "plain_text", "text": "x" * 25}}
    assert slack_error(slack_client.views_open, trigger_id=driver.trigger_for("U0BOB"), view=too_long) == (
        "invalid_arguments"
    )


# -- conversations.*, users, usergroups ----------------------------------------------------


def test_create_invite_join_and_list_channels(slack_sim: SlackSim, slack_client: WebClient) -> None:
    created = slack_client.conversations_create(name="incident-42")["channel"]
    assert created["is_member"] is True
    slack_client.conversations_invite(channel=created["id"], users="U0ALICE,U0BOB")
    members = slack_client.conversations_members(channel=created["id"])["members"]
    assert set(members) == {"U0BOT", "U0ALICE", "U0BOB"}
    assert slack_client.conversations_info(channel=created["id"])["channel"]["name"] == "incident-42"

    assert slack_client.conversations_join(channel=PLATFORM)["channel"]["is_member"] is True
    slack_client.chat_postMessage(channel=PLATFORM, text="now I can post")

    first = slack_client.conversations_list(limit=2)
    rest = slack_client.conversations_list(limit=2, cursor=first["response_metadata"]["next_cursor"])
    names = {c["name"] for c in first["channels"] + rest["channels"]}
    assert names == {"ops", "platform", "incident-42"}
    assert rest["response_metadata"]["next_cursor"] == ""


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("ops", "name_taken"),
        ("Has Spaces", "invalid_name_specials"),
        ("", "invalid_name_required"),
        ("x" * 81, "invalid_name_maxlength"),
        ("---", "invalid_name_punctuation"),
        ("everyone", "invalid_name"),
    ],
)
def test_create_channel_name_errors(slack_client: WebClient, name: str, error: str) -> None:
    assert slack_error(slack_client.conversations_create, name=name) == error


def test_invite_errors(slack_client: WebClient) -> None:
    assert slack_error(slack_client.conversations_invite, channel=OPS, users="U0NOBODY") == "user_not_found"
    assert slack_error(slack_client.conversations_invite, channel=OPS, users="U0BOB") == "already_in_channel"
    assert slack_error(slack_client.conversations_invite, channel=PLATFORM, users="U0BOB") == "not_in_channel"


def test_private_channel_without_the_bot_does_not_exist_for_it(slack_sim: SlackSim, slack_client: WebClient) -> None:
    secret = slack_sim.add_channel("secret", ["U0ALICE"], bot_member=False, is_private=True)
    assert slack_error(slack_client.conversations_info, channel=secret) == "channel_not_found"
    assert slack_error(slack_client.chat_postMessage, channel=secret, text="x") == "channel_not_found"
    names = {c["name"] for c in slack_client.conversations_list(types="public_channel,private_channel")["channels"]}
    assert "secret" not in names


def test_a_private_channel_is_created_private_and_shows_who_the_bot_invited(
    slack_sim: SlackSim, slack_client: WebClient
) -> None:
    created = slack_client.conversations_create(name="inc-secret", is_private=True)["channel"]
    assert created["is_private"] is True and created["is_member"] is True
    slack_client.conversations_invite(channel=created["id"], users="U0ALICE,U0BOB")
    assert set(slack_client.conversations_members(channel=created["id"])["members"]) == {"U0BOT", "U0ALICE", "U0BOB"}
    public = {c["name"] for c in slack_client.conversations_list()["channels"]}
    private = {c["name"] for c in slack_client.conversations_list(types="private_channel")["channels"]}
    assert "inc-secret" not in public and "inc-secret" in private
    # The bot cannot join a private channel by itself (it must be invited), as in Slack.
    secret = slack_sim.add_channel("secret", ["U0ALICE"], bot_member=False, is_private=True)
    assert slack_error(slack_client.conversations_join, channel=secret) == "channel_not_found"
    assert slack_sim.member_events(created["id"]) == [
        {"type": "member_joined_channel", "user": user, "channel": created["id"], "channel_type": "G",
         "team": "T0SIM", "event_ts": event["event_ts"], "inviter": "U0BOT"}
        for user, event in zip(("U0ALICE", "U0BOB"), slack_sim.member_events(created["id"]), strict=True)
    ]


def test_a_person_joins_a_public_channel_by_themselves_but_never_a_private_one(slack_sim: SlackSim) -> None:
    driver = slack_sim.driver()
    public = slack_sim.add_channel("inc-open", ["U0ALICE"])
    driver.join("U0CAROL", public)
    assert "U0CAROL" in slack_sim.channel(public).members  # type: ignore[union-attr]
    [event] = slack_sim.member_events(public)
    assert event["user"] == "U0CAROL" and event["channel_type"] == "C" and "inviter" not in event
    private = slack_sim.add_channel("inc-closed", ["U0ALICE"], is_private=True)
    with pytest.raises(ValueError, match="private"):
        driver.join("U0CAROL", private)
    # A private channel does not exist for a non-member: nothing can be typed or clicked there.
    with pytest.raises(ValueError, match="not a member"):
        driver.slash("U0CAROL", private, "/minio help")
    assert "U0CAROL" not in slack_sim.channel(private).members  # type: ignore[union-attr]


def test_a_member_adds_people_from_slack_itself_and_the_event_names_them_as_inviter(slack_sim: SlackSim) -> None:
    driver = slack_sim.driver()
    private = slack_sim.add_channel("inc-closed", ["U0BOB"], is_private=True)
    with pytest.raises(ValueError, match="not a member"):
        driver.add_members("U0CAROL", private, ["U0CAROL"])
    driver.add_members("U0BOB", private, ["U0CAROL"])
    assert "U0CAROL" in slack_sim.channel(private).members  # type: ignore[union-attr]
    [event] = slack_sim.member_events(private)
    assert event["inviter"] == "U0BOB" and event["channel_type"] == "G"
    with pytest.raises(ValueError, match="unknown user"):
        driver.add_members("U0BOB", private, ["U0NOBODY"])


def test_users_info(slack_client: WebClient) -> None:
    alice = slack_client.users_info(user="U0ALICE")["user"]
    assert (alice["name"], alice["is_admin"], alice["team_id"]) == ("alice", True, "T0SIM")
    assert slack_error(slack_client.users_info, user="U0NOBODY") == "user_not_found"


def test_usergroup_members_and_the_free_plan(slack_sim: SlackSim, slack_client: WebClient) -> None:
    assert slack_client.usergroups_users_list(usergroup="S0ONCALL")["users"] == ["U0ALICE", "U0BOB"]
    assert slack_error(slack_client.usergroups_users_list, usergroup="S0NOPE") == "no_such_subteam"
    slack_sim.set_free_plan(True)
    assert slack_error(slack_client.usergroups_users_list, usergroup="S0ONCALL") == "plan_upgrade_required"


# -- files ---------------------------------------------------------------------------------


def test_files_upload_v2_shares_a_png_into_the_channel(slack_sim: SlackSim, slack_client: WebClient) -> None:
    result = slack_client.files_upload_v2(
        channel=OPS, content=PNG, filename="capacity.png", title="Capacity", initial_comment="capacity report"
    )
    (shared,) = slack_sim.files(OPS)
    assert shared.id == result["file"]["id"]
    assert shared.is_png and shared.content == PNG and shared.title == "Capacity"
    message = slack_sim.messages(OPS)[-1]
    assert (message.text, message.files, message.user) == ("capacity report", [shared.id], "U0BOT")
    assert [c.method for c in slack_sim.calls()] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]


def test_upload_into_a_channel_without_the_bot_fails(slack_client: WebClient) -> None:
    assert slack_error(slack_client.files_upload_v2, channel=PLATFORM, content=PNG, filename="x.png") == (
        "not_in_channel"
    )


def test_completing_an_upload_that_never_got_bytes_fails(slack_client: WebClient) -> None:
    file_id = slack_client.files_getUploadURLExternal(filename="x.png", length=10)["file_id"]
    assert slack_error(slack_client.files_completeUploadExternal, files=[{"id": file_id}], channel_id=OPS) == (
        "file_not_found"
    )


def test_shares_can_lag_like_slack(slack_sim: SlackSim, slack_client: WebClient) -> None:
    slack_sim.set_file_share_delay(0.2)
    slack_client.files_upload_v2(channel=OPS, content=PNG, filename="late.png")
    assert slack_sim.files(OPS) == []
    assert slack_sim.wait_for(lambda: slack_sim.files(OPS), timeout=2)[0].name == "late.png"


# -- recording, state view, concurrency ------------------------------------------------------


def test_every_call_is_recorded_with_params_token_and_status(slack_sim: SlackSim, slack_client: WebClient) -> None:
    slack_client.chat_postMessage(channel=OPS, text="hello")
    slack_error(slack_client.chat_postMessage, channel=PLATFORM, text="nope")
    ok, refused = slack_sim.calls("chat.postMessage")
    assert (ok.params["text"], ok.token, ok.http_status, ok.ok) == ("hello", "xoxb-sim-token", 200, True)
    assert (refused.error, refused.ok) == ("not_in_channel", False)
    assert ok.time <= refused.time


def test_state_endpoint_shows_channels_and_messages(slack_sim: SlackSim, slack_client: WebClient) -> None:
    slack_client.chat_postMessage(channel=OPS, text="visible to humans")
    with urllib.request.urlopen(f"{slack_sim.base_url}_sim/state", timeout=5) as response:
        state = json.load(response)
    ops = next(c for c in state["channels"] if c["id"] == OPS)
    assert [m["text"] for m in ops["messages"]] == ["visible to humans"]
    assert {u["name"] for u in state["users"]} >= {"alice", "bob", "carol"}


def test_fifty_concurrent_calls_all_succeed(slack_sim: SlackSim, slack_client: WebClient) -> None:
    def post(i: int) -> str:
        return str(slack_client.chat_postMessage(channel=OPS, text=f"msg {i}")["ts"])

    with ThreadPoolExecutor(max_workers=50) as pool:
        stamps = list(pool.map(post, range(50)))
    assert len(set(stamps)) == 50
    assert len(slack_sim.messages(OPS)) == 50
