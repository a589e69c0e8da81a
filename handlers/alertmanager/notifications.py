"""One Alertmanager notification in: the group's one message out, posted the first time, then updated in place.

* A new firing group: the fitting diagnostics run (one deadline), then ONE
  message goes to the tenant's alert channel (its first channel's
  ``alerts_to``, or that channel). Alerts that map to no tenant go once to
  ``alertmanager.fallback_channel`` with the reason.
* Later notifications of the group (more alerts, resolved, firing again) run
  the diagnostics again and update that same message; a resolved one also
  goes into the timeline of the tenant's open incidents.
* A resolved notification for a group the bot never saw gets one short message.

**The bot's own alerts.** ``alert_state`` holds, per ``health:<tenant>`` and
``capacity:<tenant>``, what the channels were last told (handlers/alerts posts
only when what it observes differs). After telling a channel about a group, this
capability writes the levels its diagnostics observed there, with its message's
ts; so the bot's own check finds nothing new to say. The other way round, when
the bot's own alert already told the channel of a problem (a non-baseline state
with a message), the group takes over that message (updates it) instead of
posting a second one.

Within one process a group's notifications are handled one at a time; across
replicas, the group's row is claimed first and the others wait for its message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bot.config import TenantConfig
from bot.outbox import Outbox, OutboxError
from bot.report import Report
from bot.runtime import Runtime
from bot.store import AlertGroup, StoreError
from bot.store.alerts import alert_key
from bot.webhooks import AlertNotification
from handlers.alertmanager.evaluate import (
    BASELINE,
    Condition,
    GroupRecord,
    Verdict,
    map_group,
    summarize_group,
    told_already,
    verdict,
)
from handlers.alertmanager.facts import observe
from handlers.alertmanager.present import Evidence, alert_message, evidence, timeline_text

log = logging.getLogger("minio_chatops.alertmanager")

ALERT_ACTOR = "alertmanager"  # the actor of timeline entries written for Alertmanager
POLL_S = 0.1
POST_PATIENCE_S = 20.0  # beyond the diagnostics' deadline, how long a first post (with Slack's retries) may take
GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})  # post anew instead


class _GroupLocks:
    """One lock per group key while someone holds it: a group's notifications are handled in order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._lock:
            lock, users = self._held.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._lock:
                users[0] -= 1
                if users[0] == 0:
                    del self._held[key]


_locks = _GroupLocks()


def on_notification(runtime: Runtime, outbox: Outbox, notification: AlertNotification) -> None:
    """Hook for ``Hook.ALERT_NOTIFICATION``: post or update the group's message (raises to be retried)."""
    payload = notification.payload
    tenants = runtime.tenants()
    match = map_group(payload.alerts, tenants, runtime.config)
    record = summarize_group(payload, match)
    tenant = next((t for t in tenants if t.name == match.tenant), None)
    channel = alert_channel(runtime, tenant)
    if channel is None:
        log.warning("alert group dropped: no tenant and no fallback channel",
                    extra={"group": notification.group_id[:12], "reason": match.reason})
        runtime.metrics.alerts.labels("alertmanager", "dropped").inc()
        return
    store = runtime.store.alert_groups
    with _locks.hold(notification.group_id):
        group, created = store.start(
            notification.group_id, group_key=payload.group_key, status=payload.status,
            record=record.model_dump(mode="json"), at=runtime.clock(), tenant=match.tenant, channel=channel,
        )
        if not created and group.message_ts is None:
            group, created = _wait_for_message(runtime, group)
        try:
            if created:
                _first_message(runtime, outbox, group, record, tenant)
            else:
                _update_message(runtime, outbox, group, record, tenant)
        except OutboxError:
            if created:
                store.discard(group.id)
            raise


def alert_channel(runtime: Runtime, tenant: TenantConfig | None) -> str | None:
    """The tenant's alert channel (the first of its alert routes); unmapped alerts: the fallback channel."""
    if tenant is None:
        return runtime.config.alertmanager.fallback_channel
    channels = runtime.access.alert_channels(tenant)
    return channels[0] if channels else runtime.config.alertmanager.fallback_channel


def _wait_for_message(runtime: Runtime, group: AlertGroup) -> tuple[AlertGroup, bool]:
    """Another replica is posting this group's first message: wait for it, or give the delivery back.

    A row that has waited for its message longer than any post takes was left by a process that died
    half-way: this one takes it over (``True``: post the first message).
    """
    patience = runtime.config.timeouts.report_deadline + POST_PATIENCE_S
    if (runtime.clock() - group.updated_at).total_seconds() > patience:
        return group, True
    until = time.monotonic() + patience
    while time.monotonic() < until:
        time.sleep(POLL_S)
        found = runtime.store.alert_groups.get(group.id)
        if found is None:
            break
        if found.message_ts is not None:
            return found, False
    raise TimeoutError("the group's first message is not out yet")


def look(runtime: Runtime, tenant: TenantConfig | None, record: GroupRecord) -> tuple[Evidence, Verdict | None]:
    """Run the diagnostics that fit the group (nothing for unmapped groups)."""
    if tenant is None:
        return Evidence(), None
    observations = observe(runtime, tenant, record.conditions)
    found = verdict(observations, tenant.thresholds)
    now = runtime.clock()
    try:
        window = runtime.store.maintenance.active(tenant.name, now)
    except StoreError:
        window = None  # the message goes out without the note
    return evidence(observations, found, now, window), found


