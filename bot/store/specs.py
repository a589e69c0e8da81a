"""Tenant specs saved before a change, so a rollback knows what "before" was.

A snapshot never holds a secret: :func:`bot.redact.redact_structured` masks the
value of every secret-looking ``env`` entry (and secret-shaped text) before the
row is written. A rollback therefore keeps each redacted field at its current
value (:func:`bot.redact.restore_redacted`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select

from bot.redact import redact_structured
from bot.store.db import Database
from bot.store.models import JsonObject, SpecSnapshot
from bot.store.schema import spec_snapshots


class SpecSnapshots:
    """Save and look up Tenant specs."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(
        self,
        tenant: str,
        spec: JsonObject,
        *,
        reason: str,
        resource_version: str | None = None,
        taken_by: str | None = None,
        at: datetime | None = None,
    ) -> SpecSnapshot:
        """Save `spec` as it is now (e.g. reason "before scale approval abc123"), its secrets redacted."""
        values = {
            "tenant": tenant,
            "taken_at": at or datetime.now(UTC),
            "reason": redact_structured(reason),
            "resource_version": resource_version,
            "spec": redact_structured(spec),
            "taken_by": taken_by,
        }
        with self._db.write() as conn:
            row = conn.execute(insert(spec_snapshots).values(values).returning(spec_snapshots)).mappings().one()
        return SpecSnapshot.model_validate(dict(row))

    def list(self, tenant: str, limit: int = 20) -> list[SpecSnapshot]:
        """The tenant's saved specs, newest first."""
        stmt = (
            select(spec_snapshots)
            .where(spec_snapshots.c.tenant == tenant)
            .order_by(spec_snapshots.c.taken_at.desc(), spec_snapshots.c.id.desc())
            .limit(limit)
        )
        with self._db.read() as conn:
            return [SpecSnapshot.model_validate(dict(r)) for r in conn.execute(stmt).mappings()]

    def get(self, snapshot_id: int) -> SpecSnapshot | None:
        """One saved spec, or None."""
        with self._db.read() as conn:
            row = conn.execute(select(spec_snapshots).where(spec_snapshots.c.id == snapshot_id)).mappings().first()
        return None if row is None else SpecSnapshot.model_validate(dict(row))
