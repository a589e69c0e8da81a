"""The Slack endpoint under attack: replays, forged headers, other workspaces, huge bodies, open ports.

Issue 14, items 4 and 5. Every request here is signed with the real signing
secret unless the test says otherwise: these are the requests an attacker who
captured one genuine request (or who holds another workspace's app) can send.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest

from sandbox.slack_sim import SlackSim
from sandbox.slack_sim.driver import sign
from sandbox.slack_sim.response_url import issue_response_url
from tests.fixtures.bot import ALICE, OPS, BotFactory, RunningBot, base_config

FORM = "application/x-www-form-urlencoded"


def slash_body(slack: SlackSim, text: str, *, team_id: str = "T0SIM", app_id: str = "A0SIM") -> bytes:
    """A `/minio <text>` slash command by alice in #ops as Slack sends it, with a live response_url."""
    record = issue_response_url(slack.ws, channel=OPS, user=ALICE, kind="slash_command")
    return urlencode({
        "command": "/minio", "text": text, "user_id": ALICE, "channel_id": OPS, "team_id": team_id,
        "api_app_id": app_id, "response_url": f"{slack.base_url}response/{record.id}", "trigger_id": record.id,
    }).encode()


def post(bot: RunningBot, body: bytes, headers: list[tuple[str, str]]) -> tuple[int, str]:
    """POST /slack/events with exactly these headers (repeats allowed, in this order)."""
    conn = http.client.HTTPConnection("127.0.0.1", bot.server.port, timeout=10)
    try:
        conn.putrequest("POST", "/slack/events")
        for name, value in [("Content-Type", FORM), ("Content-Length", str(len(body))), *headers]:
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def signed(bot: RunningBot, body: bytes, ts: int | None = None) -> list[tuple[str, str]]:
    """The two Slack headers for `body`, signed with the real secret."""
    stamp = ts or int(time.time())
    return [("X-Slack-Request-Timestamp", str(stamp)),
            ("X-Slack-Signature", sign(bot.slack.signing_secret, stamp, body))]


def helps_answered(slack: SlackSim) -> int:
    """How many times the bot answered `help` to alice (each run of the command answers once)."""
    return sum("minio-chatops commands" in json.dumps(e.blocks) + e.text for e in slack.ephemerals(OPS, ALICE))


def wait_helps(slack: SlackSim, count: int) -> None:
    assert slack.wait_for(lambda: helps_answered(slack) >= count, timeout=10), f"expected {count} answers"


# ----------------------------------------------------------------------------- item 4: replays


def test_replay_with_a_duplicate_signature_header_in_front_is_refused(bot_factory: BotFactory) -> None:
    bot = bot_factory()
    body = slash_body(bot.slack, "help")
    genuine = signed(bot, body)
    status, _ = post(bot, body, genuine)
    assert status == 200
    wait_helps(bot.slack, 1)
    # The captured request again, with a made-up signature header put in front of the real one.
    timestamp, real = genuine
    status, answer = post(bot, body, [timestamp, ("X-Slack-Signature", "v0=" + "0" * 64), real])
    assert status == 400 and "duplicate" in answer
    # ...and with the timestamp header doubled instead.
    status, _ = post(bot, body, [("X-Slack-Request-Timestamp", str(int(time.time()))), timestamp, real])
    assert status == 400
    # The plain replay is refused too, and the command ran exactly once.
    status, answer = post(bot, body, genuine)
    assert status == 401 and "replayed" in answer
    time.sleep(0.5)
    assert helps_answered(bot.slack) == 1


def test_a_fresh_request_with_duplicate_signature_headers_is_refused(bot_factory: BotFactory) -> None:
    bot = bot_factory()
    body = slash_body(bot.slack, "help")
    timestamp, real = signed(bot, body)
    assert post(bot, body, [timestamp, real, real])[0] == 400
    # Refused before anything was recorded: the same request with single headers still runs once.
    assert post(bot, body, [timestamp, real])[0] == 200
    wait_helps(bot.slack, 1)


