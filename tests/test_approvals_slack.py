"""Approvals end to end: signed Slack requests to the real bot, a real Kubernetes API server, the MinIO simulator.

The acceptance scenario of the sandbox: alice requests `/minio maintenance demo
enable`; approving it herself is refused with a clear message; bob approves;
the Tenant gets its annotations, alerts are muted, and `/minio audit` shows all
of it. Then the faults: fifty approvers pressing at once (PostgreSQL), a forged
payload, a tampered value, a rejection through the reason form, and a bot
restarted between the request and the approval.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, watch

from handlers.maintenance import MODE, UNTIL
from sandbox.kube.controlplane import ControlPlane
from sandbox.kube.world import TENANT_GROUP, TENANT_PLURAL, TENANT_VERSION, TenantWorld
from sandbox.minio_sim import SimCluster
from sandbox.slack_sim import SlackSim
from sandbox.slack_sim.driver import Forgery, SlackDriver
from sandbox.slack_sim.state import Message
from tests.fixtures.bot import ALICE, BOB, CAROL, OPS, BotFactory, RunningBot, base_config
from tests.test_maintenance import site_config
from tests.test_slack_app import ephemeral_texts, wait_ephemeral

TIMEOUT = 20.0


def config_for(slack: SlackSim, kube: ControlPlane, namespace: str, minio: SimCluster, tmp_path: Path,
               store_url: str | None = None, **tenant: Any) -> dict[str, Any]:
    """The sandbox's shape: alice admin + approver, bob approver, carol a bystander, all in #ops."""
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    keys = tmp_path / "keys"
    keys.mkdir(exist_ok=True)
    config = base_config(slack)
    config.update(site_config(kubeconfig, namespace, minio, keys,
                              store_url or f"sqlite:///{tmp_path / 'state.db'}", **tenant))
    config["admins"] = [ALICE]
    return config


def card_messages(slack: SlackSim, needle: str) -> list[Message]:
    return [m for m in slack.messages(OPS, include_replies=False) if needle in m.text]


def wait_card(slack: SlackSim, needle: str = "Approval needed") -> Message:
    card = slack.wait_for(lambda: next(iter(card_messages(slack, needle)), None), timeout=TIMEOUT)
    assert card is not None, f"no card with {needle!r}; messages: {[m.text for m in slack.messages(OPS)]}"
    return card


def wait_state(slack: SlackSim, ts: str, needle: str) -> Message:
    def current() -> Message | None:
        message = next((m for m in slack.messages(OPS) if m.ts == ts), None)
        return message if message is not None and needle in message.text else None

    found = slack.wait_for(current, timeout=TIMEOUT)
    assert found is not None, f"card {ts} never said {needle!r}: {[m.text for m in slack.messages(OPS) if m.ts == ts]}"
    return found


def button(card: Message, prefix: str) -> tuple[str, str]:
    """(action_id, value) of the card's button whose action_id starts with `prefix`."""
    for block in card.blocks:
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            if str(element.get("action_id", "")).startswith(prefix):
                return str(element["action_id"]), str(element.get("value", ""))
    raise AssertionError(f"no {prefix} button on the card")


def driver(running: RunningBot) -> SlackDriver:
    return running.slack.driver(events_url=running.events_url)


def tenant(api: client.ApiClient, namespace: str) -> dict[str, Any]:
    obj: dict[str, Any] = client.CustomObjectsApi(api).get_namespaced_custom_object(
        TENANT_GROUP, TENANT_VERSION, namespace, TENANT_PLURAL, "demo")
    return obj


def tenant_writes_since(api: client.ApiClient, namespace: str, resource_version: str) -> int:
    """How many times the Tenant was modified after `resource_version` (the API server replays the watch)."""
    stream = watch.Watch().stream(
        client.CustomObjectsApi(api).list_namespaced_custom_object, TENANT_GROUP, TENANT_VERSION, namespace,
        TENANT_PLURAL, resource_version=resource_version, timeout_seconds=2,
    )
    return sum(1 for event in stream if event["type"] == "MODIFIED" and event["object"]["metadata"]["name"] == "demo")


