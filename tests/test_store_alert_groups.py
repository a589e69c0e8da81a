"""Alertmanager notifications in the store: each taken once, on SQLite and PostgreSQL, by any number of replicas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store import Store
from tests.test_store import race

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_notification_is_taken_once_and_its_retries_are_duplicates(store: Store) -> None:
    groups = store.alert_groups
    assert groups.claim_delivery("firing-a", group_id="g", status="firing", at=NOW)
    assert not groups.claim_delivery("firing-a", group_id="g", status="firing", at=NOW + timedelta(hours=4))
    assert groups.claim_delivery("firing-ab", group_id="g", status="firing", at=NOW), "a new alert: new news"


def test_a_group_that_flaps_is_news_each_time_it_changes(store: Store) -> None:
    groups = store.alert_groups
    assert groups.claim_delivery("firing-a", group_id="g", status="firing", at=NOW)
    assert groups.claim_delivery("resolved-a", group_id="g", status="resolved", at=NOW)
    assert groups.claim_delivery("firing-a", group_id="g", status="firing", at=NOW), "fired again"
    assert not groups.claim_delivery("firing-a", group_id="g", status="firing", at=NOW)
    assert groups.claim_delivery("resolved-a", group_id="g", status="resolved", at=NOW), "and resolved again"


def test_a_released_delivery_is_taken_again(store: Store) -> None:
    groups = store.alert_groups
    assert groups.claim_delivery("k", group_id="g", status="firing", at=NOW)
    groups.release_delivery("k")
    assert groups.claim_delivery("k", group_id="g", status="firing", at=NOW)


def test_three_replicas_receiving_the_same_notification_take_it_once(store_url: str) -> None:
    with Store(store_url) as store:
        store.migrate()
    taken = race(store_url, 3, lambda s: s.alert_groups.claim_delivery("k", group_id="g", status="firing", at=NOW))
    assert sorted(taken) == [False, False, True]


def test_a_group_row_is_started_once_and_keeps_its_message(store: Store) -> None:
    groups = store.alert_groups
    group, created = groups.start("g", group_key="{}:{a}", status="firing", record={"title": "X"}, at=NOW,
                                  tenant="demo", channel="C1")
    assert created and group.message_ts is None
    again, created = groups.start("g", group_key="{}:{a}", status="resolved", record={}, at=NOW)
    assert not created and again.record == {"title": "X"} and again.status == "firing"
    updated = groups.update("g", at=NOW, message_ts="1.000001", status="resolved", resolved_at=NOW)
    assert updated is not None and (updated.message_ts, updated.status) == ("1.000001", "resolved")
    assert groups.with_message("C1", "1.000001") == updated
    assert groups.with_message("C2", "1.000001") is None
    groups.discard("g")
    assert groups.get("g") is not None, "a group whose message is out is never discarded"


def test_a_group_whose_first_message_failed_is_discarded(store: Store) -> None:
    groups = store.alert_groups
    groups.start("g", group_key="k", status="firing", record={}, at=NOW)
    groups.discard("g")
    assert groups.get("g") is None
