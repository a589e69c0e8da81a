"""Numbered schema migrations, applied in order, once, even with several replicas starting together.

How versions work (the "create_all, then stamp" scheme Alembic recommends):

* Migration 1 is the baseline: it creates every table as ``schema.py``
  describes it *today*. On an empty database the runner applies it and records
  every known version as applied, because the current schema already contains
  whatever later migrations would add.
* A database that already has version N gets N+1, N+2, ... applied one by one.
  So a later change is two edits: the new shape in ``schema.py`` and an
  ``ALTER`` (or data fix) appended to :data:`MIGRATIONS`.

Each migration runs in its own transaction together with the row that records
it, so a failure leaves the database at the previous version. Both backends
have transactional DDL. Concurrency: PostgreSQL serialises runners with a
transaction-scoped advisory lock; SQLite with ``BEGIN IMMEDIATE`` (the write
lock). A runner that waited simply finds the work done.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, Connection, Integer, MetaData, String, Table, insert, inspect, select, text
from sqlalchemy.schema import CreateIndex

from bot.store import schema
from bot.store.db import Database
from bot.store.schema import UtcDateTime

# Kept out of schema.metadata: the baseline's create_all must never create or drop it.
_bookkeeping = MetaData()
schema_migrations = Table(
    "schema_migrations",
    _bookkeeping,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("description", String(200), nullable=False),
    Column("applied_at", UtcDateTime, nullable=False),
)

# pg_advisory_xact_lock takes a bigint; any stable number private to this application will do.
MIGRATION_LOCK_KEY = zlib.crc32(b"minio-chatops:schema-migrations")


@dataclass(frozen=True)
class Migration:
    """One schema step: a version number, a line for humans, and the function that applies it."""

    version: int
    description: str
    apply: Callable[[Connection], None]


def _baseline(conn: Connection) -> None:
    # checkfirst: tolerate a database where someone ran create_all by hand before the runner existed.
    schema.metadata.create_all(conn, checkfirst=True)


def _slack_replay_keys(conn: Connection) -> None:
    schema.slack_replay_keys.create(conn, checkfirst=True)


def _alertmanager_tables(conn: Connection) -> None:
    schema.alert_deliveries.create(conn, checkfirst=True)
    schema.alert_groups.create(conn, checkfirst=True)


def _report_deliveries(conn: Connection) -> None:
    # Slots claimed before this migration have no row and are taken as sent, as they were then.
    schema.report_deliveries.create(conn, checkfirst=True)


def _approval_leases(conn: Connection) -> None:
    # Checked one by one so a database where someone added a column by hand still gets the rest.
    table = schema.approvals
    present = {c["name"] for c in inspect(conn).get_columns(table.name)}
    for name in ("lease_owner", "lease_expires_at"):
        if name not in present:
            column = table.c[name]
            kind = column.type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))
    indexes = {i["name"] for i in inspect(conn).get_indexes(table.name)}
    for index in table.indexes:
        if index.name not in indexes and {c.name for c in index.columns} == {"status", "lease_expires_at"}:
            conn.execute(CreateIndex(index))


def _incident_members(conn: Connection) -> None:
    # Incidents declared before this version had public channels: is_private false is the truth for them.
    columns = {c["name"] for c in inspect(conn).get_columns(schema.incidents.name)}
    if "is_private" not in columns:
        default = "false" if conn.dialect.name == "postgresql" else "0"
        conn.execute(text(f"ALTER TABLE incidents ADD COLUMN is_private BOOLEAN NOT NULL DEFAULT {default}"))
    schema.incident_members.create(conn, checkfirst=True)


def _home_viewers(conn: Connection) -> None:
    schema.home_viewers.create(conn, checkfirst=True)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "baseline: every table as in schema.py", _baseline),
    Migration(2, "slack_replay_keys: Slack request replay protection shared by replicas", _slack_replay_keys),
    Migration(3, "alert_deliveries, alert_groups: Alertmanager notifications, once each, one message per group",
              _alertmanager_tables),
    Migration(4, "report_deliveries: claim -> send -> mark delivered for scheduled reports", _report_deliveries),
    Migration(5, "approvals.lease_owner/lease_expires_at: execution leases, renewed while a change runs",
              _approval_leases),
    Migration(6, "incident_members and incidents.is_private: who the bot let into an incident channel",
              _incident_members),
    Migration(7, "home_viewers: who opened the App Home tab, so any replica's alert check refreshes it",
              _home_viewers),
)
"""Every migration, oldest first. Append; never edit or renumber one that has shipped."""


def migrate(db: Database, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Bring the database up to the newest version; returns the versions this call recorded.

    Safe to call on every start from every replica at once: concurrent callers
    queue on a lock and the later ones find nothing left to do.
    """
    _check_numbering(migrations)
    recorded: list[int] = []
    while True:
        with db.write() as conn:
            if conn.dialect.name == "postgresql":
                # Held until this transaction ends; a second replica blocks here, then sees our rows.
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            schema_migrations.create(conn, checkfirst=True)
            done = set(conn.scalars(select(schema_migrations.c.version)))
            pending = [m for m in migrations if m.version not in done]
            if not pending:
                return recorded
            if not done:
                # Empty database: the baseline builds today's schema, so every later step is already in it.
                migrations[0].apply(conn)
                steps = list(migrations)
            else:
                pending[0].apply(conn)
                steps = [pending[0]]
            now = datetime.now(UTC)
            conn.execute(
                insert(schema_migrations),
                [{"version": m.version, "description": m.description, "applied_at": now} for m in steps],
            )
        recorded.extend(m.version for m in steps)


def applied_versions(db: Database) -> list[int]:
    """The versions recorded in the database, ascending (empty before the first migrate)."""
    with db.read() as conn:
        if not conn.dialect.has_table(conn, schema_migrations.name):
            return []
        return sorted(conn.scalars(select(schema_migrations.c.version)))


def _check_numbering(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if not versions or versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migrations must be numbered 1, 2, 3, ... without gaps (got {versions})")
