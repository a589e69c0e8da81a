"""The bot's state store: approvals, audit trail, capacity history, incidents, runbooks and more.

SQLAlchemy Core on SQLite (default, embedded) or PostgreSQL (shared by
replicas); every function takes and returns typed values, never rows. Usage::

    store = Store(config.store_url)
    store.migrate()
    approval = store.approvals.create(tenant="demo", kind="scale", ...)
    if store.approvals.transition(approval.id, {"pending"}, "approved", decided_at=now): ...
"""

from bot.store.errors import StoreError, StoreUnavailable
from bot.store.models import (
    AlertGroup,
    AlertState,
    Approval,
    ApprovalStatus,
    AuditEvent,
    BucketSize,
    CapacitySnapshot,
    DeliveryStatus,
    Incident,
    IncidentMember,
    JsonObject,
    MaintenanceWindow,
    ReportDelivery,
    RunbookCheck,
    RunbookRun,
    SlotClaim,
    SpecSnapshot,
    TimelineEntry,
    Vote,
)
from bot.store.store import Store

__all__ = [
    "AlertGroup",
    "AlertState",
    "Approval",
    "ApprovalStatus",
    "AuditEvent",
    "BucketSize",
    "CapacitySnapshot",
    "DeliveryStatus",
    "Incident",
    "IncidentMember",
    "JsonObject",
    "MaintenanceWindow",
    "ReportDelivery",
    "RunbookCheck",
    "RunbookRun",
    "SlotClaim",
    "SpecSnapshot",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TimelineEntry",
    "Vote",
]