def message_for(runtime: Runtime, group: AlertGroup, found: Evidence | None = None) -> Report:
    """The group's message as it stands (from what is stored with it)."""
    record = GroupRecord.model_validate(group.record)
    incident = runtime.store.incidents.get(group.incident_id) if group.incident_id is not None else None
    return alert_message(
        group, record, found or Evidence.model_validate(group.evidence), incident,
        runtime.config.alertmanager.silence_hours, runtime.clock(),
    )


def _first_message(
    runtime: Runtime, outbox: Outbox, group: AlertGroup, record: GroupRecord, tenant: TenantConfig | None
) -> None:
    store = runtime.store.alert_groups
    channel = group.channel
    assert channel is not None  # set when the row was started
    firing = record.status == "firing"
    group = group.model_copy(update={"status": record.status, "record": record.model_dump(mode="json")})
    found, levels = look(runtime, tenant, record) if firing else (Evidence(), None)
    report = message_for(runtime, group, found)
    adopted = _told_by_bot(runtime, channel, tenant, record.conditions) if firing else None
    ts = None
    if adopted is not None:
        try:
            outbox.update(channel, adopted, report)
            ts = adopted
        except OutboxError as exc:  # e.g. the bot's message was deleted: post a new one
            log.info("could not take over the bot's alert message", extra={"error": exc.code})
    ts = ts or outbox.post(channel, report)
    store.update(group.id, at=runtime.clock(), message_ts=ts, evidence=found.model_dump(mode="json"),
                 status=group.status, record=group.record)
    runtime.metrics.alerts.labels("alertmanager", "adopted" if ts == adopted else "posted").inc()
    if tenant is not None:
        _remember_told(runtime, tenant, record, levels, ts)
        _to_timelines(runtime, tenant.name, record)


def _update_message(
    runtime: Runtime, outbox: Outbox, group: AlertGroup, record: GroupRecord, tenant: TenantConfig | None
) -> None:
    if group.message_ts is None or group.channel is None:
        raise TimeoutError("the group has no message yet")
    found, levels = look(runtime, tenant, record)
    resolved = record.status == "resolved"
    now = runtime.clock()
    changed = group.model_copy(update={
        "status": record.status, "record": record.model_dump(mode="json"),
        "resolved_at": now if resolved else None, "evidence": found.model_dump(mode="json"),
    })
    report = message_for(runtime, changed, found)
    ts = group.message_ts
    try:
        outbox.update(group.channel, ts, report)
    except OutboxError as exc:
        if exc.code not in GONE:
            raise
        ts = outbox.post(group.channel, report)  # someone deleted the message: the group gets a new one
    runtime.store.alert_groups.update(
        group.id, at=now, status=changed.status, record=changed.record, evidence=changed.evidence,
        resolved_at=changed.resolved_at, message_ts=ts,
    )
    runtime.metrics.alerts.labels("alertmanager", "resolved" if resolved else "updated").inc()
    if tenant is not None:
        _remember_told(runtime, tenant, record, levels, ts)
        _to_timelines(runtime, tenant.name, record)


def _told_by_bot(
    runtime: Runtime, channel: str, tenant: TenantConfig | None, conditions: list[Condition]
) -> str | None:
    """The ts of the bot's own alert about this problem in ``channel``, if one stands (not another group's)."""
    if tenant is None:
        return None
    for condition in conditions:
        if condition not in BASELINE:
            continue
        state = runtime.store.alerts.get(alert_key(condition.value, tenant.name))
        if told_already(state, condition) and state is not None and state.message_ts is not None:
            if runtime.store.alert_groups.with_message(channel, state.message_ts) is None:
                return state.message_ts
    return None


def record_levels(runtime: Runtime, tenant: TenantConfig, levels: Verdict, ts: str | None) -> None:
    """Write what the channel has now been told into the bot's own alert state (see the module docstring)."""
    now = runtime.clock()
    for condition, level in ((Condition.HEALTH, levels.health_level), (Condition.CAPACITY, levels.capacity_level)):
        if level is None:
            continue
        key = alert_key(condition.value, tenant.name)
        try:
            previous = runtime.store.alerts.get(key)
            since = previous.since if previous is not None and previous.state == level else now
            runtime.store.alerts.put(key, level, since=since, last_notified_at=now, message_ts=ts)
        except StoreError as exc:
            log.warning("alert state not written", extra={"key": key, "error": exc.message})


def _remember_told(
    runtime: Runtime, tenant: TenantConfig, record: GroupRecord, levels: Verdict | None, ts: str | None
) -> None:
    if levels is not None:
        kept = Verdict(
            status=levels.status,
            health_level=levels.health_level if Condition.HEALTH in record.conditions else None,
            capacity_level=levels.capacity_level if Condition.CAPACITY in record.conditions else None,
        )
        record_levels(runtime, tenant, kept, ts)


def _to_timelines(runtime: Runtime, tenant: str, record: GroupRecord) -> None:
    """Note the group's new state in the timeline of every open incident of the tenant."""
    try:
        for incident in runtime.store.incidents.open(tenant):
            runtime.store.incidents.add_entry(
                incident.id, actor=ALERT_ACTOR, kind="alert", text=timeline_text(record)[:500],
                at=runtime.clock(),
            )
    except StoreError as exc:
        log.warning("alert not written to the incident timeline", extra={"error": exc.message})
