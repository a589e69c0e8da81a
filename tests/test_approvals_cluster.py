"""Changes to a whole cluster (its operator) are governed by the cluster, never by one tenant's rule (issue 14, item 1).

Given the demo tenant whose rule needs one approval by bob, and cluster `prod`
whose `approvals` need two of carol and erin in #platform: a cluster-scoped
plan is refused when the cluster has no rule or the requester is not one of its
operators; otherwise its card goes to #platform, bob (the tenant's approver)
cannot approve it, and only the cluster's approvers' votes count. Engine-level,
against the real store, with a harmless change kind.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot import approval_engine as engine
from bot.application import Capability
from bot.changes import Change, ChangePlan, DryRun, Finding, Outcome, Target, seal
from bot.runtime import Runtime
from handlers import approvals as approval_verbs
from handlers import updates
from tests.reading import plain
from tests.test_approvals import (
    ADMIN,
    ALICE,
    BOB,
    CAROL,
    DAVE,
    HIDDEN,
    NOW,
    OPS,
    OTHER,
    World,
    ephemeral,
    make_config,
    text_of,
    world_from,
)

PLATFORM = "C0PLATFORM"
ERIN = "U0ERIN"
RULE = {"approvers": [CAROL, ERIN], "channel": PLATFORM}  # two approvals by default
_plans = itertools.count(1)


class OperatorTouch:
    """A harmless cluster-wide change kind (action kind `operator-update`): execute() only counts."""

    name = "test-operator-touch"
    action_kind = "operator-update"

    def __init__(self) -> None:
        self.executions: list[str] = []

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        return [Finding(check="target unchanged", ok=True, detail="as previewed")]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        self.executions.append(str(plan.cluster))
        return Outcome(ok=True, summary="operator touched")


def operator_plan(cluster: str = "prod") -> ChangePlan:
    n = next(_plans)
    return seal(ChangePlan(
        kind=OperatorTouch.name, action_kind="operator-update", cluster=cluster,
        title=f"Upgrade the operator of {cluster} #{n}", params={"n": n},
        targets=[Target(kind="Deployment", namespace="minio-operator", name="minio-operator", resource_version="7")],
        changes=[Change(what="image", before="quay.io/minio/operator:v7.1.1", after="quay.io/minio/operator:v7.1.2")],
        dry_run=DryRun(ok=True, detail="accepted"), risk="high", planned_at=NOW,
    ))


def cluster_world(store_url: str, *, cluster: dict[str, Any] | None = None) -> tuple[World, OperatorTouch]:
    raw = make_config(store_url, approvers=[BOB])  # the demo tenant: one approval, by bob
    raw["tenants"][0]["kubernetes"] = {"cluster": "prod", "namespace": "minio-demo"}
    raw["clusters"] = [{"name": "prod", "kubeconfig": "/nonexistent", "discover": False, "operators": [ALICE],
                        **(cluster if cluster is not None else {"approvals": RULE})}]
    raw["channels"].append({"id": PLATFORM})
    kind = OperatorTouch()
    capability = Capability("test-operator")
    capability.change_kind(kind)
    return world_from(raw, capabilities=(capability, approval_verbs.capability, updates.capability)), kind


@pytest.fixture
def governed(store_url: str) -> Iterator[tuple[World, OperatorTouch]]:
    w, kind = cluster_world(store_url)
    yield w, kind
    w.runtime.close()


def test_a_requester_who_operates_a_one_approver_tenant_cannot_get_an_operator_upgrade_approved_under_its_rule(
    governed: tuple[World, OperatorTouch],
) -> None:
    w, kind = governed
    report = engine.request_change(w.inv(ALICE, OPS), operator_plan())
    assert not report.failed, text_of(report)
    [(channel, _ts, card, _thread)] = w.outbox.posts
    assert channel == PLATFORM, "the card goes to the cluster's channel, not the tenant's"
    assert "Needs 2 approvals from `operator-update` approvers of cluster `prod`" in text_of(card)
    assert f"in #{PLATFORM}" in plain(report.summary)
    approval = w.runtime.store.approvals.recent(1)[0]
    assert (approval.tenant, approval.approvals_required, approval.channel) == ("cluster:prod", 2, PLATFORM)

    refused = ephemeral(w.press(BOB, approval.id, channel=PLATFORM))  # the demo tenant's only approver
    assert "Only `operator-update` approvers of cluster `prod`" in refused
    assert w.status(approval.id) == "pending" and not kind.executions
    assert "1 more approval needed" in ephemeral(w.press(CAROL, approval.id, channel=PLATFORM))
    assert not kind.executions, "one approval is not enough under the cluster's rule"
    assert w.press(ERIN, approval.id, channel=PLATFORM).ephemeral is None
    assert kind.executions == ["prod"] and w.status(approval.id) == "succeeded"
    assert [e.action for e in w.runtime.store.audit.for_approval(approval.id)] == [
        "request", "refuse", "approve", "approve", "approved", "execute", "result"]


def test_an_operator_change_on_a_cluster_without_approvals_is_refused_with_the_reason(store_url: str) -> None:
    w, _kind = cluster_world(store_url, cluster={})
    try:
        report = engine.request_change(w.inv(ADMIN, OPS), operator_plan())
        text = plain(report.summary)
        assert "cluster `prod` are refused: the cluster has no `approvals`" in text
        assert "never by one tenant's rule" in text
        assert not w.outbox.posts and not w.runtime.store.approvals.recent(1), "nothing is requested"
        [event] = w.runtime.store.audit.recent(1)
        assert (event.action, event.actor, event.tenant) == ("refuse", ADMIN, "cluster:prod")
        assert "the cluster has no `approvals`" in event.detail["reason"]
    finally:
        w.runtime.close()


def test_a_tenant_operator_who_is_not_an_operator_of_the_cluster_may_not_request_its_changes(
    store_url: str,
) -> None:
    w, _kind = cluster_world(store_url, cluster={"approvals": RULE, "operators": [DAVE]})
    try:
        report = engine.request_change(w.inv(ALICE, OPS), operator_plan())  # ALICE operates the demo tenant
        assert "you are not one of its `operators`" in plain(report.summary)
        assert not w.outbox.posts and not w.runtime.store.approvals.recent(1)
        assert w.runtime.store.audit.recent(1)[0].action == "refuse"
    finally:
        w.runtime.close()


def test_a_cluster_wide_plan_filed_under_a_tenant_is_a_programming_error(governed: tuple[World, OperatorTouch]) -> None:
    w, _kind = governed
    plan = seal(operator_plan().model_copy(update={"cluster": None, "tenant": "demo"}))
    with pytest.raises(ValueError, match="must name the cluster"):
        engine.request_change(w.inv(ALICE, OPS), plan)


def test_the_plan_hash_covers_the_cluster_so_a_stored_plan_cannot_be_moved_to_another(
    governed: tuple[World, OperatorTouch],
) -> None:
    w, kind = governed
    plan = operator_plan()
    assert plan.compute_hash() != plan.model_copy(update={"cluster": "other"}).compute_hash()
    approval_id, _ts = w.request(plan, user=ALICE)
    _rewrite_plan(w, approval_id, "other")  # someone with store access moves the plan to another cluster
    w.press(CAROL, approval_id, channel=PLATFORM)
    w.press(ERIN, approval_id, channel=PLATFORM)
    assert w.status(approval_id) == "refused" and not kind.executions


def _rewrite_plan(w: World, approval_id: str, cluster: str) -> None:
    from sqlalchemy import create_engine, select, update

    from bot.store.schema import approvals

    engine_ = create_engine(w.runtime.store_url)
    try:
        with engine_.begin() as conn:
            plan = conn.execute(select(approvals.c.plan).where(approvals.c.id == approval_id)).scalar_one()
            conn.execute(update(approvals).where(approvals.c.id == approval_id).values(plan={**plan,
                                                                                             "cluster": cluster}))
    finally:
        engine_.dispose()


def test_cluster_requests_are_listed_and_decided_where_the_cluster_is_seen(
    governed: tuple[World, OperatorTouch],
) -> None:
    w, _kind = governed
    approval_id, _ts = w.request(operator_plan(), user=ALICE)
    listed = w.dispatcher.run(CAROL, PLATFORM, _parse(w, "approvals"), outbox=w.outbox)
    assert approval_id in text_of(listed)
    elsewhere = w.dispatcher.run(CAROL, OTHER, _parse(w, "approvals"), outbox=w.outbox)
    assert approval_id not in text_of(elsewhere), "a tenant's channel does not see the cluster's requests"
    refused = w.dispatcher.run(CAROL, OTHER, _parse(w, f"reject {approval_id} not now please"), outbox=w.outbox)
    assert "cannot be decided from this channel" in plain(refused.summary)
    rejected = w.dispatcher.run(CAROL, PLATFORM, _parse(w, f"reject {approval_id} not now please"), outbox=w.outbox)
    assert "Rejected request" in plain(rejected.summary) and w.status(approval_id) == "rejected"
    audit = w.dispatcher.run(CAROL, PLATFORM, _parse(w, "audit"), outbox=w.outbox)
    assert "on cluster `prod`" in text_of(audit)


def _parse(w: World, text: str) -> Any:
    parsed = w.dispatcher.parse(text)
    assert not hasattr(parsed, "message"), parsed
    return parsed


def test_update_operator_is_refused_before_anything_is_read_for_a_hidden_cluster_or_a_tenant_operator(
    store_url: str,
) -> None:
    # The cluster's kubeconfig does not exist: any read would fail, so each refusal below comes first.
    w, _kind = cluster_world(store_url, cluster={"approvals": RULE, "operators": [DAVE]})
    try:
        image = "quay.io/minio/operator:v7.1.2"
        hidden = w.dispatcher.run(DAVE, HIDDEN, _parse(w, f"update operator {image} --cluster prod"), outbox=w.outbox)
        assert "Cluster `prod` is not visible in this channel" in plain(hidden.summary)
        for command in (f"update operator {image}", f"update demo operator {image}"):
            refused = w.dispatcher.run(ALICE, OPS, _parse(w, command), outbox=w.outbox)  # ALICE operates demo
            assert "You may not request operator changes on cluster `prod`" in plain(refused.summary), command
        assert not w.outbox.posts and not w.runtime.store.approvals.recent(1)
    finally:
        w.runtime.close()
