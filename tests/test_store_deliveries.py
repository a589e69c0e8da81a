"""Report slots in the store: claim -> send -> mark delivered, take-overs, fencing, giving up; on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from bot.store import DeliveryStatus, SlotClaim, Store
from bot.store.db import Database
from bot.store.migrations import MIGRATIONS, applied_versions, migrate
from tests.test_store import race

JOB = "report:C0OPS"
SLOT = datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
KEY = "minio-chatops:report:C0OPS:2025-03-04T08:00:00Z"
LEASE = timedelta(minutes=5)


def claim(store: Store, at: datetime, by: str = "pod-a", slot: datetime = SLOT) -> SlotClaim:
    return store.deliveries.claim(JOB, slot, channel="C0OPS", key=KEY, by=by, at=at, lease=LEASE)


def test_a_slot_is_claimed_once_then_retried_after_a_failure_until_it_is_delivered(store: Store) -> None:
    first = claim(store, SLOT)
    assert first.granted and first.delivery is not None
    assert (first.delivery.attempts, first.delivery.status, first.delivery.key) == (1, DeliveryStatus.SENDING, KEY)
    assert first.delivery.attempt_until == SLOT + LEASE

    busy = claim(store, SLOT + timedelta(seconds=5), by="pod-b")
    assert not busy.granted and busy.delivery is not None and busy.delivery.due_at == SLOT + LEASE

    retry_at = SLOT + timedelta(seconds=30)
    assert store.deliveries.mark_failed(JOB, SLOT, attempt=1, error="Slack unreachable (500)", retry_at=retry_at)
    early = claim(store, SLOT + timedelta(seconds=10))
    assert not early.granted and early.delivery is not None and early.delivery.status == DeliveryStatus.RETRYING
    assert early.delivery.due_at == retry_at and early.delivery.last_error == "Slack unreachable (500)"

    second = claim(store, retry_at, by="pod-b")
    assert second.granted and second.delivery is not None and second.delivery.attempts == 2
    assert second.delivery.attempt_by == "pod-b"
    assert store.deliveries.mark_delivered(JOB, SLOT, message_ts="1741075200.000100", at=retry_at)
    done = store.deliveries.get(JOB, SLOT)
    assert done is not None and done.status == DeliveryStatus.DELIVERED and done.message_ts == "1741075200.000100"
    assert done.finished and done.due_at is None

    later = claim(store, SLOT + timedelta(hours=1))
    assert not later.granted, "a delivered slot is never sent again"
    assert not store.deliveries.give_up(JOB, SLOT, error=None, at=SLOT + timedelta(hours=13))
    assert store.scheduler.last_claimed(JOB) == SLOT, "the claim itself is the scheduler's usual row"


def test_a_crashed_attempt_is_taken_over_after_its_lease_and_can_no_longer_renew_or_fail(store: Store) -> None:
    assert claim(store, SLOT, by="pod-a").granted
    assert store.deliveries.renew(JOB, SLOT, attempt=1, until=SLOT + 2 * LEASE)
    assert not claim(store, SLOT + LEASE, by="pod-b").granted, "the renewed lease still holds"
    takeover = claim(store, SLOT + 2 * LEASE, by="pod-b")
    assert takeover.granted and takeover.delivery is not None and takeover.delivery.attempts == 2
    # pod-a was only slow, not dead: it has lost the slot and learns so before posting.
    assert not store.deliveries.renew(JOB, SLOT, attempt=1, until=SLOT + 3 * LEASE)
    assert not store.deliveries.mark_failed(JOB, SLOT, attempt=1, error="late", retry_at=SLOT + 3 * LEASE)
    current = store.deliveries.get(JOB, SLOT)
    assert current is not None and current.status == DeliveryStatus.SENDING and current.attempt_by == "pod-b"


def test_giving_up_happens_once_and_a_late_post_is_still_recorded(store: Store) -> None:
    assert claim(store, SLOT).granted
    store.deliveries.mark_failed(JOB, SLOT, attempt=1, error="Slack unreachable", retry_at=SLOT + LEASE)
    assert [d.scheduled_for for d in store.deliveries.unfinished(JOB, before=SLOT + timedelta(hours=13))] == [SLOT]
    assert store.deliveries.unfinished(JOB, before=SLOT) == []
    end = SLOT + timedelta(hours=12)
    assert store.deliveries.give_up(JOB, SLOT, error=None, at=end)
    assert not store.deliveries.give_up(JOB, SLOT, error=None, at=end), "only one caller says so"
    gone = store.deliveries.get(JOB, SLOT)
    assert gone is not None and gone.status == DeliveryStatus.UNDELIVERED and gone.gave_up_at == end
    assert gone.last_error == "Slack unreachable", "the reason stays"
    assert store.deliveries.unfinished(JOB, before=SLOT + timedelta(days=1)) == []
    assert not claim(store, end).granted
    # An attempt that did post after all records it: the state must not deny a message that exists.
    assert store.deliveries.mark_delivered(JOB, SLOT, message_ts="1.000001", at=end)
    latest = store.deliveries.latest(JOB)
    assert latest is not None and latest.status == DeliveryStatus.DELIVERED


def test_twenty_replicas_claiming_or_taking_over_a_slot_at_once_start_one_attempt(
    store: Store, store_url: str
) -> None:
    results = race(store_url, 20, lambda s: claim(s, SLOT, by="replica").granted)
    assert results.count(True) == 1
    after_lease = SLOT + LEASE
    takeovers = race(store_url, 20, lambda s: claim(s, after_lease, by="replica").granted)
    assert takeovers.count(True) == 1
    current = store.deliveries.get(JOB, SLOT)
    assert current is not None and current.attempts == 2


def test_an_existing_database_gets_the_delivery_table_and_its_old_claims_stay_sent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    try:
        before = next(m.version for m in MIGRATIONS if "report_deliveries" in m.description)
        migrate(db, [m for m in MIGRATIONS if m.version < before])
        with db.write() as conn:  # the schema as it was before report deliveries
            conn.execute(text("DROP TABLE report_deliveries"))
    finally:
        db.dispose()
    with Store(url) as store:
        store.scheduler.claim_run(JOB, SLOT, by="old-version", at=SLOT)
        assert store.migrate() == [m.version for m in MIGRATIONS if m.version >= before]
        old = claim(store, SLOT + timedelta(minutes=1))
        assert not old.granted and old.delivery is None, "claimed before the upgrade: taken as sent, as it was"
        assert claim(store, SLOT + timedelta(days=1), slot=SLOT + timedelta(days=1)).granted
        assert store.deliveries.last_delivered(JOB) == SLOT, "the old claim counts as sent; the new one is not yet"
        store.deliveries.mark_delivered(JOB, SLOT + timedelta(days=1), message_ts="2.0", at=SLOT + timedelta(days=1))
        assert store.deliveries.last_delivered(JOB) == SLOT + timedelta(days=1)
        assert store.deliveries.last_delivered("report:C0NEVER") is None
    db = Database(url)
    try:
        assert applied_versions(db) == [m.version for m in MIGRATIONS]
    finally:
        db.dispose()
