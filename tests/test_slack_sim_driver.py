"""Acting as users: signed slash commands and clicks (HTTP), response_urls, Socket Mode."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import pytest
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.webhook import WebhookClient

from sandbox.slack_sim import Forgery, NoSocketConnection, SlackSim, driver

OPS = "C0OPS"
SLASH_FIELDS = {
    "token", "team_id", "team_domain", "channel_id", "channel_name", "user_id", "user_name",
    "command", "text", "api_app_id", "response_url", "trigger_id",
}  # fmt: skip


class EventsReceiver:
    """A tiny bot endpoint: checks signatures with slack_sdk's SignatureVerifier, records requests."""

    def __init__(self, signing_secret: str) -> None:
        self.verifier = SignatureVerifier(signing_secret)
        self.requests: list[dict[str, Any]] = []
        self.reply: dict[str, Any] | None = None
        self.delay_s = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                verified = receiver.verifier.is_valid_request(body, dict(self.headers))
                receiver.requests.append({"body": body, "headers": dict(self.headers), "verified": verified})
                time.sleep(receiver.delay_s)
                reply = json.dumps(receiver.reply).encode() if verified and receiver.reply else b""
                self.send_response(200 if verified else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slack/events"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def last_form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.requests[-1]["body"].decode()).items()}

    def last_payload(self) -> dict[str, Any]:
        return dict(json.loads(self.last_form()["payload"]))


class BoltHttpEndpoint:
    """A bolt App served over HTTP the way its WSGI/ASGI adapters do: raw body + headers to dispatch()."""

    def __init__(self, app: App) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                response = app.dispatch(BoltRequest(body=body, headers=dict(self.headers)))
                reply = response.body.encode()
                self.send_response(response.status)
                for name, values in response.headers.items():
                    for value in values:
                        self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slack/events"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture
def receiver(slack_sim: SlackSim) -> Iterator[EventsReceiver]:
    events = EventsReceiver(slack_sim.signing_secret)
    yield events
    events.server.shutdown()
    events.server.server_close()


def post_message_with_buttons(client: WebClient) -> str:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Restart pool 1 of *demo*?"}},
        {
            "type": "actions",
            "block_id": "approval",
            "elements": [
                {"type": "button", "action_id": "approve", "text": {"type": "plain_text", "text": "Approve"},
                 "value": "plan-7", "style": "primary"},
                {"type": "button", "action_id": "deny", "text": {"type": "plain_text", "text": "Deny"},
                 "value": "plan-7"},
            ],
        },
    ]  # fmt: skip
    return str(client.chat_postMessage(channel=OPS, text="approval needed", blocks=blocks)["ts"])


def close_promptly(sim: SlackSim, client: SocketModeClient) -> None:
    """Close a builtin SocketModeClient without its up-to-3 s wait on the socket read.

    close() marks the client closed, then joins a thread blocked in recv(); the sim hanging up
    ends that recv at once.
    """
    closer = threading.Thread(target=client.close, daemon=True)
    closer.start()
    sim.wait_for(lambda: client.closed, timeout=2)
    sim.drop_socket_connections()
    closer.join(timeout=5)
    assert not closer.is_alive()


# -- HTTP mode ----------------------------------------------------------------------------


def test_signed_slash_command_is_verified_and_its_ack_body_shown(slack_sim: SlackSim, receiver: EventsReceiver) -> None:
    receiver.reply = {"text": "checking demo..."}
    result = slack_sim.driver(events_url=receiver.url).slash("U0ALICE", OPS, "/minio health demo")

    assert result.ok and result.status == 200 and result.ack_s < 3
    assert receiver.requests[-1]["verified"]
    assert receiver.requests[-1]["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    form = receiver.last_form()
    assert set(form) >= SLASH_FIELDS
    assert (form["command"], form["text"], form["user_id"], form["channel_id"]) == (
        "/minio", "health demo", "U0ALICE", OPS,
    )  # fmt: skip
    assert form["response_url"] == result.response_url
    assert [e.text for e in slack_sim.ephemerals(OPS, "U0ALICE")] == ["checking demo..."]


@pytest.mark.parametrize("forge", [Forgery.bad_signature(), Forgery.stale(600)], ids=["bad-signature", "stale"])
def test_forged_requests_are_refused_by_the_verifier(
    slack_sim: SlackSim, receiver: EventsReceiver, forge: Forgery
) -> None:
    result = slack_sim.driver(events_url=receiver.url).slash("U0ALICE", OPS, "/minio health", forge=forge)
    assert result.status == 401
    assert result.user_error == "dispatch_failed"
    assert not receiver.requests[-1]["verified"]
    (notice,) = slack_sim.ephemerals(OPS, "U0ALICE")
    assert notice.text == '/minio failed with the error "dispatch_failed"'


def test_a_custom_raw_body_is_sent_and_signed_as_is(slack_sim: SlackSim, receiver: EventsReceiver) -> None:
    result = slack_sim.driver().slash(
        "U0ALICE", OPS, "/minio x", events_url=receiver.url, forge=Forgery(raw_body=b"command=%2Fother")
    )
    assert result.status == 200
    assert receiver.requests[-1]["body"] == b"command=%2Fother"


def test_click_sends_a_realistic_block_actions_payload(
    slack_sim: SlackSim, slack_client: WebClient, receiver: EventsReceiver
) -> None:
    ts = post_message_with_buttons(slack_client)
    result = slack_sim.driver(events_url=receiver.url).click("U0BOB", OPS, ts, "approve")
    assert result.ok
    payload = receiver.last_payload()
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == "U0BOB" and payload["team"]["id"] == "T0SIM"
    assert payload["container"] == {"type": "message", "message_ts": ts, "channel_id": OPS, "is_ephemeral": False}
    assert payload["channel"]["id"] == OPS and payload["message"]["ts"] == ts
    (action,) = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "approve", "approval", "plan-7", "button",
    )  # fmt: skip
    assert action["action_ts"] and payload["trigger_id"] == result.trigger_id
    assert payload["response_url"] == result.response_url and payload["api_app_id"] == "A0SIM"


