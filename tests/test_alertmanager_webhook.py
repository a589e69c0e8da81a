"""Alertmanager's webhook into the bot, over real HTTP, with the MinIO and Slack simulators.

Given a tenant with a node down, a firing notification becomes ONE message in
the tenant's alert channel naming the node and what the tenant can still lose;
the resolved notification turns that same message into "Resolved". Bad input
and repeats never post twice and never post garbage.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import urllib.parse
from pathlib import Path

import pytest
from slack_sdk import WebClient

from sandbox.minio_sim import SimCluster
from sandbox.slack_sim import SlackSim
from tests.alerting import (
    ALERTS,
    TOKEN,
    alert,
    alert_config,
    notification,
    post,
    shown,
    top_level,
)
from tests.fixtures.bot import OPS, BotFactory, RunningBot


@pytest.fixture
def demo_bot(bot_factory: BotFactory, slack_sim: SlackSim, minio_cluster: SimCluster, tmp_path: Path,
             monkeypatch: pytest.MonkeyPatch) -> RunningBot:
    monkeypatch.setenv("ALERTMANAGER_WEBHOOK_TOKEN", TOKEN)
    monkeypatch.setenv("DEMO_ACCESS_KEY", minio_cluster.access_key)
    monkeypatch.setenv("DEMO_SECRET_KEY", minio_cluster.secret_key)
    return bot_factory(alert_config(slack_sim, minio_cluster, tmp_path))


def wait_for_messages(slack: SlackSim, channel: str, count: int, timeout: float = 15.0) -> list:
    return slack.wait_for(lambda: (lambda ms: ms if len(ms) >= count else None)(top_level(slack, channel)),
                          timeout=timeout)


def test_a_node_down_becomes_one_message_and_its_resolution_updates_that_message(
    demo_bot: RunningBot, slack_sim: SlackSim, minio_cluster: SimCluster
) -> None:
    minio_cluster.stop_node(2)
    status, answer = post(demo_bot.url, notification([alert(tenant="demo")]))
    assert (status, answer) == (200, {"status": "queued"})

    [message] = wait_for_messages(slack_sim, OPS, 1)
    text = shown(message)
    node2 = minio_cluster.node_url(2).removeprefix("http://")
    assert message.text.startswith("MinioNodeOffline on demo")
    assert f"node 2 ({node2}) offline" in text, "the bot names the node"
    assert "cannot lose any node and keep writing, 1 and keep reading" in text, "and the remaining tolerance"
    for label in ("Declare incident", "Run diagnostics again", "Silence 1 h", "Silence 4 h", "Silence 24 h"):
        assert label in text

    minio_cluster.start_node(2)
    resolved = notification([alert("resolved", tenant="demo")])
    assert post(demo_bot.url, resolved) == (200, {"status": "queued"})
    updated = slack_sim.wait_for(lambda: next((m for m in top_level(slack_sim, OPS) if m.edited), None), timeout=15)
    assert updated.ts == message.ts, "the same message, never a new one"
    assert updated.text.startswith("Resolved: MinioNodeOffline on demo")
    assert "Silence" not in shown(updated) and "Declare incident" not in shown(updated)
    assert len(top_level(slack_sim, OPS)) == 1
    assert [c.params.get("ts") for c in slack_sim.calls("chat.update")] == [message.ts]


@pytest.mark.parametrize("headers, token", [({}, None), ({}, "wrong-token"), ({"Authorization": f"Basic {TOKEN}"},
                                                                                None)])
def test_a_missing_or_wrong_bearer_token_is_refused_and_nothing_is_posted(
    demo_bot: RunningBot, slack_sim: SlackSim, headers: dict[str, str], token: str | None
) -> None:
    status, answer = post(demo_bot.url, notification([alert(tenant="demo")]), token=token, headers=headers)
    assert status == 401 and answer == {"error": "missing or wrong bearer token"}
    time.sleep(0.5)
    assert top_level(slack_sim, OPS) == [] and top_level(slack_sim, ALERTS) == []


def test_without_a_configured_token_nothing_is_accepted(
    bot_factory: BotFactory, slack_sim: SlackSim, minio_cluster: SimCluster, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ALERTMANAGER_WEBHOOK_TOKEN", raising=False)
    running = bot_factory(alert_config(slack_sim, minio_cluster, tmp_path))
    status, answer = post(running.url, notification([alert(tenant="demo")]), token="")
    assert status == 503 and "ALERTMANAGER_WEBHOOK_TOKEN" in answer["error"]


@pytest.mark.parametrize("raw, reason", [
    (b"{not json", "malformed JSON"),
    (b"[1, 2]", "the body is not a JSON object"),
    (b'{"version": "3", "alerts": []}', "not an Alertmanager webhook payload of version 4"),
    (b'{"version": "4", "groupKey": "g", "status": "firing", "alerts": []}', "not an Alertmanager webhook payload"),
    (b'{"version": "4", "groupKey": "g", "status": "on fire", "alerts": [{}]}', "not an Alertmanager webhook payload"),
])
def test_malformed_notifications_are_refused_with_the_reason(
    demo_bot: RunningBot, slack_sim: SlackSim, raw: bytes, reason: str
) -> None:
    status, answer = post(demo_bot.url, raw=raw)
    assert status == 400 and answer["error"].startswith(reason)
    assert top_level(slack_sim, OPS) == [] and top_level(slack_sim, ALERTS) == []


def test_a_body_over_the_limit_is_refused_before_it_is_read_whole(demo_bot: RunningBot, slack_sim: SlackSim) -> None:
    alerts = [alert(tenant="demo", fingerprint=f"fp-{i}", summary="x" * 200) for i in range(4000)]
    body = json.dumps(notification(alerts)).encode()
    # Declare the whole body but send only its first KiB: the answer must not wait for the rest.
    where = urllib.parse.urlsplit(demo_bot.url)
    connection = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=10)
    try:
        connection.putrequest("POST", "/alertmanager")
        for name, value in (("Content-Type", "application/json"), ("Authorization", f"Bearer {TOKEN}"),
                            ("Content-Length", str(len(body)))):
            connection.putheader(name, value)
        connection.endheaders(body[:1024])
        status = connection.getresponse().status
    finally:
        connection.close()
    assert status == 413
    time.sleep(0.5)
    assert top_level(slack_sim, OPS) == []


def test_a_payload_of_1000_alerts_is_one_message_listing_ten_and_counting_the_rest(
    demo_bot: RunningBot, slack_sim: SlackSim, minio_cluster: SimCluster
) -> None:
    alerts = [
        alert(tenant="demo", name="MinioDriveOffline", fingerprint=f"fp-{i:04d}", summary="drive offline",
              drive=f"/data{i % 8}", server=f"node-{i:04d}.example:9000")
        for i in range(1000)
    ]
    payload = notification(alerts, group_key='{}:{alertname="MinioDriveOffline", tenant="demo"}')
    started = time.monotonic()
    status, answer = post(demo_bot.url, payload)
    assert (status, answer) == (200, {"status": "queued"})
    assert time.monotonic() - started < 5, "answered without waiting for the diagnostics"
    [message] = wait_for_messages(slack_sim, OPS, 1)
    assert "… and 990 more alerts (1000 firing in all)." in shown(message)
    assert shown(message).count("MinioDriveOffline") >= 10


def test_the_same_notification_delivered_three_times_posts_once(
    demo_bot: RunningBot, slack_sim: SlackSim
) -> None:
    payload = notification([alert(tenant="demo")])
    answers: list[tuple[int, dict]] = []
    threads = [threading.Thread(target=lambda: answers.append(post(demo_bot.url, payload))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a[1]["status"] for a in answers) == ["duplicate", "duplicate", "queued"]
    wait_for_messages(slack_sim, OPS, 1)
    assert post(demo_bot.url, payload) == (200, {"status": "duplicate"}), "a repeat much later is known too"
    time.sleep(1.0)
    assert len(top_level(slack_sim, OPS)) == 1
    assert slack_sim.calls("chat.update") == []


def test_unknown_labels_go_once_to_the_fallback_channel_with_the_reason(
    demo_bot: RunningBot, slack_sim: SlackSim
) -> None:
    payload = notification([alert(name="DiskPressure", team="storage", category="")],
                           group_key='{}:{alertname="DiskPressure"}')
    assert post(demo_bot.url, payload)[0] == 200
    [message] = wait_for_messages(slack_sim, ALERTS, 1)
    assert message.text.startswith("DiskPressure (no tenant)")
    assert 'no tenant matches its labels' in shown(message) and 'team=\\"storage\\"' in shown(message)
    assert post(demo_bot.url, payload) == (200, {"status": "duplicate"})
    assert top_level(slack_sim, OPS) == []
    time.sleep(0.5)
    assert len(top_level(slack_sim, ALERTS)) == 1


def test_a_resolved_notification_for_a_group_never_seen_is_one_short_message(
    demo_bot: RunningBot, slack_sim: SlackSim
) -> None:
    payload = notification([alert("resolved", tenant="demo")], group_key='{}:{alertname="Gone", tenant="demo"}')
    assert post(demo_bot.url, payload)[0] == 200
    [message] = wait_for_messages(slack_sim, OPS, 1)
    assert message.text.startswith("Resolved: MinioNodeOffline on demo")
    assert "The bot had not seen these alerts firing." in shown(message)
    assert "Silence" not in shown(message)


def test_a_group_that_gains_an_alert_updates_its_message(demo_bot: RunningBot, slack_sim: SlackSim) -> None:
    first = notification([alert(tenant="demo", fingerprint="a", node="1")])
    assert post(demo_bot.url, first)[0] == 200
    [message] = wait_for_messages(slack_sim, OPS, 1)
    second = notification([alert(tenant="demo", fingerprint="a", node="1"), alert(tenant="demo", fingerprint="b",
                                                                                    node="3")])
    assert post(demo_bot.url, second) == (200, {"status": "queued"})
    updated = slack_sim.wait_for(lambda: next((m for m in top_level(slack_sim, OPS) if m.edited), None), timeout=15)
    assert updated.ts == message.ts and "2 alerts firing" in shown(updated)
    assert len(top_level(slack_sim, OPS)) == 1


def test_slack_failing_gives_the_notification_back_so_the_retry_posts_it(
    demo_bot: RunningBot, slack_sim: SlackSim
) -> None:
    slack_sim.inject("chat.postMessage", status=500, times=3)  # one post and its two retries
    payload = notification([alert(tenant="demo")])
    assert post(demo_bot.url, payload) == (200, {"status": "queued"})
    # The work fails after the answer; Alertmanager retries, and its retry is not taken for a duplicate.
    deadline = time.monotonic() + 20
    again = post(demo_bot.url, payload)
    while again == (200, {"status": "duplicate"}) and time.monotonic() < deadline:
        time.sleep(0.2)
        again = post(demo_bot.url, payload)
    assert again == (200, {"status": "queued"})
    [message] = wait_for_messages(slack_sim, OPS, 1)
    assert message.text.startswith("MinioNodeOffline on demo")
    assert len(slack_sim.calls("chat.postMessage")) == 4, "three refused, then the retry's post"
    assert post(demo_bot.url, payload) == (200, {"status": "duplicate"})


def test_a_chunked_body_is_counted_while_it_is_read(demo_bot: RunningBot, slack_sim: SlackSim) -> None:
    """No Content-Length to trust: the receiver stops at the limit and answers 413 while the sender still sends."""
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(demo_bot.url)
    head = (f"POST /alertmanager HTTP/1.1\r\nHost: {where.netloc}\r\nAuthorization: Bearer {TOKEN}\r\n"
            "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"  # 64 KiB of whitespace per chunk, 2.5 MiB in all
    with socket.create_connection((where.hostname or "127.0.0.1", where.port or 80), timeout=10) as conn:
        conn.sendall(head)
        try:
            for _ in range(40):
                conn.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the end: read what it said
        answer = conn.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert top_level(slack_sim, OPS) == []


def test_during_a_maintenance_window_the_message_says_so(demo_bot: RunningBot, slack_sim: SlackSim) -> None:
    from datetime import UTC, datetime, timedelta

    store = demo_bot.bot.runtime.store
    now = datetime.now(UTC)
    store.maintenance.open(tenant="demo", started_by="U0ALICE", until=now + timedelta(hours=2), changes={}, at=now)
    assert post(demo_bot.url, notification([alert(tenant="demo")]))[0] == 200
    [message] = wait_for_messages(slack_sim, OPS, 1)
    assert "Maintenance window opened by" in shown(message) and "work on the tenant may explain this" in shown(message)


def test_a_deleted_message_is_posted_anew_when_the_group_changes(
    demo_bot: RunningBot, slack_sim: SlackSim, slack_client: WebClient
) -> None:
    assert post(demo_bot.url, notification([alert(tenant="demo")]))[0] == 200
    [message] = wait_for_messages(slack_sim, OPS, 1)
    slack_client.chat_delete(channel=OPS, ts=message.ts)
    assert post(demo_bot.url, notification([alert("resolved", tenant="demo")]))[0] == 200
    [again] = wait_for_messages(slack_sim, OPS, 1)
    assert again.ts != message.ts and again.text.startswith("Resolved: MinioNodeOffline on demo")


def test_a_group_left_half_posted_by_a_dead_process_is_taken_over(demo_bot: RunningBot, slack_sim: SlackSim) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.webhooks import group_id

    payload = notification([alert(tenant="demo")])
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    demo_bot.bot.runtime.store.alert_groups.start(group_id(payload["groupKey"]), group_key=payload["groupKey"],
                                                  status="firing", record={}, at=long_ago, tenant="demo",
                                                  channel=OPS)
    assert post(demo_bot.url, payload) == (200, {"status": "queued"})
    [message] = wait_for_messages(slack_sim, OPS, 1)
    assert message.text.startswith("MinioNodeOffline on demo")
