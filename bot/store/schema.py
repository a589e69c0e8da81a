"""The tables, as SQLAlchemy Core metadata, identical on SQLite and PostgreSQL.

Conventions that keep one schema portable:

* Timestamps use :class:`UtcDateTime`: aware UTC datetimes in and out (SQLite
  keeps no zone, so values are stored as naive UTC and re-labelled on read).
* Statuses are plain strings with CHECK constraints rather than database ENUM
  types, which PostgreSQL can only extend with awkward migrations.
* JSON is ``JSON`` on SQLite and ``JSONB`` on PostgreSQL.
* ``audit_events`` is append-only: triggers on both backends refuse UPDATE and
  DELETE, so even a hand-typed SQL statement cannot rewrite history.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    event,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.schema import DDL

APPROVAL_STATUSES = (
    "pending",
    "approved",
    "executing",
    "succeeded",
    "failed",
    "rejected",
    "expired",
    "cancelled",
    "refused",
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            # A naive value is ambiguous (local time? UTC?); refusing it finds the bug early.
            raise ValueError("the store takes timezone-aware datetimes, got a naive one")
        value = value.astimezone(UTC)
        # SQLite's DATETIME is text without a zone; storing naive UTC keeps ordering and comparisons right.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# JSONB on PostgreSQL: indexable and compact; plain JSON text on SQLite.
Json = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


approvals = Table(
    "approvals",
    metadata,
    Column("id", String(32), primary_key=True),  # short URL-safe token, travels in Slack button values
    Column("tenant", String(63), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("plan", Json, nullable=False),
    Column("plan_hash", String(128), nullable=False),
    Column("resource_version", String(64)),
    Column("status", String(16), nullable=False, default="pending"),
    Column("requester", String(32), nullable=False),
    Column("approvals_required", Integer, nullable=False, default=1),
    Column("channel", String(32)),
    Column("message_ts", String(32)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime),
    Column("executed_at", UtcDateTime),
    Column("result", Text),
    # The execution lease: which process holds an approved or executing request, and until when. The holder
    # renews it while it runs; only an expired lease may be taken over (resumed) or closed by another process.
    Column("lease_owner", String(200)),
    Column("lease_expires_at", UtcDateTime),
    CheckConstraint(_one_of("status", APPROVAL_STATUSES), name="status"),
    CheckConstraint("approvals_required >= 1", name="approvals_required"),
    Index(None, "status", "expires_at"),
    Index(None, "tenant", "status"),
    Index(None, "status", "lease_expires_at"),
)

approval_votes = Table(
    "approval_votes",
    metadata,
    # One person, one vote: the key (approval_id, user_id) is unique, so two clicks cannot count twice.
    Column("approval_id", String(32), ForeignKey("approvals.id", ondelete="CASCADE"), primary_key=True),
    # Not "user": that is a reserved word in PostgreSQL, where a bare `SELECT user` means current_user.
    Column("user_id", String(32), primary_key=True),
    Column("decided_at", UtcDateTime, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("tenant", String(63)),
    # No foreign key: the audit trail must outlive anything it mentions.
    Column("approval_id", String(32)),
    Column("plan_hash", String(128)),
    Column("detail", Json, nullable=False),
    Index(None, "at"),
    Index(None, "tenant", "at"),
    Index(None, "approval_id"),
)

capacity_snapshots = Table(
    "capacity_snapshots",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant", String(63), nullable=False),
    Column("taken_at", UtcDateTime, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("error", Text),
    Column("raw_total", BigInteger),
    Column("raw_used", BigInteger),
    Column("usable_total", BigInteger),
    Column("usable_used", BigInteger),
    Column("objects", BigInteger),
    Column("buckets_count", Integer),
    Column("scanner_last_update", UtcDateTime),
    Index(None, "tenant", "taken_at"),
)

bucket_sizes = Table(
    "bucket_sizes",
    metadata,
    Column(
        "snapshot_id",
        BigId,
        ForeignKey("capacity_snapshots.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("bucket", String(63), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("objects", BigInteger, nullable=False),
)

incidents = Table(
    "incidents",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant", String(63)),
    Column("severity", String(8), nullable=False),
    Column("title", Text, nullable=False),
    Column("channel_id", String(32)),
    Column("declared_by", String(32), nullable=False),
    Column("declared_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("summary", Text),
    # Whether the bot created the incident's channel private (only invited people can read it).
    Column("is_private", Boolean, nullable=False, server_default=false()),
    Index(None, "resolved_at"),
    Index(None, "channel_id"),
)

# The people the bot let into an incident's channel: invited at the declaration, or later through the bot
# (`/minio incident invite`). Only they see the incident's tenant there; someone who joined the channel by
# themselves, or was added from Slack itself, is not in this table.
incident_members = Table(
    "incident_members",
    metadata,
    Column("incident_id", BigId, ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", String(32), primary_key=True),
    Column("invited_by", String(64), nullable=False),
    Column("invited_at", UtcDateTime, nullable=False),
)

incident_timeline = Table(
    "incident_timeline",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("incident_id", BigId, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Index(None, "incident_id", "at"),
)

runbook_runs = Table(
    "runbook_runs",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("runbook", String(128), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("message_ts", String(32)),
    Column("started_by", String(32), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
)

runbook_checks = Table(
    "runbook_checks",
    metadata,
    # Unique (run_id, step): a step is ticked once; the first tick stands.
    Column("run_id", BigId, ForeignKey("runbook_runs.id", ondelete="CASCADE"), primary_key=True),
    Column("step", Integer, primary_key=True),
    Column("checked_by", String(32), nullable=False),
    Column("checked_at", UtcDateTime, nullable=False),
    Column("note", Text),
)

alert_state = Table(
    "alert_state",
    metadata,
    Column("key", String(200), primary_key=True),  # e.g. "capacity:demo", "health:demo"
    Column("state", String(32), nullable=False),
    Column("since", UtcDateTime, nullable=False),
    Column("last_notified_at", UtcDateTime),
    Column("message_ts", String(32)),
)

spec_snapshots = Table(
    "spec_snapshots",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant", String(63), nullable=False),
    Column("taken_at", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("resource_version", String(64)),
    Column("spec", Json, nullable=False),
    Column("taken_by", String(64)),
    Index(None, "tenant", "taken_at"),
)

maintenance_windows = Table(
    "maintenance_windows",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("tenant", String(63), nullable=False),
    Column("started_by", String(32), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("until", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("changes", Json, nullable=False),  # what enabling changed, so disabling reverses exactly that
)
# At most one unclosed window per tenant, even when two replicas open one at the same moment.
Index(
    "uq_maintenance_windows_open_tenant",
    maintenance_windows.c.tenant,
    unique=True,
    sqlite_where=maintenance_windows.c.ended_at.is_(None),
    postgresql_where=maintenance_windows.c.ended_at.is_(None),
)

scheduler_runs = Table(
    "scheduler_runs",
    metadata,
    # The claim: unique (job_id, scheduled_for); whichever replica inserts the row first runs that slot.
    Column("job_id", String(200), primary_key=True),
    Column("scheduled_for", UtcDateTime, primary_key=True),
    Column("ran_at", UtcDateTime, nullable=False),
    Column("by", String(200)),
)

DELIVERY_STATUSES = ("sending", "retrying", "delivered", "undelivered")

report_deliveries = Table(
    "report_deliveries",
    metadata,
    # One row per claimed report slot (the claim itself stays in scheduler_runs): where its delivery is.
    Column("job_id", String(200), primary_key=True),
    Column("scheduled_for", UtcDateTime, primary_key=True),
    Column("channel", String(32), nullable=False),
    Column("key", String(200), nullable=False),  # the idempotency key the posted message carries
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),  # also the fencing token: a take-over increments it
    Column("attempt_by", String(200)),
    Column("attempt_until", UtcDateTime),  # while "sending": nobody else may try before this
    Column("next_attempt_at", UtcDateTime),  # while "retrying": the next attempt is due then
    Column("last_error", Text),
    Column("claimed_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    Column("message_ts", String(32)),
    Column("gave_up_at", UtcDateTime),
    CheckConstraint(_one_of("status", DELIVERY_STATUSES), name="status"),
    Index(None, "status", "scheduled_for"),
)

home_viewers = Table(
    "home_viewers",
    metadata,
    # Who opened the App Home tab, and when last: the leader's alert check refreshes their tabs whichever
    # replica served them (views.publish needs no open tab; the user sees the new view on their next visit).
    Column("user_id", String(32), primary_key=True),
    Column("seen_at", UtcDateTime, nullable=False),
    Index(None, "seen_at"),
)

slack_replay_keys = Table(
    "slack_replay_keys",
    metadata,
    # sha256 of "v0:{timestamp}:" + raw body: exactly what the signature covers. The INSERT that finds the
    # key taken is the replay, whichever replica received the copy.
    Column("key", String(64), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False),  # past Slack's 5-minute window; then deleted
    Index(None, "expires_at"),
)

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    # sha256 of Alertmanager's groupKey, the status and the sorted alert fingerprints: its retries and repeats
    # of one notification share the key, so the INSERT that finds it taken is the duplicate, on any replica.
    Column("key", String(64), primary_key=True),
    Column("group_id", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Index(None, "group_id"),
    Index(None, "received_at"),
)

alert_groups = Table(
    "alert_groups",
    metadata,
    # One row per Alertmanager alert group: the one message the bot posted for it, updated in place.
    Column("id", String(64), primary_key=True),  # sha256 of the groupKey (hex)
    Column("group_key", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("tenant", String(63)),
    Column("channel", String(32)),
    Column("message_ts", String(32)),  # None while the first post is on its way
    Column("record", Json, nullable=False),  # what fired (alerts, labels), as the capability summarised it
    Column("evidence", Json, nullable=False),  # what the bot found when it looked
    Column("silence_id", String(64)),
    Column("silenced_by", String(32)),
    Column("silenced_until", UtcDateTime),
    Column("incident_id", BigId),  # no foreign key: the group outlives nothing it mentions
    Column("first_seen", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    CheckConstraint(_one_of("status", ("firing", "resolved")), name="status"),
    Index(None, "tenant", "status"),
)

# --- append-only audit trail, enforced by the database itself -------------------------------

_APPEND_ONLY_MESSAGE = "audit_events is append-only"

_SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER IF NOT EXISTS audit_events_no_{op.lower()} BEFORE {op} ON audit_events
    BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY_MESSAGE}'); END"""
    for op in ("UPDATE", "DELETE")
]

_POSTGRES_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '{_APPEND_ONLY_MESSAGE}' USING ERRCODE = 'insufficient_privilege'; END $$""",
    """CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
    # Row triggers do not fire on TRUNCATE; this statement trigger closes that door too.
    """CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()""",
]

for _sql in _SQLITE_TRIGGERS:
    event.listen(audit_events, "after_create", DDL(_sql).execute_if(dialect="sqlite"))
for _sql in _POSTGRES_TRIGGERS:
    event.listen(audit_events, "after_create", DDL(_sql).execute_if(dialect="postgresql"))


def table_names() -> list[str]:
    """Every table the store owns, in creation order (parents first)."""
    return [t.name for t in metadata.sorted_tables]
