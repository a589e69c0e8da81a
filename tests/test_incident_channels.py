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
from sandbox.slack_sim import DEMO_ONCALL_GROUP, SlackSim
from sandbox.slack_sim.state import Message
from tests.fixtures.bot import BotFactory, RunningBot
from tests.test_incident_env import (
    ALICE,
    BOB,
    CAROL,
    ELSEWHERE,
    OPS,
    EnvFactory,
    button,
    find_channel,
    report_text,
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
    # Caller and the tenant's responder are invited into a private channel; carol is not a responder.
    members = slack_sim.channel(ch).members  # type: ignore[union-attr]
    assert ALICE in members and BOB in members and CAROL not in members
    assert channel["is_private"] is True

    pins = slack_sim.pins(ch)
    assert len(pins) == 1
    pinned = next(m for m in slack_sim.messages(ch) if m.ts == pins[0])
    evidence = json.dumps(pinned.blocks)
    assert "Evidence snapshot: demo" in evidence and "demo-pool-0-3" in evidence
    # A private channel gets all of it, log tails too.
    assert "Last log lines: demo-pool-0-3" in evidence and "Left out" not in evidence
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
        "created private #" + prefix,
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


# ---------------------------------------------------------------- who sees the tenant in an incident channel


def _declare(running: RunningBot, slack_sim: SlackSim, title: str, who: str = ALICE) -> tuple[str, Message]:
    """Declare `title` on demo from #ops; the channel id and its checklist (the last thing declaring posts)."""
    assert running.slash(who, OPS, f"incident declare demo P1 {title}").ok
    prefix = f"inc-{TODAY:%Y%m%d}-demo-{slugify(title, 60)}"
    channel = slack_sim.wait_for(lambda: find_channel(slack_sim, prefix), timeout=10)
    assert channel is not None
    return str(channel["id"]), wait_message(slack_sim, channel["id"], "rb-check:")


def _posted_about_demo(slack_sim: SlackSim, channel: str, user: str) -> list[str]:
    """Health reports on demo that `user` was shown in `channel` (posted or ephemeral)."""
    texts = [m.text for m in slack_sim.messages(channel)] + [e.text for e in slack_sim.ephemerals(channel, user)]
    return [t for t in texts if t.startswith("Health of demo")]


def test_incident_channels_are_private_and_invite_only_the_declarer_and_the_tenants_responders(
    bot_factory: BotFactory, slack_sim: SlackSim, tmp_path: Path, demo_cluster: SimCluster
) -> None:
    # No responders configured: the tenant's operators (here the @oncall group: alice and bob) stand in.
    tenant = tenant_doc(tmp_path, demo_cluster, responders=[], operators=[DEMO_ONCALL_GROUP])
    running = start_bot(bot_factory, slack_sim, tmp_path, [tenant])
    ch, _checklist = _declare(running, slack_sim, "Disk full")
    [create] = slack_sim.calls("conversations.create")
    assert create.params["is_private"] in (True, "true", "1")
    assert set(slack_sim.channel(ch).members) == {"U0BOT", ALICE, BOB}  # type: ignore[union-attr]
    assert slack_sim.channel(ch).is_private  # type: ignore[union-attr]
    assert {e["inviter"] for e in slack_sim.member_events(ch)} == {"U0BOT"}
    card = json.dumps(slack_sim.messages(ch)[0].blocks)
    assert "Private channel: only the people the bot invited" in card


def test_a_user_who_joins_an_incident_channel_by_themselves_sees_nothing_about_the_tenant(
    bot_factory: BotFactory, slack_sim: SlackSim, tmp_path: Path, demo_cluster: SimCluster
) -> None:
    running = start_bot(bot_factory, slack_sim, tmp_path, [tenant_doc(tmp_path, demo_cluster)],
                        incidents={"private": False})
    ch, checklist = _declare(running, slack_sim, "Disk full")
    assert not slack_sim.channel(ch).is_private  # type: ignore[union-attr]
    driver = slack_sim.driver(events_url=running.events_url)
    driver.join(CAROL, ch)  # anyone may join a public channel

    assert running.slash(CAROL, ch, "health demo").ok
    wait_ephemeral(slack_sim, ch, CAROL, "Only the people the bot invited to this incident see its tenant here")
    assert running.slash(CAROL, ch, "tenants").ok
    assert running.slash(CAROL, ch, "incident storage-full").ok
    check = button(checklist, "Check", 1)
    assert driver.click(CAROL, ch, checklist.ts, check["action_id"], check["value"]).ok
    def refusals() -> list[str]:
        return [e.text for e in slack_sim.ephemerals(ch, CAROL) if "Only the people the bot invited" in e.text]

    slack_sim.wait_for(lambda: len(refusals()) >= 4, timeout=10)  # health, tenants, storage-full, the click
    assert _posted_about_demo(slack_sim, ch, CAROL) == []
    assert "checked by" not in json.dumps(slack_sim.messages(ch)[-1].blocks)

    # A responder lets her in through the bot: from then on she sees the tenant here.
    assert running.slash(BOB, ch, f"incident invite {CAROL}").ok
    wait_message(slack_sim, ch, "they see tenant")
    assert running.slash(CAROL, ch, "health demo").ok
    slack_sim.wait_for(lambda: _posted_about_demo(slack_sim, ch, CAROL), timeout=20)


def test_someone_added_from_slack_itself_keeps_the_tenant_out_of_a_private_incident_channel_until_invited(
    bot_factory: BotFactory, slack_sim: SlackSim, tmp_path: Path, demo_cluster: SimCluster
) -> None:
    running = start_bot(bot_factory, slack_sim, tmp_path, [tenant_doc(tmp_path, demo_cluster)])
    ch, _checklist = _declare(running, slack_sim, "Disk full")
    slack_sim.driver().add_members(BOB, ch, [CAROL])  # bob adds carol from Slack's "Add people", not the bot

    # Whatever is posted here carol reads too: nobody sees the tenant here while she is in.
    assert running.slash(BOB, ch, "health demo").ok
    refusal = wait_ephemeral(slack_sim, ch, BOB, "Not everyone here was invited through the bot")
    assert f"<@{CAROL}>" in refusal
    assert running.slash(CAROL, ch, "health demo").ok
    wait_ephemeral(slack_sim, ch, CAROL, "Only the people the bot invited")
    # Carol is no responder: she cannot let herself (or anyone) in.
    assert running.slash(CAROL, ch, f"incident invite {CAROL}").ok
    wait_ephemeral(slack_sim, ch, CAROL, "Only the people the bot invited")
    assert _posted_about_demo(slack_sim, ch, BOB) == []

    assert running.slash(BOB, ch, f"incident invite <@{CAROL}|carol>").ok
    wait_message(slack_sim, ch, "they see tenant")
    assert running.slash(BOB, ch, "health demo").ok
    slack_sim.wait_for(lambda: _posted_about_demo(slack_sim, ch, BOB), timeout=20)
    # Who let her in is in the timeline.
    assert running.slash(BOB, ch, "incident resolve done").ok
    summary = wait_message(slack_sim, ch, "Resolved: Disk full")
    timeline = "".join(json.dumps(m.blocks, ensure_ascii=False) for m in slack_sim.thread(ch, summary.ts))
    assert f"<@{BOB}> · invite: invited <@{CAROL}>" in timeline


def test_an_invited_viewer_may_look_but_not_invite_or_resolve(
    bot_factory: BotFactory, slack_sim: SlackSim, tmp_path: Path, demo_cluster: SimCluster
) -> None:
    running = start_bot(bot_factory, slack_sim, tmp_path, [tenant_doc(tmp_path, demo_cluster)])
    ch, _checklist = _declare(running, slack_sim, "Disk full")
    assert running.slash(BOB, ch, f"incident invite {CAROL}").ok
    wait_message(slack_sim, ch, "they see tenant")
    assert running.slash(CAROL, ch, "incident invite U0DAVE").ok
    wait_ephemeral(slack_sim, ch, CAROL, "for the tenant's responders, operators and approvers")
    assert running.slash(CAROL, ch, "incident resolve not mine to close").ok

    def refusals() -> list[str]:
        return [e.text for e in slack_sim.ephemerals(ch, CAROL) if "responders, operators and approvers" in e.text]

    slack_sim.wait_for(lambda: len(refusals()) == 2, timeout=10)
    assert running.slash(BOB, ch, "incident invite carol").ok
    wait_ephemeral(slack_sim, ch, BOB, "is not a member id")
    assert len(slack_sim.calls("conversations.invite")) == 3  # alice, bob at declaration; carol


def test_viewers_may_not_declare_an_incident_and_help_says_who_may(
    bot_factory: BotFactory, slack_sim: SlackSim, tmp_path: Path, demo_cluster: SimCluster
) -> None:
    running = start_bot(bot_factory, slack_sim, tmp_path, [tenant_doc(tmp_path, demo_cluster)])
    assert running.slash(CAROL, OPS, "incident declare demo P1 Carol only looks").ok
    wait_ephemeral(slack_sim, OPS, CAROL, "for the tenant's responders, operators and approvers")
    assert not slack_sim.calls("conversations.create")
    assert running.slash(CAROL, OPS, "help incident").ok
    help_text = wait_ephemeral(slack_sim, OPS, CAROL, "Declaring, inviting and resolving are for")
    assert "people who may only view a tenant cannot" in help_text
    # The diagnostics stay open to her, and bob (a responder, not an operator) may declare.
    assert running.slash(CAROL, OPS, "incident storage-full demo").ok
    wait_message(slack_sim, OPS, "storage-full on demo")
    _declare(running, slack_sim, "Bob declares", who=BOB)


def test_sensitive_evidence_stays_out_of_a_public_incident_channel_and_the_card_says_what_was_left_out(
    bot_factory: BotFactory,
    slack_sim: SlackSim,
    tmp_path: Path,
    demo_cluster: SimCluster,
    tenant_world: TenantWorld,
    kubeconfig: Path,
    kube_api: client.ApiClient,
) -> None:
    crashloop_pod(kube_api, tenant_world.namespace, "demo-pool-0-3")
    tenant = tenant_doc(tmp_path, demo_cluster, tenant_world)
    running = start_bot(bot_factory, slack_sim, tmp_path, [tenant], kubeconfig, incidents={"private": False})
    ch, _checklist = _declare(running, slack_sim, "Pods crash after a security breach")

    pinned = next(m for m in slack_sim.messages(ch) if m.ts == slack_sim.pins(ch)[0])
    evidence = json.dumps(pinned.blocks)
    assert "demo-pool-0-3" in evidence and "Credentials" in evidence  # the rest of the evidence is there
    assert "old-ci" not in evidence and "backup-agent" not in evidence and "Last log lines" not in evidence
    card = json.dumps(slack_sim.messages(ch)[0].blocks)
    for text in (card, evidence):
        assert "Left out" in text and "IAM users and their policies, pod log tails" in text
        assert "anyone in the workspace can read it" in text and f"<#{OPS}>" in text
    # ... and posted in the tenant's own channel, where it was declared.
    held = wait_message(slack_sim, OPS, "Sensitive evidence: incident #1 on demo")
    held_text = json.dumps(held.blocks) + "".join(json.dumps(m.blocks) for m in slack_sim.thread(OPS, held.ts))
    assert "old-ci" in held_text and "Last log lines: demo-pool-0-3" in held_text

    # Diagnostics run in the public channel leave the same out, and say where to run them.
    assert running.slash(BOB, ch, "incident security demo").ok
    report = wait_message(slack_sim, ch, "security on demo")
    text = json.dumps(report.blocks) + "".join(json.dumps(m.blocks) for m in slack_sim.thread(ch, report.ts))
    assert "old-ci" not in text and "Left out" in text and "/minio incident security demo" in text
    assert "Public buckets" in text


DAVE = "U0DAVE"


def test_admins_too_see_an_incident_channels_tenant_only_once_the_bot_let_them_in(
    make_env: EnvFactory, tmp_path: Path, demo_cluster: SimCluster
) -> None:
    env = make_env([tenant_doc(tmp_path, demo_cluster)], admins=[ALICE, DAVE])
    env.run("incident declare demo P2 Disk full")
    [channel] = env.outbox.channels
    assert "created private #" in env.outbox.out.getvalue()  # type: ignore[attr-defined]
    refused = report_text(env.run("health demo", user=DAVE, channel=channel))
    assert "Only the people the bot invited" in refused and "incident invite U0DAVE" in refused
    assert "Only the people the bot invited" in report_text(env.run("tenants", user=DAVE, channel=channel))
    env.run(f"incident invite {DAVE}", user=DAVE, channel=channel)  # not let in: refused before the handler
    assert env.runtime.store.incidents.member_ids(1) == {ALICE, BOB}
    assert "they see tenant" in report_text(env.run(f"incident invite {DAVE}", user=BOB, channel=channel))
    assert env.run("health demo", user=DAVE, channel=channel).title.startswith("Health of demo")


def test_when_who_is_in_a_private_incident_channel_cannot_be_read_nothing_about_the_tenant_is_shown(
    make_env: EnvFactory, tmp_path: Path, demo_cluster: SimCluster
) -> None:
    env = make_env([tenant_doc(tmp_path, demo_cluster)])
    env.run("incident declare demo P2 Disk full")
    [channel] = env.outbox.channels

    def slack_down(_channel: str) -> frozenset[str]:
        raise ConnectionError("Slack is unreachable")

    env.runtime.channel_members = slack_down
    assert "could not check who may see what" in report_text(env.run("health demo", user=BOB, channel=channel))
    env.runtime.channel_members = lambda _channel: frozenset({ALICE, BOB})
    assert env.run("health demo", user=BOB, channel=channel).title.startswith("Health of demo")


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