@pytest.mark.parametrize("store_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
def test_a_replay_sent_to_a_second_replica_is_refused(
    bot_factory: BotFactory, slack_sim: SlackSim, store_url: str
) -> None:
    config = {**base_config(slack_sim), "store_url": store_url}
    first, second = bot_factory(config), bot_factory(config)
    body = slash_body(slack_sim, "help")
    genuine = signed(first, body)
    assert post(first, body, genuine)[0] == 200
    wait_helps(slack_sim, 1)
    # The second replica has never seen it: it acks (the ack never waits for the store), and its worker finds
    # the key claimed in the shared store and drops the work.
    assert post(second, body, genuine)[0] == 200
    status, answer = post(first, body, genuine)
    assert status == 401 and "replayed" in answer, "the replica that served it refuses it at once"
    assert slack_sim.wait_for(lambda: first.bot.runtime.store.replays.count() == 1, timeout=5)
    time.sleep(1.0)
    assert helps_answered(slack_sim) == 1, "the captured request ran once across both replicas"
    # Another genuine request still goes through either replica.
    other = slash_body(slack_sim, "help")
    assert post(second, other, signed(second, other))[0] == 200
    wait_helps(slack_sim, 2)


def test_without_the_shared_store_a_request_is_not_run_and_the_user_is_told(
    bot_factory: BotFactory, slack_sim: SlackSim
) -> None:
    # Fail closed: without the shared record, a copy sent to another replica could run again.
    bot = bot_factory({**base_config(slack_sim), "store_url": "postgresql+psycopg://bot:pw@127.0.0.1:9/none"})
    body = slash_body(slack_sim, "help")
    assert post(bot, body, signed(bot, body))[0] == 200

    def told() -> bool:
        return any("cannot reach its state store" in e.text + json.dumps(e.blocks)
                   for e in slack_sim.ephemerals(OPS, ALICE))

    assert slack_sim.wait_for(told, timeout=15)
    assert helps_answered(slack_sim) == 0


def test_a_forged_signature_does_not_use_up_the_genuine_request(bot_factory: BotFactory) -> None:
    bot = bot_factory()
    body = slash_body(bot.slack, "help")
    timestamp, real = signed(bot, body)
    forged = ("X-Slack-Signature", "v0=" + "f" * 64)
    assert post(bot, body, [timestamp, forged])[0] == 401
    assert post(bot, body, [timestamp, real])[0] == 200, "only verified requests are recorded as served"


def test_replay_keys_expire_after_slacks_window(bot_factory: BotFactory) -> None:
    bot = bot_factory()
    body = slash_body(bot.slack, "help")
    assert post(bot, body, signed(bot, body))[0] == 200
    wait_helps(bot.slack, 1)
    store = bot.bot.runtime.store
    assert store.replays.count() == 1
    # A claim made after the window deletes the expired key (its request would be stale by then).
    from datetime import UTC, datetime, timedelta

    later = datetime.now(UTC) + timedelta(minutes=7)
    assert store.replays.claim("another-key", later + timedelta(minutes=6), now=later)
    assert store.replays.count() == 1


@pytest.mark.parametrize(("config_field", "value", "body_args"), [
    ("team_id", "T0OTHER", {}),
    ("app_id", "A0OTHER", {}),
    ("team_id", "T0SIM", {"team_id": "T0EVIL"}),
])
def test_requests_from_another_workspace_or_app_are_refused(
    bot_factory: BotFactory, slack_sim: SlackSim, config_field: str, value: str, body_args: dict[str, str]
) -> None:
    raw = base_config(slack_sim)
    raw["slack"][config_field] = value
    bot = bot_factory(raw)
    body = slash_body(slack_sim, "help", **body_args)
    status, answer = post(bot, body, signed(bot, body))
    assert status == 403 and "another Slack" in answer
    time.sleep(0.5)
    assert helps_answered(slack_sim) == 0


def test_the_configured_workspace_and_app_are_served(bot_factory: BotFactory, slack_sim: SlackSim) -> None:
    raw = base_config(slack_sim)
    raw["slack"].update(team_id=slack_sim.team_id, app_id="A0SIM")
    bot = bot_factory(raw)
    ack = bot.slash(ALICE, OPS, "help")  # the simulator signs and sends a real slash command
    assert ack.ok, ack.body
    wait_helps(slack_sim, 1)


# ----------------------------------------------------------------------------- item 5: size and ports


def _raw_request(port: int, headers: list[str], body_chunks: list[bytes]) -> bytes:
    """Send a request's head and some body, never finishing it; return what the server answers (10 s max)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        sock.sendall(("\r\n".join(["POST /slack/events HTTP/1.1", "Host: bot", *headers]) + "\r\n\r\n").encode())
        for chunk in body_chunks:
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server stopped reading: what it answered is still in our receive buffer
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        return answer
    finally:
        sock.close()


def test_a_10_mb_body_is_refused_while_it_is_being_read(bot_factory: BotFactory) -> None:
    bot = bot_factory()
    ts = str(int(time.time()))
    head = ["Content-Type: " + FORM, "X-Slack-Request-Timestamp: " + ts, "X-Slack-Signature: v0=" + "0" * 64]
    # Declared: 10 MB. Sent: 1.5 MiB of it, then the client waits. A server that reads the whole body before
    # checking its size would wait for the rest forever; this one answers 413 without it.
    answer = _raw_request(bot.server.port, [*head, f"Content-Length: {10 * 1024 * 1024}"],
                          [b"x" * 65536] * 24)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # Not declared (chunked): counted while reading and cut off just past 1 MiB.
    chunk = b"10000\r\n" + b"x" * 65536 + b"\r\n"  # one 64 KiB chunk
    answer = _raw_request(bot.server.port, [*head, "Transfer-Encoding: chunked"], [chunk] * 24)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # The bot keeps serving.
    ack = bot.slash(ALICE, OPS, "help")
    assert ack.ok
    wait_helps(bot.slack, 1)


def test_metrics_are_served_on_their_own_port_only(bot_factory: BotFactory) -> None:
    bot = bot_factory()

    def get(url: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as exc:
            return int(exc.code), ""

    assert get(bot.url + "/metrics")[0] == 404, "the port Slack reaches does not serve metrics"
    status, text = get(bot.metrics_url + "/metrics")
    assert status == 200 and "minio_chatops_" in text
    for path in ("/slack/events", "/healthz", "/readyz"):
        assert get(bot.metrics_url + path)[0] == 404, f"the metrics port serves {path}"
    assert get(bot.url + "/healthz") == (200, "ok") and get(bot.url + "/readyz") == (200, "ready")


def test_metrics_port_must_differ_from_the_app_port(slack_sim: SlackSim) -> None:
    from bot.config import ConfigError, parse_config

    raw: dict[str, Any] = {**base_config(slack_sim), "metrics_port": 3000}
    raw["slack"]["http_port"] = 3000
    with pytest.raises(ConfigError, match="metrics_port must differ"):
        parse_config(json.dumps(raw))
