"""The buttons on an alert's message, pressed in the Slack simulator, against a real Alertmanager.

Silence: an operator of the tenant silences the group in Alertmanager (audited)
and can expire it early from the same message; someone who may only view the
tenant cannot; with Alertmanager down nothing changes and the person is told
why. Declare incident opens the incident channel with the alert's evidence
pinned and the alert first in its timeline; the resolution is noted there too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.application import Job
from sandbox.minio_sim import SimCluster
from sandbox.slack_sim import SlackSim
from sandbox.slack_sim.state import Message
from tests.alerting import TOKEN, alert, alert_config, buttons, notification, now, post, shown, top_level
from tests.fixtures.alertmanager import AlertmanagerFactory, AlertmanagerProcess, free_port
from tests.fixtures.bot import ALICE, BOB, CAROL, OPS, BotFactory, RunningBot
from tests.fixtures.minio import s3_client


@dataclass
class World:
    bot: RunningBot
    slack: SlackSim
    cluster: SimCluster
    alertmanager: AlertmanagerProcess | None

    def fire(self, status: str = "firing") -> Message:
        """Send the node-offline group; the message it posted or updated."""
        before = {m.ts: len(m.edits) for m in top_level(self.slack, OPS)}
        assert post(self.bot.url, notification([alert(status, tenant="demo")]))[0] == 200

        def changed() -> Message | None:
            return next((m for m in top_level(self.slack, OPS) if before.get(m.ts, -1) != len(m.edits)), None)

        return self.slack.wait_for(changed, timeout=15)

    def press(self, user: str, message: Message, label: str) -> Message | None:
        """Press a button as ``user``; the message once the bot redrew it (None when it was left alone)."""
        action_id, value = buttons(message)[label]
        edits = len(self.message(message.ts).edits)
        ephemerals = len(self.slack.ephemerals(OPS, user))
        ack = self.slack.driver(events_url=self.bot.events_url).click(user, OPS, message.ts, action_id, value)
        assert ack.ok
        self.slack.wait_for(lambda: len(self.message(message.ts).edits) > edits
                            or len(self.slack.ephemerals(OPS, user)) > ephemerals, timeout=15)
        now_message = self.message(message.ts)
        return now_message if len(now_message.edits) > edits else None

    def message(self, ts: str) -> Message:
        return next(m for m in top_level(self.slack, OPS) if m.ts == ts)

    def told(self, user: str) -> str:
        return shown(self.slack.ephemerals(OPS, user)[-1])  # type: ignore[arg-type]


WorldFactory = Callable[..., World]


@pytest.fixture
def world_factory(bot_factory: BotFactory, slack_sim: SlackSim, minio_cluster: SimCluster, tmp_path: Path,
                  alertmanager_factory: AlertmanagerFactory, monkeypatch: pytest.MonkeyPatch) -> WorldFactory:
    monkeypatch.setenv("ALERTMANAGER_WEBHOOK_TOKEN", TOKEN)
    monkeypatch.setenv("DEMO_ACCESS_KEY", minio_cluster.access_key)
    monkeypatch.setenv("DEMO_SECRET_KEY", minio_cluster.secret_key)
    s3_client(minio_cluster).make_bucket("minio-chatops-probe")  # the health probe's bucket: healthy when all is up

    def make(with_alertmanager: bool = True) -> World:
        port = free_port()
        running = bot_factory(alert_config(slack_sim, minio_cluster, tmp_path, f"http://127.0.0.1:{port}"))
        server = alertmanager_factory(f"{running.url}/alertmanager", TOKEN, port=port) if with_alertmanager else None
        return World(running, slack_sim, minio_cluster, server)

    return make


def test_an_operator_silences_the_group_and_expires_the_silence_early(world_factory: WorldFactory) -> None:
    world = world_factory()
    assert world.alertmanager is not None
    world.cluster.stop_node(2)
    message = world.fire()

    silenced = world.press(BOB, message, "Silence 4 h")
    assert silenced is not None
    [silence] = world.alertmanager.silences()
    assert silence["status"]["state"] == "active"
    assert {(m["name"], m["value"]) for m in silence["matchers"]} == {("alertname", "MinioNodeOffline"),
                                                                     ("tenant", "demo")}
    assert silence["createdBy"] == f"{BOB} via minio-chatops"
    ends = datetime.fromisoformat(silence["endsAt"].replace("Z", "+00:00"))
    assert abs(ends - (now() + timedelta(hours=4))) < timedelta(minutes=1)
    assert "Silenced in Alertmanager by" in shown(silenced) and silence["id"] in shown(silenced)
    assert "Expire silence" in buttons(silenced) and "Silence 1 h" not in buttons(silenced)
    audit = world.bot.bot.runtime.store.audit.recent(5, tenant="demo")
    assert (audit[0].action, audit[0].actor, audit[0].detail["silence_id"]) == ("silence", BOB, silence["id"])

    expired = world.press(BOB, silenced, "Expire silence")
    assert expired is not None
    assert [s["status"]["state"] for s in world.alertmanager.silences()] == ["expired"]
    assert "Silence 1 h" in buttons(expired) and "Silenced in Alertmanager" not in shown(expired)
    assert world.bot.bot.runtime.store.audit.recent(1, tenant="demo")[0].action == "silence-expire"
    assert len(top_level(world.slack, OPS)) == 1


def test_someone_who_may_only_view_the_tenant_cannot_silence_it(world_factory: WorldFactory) -> None:
    world = world_factory()
    assert world.alertmanager is not None
    message = world.fire()
    assert world.press(CAROL, message, "Silence 1 h") is None
    assert "you are not an operator or approver of this tenant" in world.told(CAROL)
    assert world.alertmanager.silences() == []
    assert [e.action for e in world.bot.bot.runtime.store.audit.recent(5)] == []


def test_with_alertmanager_down_silence_changes_nothing_and_says_why(world_factory: WorldFactory) -> None:
    world = world_factory(with_alertmanager=False)
    message = world.fire()
    assert world.press(BOB, message, "Silence 1 h") is None
    told = world.told(BOB)
    assert "No silence was created: Alertmanager (127.0.0.1:" in told and "unreachable: connection refused" in told
    assert world.bot.bot.runtime.store.audit.recent(5) == []
    assert "Silence 1 h" in buttons(world.message(message.ts))


def test_declare_incident_pins_the_evidence_and_starts_the_timeline_with_the_alert(
    world_factory: WorldFactory,
) -> None:
    world = world_factory(with_alertmanager=False)
    world.cluster.stop_node(2)
    message = world.fire()
    declared = world.press(ALICE, message, "Declare incident")
    assert declared is not None and "Incident #1 (P1) declared by" in shown(declared)
    assert "Declare incident" not in buttons(declared)

    store = world.bot.bot.runtime.store
    [incident] = store.incidents.open("demo")
    channel = incident.channel_id
    assert channel is not None and world.slack.channel(channel).name.startswith("inc-")
    [pinned] = world.slack.pins(channel)
    evidence = next(m for m in world.slack.messages(channel) if m.ts == pinned)
    assert evidence.text.startswith("Evidence: MinioNodeOffline on demo")
    assert "node 2 (" in shown(evidence) and "cannot lose any node and keep writing" in shown(evidence)
    timeline = store.incidents.timeline(incident.id)
    assert (timeline[0].kind, timeline[0].actor) == ("alert", "alertmanager")
    assert "MinioNodeOffline firing" in timeline[0].text

    world.cluster.start_node(2)
    resolved = world.fire("resolved")
    assert resolved.ts == message.ts and resolved.text.startswith("Resolved:")
    # The timeline entry follows the message update.
    world.slack.wait_for(lambda: "MinioNodeOffline resolved" in store.incidents.timeline(incident.id)[-1].text)


def test_viewers_may_not_declare_an_incident_from_an_alert(world_factory: WorldFactory) -> None:
    world = world_factory(with_alertmanager=False)
    world.cluster.stop_node(2)
    message = world.fire()
    assert world.press(CAROL, message, "Declare incident") is None
    assert "responders, operators and approvers" in world.told(CAROL)
    assert not world.slack.calls("conversations.create")


def test_run_diagnostics_again_shows_what_is_true_now(world_factory: WorldFactory) -> None:
    world = world_factory(with_alertmanager=False)
    world.cluster.stop_node(2)
    message = world.fire()
    assert "node 2 (" in shown(message)
    world.cluster.start_node(2)
    again = world.press(CAROL, message, "Run diagnostics again")  # viewing is enough
    assert again is not None and "node 2 (" not in shown(again)
    assert "The bot's checks: HEALTHY" in shown(again)


def test_after_an_alertmanager_message_the_bot_s_own_check_says_nothing_twice(world_factory: WorldFactory) -> None:
    world = world_factory(with_alertmanager=False)
    runtime, outbox = world.bot.bot.runtime, world.bot.bot.outbox
    check = world.bot.bot.application.job(Job.ALERTS)
    assert check is not None
    told = runtime.store.alerts  # what the channel was last told, per condition; written after each post

    world.cluster.stop_node(2)
    message = world.fire()
    world.slack.wait_for(lambda: (state := told.get("health:demo")) and state.message_ts == message.ts)
    check(runtime, outbox, runtime.clock())
    assert len(top_level(world.slack, OPS)) == 1, "the channel already heard it from Alertmanager"

    world.cluster.start_node(2)
    world.fire("resolved")
    world.slack.wait_for(lambda: (state := told.get("health:demo")) and state.state == "HEALTHY")
    check(runtime, outbox, runtime.clock())
    assert len(top_level(world.slack, OPS)) == 1, "and the recovery too"


def test_when_the_bot_s_own_alert_came_first_the_group_takes_over_its_message(world_factory: WorldFactory) -> None:
    world = world_factory(with_alertmanager=False)
    runtime, outbox = world.bot.bot.runtime, world.bot.bot.outbox
    check = world.bot.bot.application.job(Job.ALERTS)
    assert check is not None
    check(runtime, outbox, runtime.clock())  # healthy: the baseline, nothing posted
    world.cluster.stop_node(2)
    check(runtime, outbox, runtime.clock())
    [own] = top_level(world.slack, OPS)
    assert "demo is DEGRADED" in own.text

    taken = world.fire()
    assert taken.ts == own.ts and taken.text.startswith("MinioNodeOffline on demo")
    assert "Declare incident" in buttons(taken)
    assert len(top_level(world.slack, OPS)) == 1