@pytest.fixture
def demo(bot_factory: BotFactory, slack_sim: SlackSim, kube: ControlPlane, tenant_world: TenantWorld,
         kube_ns: str, minio_cluster: SimCluster, tmp_path: Path) -> RunningBot:
    return bot_factory(config_for(slack_sim, kube, kube_ns, minio_cluster, tmp_path))


def test_acceptance_request_as_one_user_approve_as_another_then_audit(
    demo: RunningBot, kube_api: client.ApiClient, kube_ns: str
) -> None:
    slack = demo.slack
    assert demo.slash(ALICE, OPS, "maintenance demo enable --hours 2 replacing drive 3").ok
    card = wait_card(slack)
    assert "Needs 1 approval from `maintenance` approvers other than the requester" in json.dumps(card.blocks)
    wait_ephemeral(slack, OPS, ALICE, "the approval card is below")
    approve, _value = button(card, "approve:")

    assert driver(demo).click(ALICE, OPS, card.ts, approve).ok
    wait_ephemeral(slack, OPS, ALICE, "You requested this change; someone else must approve it.")
    assert MODE not in (tenant(kube_api, kube_ns)["metadata"].get("annotations") or {})

    assert driver(demo).click(CAROL, OPS, card.ts, approve).ok
    wait_ephemeral(slack, OPS, CAROL, "approvers of `demo` may approve this request, and you are not one")

    assert driver(demo).click(BOB, OPS, card.ts, approve).ok
    done = wait_state(slack, card.ts, "Done")
    assert "Maintenance enabled on demo until" in json.dumps(done.blocks)
    assert not [b for b in done.blocks if b.get("type") == "actions"], "no buttons left on a decided card"
    annotations = tenant(kube_api, kube_ns)["metadata"]["annotations"]
    assert annotations[MODE] == "true" and UNTIL in annotations
    assert demo.bot.runtime.store.maintenance.active("demo", datetime.now(UTC)) is not None, "alerts muted"
    replies = [m for m in slack.thread(OPS, card.ts) if m.ts != card.ts]
    assert replies and "Tenant" in json.dumps(replies[0].blocks) and "annotated" in json.dumps(replies[0].blocks)

    assert demo.slash(CAROL, OPS, "audit").ok
    audit = wait_ephemeral(slack, OPS, CAROL, "Audit trail")
    for action in ("*result*", "*execute*", "*approved* by <@U0BOB>", "*approve* by <@U0BOB>",
                   "*refuse* by <@U0CAROL>", "*refuse* by <@U0ALICE>", "*request* by <@U0ALICE>"):
        assert action in audit, action


