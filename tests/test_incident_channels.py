"""Incident channels end to end: `/minio incident declare|resolve` through the Slack simulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kubernetes import client

from bot.store import TimelineEntry
from handlers.incidents.evaluate import first_response, matching_types
from handlers.incidents.model import IncidentType
from handlers.incidents.naming import channel_name, slugify
from sandbox.kube.world import TenantWorld, crashloop_pod
from sandbox.minio_sim import SimCluster
from sandbox.slack_sim import SlackSim
from tests.fixtures.bot import BotFactory
from tests.test_incident_env import (
    ALICE,
    BOB,
    CAROL,
    ELSEWHERE,
    OPS,
    button,
    find_channel,
    slack_dump,
    start_bot,
    tenant_doc,
    wait_ephemeral,
    wait_message,
)

TODAY = datetime.now(UTC)

# Fixtures shared by the incident and runbook tests (make_env, full_env, static_env, demo_cluster, ...).
pytest_plugins = ["tests.test_incident_env"]


# ---------------------------------------------------------------- the acceptance scenario


def test_declare_opens_a_channel_with_people_pinned_evidence_and_checklist_and_resolve_posts_the_timeline(
    bot_factory: BotFactory,
    slack_sim: SlackSim,
    tmp_path: Path,
    demo_cluster: SimCluster,
    tenant_world: TenantWorld,
    kubeconfig: Path,
    kube_api: client.ApiClient,
) -> None:
    crashloop_pod(kube_api, tenant_world.namespace, "demo-pool-0-3")
    running = start_bot(
        bot_factory, slack_sim, tmp_path, [tenant_doc(tmp_path, demo_cluster, tenant_world)], kubeconfig
    )
    ack = running.slash(ALICE, OPS, "incident declare demo P1 Pods crash looping!")
    assert ack.ok and ack.ack_s < 3

    prefix = f"inc-{TODAY:%Y%m%d}-demo-pods-crash-looping"
    channel = slack_sim.wait_for(lambda: find_channel(slack_sim, prefix), timeout=10)
    assert channel is not None
    assert channel["name"] == prefix
    ch = channel["id"]
    checklist = wait_message(slack_sim, ch, "rb-check:")
    # Caller and the channel's responder are invited; carol is not a responder.
    members = slack_sim.channel(ch).members  # type: ignore[union-attr]
    assert ALICE in members and BOB in members and CAROL not in members

    pins = slack_sim.pins(ch)
    assert len(pins) == 1
    pinned = next(m for m in slack_sim.messages(ch) if m.ts == pins[0])
    evidence = json.dumps(pinned.blocks)
    assert "Evidence snapshot: demo" in evidence and "demo-pool-0-3" in evidence
    assert "Incident #" in json.dumps(slack_sim.messages(ch)[0].blocks)  # the card comes first
    assert "Runbook: Emergency response (demo)" in json.dumps(checklist.blocks)
    announcement = wait_message(slack_sim, OPS, "P1 incident declared")
    assert f"<#{ch}>" in json.dumps(announcement.blocks)

    driver = slack_sim.driver(events_url=running.events_url)
    # bob (not an admin) ticks step 1 in the incident channel: the checklist updates in place.
    check = button(checklist, "Check", 1)
    assert driver.click(BOB, ch, checklist.ts, check["action_id"], check["value"]).ok
    slack_sim.wait_for(
        lambda: "checked by <@U0BOB>" in json.dumps(slack_sim.thread(ch, checklist.ts)[0].blocks), timeout=10
    )
    # The Run button of the pod-crash step posts the diagnostics in the checklist's thread.
    run = button(checklist, "Run", 4)
    assert run["value"] == "/minio incident pod-crash demo"
    assert driver.click(BOB, ch, checklist.ts, run["action_id"], run["value"]).ok
    reply = slack_sim.wait_for(
        lambda: next((m for m in slack_sim.thread(ch, checklist.ts)[1:] if "pod-crash on demo" in m.text), None),
        timeout=20,
    )
    assert reply is not None
    assert reply.thread_ts == checklist.ts

    # Commands typed in the incident channel work for bob and land in the timeline.
    assert running.slash(BOB, ch, "incident network-issue").ok
    wait_message(slack_sim, ch, "network-issue on demo")
    assert running.slash(BOB, ch, "incident resolve Raised the memory limit; all pods ready").ok
    summary = wait_message(slack_sim, ch, "Resolved: Pods crash looping!")
    text = json.dumps(summary.blocks) + "".join(json.dumps(m.blocks) for m in slack_sim.thread(ch, summary.ts))
    for needle in (
        "declared",
        "created #" + prefix,
        "invited",
        "pinned the evidence snapshot",
        "checked step 1",
        "/minio incident pod-crash demo",
        "/minio incident network-issue",
        "/minio incident resolve Raised the memory limit",
        "Raised the memory limit; all pods ready",
        "Post-incident review",
        "first response after",
    ):
        assert needle in text, needle

    # After resolving, the channel no longer sees the tenant.
    assert running.slash(BOB, ch, "incident security demo").ok
    wait_ephemeral(slack_sim, ch, BOB, "not set up for minio-chatops")

    # No secret anywhere Slack recorded: MinIO keys, the Tenant's root password, Slack tokens.
    dump = slack_dump(slack_sim)
    for secret in (demo_cluster.secret_key, tenant_world.root_password, slack_sim.bot_token, slack_sim.signing_secret):
        assert secret not in dump


def test_a_taken_channel_name_gets_the_next_free_suffix(
    bot_factory: BotFactory, slack_sim: SlackSim, tmp_path: Path, demo_cluster: SimCluster
) -> None:
    running = start_bot(bot_factory, slack_sim, tmp_path, [tenant_doc(tmp_path, demo_cluster)])
    base = f"inc-{TODAY:%Y%m%d}-demo-disk-full"
    slack_sim.add_channel(base, [CAROL])
    slack_sim.add_channel(f"{base}-2", [CAROL])
    assert running.slash(ALICE, OPS, "incident declare demo P2 Disk full").ok
    channel = slack_sim.wait_for(lambda: find_channel(slack_sim, f"{base}-3"), timeout=10)
    assert channel is not None
    wait_message(slack_sim, channel["id"], "rb-check:")
    assert slack_sim.pins(channel["id"])
    creates = [c for c in slack_sim.calls("conversations.create")]
    assert len(creates) == 3  # base, -2 (taken), -3


def test_declaring_from_a_channel_that_cannot_see_the_tenant_is_refused_and_creates_nothing(
    bot_factory: BotFactory, slack_sim: SlackSim, tmp_path: Path, demo_cluster: SimCluster
) -> None:
    running = start_bot(bot_factory, slack_sim, tmp_path, [tenant_doc(tmp_path, demo_cluster)])
    assert running.slash(CAROL, ELSEWHERE, "incident declare demo P1 Someone elses tenant").ok
    wait_ephemeral(slack_sim, ELSEWHERE, CAROL, "not visible in this channel")
    assert running.slash(ALICE, OPS, "incident declare nope P1 No such tenant").ok
    wait_ephemeral(slack_sim, OPS, ALICE, "Unknown tenant `nope`")
    stray = slack_sim.add_channel("random", [CAROL])
    assert running.slash(CAROL, stray, "incident declare demo P1 From a random channel").ok
    wait_ephemeral(slack_sim, stray, CAROL, "not set up for minio-chatops")
    assert not slack_sim.calls("conversations.create")


def test_resolve_outside_an_incident_channel_is_refused(
    bot_factory: BotFactory, slack_sim: SlackSim, tmp_path: Path, demo_cluster: SimCluster
) -> None:
    running = start_bot(bot_factory, slack_sim, tmp_path, [tenant_doc(tmp_path, demo_cluster)])
    assert running.slash(ALICE, OPS, "incident resolve all good").ok
    wait_ephemeral(slack_sim, OPS, ALICE, "no open incident in this channel")


# ---------------------------------------------------------------- pure parts


@pytest.mark.parametrize(
    "title, expected",
    [
        ("Pods crash looping!", "pods-crash-looping"),
        ("  Ünïcödé   — disk FULL ", "unicode-disk-full"),
        ("<!channel> @here", "channel-here"),
        ("!!!", "incident"),
    ],
)
def test_channel_names_are_slack_safe(title: str, expected: str) -> None:
    name = channel_name(datetime(2026, 3, 4, tzinfo=UTC), "demo", title)
    assert name == f"inc-20260304-demo-{expected}"


def test_long_titles_leave_room_for_a_suffix_within_80_characters() -> None:
    name = channel_name(datetime(2026, 3, 4, tzinfo=UTC), "a" * 63, "word " * 40)
    assert len(name) + len("-20") <= 80 and not name.endswith("-")
    assert slugify("a-b-c-d", 4) == "a-b"


def test_the_title_picks_the_matching_diagnostics() -> None:
    assert matching_types("Pods crash looping") == [IncidentType.POD_CRASH]
    assert matching_types("Disk full and writes slow") == [IncidentType.STORAGE_FULL, IncidentType.PERFORMANCE]
    assert matching_types("Something odd") == []


def test_first_response_skips_the_bot_and_the_declaration() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def entry(i: int, actor: str, kind: str) -> TimelineEntry:
        return TimelineEntry(id=i, incident_id=1, at=t0 + timedelta(minutes=i), actor=actor, kind=kind, text="x")

    entries = [entry(0, ALICE, "declared"), entry(1, "minio-chatops", "evidence"), entry(7, BOB, "command")]
    first = first_response(entries)
    assert first is not None and first.actor == BOB and first.id == 7
