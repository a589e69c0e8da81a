"""The bot as Slack users meet it: signed requests over real HTTP, answers in the simulator."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest
from pydantic import BaseModel, ConfigDict

from bot.commands import Arg, Verb
from bot.composition import load_application
from bot.invocation import Invocation
from bot.report import Report, Section
from sandbox.slack_sim import SlackSim
from sandbox.slack_sim.driver import Forgery, sign
from tests.fixtures.bot import ALICE, CAROL, OPS, PLATFORM, BotFactory, RunningBot, base_config


def ephemeral_texts(slack: SlackSim, channel: str, user: str) -> list[str]:
    return [json.dumps(e.blocks) + e.text for e in slack.ephemerals(channel, user)]


def wait_ephemeral(slack: SlackSim, channel: str, user: str, needle: str, timeout: float = 10) -> str:
    def found() -> str | None:
        return next((t for t in ephemeral_texts(slack, channel, user) if needle in t), None)

    text = slack.wait_for(found, timeout=timeout)
    assert text, f"no ephemeral containing {needle!r}; saw {ephemeral_texts(slack, channel, user)}"
    return text


class SayArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    words: str = ""


def with_test_verbs(delay_s: float = 0.0) -> object:
    """The real application plus `say`, a verb that posts a shared report after `delay_s` (a slow handler)."""
    app = load_application()

    def say(_inv: Invocation, args: SayArgs) -> Report:
        time.sleep(delay_s)
        return Report(title="Said", sections=[Section(title="Words", lines=[args.words or "(nothing)"])])

    app.registry.add(Verb(name="say", summary="Test verb.", model=SayArgs, handler=say,
                          args=(Arg("words", rest=True),)))
    return app


@pytest.fixture
def bot(bot_factory: BotFactory) -> RunningBot:
    return bot_factory()


def test_help_is_acked_fast_and_answered_to_the_caller_only(bot: RunningBot) -> None:
    ack = bot.slash(ALICE, OPS, "help")
    assert ack.ok and ack.ack_s < 1.0
    text = wait_ephemeral(bot.slack, OPS, ALICE, "minio-chatops commands")
    assert "/minio tenants" in text and "/minio help" in text
    assert not [m for m in bot.slack.messages(OPS) if "minio-chatops commands" in m.text], "help is not for everyone"


def test_bad_input_gets_a_short_ephemeral_error_in_the_ack(bot: RunningBot) -> None:
    ack = bot.slash(ALICE, OPS, "healht demo")
    assert ack.ok
    assert ack.payload and ack.payload["response_type"] == "ephemeral"
    assert "Unknown command" in ack.payload["text"] and "Traceback" not in ack.payload["text"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("help " + "x" * 2100, "too long"),
        ("help \x1b[31mred", "control characters"),
        ("<!channel> wake up", "Unknown command"),
        ("help <@U0BOB> <!here>", "Unexpected"),
    ],
)
def test_hostile_text_is_refused_and_never_pings_anyone(bot: RunningBot, text: str, expected: str) -> None:
    ack = bot.slash(ALICE, OPS, text)
    assert ack.ok
    answer = (ack.payload or {}).get("text", "") if ack.payload else ""
    if not answer:
        answer = wait_ephemeral(bot.slack, OPS, ALICE, expected)
    assert expected in answer
    for token in ("<!channel>", "<!here>", "<@U0BOB>"):
        assert token not in answer
    assert not bot.slack.messages(OPS), "nothing may be posted in the channel"


def test_forged_signature_is_rejected_and_nothing_runs(bot: RunningBot) -> None:
    ack = bot.slash(ALICE, OPS, "help", forge=Forgery.bad_signature())
    assert ack.status == 401
    ack = bot.slash(ALICE, OPS, "help", forge=Forgery(omit_signature=True))
    assert ack.status == 401
    time.sleep(0.3)
    from_bot = [e for e in bot.slack.ephemerals(OPS, ALICE) if e.via != "slack"]
    assert not from_bot, "the bot must not answer a forged request"


def test_stale_timestamp_is_rejected(bot: RunningBot) -> None:
    ack = bot.slash(ALICE, OPS, "help", forge=Forgery.stale(301))
    assert ack.status == 401


def _signed_post(bot: RunningBot, body: bytes, content_type: str, timestamp: int | None = None) -> int:
    ts = timestamp or int(time.time())
    request = urllib.request.Request(
        bot.events_url,
        data=body,
        headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(bot.slack.signing_secret, ts, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _slash_body(text: str) -> bytes:
    return urlencode(
        {"command": "/minio", "text": text, "user_id": ALICE, "channel_id": OPS, "team_id": "T0SIM",
         "response_url": "http://127.0.0.1:9/unused", "trigger_id": "1.2.3"}
    ).encode()


def test_replayed_request_is_rejected(bot: RunningBot) -> None:
    body = _slash_body("help")
    ts = int(time.time())
    assert _signed_post(bot, body, "application/x-www-form-urlencoded", ts) == 200
    assert _signed_post(bot, body, "application/x-www-form-urlencoded", ts) == 401


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"payload=%7Bnot-json", "application/x-www-form-urlencoded"),
        (b"{\"type\": ", "application/json"),
        (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
        (b"payload=" + json.dumps({"type": "block_actions"}).encode(), "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_payloads_are_refused_and_the_bot_keeps_serving(
    bot: RunningBot, body: bytes, content_type: str
) -> None:
    status = _signed_post(bot, body, content_type)
    assert 200 <= status < 500 and status != 500
    ack = bot.slash(ALICE, OPS, "help")
    assert ack.ok
    wait_ephemeral(bot.slack, OPS, ALICE, "minio-chatops commands")


def test_unknown_channel_is_told_it_is_not_set_up(bot_factory: BotFactory, slack_sim: SlackSim) -> None:
    running = bot_factory(base_config(slack_sim, admins=[]))
    other = slack_sim.add_channel("random", [CAROL])
    ack = running.slash(CAROL, other, "tenants")
    assert ack.ok
    wait_ephemeral(slack_sim, other, CAROL, "not set up for minio-chatops")


def test_shared_reports_are_posted_in_the_channel(bot_factory: BotFactory) -> None:
    running = bot_factory(application=with_test_verbs())
    assert running.slash(ALICE, OPS, "say hello team").ok
    message = running.slack.wait_for(lambda: next(iter(running.slack.messages(OPS)), None), timeout=10)
    assert message is not None and "hello team" in json.dumps(message.blocks)
    assert "Requested by <@U0ALICE>" in json.dumps(message.blocks)


@pytest.mark.parametrize("status", [429, 500])
def test_delivery_survives_slack_429_and_500(bot_factory: BotFactory, status: int) -> None:
    running = bot_factory(application=with_test_verbs())
    running.slack.inject("chat.postMessage", status=status, retry_after=1, times=1)
    assert running.slash(ALICE, OPS, "say after a fault").ok
    message = running.slack.wait_for(lambda: next(iter(running.slack.messages(OPS)), None), timeout=15)
    assert message is not None and "after a fault" in json.dumps(message.blocks)
    attempts = running.slack.calls("chat.postMessage")
    assert len(attempts) >= 2 and attempts[0].http_status == status


def test_bot_not_in_channel_falls_back_to_the_response_url(bot_factory: BotFactory, slack_sim: SlackSim) -> None:
    config = base_config(slack_sim, channels=[{"id": OPS}, {"id": PLATFORM}])
    running = bot_factory(config, application=with_test_verbs())
    assert running.slash(ALICE, PLATFORM, "say from outside").ok
    text = wait_ephemeral(slack_sim, PLATFORM, ALICE, "invite me")
    assert "invite me" in text


def test_acks_stay_fast_while_every_handler_is_slow(bot_factory: BotFactory) -> None:
    running = bot_factory(application=with_test_verbs(delay_s=2.0))
    acks: list[float] = []
    failures: list[str] = []

    def one(i: int) -> None:
        ack = running.slash(ALICE, OPS, f"say {i}")
        if ack.ok:
            acks.append(ack.ack_s)
        else:
            failures.append(f"{ack.status} {ack.user_error}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert len(acks) == 40 and max(acks) < 3.0  # Slack's limit; the benchmark measures the real figures


def test_socket_mode_serves_the_same_commands(slack_sim: SlackSim) -> None:
    import yaml

    from bot.config import Secrets, parse_config
    from bot.slack.app import Bot

    raw = base_config(slack_sim)
    raw["slack"]["mode"] = "socket"
    config = parse_config(yaml.safe_dump(raw))
    secrets = Secrets(slack_bot_token=slack_sim.bot_token, slack_app_token=slack_sim.app_token)
    bot = Bot(config, secrets)
    close = bot.start_socket_mode()
    try:
        driver = slack_sim.driver()
        slack_sim.wait_for(lambda: slack_sim.socket.connections() if hasattr(slack_sim.socket, "connections") else True,
                           timeout=5)
        ack = driver.slash(ALICE, OPS, "/minio help", via="socket")
        assert ack.ok and ack.ack_s < 1.0
        wait_ephemeral(slack_sim, OPS, ALICE, "minio-chatops commands")
        bad = driver.slash(ALICE, OPS, "/minio nope", via="socket")
        assert bad.ok and bad.payload and "Unknown command" in json.dumps(bad.payload)
    finally:
        close()
        bot.close()


def test_probes_and_metrics(bot: RunningBot) -> None:
    bot.slash(ALICE, OPS, "help")
    bot.slash(ALICE, OPS, "nonsense")
    for path, needle in (("/healthz", "ok"), ("/readyz", "ready")):
        with urllib.request.urlopen(bot.url + path, timeout=5) as response:
            assert response.status == 200 and needle in response.read().decode()
    wait_ephemeral(bot.slack, OPS, ALICE, "minio-chatops commands")
    with urllib.request.urlopen(bot.metrics_url + "/metrics", timeout=5) as response:
        metrics = response.read().decode()
    assert 'minio_chatops_commands_total{outcome="ok",verb="help"}' in metrics
    assert 'minio_chatops_commands_total{outcome="bad_input",verb="unknown"}' in metrics
