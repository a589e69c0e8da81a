"""The acceptance run in the sandbox, wired as `minio-chatops demo` wires it, with Prometheus and Alertmanager.

`POST /node/2/stop` on the simulator's control port leads to one message in the
alert channel naming node 2 and the remaining tolerance, with a Declare incident
button that opens a channel with that evidence; starting the node again updates
the message to resolved.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest

from bot.config import Secrets
from bot.http import HttpServer
from bot.slack.app import Bot
from sandbox.launcher import DEMO_USERS, Sandbox
from tests.alerting import buttons, shown, top_level

FOR_S = 3


@pytest.fixture
def demo() -> Iterator[tuple[Sandbox, Bot, HttpServer]]:
    sandbox = Sandbox(with_slack=True, with_alerting=True, with_kube=False, alert_for_s=FOR_S).start()
    assert sandbox.alerting is not None, sandbox.notes
    bot = Bot(sandbox.config, Secrets(slack_bot_token=sandbox.slack.bot_token,
                                      slack_signing_secret=sandbox.slack.signing_secret,
                                      alertmanager_webhook_token=sandbox.alerting.token))
    server = HttpServer(bot, "127.0.0.1", 0).start()
    try:
        sandbox.start_alerting(f"http://127.0.0.1:{server.port}/alertmanager")
        yield sandbox, bot, server
    finally:
        server.stop()
        bot.close()
        sandbox.stop()


def control(sandbox: Sandbox, path: str) -> None:
    request = urllib.request.Request(f"{sandbox.minio.control_url}{path}", data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def test_node_2_stopped_in_the_sandbox_is_one_message_with_evidence_and_a_working_declare_button(
    demo: tuple[Sandbox, Bot, HttpServer],
) -> None:
    sandbox, _bot, server = demo
    slack, channel = sandbox.slack, sandbox.channel
    prometheus = sandbox.alerting.prometheus
    slack.wait_for(lambda: len(prometheus.query('up{job="minio"} == 1')) == 4, timeout=20)

    control(sandbox, "/node/2/stop")
    [message] = slack.wait_for(lambda: top_level(slack, channel), timeout=FOR_S + 15)
    node2 = sandbox.minio.node_url(2).removeprefix("http://")
    assert message.text.startswith("MinioNodeOffline on demo")
    assert f"node 2 ({node2}) offline" in shown(message)
    assert "cannot lose any node and keep writing, 1 and keep reading" in shown(message)

    action_id, value = buttons(message)["Declare incident"]
    events_url = f"http://127.0.0.1:{server.port}/slack/events"
    assert slack.driver(events_url=events_url).click(DEMO_USERS["bob"], channel, message.ts, action_id, value).ok
    incident_channel = slack.wait_for(
        lambda: next((c for c in slack.state()["channels"] if c["name"].startswith("inc-")), None), timeout=15
    )
    [pinned] = slack.wait_for(lambda: slack.pins(incident_channel["id"]), timeout=15)
    evidence = next(m for m in slack.messages(incident_channel["id"]) if m.ts == pinned)
    assert f"node 2 ({node2}) offline" in shown(evidence) and "cannot lose any node" in shown(evidence)

    control(sandbox, "/node/2/start")
    resolved = slack.wait_for(
        lambda: next((m for m in top_level(slack, channel) if m.text.startswith("Resolved:")), None), timeout=20
    )
    assert resolved.ts == message.ts
    assert len(top_level(slack, channel)) == 1