def test_bolt_http_app_accepts_the_signed_requests(slack_sim: SlackSim) -> None:
    app = App(
        client=WebClient(token=slack_sim.bot_token, base_url=slack_sim.api_url),
        signing_secret=slack_sim.signing_secret,
    )

    @app.command("/minio")
    def on_command(ack: Any, respond: Any, command: dict[str, Any]) -> None:
        ack(f"checking {command['text']}...")
        respond(text="demo: HEALTHY", response_type="in_channel")

    @app.action("approve")
    def on_approve(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        who = body["user"]["id"]
        client.chat_update(channel=body["channel"]["id"], ts=body["message"]["ts"], text=f"approved by <@{who}>")

    endpoint = BoltHttpEndpoint(app)
    try:
        users = slack_sim.driver(events_url=endpoint.url)
        assert users.slash("U0ALICE", OPS, "/minio health demo").ok
        assert [e.text for e in slack_sim.ephemerals(OPS, "U0ALICE")] == ["checking health demo..."]
        slack_sim.wait_for(lambda: slack_sim.messages(OPS))
        assert slack_sim.messages(OPS)[0].text == "demo: HEALTHY"

        ts = post_message_with_buttons(app.client)
        assert users.click("U0BOB", OPS, ts, "approve").ok
        slack_sim.wait_for(lambda: slack_sim.messages(OPS)[-1].text == "approved by <@U0BOB>")

        assert users.slash("U0ALICE", OPS, "/minio health", forge=Forgery.bad_signature()).status == 401
    finally:
        endpoint.server.shutdown()
        endpoint.server.server_close()


def test_slow_ack_is_an_operation_timeout(
    slack_sim: SlackSim, receiver: EventsReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(driver, "SLACK_ACK_DEADLINE_S", 0.2)
    receiver.delay_s = 0.3
    result = slack_sim.driver(events_url=receiver.url).slash("U0ALICE", OPS, "/minio capacity")
    assert result.timed_out and not result.ok
    assert "operation_timeout" in slack_sim.ephemerals(OPS, "U0ALICE")[0].text


# -- response_url -------------------------------------------------------------------------


def test_response_url_takes_five_posts_then_expires(slack_sim: SlackSim, receiver: EventsReceiver) -> None:
    url = slack_sim.driver(events_url=receiver.url).slash("U0ALICE", OPS, "/minio health").response_url
    webhook = WebhookClient(url)
    assert [webhook.send(text=f"update {i}").status_code for i in range(5)] == [200] * 5
    sixth = webhook.send(text="one too many")
    assert (sixth.status_code, sixth.body) == (404, "expired_url")
    assert [e.text for e in slack_sim.ephemerals(OPS, "U0ALICE")] == [f"update {i}" for i in range(5)]


def test_response_url_expires_after_thirty_minutes(slack_sim: SlackSim, receiver: EventsReceiver) -> None:
    url = slack_sim.driver(events_url=receiver.url).slash("U0ALICE", OPS, "/minio health").response_url
    slack_sim.advance_clock(30 * 60 + 1)
    assert WebhookClient(url).send(text="late").status_code == 404


def test_response_url_in_channel_replace_and_delete(
    slack_sim: SlackSim, slack_client: WebClient, receiver: EventsReceiver
) -> None:
    users = slack_sim.driver(events_url=receiver.url)
    slash_url = users.slash("U0ALICE", OPS, "/minio health").response_url
    assert WebhookClient(slash_url).send(text="demo: HEALTHY", response_type="in_channel").status_code == 200
    assert [m.text for m in slack_sim.messages(OPS)] == ["demo: HEALTHY"]

    ts = post_message_with_buttons(slack_client)
    click_url = users.click("U0BOB", OPS, ts, "approve").response_url
    too_big = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    refused = WebhookClient(click_url).send(text="x", blocks=too_big, replace_original=True)
    assert (refused.status_code, refused.body) == (400, "invalid_blocks")
    assert WebhookClient(click_url).send(text="approved by bob", replace_original=True).status_code == 200
    approved = slack_sim.messages(OPS)[-1]
    assert (approved.ts, approved.text, approved.blocks) == (ts, "approved by bob", [])
    assert approved.edits[0].text == "approval needed"

    delete_url = users.click("U0CAROL", OPS, ts, "deny").response_url
    assert WebhookClient(delete_url).send_dict({"delete_original": True}).status_code == 200
    assert [m.text for m in slack_sim.messages(OPS)] == ["demo: HEALTHY"]


# -- Socket Mode --------------------------------------------------------------------------


def test_socket_mode_client_gets_hello_and_envelopes_and_acks(
    slack_sim: SlackSim, slack_client: WebClient, receiver: EventsReceiver
) -> None:
    seen: list[dict[str, Any]] = []
    requests: list[SocketModeRequest] = []

    def on_request(client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        requests.append(request)
        payload = {"text": "on it"} if request.type == "slash_commands" else None
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id, payload=payload))

    client = SocketModeClient(app_token=slack_sim.app_token, web_client=slack_client)
    client.message_listeners.append(lambda _client, message, _raw: seen.append(message))
    client.socket_mode_request_listeners.append(on_request)
    client.connect()
    try:
        slack_sim.wait_for(lambda: slack_sim.socket_connections() == 1)
        users = slack_sim.driver()
        result = users.slash("U0ALICE", OPS, "/minio health demo")
        assert result.transport == "socket" and result.ok and result.ack_s < 3
        assert result.envelope_id == requests[0].envelope_id
        assert requests[0].type == "slash_commands" and requests[0].accepts_response_payload
        assert requests[0].payload["text"] == "health demo"
        assert result.payload == {"text": "on it"}
        assert [e.text for e in slack_sim.ephemerals(OPS, "U0ALICE")] == ["on it"]

        ts = post_message_with_buttons(slack_client)
        click = users.click("U0BOB", OPS, ts, "deny")
        assert click.ok and requests[1].type == "interactive"
        assert requests[1].payload["actions"][0]["action_id"] == "deny"
        assert seen[0]["type"] == "hello"
    finally:
        close_promptly(slack_sim, client)


def test_bolt_socket_mode_app_end_to_end(slack_sim: SlackSim) -> None:
    app = App(
        client=WebClient(token=slack_sim.bot_token, base_url=slack_sim.api_url),
        signing_secret=slack_sim.signing_secret,
    )
    modal = {
        "type": "modal",
        "callback_id": "confirm",
        "title": {"type": "plain_text", "text": "Confirm"},
        "submit": {"type": "plain_text", "text": "Go"},
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {"type": "plain_text_input", "action_id": "text"},
            }
        ],
    }
    submitted: list[dict[str, Any]] = []

    @app.command("/minio")
    def on_command(ack: Any, respond: Any, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=modal)
        respond(text=f"health of {body['text']}: OK")

    @app.action("approve")
    def on_approve(ack: Any, respond: Any) -> None:
        ack()
        respond(text="approved", replace_original=True)

    @app.view("confirm")
    def on_submit(ack: Any, view: dict[str, Any]) -> None:
        ack()
        submitted.append(view["state"]["values"])

    handler = SocketModeHandler(app, slack_sim.app_token)
    handler.connect()
    try:
        slack_sim.wait_for(lambda: slack_sim.socket_connections() == 1)
        users = slack_sim.driver()
        assert users.slash("U0ALICE", OPS, "/minio health demo").ok
        slack_sim.wait_for(lambda: slack_sim.ephemerals(OPS, "U0ALICE"))
        assert slack_sim.ephemerals(OPS, "U0ALICE")[0].text == "health of health demo: OK"
        (view,) = slack_sim.wait_for(lambda: slack_sim.views("U0ALICE"))

        assert users.submit_view("U0ALICE", view.id, {"reason": "disk full"}).ok
        assert submitted == [{"reason": {"text": {"type": "plain_text_input", "value": "disk full"}}}]
        assert slack_sim.views("U0ALICE") == []

        ts = post_message_with_buttons(app.client)
        assert users.click("U0BOB", OPS, ts, "approve").ok
        slack_sim.wait_for(lambda: slack_sim.messages(OPS)[-1].text == "approved")
    finally:
        close_promptly(slack_sim, handler.client)


def test_socket_mode_without_a_connected_bot_raises(slack_sim: SlackSim) -> None:
    with pytest.raises(NoSocketConnection):
        slack_sim.driver().slash("U0ALICE", OPS, "/minio health", via="socket")


# -- CLI ----------------------------------------------------------------------------------


def test_cli_prints_where_it_listens_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox.slack_sim", "--port", "0", "--seed-demo"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )
    try:
        assert process.stdout is not None
        info = json.loads(process.stdout.readline())
        assert info["pid"] == process.pid and info["api_url"].endswith("/api/")
        with urllib.request.urlopen(f"{info['base_url']}_sim/state", timeout=5) as response:
            state = json.load(response)
        assert {c["name"] for c in state["channels"]} == {"ops", "platform"}
        identity = WebClient(token="xoxb-sim-token", base_url=info["api_url"]).auth_test()
        assert identity["user_id"] == "U0BOT"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
