"""The audit trail: append and read, nothing else.

There is deliberately no update or delete here, and the database refuses them
too (triggers in ``schema.py``), so an entry once written stays as written.
Details are stored through :func:`bot.redact.redact_structured`: an audit row
never holds a secret.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.redact import redact_structured
from bot.store.db import Database
from bot.store.models import AuditEvent, JsonObject
from bot.store.schema import audit_events


class AuditLog:
    """Append-only record of who asked for, approved and ran what."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def append(
        self,
        *,
        actor: str,
        action: str,
        tenant: str | None = None,
        approval_id: str | None = None,
        plan_hash: str | None = None,
        detail: JsonObject | None = None,
        at: datetime | None = None,
    ) -> AuditEvent:
        """Write one event (e.g. action "request", "approve", "execute", "command") and return it."""
        values = {
            "at": at or datetime.now(UTC),
            "actor": actor,
            "action": action,
            "tenant": tenant,
            "approval_id": approval_id,
            "plan_hash": plan_hash,
            "detail": redact_structured(detail or {}),
        }
        with self._db.write() as conn:
            row = conn.execute(audit_events.insert().values(values).returning(audit_events)).mappings().one()
        return AuditEvent.model_validate(dict(row))

    def recent(self, n: int = 50, *, tenant: str | None = None) -> list[AuditEvent]:
        """The newest `n` events (optionally for one tenant), newest first."""
        stmt = select(audit_events)
        if tenant is not None:
            stmt = stmt.where(audit_events.c.tenant == tenant)
        stmt = stmt.order_by(audit_events.c.at.desc(), audit_events.c.id.desc()).limit(n)
        with self._db.read() as conn:
            return [AuditEvent.model_validate(dict(r)) for r in conn.execute(stmt).mappings()]

    def for_approval(self, approval_id: str) -> list[AuditEvent]:
        """Everything recorded about one approval request, oldest first."""
        stmt = (
            select(audit_events)
            .where(audit_events.c.approval_id == approval_id)
            .order_by(audit_events.c.at, audit_events.c.id)
        )
        with self._db.read() as conn:
            return [AuditEvent.model_validate(dict(r)) for r in conn.execute(stmt).mappings()]
