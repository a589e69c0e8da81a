"""Approvals, votes and the audit trail: the parts that must hold under races and tampering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from bot.store import Approval, ApprovalStatus, Store, StoreError
from tests.test_store import race

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def _request(store: Store, *, tenant: str = "demo", minutes: int = 30, at: datetime = NOW) -> Approval:
    return store.approvals.create(
        tenant=tenant,
        kind="scale",
        plan={"pool": "pool-0", "servers": {"from": 4, "to": 6}},
        plan_hash="sha256:abc",
        requester="U0REQUEST",
        approvals_required=2,
        resource_version="1234",
        channel="C0OPS",
        created_at=at,
        expires_at=at + timedelta(minutes=minutes),
    )


def test_a_request_reads_back_as_created(store: Store) -> None:
    created = _request(store)
    assert len(created.id) == 12 and created.id.replace("-", "").replace("_", "").isalnum()
    loaded = store.approvals.get(created.id)
    assert loaded == created
    assert loaded.status is ApprovalStatus.PENDING
    assert loaded.plan == {"pool": "pool-0", "servers": {"from": 4, "to": 6}}
    assert store.approvals.get("no-such-id") is None


def test_fifty_replicas_racing_to_approve_produce_exactly_one_winner(store: Store, store_url: str) -> None:
    approval = _request(store)
    outcomes = race(
        store_url,
        50,
        lambda s: s.approvals.transition(approval.id, {"pending"}, "approved", decided_at=NOW),
    )
    assert outcomes.count(True) == 1 and outcomes.count(False) == 49
    loaded = store.approvals.get(approval.id)
    assert loaded is not None and loaded.status is ApprovalStatus.APPROVED and loaded.decided_at == NOW


def test_a_transition_only_moves_from_the_named_statuses(store: Store) -> None:
    approval = _request(store)
    assert not store.approvals.transition(approval.id, {"approved"}, "executing")
    assert store.approvals.transition(approval.id, {"pending"}, "approved", decided_at=NOW)
    assert store.approvals.transition(approval.id, ["approved"], ApprovalStatus.EXECUTING, executed_at=NOW)
    assert store.approvals.transition(approval.id, {"executing"}, "succeeded", result="scaled to 6 servers")
    done = store.approvals.get(approval.id)
    assert done is not None
    assert (done.status, done.executed_at, done.result) == ("succeeded", NOW, "scaled to 6 servers")
    assert done.decided_at == NOW, "fields not passed stay as they were"
    assert not store.approvals.transition("no-such-id", {"pending"}, "approved")
    with pytest.raises(ValueError):
        store.approvals.transition(approval.id, {"pending"}, "done-ish")


def test_one_person_cannot_approve_twice(store: Store) -> None:
    approval = _request(store)
    assert store.approvals.add_vote(approval.id, "U0ALICE", at=NOW)
    assert not store.approvals.add_vote(approval.id, "U0ALICE", at=NOW + timedelta(seconds=1))
    assert store.approvals.add_vote(approval.id, "U0BOB", at=NOW + timedelta(seconds=2))
    loaded = store.approvals.get(approval.id)
    assert loaded is not None and loaded.approvers == ["U0ALICE", "U0BOB"]
    assert [v.user for v in store.approvals.votes(approval.id)] == ["U0ALICE", "U0BOB"]


def test_a_double_click_racing_itself_counts_once(store: Store, store_url: str) -> None:
    approval = _request(store)
    outcomes = race(store_url, 10, lambda s: s.approvals.add_vote(approval.id, "U0ALICE"))
    assert outcomes.count(True) == 1
    assert len(store.approvals.votes(approval.id)) == 1


def test_a_vote_on_an_unknown_request_is_a_store_error(store: Store) -> None:
    with pytest.raises(StoreError):
        store.approvals.add_vote("no-such-id", "U0ALICE")


def test_pending_and_expiry_queries(store: Store) -> None:
    short = _request(store, minutes=5)
    long = _request(store, minutes=59, tenant="other", at=NOW + timedelta(minutes=1))
    decided = _request(store, minutes=5)
    store.approvals.transition(decided.id, {"pending"}, "rejected", decided_at=NOW)
    assert [a.id for a in store.approvals.pending()] == [short.id, long.id]
    assert [a.id for a in store.approvals.pending("other")] == [long.id]
    assert store.approvals.due_for_expiry(NOW + timedelta(minutes=4)) == []
    assert [a.id for a in store.approvals.due_for_expiry(NOW + timedelta(minutes=5))] == [short.id]
    assert {a.id for a in store.approvals.due_for_expiry(NOW + timedelta(hours=2))} == {short.id, long.id}
    assert len(store.approvals.recent(10)) == 3


def test_the_card_location_is_remembered(store: Store) -> None:
    approval = _request(store)
    assert store.approvals.set_message(approval.id, channel="C0APPROVE", message_ts="1700000000.000100")
    loaded = store.approvals.get(approval.id)
    assert loaded is not None and (loaded.channel, loaded.message_ts) == ("C0APPROVE", "1700000000.000100")


# --- audit -----------------------------------------------------------------------------------


def test_audit_events_read_back_newest_first(store: Store) -> None:
    approval = _request(store)
    for minute, action in enumerate(["request", "approve", "execute", "result"]):
        store.audit.append(
            actor="U0ALICE",
            action=action,
            tenant="demo",
            approval_id=approval.id,
            plan_hash="sha256:abc",
            detail={"step": minute},
            at=NOW + timedelta(minutes=minute),
        )
    store.audit.append(actor="U0BOB", action="command", tenant="other", at=NOW + timedelta(minutes=9))
    assert [e.action for e in store.audit.recent(3)] == ["command", "result", "execute"]
    assert [e.action for e in store.audit.recent(10, tenant="demo")] == ["result", "execute", "approve", "request"]
    trail = store.audit.for_approval(approval.id)
    assert [e.detail for e in trail] == [{"step": 0}, {"step": 1}, {"step": 2}, {"step": 3}]
    assert not hasattr(store.audit, "update") and not hasattr(store.audit, "delete")


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_events SET actor = 'U0MALLORY'", "DELETE FROM audit_events"],
)
def test_the_database_refuses_to_rewrite_the_audit_trail(store: Store, store_url: str, statement: str) -> None:
    store.audit.append(actor="U0ALICE", action="approve", at=NOW)
    engine = create_engine(store_url)
    try:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
        if engine.dialect.name == "postgresql":
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text("TRUNCATE audit_events"))
    finally:
        engine.dispose()
    assert [e.actor for e in store.audit.recent()] == ["U0ALICE"]


# --- execution leases ------------------------------------------------------------------------

LEASE = timedelta(seconds=30)


def _executing(store: Store, owner: str, until: datetime) -> Approval:
    approval = _request(store)
    assert store.approvals.transition(approval.id, {"pending"}, "approved", decided_at=NOW,
                                      lease_owner=owner, lease_expires_at=until)
    assert store.approvals.transition(approval.id, {"approved"}, "executing", executed_at=NOW, held_by=owner)
    loaded = store.approvals.get(approval.id)
    assert loaded is not None
    return loaded


def test_an_execution_lease_is_renewed_by_its_holder_only(store: Store) -> None:
    running = _executing(store, "pod-a:1:aa", NOW + LEASE)
    assert (running.lease_owner, running.lease_expires_at) == ("pod-a:1:aa", NOW + LEASE)
    assert store.approvals.renew_leases("pod-b:2:bb", [running.id], NOW + 2 * LEASE) == set()
    assert store.approvals.renew_leases("pod-a:1:aa", [running.id, "no-such-id"], NOW + 2 * LEASE) == {running.id}
    renewed = store.approvals.get(running.id)
    assert renewed is not None and renewed.lease_expires_at == NOW + 2 * LEASE


def test_only_an_expired_lease_is_listed_and_taken_over_once(store: Store, store_url: str) -> None:
    running = _executing(store, "pod-a:1:aa", NOW + LEASE)
    assert store.approvals.lease_expired(NOW + LEASE - timedelta(seconds=1)) == []
    assert not store.approvals.take_over(running.id, owner="pod-b:2:bb", until=NOW + 2 * LEASE, now=NOW)
    later = NOW + LEASE + timedelta(seconds=1)
    assert [a.id for a in store.approvals.lease_expired(later)] == [running.id]
    outcomes = race(store_url, 10, lambda s: s.approvals.take_over(running.id, owner=f"pod-{id(s)}",
                                                                    until=later + LEASE, now=later))
    assert outcomes.count(True) == 1
    taken = store.approvals.get(running.id)
    assert taken is not None and taken.lease_owner != "pod-a:1:aa" and taken.lease_expires_at == later + LEASE
    assert store.approvals.renew_leases("pod-a:1:aa", [running.id], later + LEASE) == set(), "the old holder lost it"
    assert not store.approvals.transition(running.id, {"executing"}, "succeeded", held_by="pod-a:1:aa")
    assert store.approvals.transition(running.id, {"executing"}, "succeeded", held_by=taken.lease_owner)


def test_a_released_lease_expires_at_once_and_finished_requests_hold_none(store: Store) -> None:
    running = _executing(store, "pod-a:1:aa", NOW + LEASE)
    assert store.approvals.release_leases("pod-a:1:aa", [running.id], NOW) == 1
    assert [a.id for a in store.approvals.lease_expired(NOW + timedelta(microseconds=1))] == [running.id]
    assert store.approvals.transition(running.id, {"executing"}, "failed")
    assert store.approvals.lease_expired(NOW + timedelta(days=1)) == []
    assert store.approvals.renew_leases("pod-a:1:aa", [running.id], NOW + LEASE) == set()


def test_a_database_from_before_leases_gets_the_lease_columns(store_url: str) -> None:
    from bot.store.db import Database
    from bot.store.migrations import applied_versions, migrate

    with Store(store_url) as store:
        store.migrate()
        old = _request(store)
    db = Database(store_url)
    try:
        with db.write() as conn:  # back to version 2: the approvals table as it was before leases
            conn.execute(text("DROP INDEX ix_approvals_status_lease_expires_at"))
            conn.execute(text("ALTER TABLE approvals DROP COLUMN lease_owner"))
            conn.execute(text("ALTER TABLE approvals DROP COLUMN lease_expires_at"))
            conn.execute(text("DELETE FROM schema_migrations WHERE version >= 3"))
        assert 3 in migrate(db) and 3 in applied_versions(db)
        with db.read() as conn:
            indexes = {i["name"] for i in inspect(conn).get_indexes("approvals")}
        assert "ix_approvals_status_lease_expires_at" in indexes
    finally:
        db.dispose()
    with Store(store_url) as store:
        loaded = store.approvals.get(old.id)
        assert loaded is not None and loaded.lease_owner is None and loaded.plan == old.plan
        assert [a.id for a in store.approvals.lease_expired(NOW)] == []  # pending: no lease to expire
        running = _executing(store, "pod-a:1:aa", NOW + LEASE)
        assert store.approvals.lease_expired(NOW) == [] and running.lease_owner == "pod-a:1:aa"
