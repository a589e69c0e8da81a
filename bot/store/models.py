"""What the store returns: frozen pydantic models, never database rows.

Every datetime here is timezone-aware UTC.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

JsonObject = dict[str, Any]
"""A JSON object as stored in plan / detail / spec / changes columns."""


class ApprovalStatus(StrEnum):
    """Where an approval request is in its life.

    pending -> approved -> executing -> succeeded | failed; or pending ->
    rejected | expired | cancelled; `refused` means the bot declined to run it
    (stale plan, policy) after approval.
    """

    PENDING = "pending"
    APPROVED = "approved"
    EXECUTING = "executing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUSED = "refused"


class DeliveryStatus(StrEnum):
    """Where the delivery of one scheduled report slot is.

    sending -> delivered; sending -> retrying -> sending -> ... -> delivered, or
    -> undelivered once the slot is no longer worth sending (the bot then says so).
    """

    SENDING = "sending"
    RETRYING = "retrying"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class Vote(_Record):
    """One approver's approval of one request."""

    approval_id: str
    user: str
    decided_at: datetime


class Approval(_Record):
    """A requested destructive change waiting for (or past) its approvals."""

    id: str
    tenant: str
    kind: str
    plan: JsonObject
    plan_hash: str
    resource_version: str | None
    status: ApprovalStatus
    requester: str
    approvals_required: int
    channel: str | None
    message_ts: str | None
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    executed_at: datetime | None
    result: str | None
    lease_owner: str | None = None  # the process holding the execution (approved or executing), if any
    lease_expires_at: datetime | None = None  # it renews the lease while it runs; past this it is gone
    votes: tuple[Vote, ...] = ()

    @property
    def approvers(self) -> list[str]:
        """Who has approved so far, in the order they did."""
        return [v.user for v in self.votes]


class AuditEvent(_Record):
    """One line of the append-only audit trail."""

    id: int
    at: datetime
    actor: str
    action: str
    tenant: str | None
    approval_id: str | None
    plan_hash: str | None
    detail: JsonObject


class BucketSize(_Record):
    """One bucket's usage in a capacity snapshot."""

    bucket: str
    size: int
    objects: int


class CapacitySnapshot(_Record):
    """A tenant's capacity at one moment; `ok=False` marks a gap (MinIO unreachable, see `error`)."""

    id: int
    tenant: str
    taken_at: datetime
    ok: bool
    error: str | None
    raw_total: int | None
    raw_used: int | None
    usable_total: int | None
    usable_used: int | None
    objects: int | None
    buckets_count: int | None
    scanner_last_update: datetime | None


class TimelineEntry(_Record):
    """Something that happened during an incident."""

    id: int
    incident_id: int
    at: datetime
    actor: str
    kind: str
    text: str


class Incident(_Record):
    """A declared incident; open while `resolved_at` is None."""

    id: int
    tenant: str | None
    severity: str
    title: str
    channel_id: str | None
    declared_by: str
    declared_at: datetime
    resolved_at: datetime | None
    summary: str | None
    is_private: bool = False

    @property
    def is_open(self) -> bool:
        """True until the incident is resolved."""
        return self.resolved_at is None


class IncidentMember(_Record):
    """Someone the bot let into an incident's channel, and who asked for it."""

    incident_id: int
    user_id: str
    invited_by: str
    invited_at: datetime


class RunbookCheck(_Record):
    """A ticked step of a runbook run."""

    run_id: int
    step: int
    checked_by: str
    checked_at: datetime
    note: str | None


class RunbookRun(_Record):
    """One walk through a runbook in a channel, with the steps ticked so far."""

    id: int
    runbook: str
    channel: str
    message_ts: str | None
    started_by: str
    started_at: datetime
    finished_at: datetime | None
    checks: tuple[RunbookCheck, ...] = ()


class AlertState(_Record):
    """The last known state of one alert key, kept so restarts do not re-notify."""

    key: str
    state: str
    since: datetime
    last_notified_at: datetime | None
    message_ts: str | None


class AlertGroup(_Record):
    """An Alertmanager alert group and the one message the bot keeps for it."""

    id: str
    group_key: str
    status: str  # firing | resolved
    tenant: str | None
    channel: str | None
    message_ts: str | None
    record: JsonObject
    evidence: JsonObject
    silence_id: str | None
    silenced_by: str | None
    silenced_until: datetime | None
    incident_id: int | None
    first_seen: datetime
    updated_at: datetime
    resolved_at: datetime | None


class SpecSnapshot(_Record):
    """A Tenant spec as it was before a change, kept for rollback."""

    id: int
    tenant: str
    taken_at: datetime
    reason: str
    resource_version: str | None
    spec: JsonObject
    taken_by: str | None


class MaintenanceWindow(_Record):
    """A maintenance window; `changes` records what enabling it changed, so closing can undo exactly that."""

    id: int
    tenant: str
    started_by: str
    started_at: datetime
    until: datetime
    ended_at: datetime | None
    changes: JsonObject


class ReportDelivery(_Record):
    """The delivery state of one claimed report slot (job id + scheduled time).

    ``attempts`` counts the attempts started so far; it is also the fencing token
    that tells a superseded attempt it no longer owns the slot.
    """

    job_id: str
    scheduled_for: datetime
    channel: str
    key: str
    status: DeliveryStatus
    attempts: int
    attempt_by: str | None
    attempt_until: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None
    claimed_at: datetime
    delivered_at: datetime | None
    message_ts: str | None
    gave_up_at: datetime | None

    @property
    def finished(self) -> bool:
        """True once delivered or given up."""
        return self.status in (DeliveryStatus.DELIVERED, DeliveryStatus.UNDELIVERED)

    @property
    def due_at(self) -> datetime | None:
        """When another attempt may start: the retry time, or the end of the running attempt's lease."""
        if self.status == DeliveryStatus.RETRYING:
            return self.next_attempt_at
        if self.status == DeliveryStatus.SENDING:
            return self.attempt_until
        return None


class SlotClaim(_Record):
    """The store's answer to "may I send this slot now?".

    ``granted``: this caller runs attempt number ``delivery.attempts``. Otherwise
    ``delivery`` says why not (finished, or due later at ``delivery.due_at``), or is
    None when the slot was claimed without delivery tracking (by an older version).
    """

    granted: bool
    delivery: ReportDelivery | None
