"""Capacity history, incidents, runbooks, alert state, specs, maintenance and scheduler claims."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from bot.store import BucketSize, CapacitySnapshot, Store
from tests.test_store import race

NOW = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
TIB = 1 << 40


def _add(
    store: Store, tenant: str, taken_at: datetime, used_tib: int, buckets: list[BucketSize] | None = None
) -> CapacitySnapshot:
    """A snapshot of a 32 TiB usable tenant with `used_tib` used (erasure coding doubles raw)."""
    return store.capacity.add_snapshot(
        tenant,
        taken_at=taken_at,
        raw_total=64 * TIB,
        raw_used=used_tib * 2 * TIB,
        usable_total=32 * TIB,
        usable_used=used_tib * TIB,
        objects=len(buckets or []) * 100,
        buckets_count=len(buckets or []),
        scanner_last_update=taken_at - timedelta(minutes=3),
        buckets=buckets or [],
    )


# --- capacity --------------------------------------------------------------------------------


def test_a_snapshot_with_ten_thousand_buckets_is_stored_and_read_back(store: Store) -> None:
    buckets = [BucketSize(bucket=f"bucket-{i:05d}", size=i * 1024, objects=i) for i in range(10_000)]
    began = time.perf_counter()
    snapshot = _add(store, "demo", NOW, 10, buckets)
    inserted = time.perf_counter() - began
    began = time.perf_counter()
    back = store.capacity.buckets(snapshot.id)
    read = time.perf_counter() - began
    print(f"\n[{store.backend}] 10,000 buckets: insert {inserted * 1000:.0f} ms, read {read * 1000:.0f} ms")
    assert len(back) == 10_000
    assert back[0] == BucketSize(bucket="bucket-09999", size=9999 * 1024, objects=9999), "largest first"
    assert {b.bucket for b in back} == {b.bucket for b in buckets}
    # Generous bound: catches a regression to one statement per row (seconds), not machine noise.
    assert inserted < 5, f"bulk insert took {inserted:.1f}s"


def test_history_keeps_gaps_and_latest_skips_them(store: Store) -> None:
    first = _add(store, "demo", NOW, 10)
    gap = store.capacity.add_gap("demo", taken_at=NOW + timedelta(hours=1), error="minio unreachable: timed out")
    _add(store, "other", NOW + timedelta(hours=1), 1)
    history = store.capacity.history("demo", since=NOW - timedelta(days=1))
    assert [(s.ok, s.error) for s in history] == [(True, None), (False, "minio unreachable: timed out")]
    assert history[0].usable_used == 10 * TIB and history[1].usable_used is None
    assert history[0].scanner_last_update == NOW - timedelta(minutes=3)
    assert store.capacity.history("demo", since=NOW, until=NOW + timedelta(minutes=1)) == [first]
    assert store.capacity.latest("demo") == first
    assert store.capacity.latest("demo", include_gaps=True) == gap
    assert store.capacity.latest("nobody") is None


def test_old_snapshots_are_pruned_with_their_buckets(store: Store) -> None:
    old = _add(store, "demo", NOW - timedelta(days=400), 1, [BucketSize(bucket="b", size=1, objects=1)])
    recent = _add(store, "demo", NOW, 2)
    assert store.capacity.prune(before=NOW - timedelta(days=365)) == 1
    assert store.capacity.history("demo", since=NOW - timedelta(days=1000)) == [recent]
    assert store.capacity.buckets(old.id) == []


# --- incidents -------------------------------------------------------------------------------


def test_an_incident_from_declaration_to_resolution(store: Store) -> None:
    incident = store.incidents.declare(
        severity="P1", title="demo is read-only", declared_by="U0ALICE", tenant="demo", channel_id="C0INC", at=NOW
    )
    assert incident.is_open and store.incidents.open() == [incident]
    assert store.incidents.open_in_channel("C0INC") == incident
    store.incidents.add_entry(incident.id, actor="U0BOB", kind="note", text="drive 3 on node 2 failed", at=NOW)
    assert store.incidents.resolve(incident.id, by="U0ALICE", summary="drive replaced", at=NOW + timedelta(hours=1))
    assert not store.incidents.resolve(incident.id, by="U0BOB", summary="again")
    resolved = store.incidents.get(incident.id)
    assert resolved is not None and not resolved.is_open and resolved.summary == "drive replaced"
    assert [e.kind for e in store.incidents.timeline(incident.id)] == ["declared", "note", "resolved"]
    assert store.incidents.open() == [] and store.incidents.open_in_channel("C0INC") is None


def test_the_people_the_bot_let_into_an_incident_channel_are_stored_once_each(store: Store) -> None:
    incident = store.incidents.declare(
        severity="P2", title="slow", declared_by="U0ALICE", tenant="demo", channel_id="C0INC", at=NOW,
        private=True, members=["U0ALICE", "U0BOB"],
    )
    assert incident.is_private and store.incidents.get(incident.id) == incident
    assert store.incidents.member_ids(incident.id) == {"U0ALICE", "U0BOB"}
    assert store.incidents.let_in(incident.id, ["U0BOB", "U0CAROL", "U0CAROL"], by="U0BOB", at=NOW) == ["U0CAROL"]
    assert [(m.user_id, m.invited_by) for m in store.incidents.members(incident.id)] == [
        ("U0ALICE", "U0ALICE"), ("U0BOB", "U0ALICE"), ("U0CAROL", "U0BOB"),
    ]
    other = store.incidents.declare(severity="P3", title="other", declared_by="U0BOB", channel_id="C0INC2")
    assert not other.is_private and store.incidents.member_ids(other.id) == frozenset()


def test_two_responders_letting_the_same_person_in_at_once_record_it_once(store_url: str, store: Store) -> None:
    incident = store.incidents.declare(severity="P1", title="x", declared_by="U0ALICE", channel_id="C0INC", at=NOW)
    added = race(store_url, 4, lambda s: s.incidents.let_in(incident.id, ["U0DAVE"], by="U0BOB"))
    assert sorted(added) == [[], [], [], ["U0DAVE"]]
    assert len(store.incidents.members(incident.id)) == 1


# --- runbooks --------------------------------------------------------------------------------


def test_a_runbook_step_is_ticked_once(store: Store) -> None:
    run = store.runbooks.start("drive-replacement", channel="C0OPS", started_by="U0ALICE", at=NOW)
    assert store.runbooks.set_message(run.id, "1700000000.000200")
    assert store.runbooks.check(run.id, 0, by="U0ALICE", at=NOW)
    assert not store.runbooks.check(run.id, 0, by="U0BOB", note="me too")
    assert store.runbooks.check(run.id, 2, by="U0BOB", note="healed")
    assert store.runbooks.finish(run.id, at=NOW + timedelta(minutes=20))
    assert not store.runbooks.finish(run.id)
    loaded = store.runbooks.get(run.id)
    assert loaded is not None and loaded.message_ts == "1700000000.000200"
    assert [(c.step, c.checked_by) for c in loaded.checks] == [(0, "U0ALICE"), (2, "U0BOB")]
    assert loaded.finished_at == NOW + timedelta(minutes=20)
    assert store.runbooks.get(run.id + 1000) is None


# --- alert state -----------------------------------------------------------------------------


def test_alert_state_survives_and_is_replaced(store: Store) -> None:
    assert store.alerts.get("capacity:demo") is None
    store.alerts.put("capacity:demo", "alert", since=NOW, last_notified_at=NOW, message_ts="1.2")
    store.alerts.put("capacity:demo", "critical", since=NOW + timedelta(hours=1))
    store.alerts.put("health:demo", "ok", since=NOW)
    state = store.alerts.get("capacity:demo")
    assert state is not None and state.state == "critical" and state.last_notified_at is None
    assert [s.key for s in store.alerts.all("capacity:")] == ["capacity:demo"]
    assert len(store.alerts.all()) == 2


# --- spec snapshots --------------------------------------------------------------------------


def test_specs_are_kept_for_rollback(store: Store) -> None:
    older = store.specs.add("demo", {"pools": [{"servers": 4}]}, reason="before scale", resource_version="10", at=NOW)
    newer = store.specs.add(
        "demo", {"pools": [{"servers": 6}]}, reason="before update", taken_by="U0ALICE", at=NOW + timedelta(days=1)
    )
    store.specs.add("other", {}, reason="x", at=NOW)
    assert store.specs.list("demo") == [newer, older]
    assert store.specs.get(older.id) == older and older.spec == {"pools": [{"servers": 4}]}
    assert store.specs.get(older.id + 1000) is None


# --- maintenance -----------------------------------------------------------------------------


def test_one_maintenance_window_per_tenant_until_it_is_closed(store: Store) -> None:
    window = store.maintenance.open(
        "demo", started_by="U0ALICE", until=NOW + timedelta(hours=2), changes={"alerts": "muted"}, at=NOW
    )
    assert window is not None and window.changes == {"alerts": "muted"}
    assert store.maintenance.open("demo", started_by="U0BOB", until=NOW + timedelta(hours=1), changes={}) is None
    assert store.maintenance.active("demo", NOW + timedelta(hours=1)) == window
    assert store.maintenance.active("demo", NOW + timedelta(hours=3)) is None
    assert store.maintenance.current("demo") == window, "still unclosed: its changes are still applied"
    assert store.maintenance.overdue(NOW + timedelta(hours=3)) == [window]
    assert store.maintenance.close(window.id, at=NOW + timedelta(hours=3))
    assert not store.maintenance.close(window.id)
    assert store.maintenance.current("demo") is None and store.maintenance.overdue(NOW + timedelta(days=1)) == []
    again = store.maintenance.open("demo", started_by="U0BOB", until=NOW + timedelta(days=1), changes={})
    assert again is not None and again.id != window.id


def test_two_replicas_opening_maintenance_at_once_get_one_window(store: Store, store_url: str) -> None:
    opened = race(
        store_url,
        10,
        lambda s: s.maintenance.open("demo", started_by="U0ALICE", until=NOW + timedelta(hours=1), changes={}),
    )
    assert sum(w is not None for w in opened) == 1


# --- scheduler -------------------------------------------------------------------------------


def test_a_daily_report_is_claimed_once_across_twenty_replicas(store: Store, store_url: str) -> None:
    slot = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
    claims = race(store_url, 20, lambda s: s.scheduler.claim_run("report:C0OPS", slot, by="replica"))
    assert claims.count(True) == 1
    assert not store.scheduler.claim_run("report:C0OPS", slot), "a restart does not send it again"
    assert store.scheduler.claim_run("report:C0OPS", slot + timedelta(days=1))
    assert store.scheduler.claim_run("report:C0OTHER", slot)
    assert store.scheduler.last_claimed("report:C0OPS") == slot + timedelta(days=1)
    assert store.scheduler.last_claimed("never") is None