def test_fifty_approvers_pressing_at_once_execute_the_change_exactly_once_on_postgres(
    bot_factory: BotFactory, slack_sim: SlackSim, kube: ControlPlane, kube_api: client.ApiClient,
    tenant_world: TenantWorld, kube_ns: str, minio_cluster: SimCluster, tmp_path: Path, fresh_pg_url: str,
) -> None:
    approvers = [f"U0MANY{i:03d}" for i in range(50)]
    for user in approvers:
        slack_sim.add_user(user, user.lower())
    slack_sim.add_usergroup("S0MANY", "many-approvers", approvers)
    config = config_for(slack_sim, kube, kube_ns, minio_cluster, tmp_path, store_url=fresh_pg_url,
                        approvals={"maintenance": {"approvers": ["S0MANY"]}})
    running = bot_factory(config)
    assert running.bot.runtime.store.backend == "postgresql"
    assert running.slash(ALICE, OPS, "maintenance demo enable").ok
    card = wait_card(slack_sim)
    approve, value = button(card, "approve:")
    before = tenant(kube_api, kube_ns)["metadata"]["resourceVersion"]
    barrier = threading.Barrier(len(approvers))
    statuses: list[int] = []

    def press(user: str) -> None:
        clicker = driver(running)
        barrier.wait()
        statuses.append(clicker.click(user, OPS, card.ts, approve, value).status)

    threads = [threading.Thread(target=press, args=(u,)) for u in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [200] * 50
    wait_state(slack_sim, card.ts, "Done")
    approval = running.bot.runtime.store.approvals.recent(1)[0]
    actions = [e.action for e in running.bot.runtime.store.audit.for_approval(approval.id)]
    assert actions.count("execute") == 1 and actions.count("result") == 1 and actions.count("approved") == 1
    assert tenant_writes_since(kube_api, kube_ns, before) == 1, "the Tenant was patched exactly once"
    told = slack_sim.wait_for(
        lambda: sum(1 for u in approvers if ephemeral_texts(slack_sim, OPS, u)) >= 49 or None, timeout=TIMEOUT
    )
    assert told, "every approver who lost the race is told so"


def test_forged_and_tampered_clicks_change_nothing(demo: RunningBot, kube_api: client.ApiClient,
                                                  kube_ns: str) -> None:
    slack = demo.slack
    assert demo.slash(ALICE, OPS, "maintenance demo enable").ok
    card = wait_card(slack)
    approve, value = button(card, "approve:")
    forged = driver(demo).click(BOB, OPS, card.ts, approve, forge=Forgery.bad_signature())
    assert forged.status == 401
    unsigned = driver(demo).click(BOB, OPS, card.ts, approve, forge=Forgery(omit_signature=True))
    assert unsigned.status == 401
    approval_id, _, plan_hash = value.partition(":")
    tampered = driver(demo).click(BOB, OPS, card.ts, approve, f"{approval_id}:{plan_hash[::-1]}")
    assert tampered.ok
    wait_ephemeral(slack, OPS, BOB, "does not match any approval request")
    store = demo.bot.runtime.store
    assert store.approvals.get(approval_id).status == "pending"  # type: ignore[union-attr]
    assert not store.approvals.votes(approval_id)
    assert MODE not in (tenant(kube_api, kube_ns)["metadata"].get("annotations") or {})
    assert [e.action for e in store.audit.for_approval(approval_id)] == ["request", "refuse"]


def test_rejecting_asks_for_a_reason_in_a_form_and_the_card_shows_it(demo: RunningBot) -> None:
    slack = demo.slack
    assert demo.slash(ALICE, OPS, "maintenance demo enable").ok
    card = wait_card(slack)
    reject, _ = button(card, "reject:")
    assert driver(demo).click(BOB, OPS, card.ts, reject).ok
    view = slack.wait_for(lambda: next(iter(slack.views(BOB)), None), timeout=TIMEOUT)
    assert view is not None and view.view["callback_id"].startswith("reject-reason:")
    empty = driver(demo).submit_view(BOB, view.id, {"prompt": "   "})
    assert empty.ok and empty.payload and empty.payload["response_action"] == "errors"
    assert driver(demo).submit_view(BOB, view.id, {"prompt": "drive 3 is still healing"}).ok
    rejected = wait_state(slack, card.ts, "Rejected")
    assert "Rejected by <@U0BOB>: drive 3 is still healing" in json.dumps(rejected.blocks)
    wait_ephemeral(slack, OPS, BOB, "Rejected request")
    approve, value = button(card, "approve:")  # a stale copy of the card still showing its buttons
    assert driver(demo).click(CAROL, OPS, card.ts, approve, value).ok
    wait_ephemeral(slack, OPS, CAROL, "already rejected")


def test_a_bot_restarted_between_request_and_approval_still_serves_the_card(
    bot_factory: BotFactory, slack_sim: SlackSim, kube: ControlPlane, kube_api: client.ApiClient,
    tenant_world: TenantWorld, kube_ns: str, minio_cluster: SimCluster, tmp_path: Path,
) -> None:
    config = config_for(slack_sim, kube, kube_ns, minio_cluster, tmp_path)
    first = bot_factory(config)
    assert first.slash(ALICE, OPS, "maintenance demo enable").ok
    card = wait_card(slack_sim)
    first.server.stop()
    first.bot.close()
    second = bot_factory(config)  # a new process on the same store
    approve, _ = button(card, "approve:")
    assert driver(second).click(BOB, OPS, card.ts, approve).ok
    wait_state(slack_sim, card.ts, "Done")
    assert tenant(kube_api, kube_ns)["metadata"]["annotations"][MODE] == "true"
