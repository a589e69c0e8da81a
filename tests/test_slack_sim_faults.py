"""Fault injection and rate limiting, as slack_sdk's retry handlers see them."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from sandbox.slack_sim import SlackSim
from sandbox.slack_sim.response_url import issue_response_url

OPS = "C0OPS"


def test_a_429_carries_retry_after(slack_sim: SlackSim, slack_client: WebClient) -> None:
    slack_sim.inject("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        slack_client.chat_postMessage(channel=OPS, text="x")
    assert caught.value.response.status_code == 429
    assert caught.value.response["error"] == "ratelimited"
    assert caught.value.response.headers["Retry-After"] == "7"
    assert slack_sim.messages(OPS) == []


def test_rate_limit_retry_handler_waits_retry_after_and_succeeds(slack_sim: SlackSim) -> None:
    client = WebClient(
        token=slack_sim.bot_token,
        base_url=slack_sim.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    slack_sim.inject("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    client.chat_postMessage(channel=OPS, text="eventually")
    assert time.monotonic() - started >= 1.0
    assert [c.http_status for c in slack_sim.calls("chat.postMessage")] == [429, 200]
    assert [m.text for m in slack_sim.messages(OPS)] == ["eventually"]


def test_server_errors_and_their_retry_handler(slack_sim: SlackSim, slack_client: WebClient) -> None:
    slack_sim.inject("chat.update", status=503, times=1)
    slack_sim.inject("chat.postMessage", status=500, times=1)
    with pytest.raises(SlackApiError) as caught:
        slack_client.chat_postMessage(channel=OPS, text="x")
    assert caught.value.response.status_code == 500
    retrying = WebClient(
        token=slack_sim.bot_token,
        base_url=slack_sim.api_url,
        retry_handlers=[ServerErrorRetryHandler(max_retry_count=1)],
    )
    ts = retrying.chat_postMessage(channel=OPS, text="x")["ts"]
    assert retrying.chat_update(channel=OPS, ts=ts, text="y")["ok"]
    assert [c.http_status for c in slack_sim.calls("chat.update")] == [503, 200]


def test_latency_and_forced_errors(slack_sim: SlackSim, slack_client: WebClient) -> None:
    slack_sim.inject("auth.test", status=200, latency_ms=300)
    started = time.monotonic()
    slack_client.auth_test()
    assert time.monotonic() - started >= 0.3
    slack_sim.inject("users.info", status=200, error="fatal_error", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError):
            slack_client.users_info(user="U0ALICE")
    assert slack_client.users_info(user="U0ALICE")["ok"]


def test_faults_over_the_http_control_endpoint(slack_sim: SlackSim, slack_client: WebClient) -> None:
    fault = {"method": "conversations.info", "status": 429, "retry_after": 2, "times": 1}
    request = urllib.request.Request(
        f"{slack_sim.base_url}_sim/fault",
        data=json.dumps(fault).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.load(response) == {"ok": True}
    with pytest.raises(SlackApiError) as caught:
        slack_client.conversations_info(channel=OPS)
    assert caught.value.response.headers["Retry-After"] == "2"
    assert slack_client.conversations_info(channel=OPS)["ok"]


def test_an_outage_answers_every_call_for_its_duration_in_sim_time(
    slack_sim: SlackSim, slack_client: WebClient
) -> None:
    slack_sim.inject("*", status=500, for_seconds=120)
    for _ in range(3):
        with pytest.raises(SlackApiError) as caught:
            slack_client.chat_postMessage(channel=OPS, text="during")
        assert caught.value.response.status_code == 500
    with pytest.raises(SlackApiError):
        slack_client.conversations_history(channel=OPS)
    slack_sim.advance_clock(119)
    with pytest.raises(SlackApiError):
        slack_client.chat_postMessage(channel=OPS, text="still down")
    slack_sim.advance_clock(1)
    assert slack_client.chat_postMessage(channel=OPS, text="after")["ok"]
    assert [m.text for m in slack_sim.messages(OPS)] == ["after"]
    assert slack_sim.faults.pending() == []


def test_an_outage_over_the_http_control_endpoint(slack_sim: SlackSim, slack_client: WebClient) -> None:
    request = urllib.request.Request(
        f"{slack_sim.base_url}_sim/fault",
        data=json.dumps({"method": "chat.postMessage", "status": 503, "for_seconds": 60}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.load(response) == {"ok": True}
    assert slack_client.conversations_info(channel=OPS)["ok"], "other methods are not part of it"
    for _ in range(2):
        with pytest.raises(SlackApiError):
            slack_client.chat_postMessage(channel=OPS, text="x")
    slack_sim.advance_clock(61)
    assert slack_client.chat_postMessage(channel=OPS, text="x")["ok"]


def test_response_url_and_upload_url_can_fail_too(slack_sim: SlackSim, slack_client: WebClient) -> None:
    slack_sim.inject("upload", status=500)
    # slack_sdk posts the bytes with bare urllib: a failing upload URL surfaces as HTTPError.
    with pytest.raises(urllib.error.HTTPError, match="500"):
        slack_client.files_upload_v2(channel=OPS, content=b"data", filename="x.txt")
    record = issue_response_url(slack_sim.ws, channel=OPS, user="U0ALICE", kind="slash_command")
    slack_sim.inject("response_url", status=503)
    webhook = WebhookClient(f"{slack_sim.base_url}response/{record.id}")
    assert webhook.send(text="first try").status_code == 503
    assert webhook.send(text="second try").status_code == 200


def test_post_message_is_rate_limited_per_channel_when_enabled(slack_sim: SlackSim, slack_client: WebClient) -> None:
    slack_sim.set_rate_limits(True)
    other = slack_sim.add_channel("other", ["U0ALICE"])
    refused = 0
    for i in range(6):
        try:
            slack_client.chat_postMessage(channel=OPS, text=f"burst {i}")
        except SlackApiError as error:
            assert error.response["error"] == "ratelimited"
            assert int(error.response.headers["Retry-After"]) >= 1
            refused += 1
    assert refused >= 2, "a burst of 6 in well under a second must hit the ~1/s per-channel limit"
    assert slack_client.chat_postMessage(channel=other, text="another channel is not affected")["ok"]
