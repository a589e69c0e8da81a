"""Incidents, their timelines, and the people the bot let into their channels."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Connection, insert, select, update

from bot.store.db import Database, insert_ignoring_conflict
from bot.store.models import Incident, IncidentMember, TimelineEntry
from bot.store.schema import incident_members, incident_timeline, incidents


class Incidents:
    """Declare, annotate and resolve incidents."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def declare(
        self,
        *,
        severity: str,
        title: str,
        declared_by: str,
        tenant: str | None = None,
        channel_id: str | None = None,
        at: datetime | None = None,
        private: bool = False,
        members: Sequence[str] = (),
    ) -> Incident:
        """Open an incident; its timeline starts with a "declared" entry written in the same transaction.

        ``members`` are let into its channel by the declarer in that transaction too, so they may see the
        tenant there the moment Slack adds them.
        """
        at = at or datetime.now(UTC)
        values = {
            "tenant": tenant,
            "severity": severity,
            "title": title,
            "channel_id": channel_id,
            "declared_by": declared_by,
            "declared_at": at,
            "is_private": private,
        }
        with self._db.write() as conn:
            row = conn.execute(insert(incidents).values(values).returning(incidents)).mappings().one()
            _add_entry(conn, row["id"], at=at, actor=declared_by, kind="declared", text=f"{severity}: {title}")
            _grant(conn, row["id"], members, by=declared_by, at=at)
        return Incident.model_validate(dict(row))

    def let_in(self, incident_id: int, users: Sequence[str], *, by: str, at: datetime | None = None) -> list[str]:
        """Let ``users`` into the incident's channel (asked by ``by``); returns those who were not in yet."""
        with self._db.write() as conn:
            return _grant(conn, incident_id, users, by=by, at=at or datetime.now(UTC))

    def members(self, incident_id: int) -> list[IncidentMember]:
        """Everyone the bot let into the incident's channel, in the order they were let in."""
        stmt = (
            select(incident_members)
            .where(incident_members.c.incident_id == incident_id)
            .order_by(incident_members.c.invited_at, incident_members.c.user_id)
        )
        with self._db.read() as conn:
            return [IncidentMember.model_validate(dict(r)) for r in conn.execute(stmt).mappings()]

    def member_ids(self, incident_id: int) -> frozenset[str]:
        """The user ids the bot let into the incident's channel."""
        stmt = select(incident_members.c.user_id).where(incident_members.c.incident_id == incident_id)
        with self._db.read() as conn:
            return frozenset(conn.scalars(stmt))

    def get(self, incident_id: int) -> Incident | None:
        """One incident, or None."""
        with self._db.read() as conn:
            row = conn.execute(select(incidents).where(incidents.c.id == incident_id)).mappings().first()
        return None if row is None else Incident.model_validate(dict(row))

    def open(self, tenant: str | None = None) -> list[Incident]:
        """Unresolved incidents (optionally for one tenant), oldest first."""
        stmt = select(incidents).where(incidents.c.resolved_at.is_(None))
        if tenant is not None:
            stmt = stmt.where(incidents.c.tenant == tenant)
        with self._db.read() as conn:
            rows = conn.execute(stmt.order_by(incidents.c.declared_at, incidents.c.id)).mappings()
            return [Incident.model_validate(dict(r)) for r in rows]

    def open_in_channel(self, channel_id: str) -> Incident | None:
        """The unresolved incident that owns this channel, if any (newest if several)."""
        stmt = (
            select(incidents)
            .where(incidents.c.channel_id == channel_id, incidents.c.resolved_at.is_(None))
            .order_by(incidents.c.declared_at.desc(), incidents.c.id.desc())
            .limit(1)
        )
        with self._db.read() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else Incident.model_validate(dict(row))

    def add_entry(
        self, incident_id: int, *, actor: str, kind: str, text: str, at: datetime | None = None
    ) -> TimelineEntry:
        """Append a timeline entry (a note, a status update, a command run during the incident)."""
        with self._db.write() as conn:
            return _add_entry(conn, incident_id, at=at or datetime.now(UTC), actor=actor, kind=kind, text=text)

    def timeline(self, incident_id: int) -> list[TimelineEntry]:
        """The incident's timeline, oldest first."""
        stmt = (
            select(incident_timeline)
            .where(incident_timeline.c.incident_id == incident_id)
            .order_by(incident_timeline.c.at, incident_timeline.c.id)
        )
        with self._db.read() as conn:
            return [TimelineEntry.model_validate(dict(r)) for r in conn.execute(stmt).mappings()]

    def resolve(self, incident_id: int, *, by: str, summary: str, at: datetime | None = None) -> bool:
        """Close the incident with a summary; False if it was already resolved (or does not exist)."""
        at = at or datetime.now(UTC)
        stmt = (
            update(incidents)
            .where(incidents.c.id == incident_id, incidents.c.resolved_at.is_(None))
            .values(resolved_at=at, summary=summary)
        )
        with self._db.write() as conn:
            if conn.execute(stmt).rowcount != 1:
                return False
            _add_entry(conn, incident_id, at=at, actor=by, kind="resolved", text=summary)
        return True


def _add_entry(conn: Connection, incident_id: int, *, at: datetime, actor: str, kind: str, text: str) -> TimelineEntry:
    values = {"incident_id": incident_id, "at": at, "actor": actor, "kind": kind, "text": text}
    row = conn.execute(insert(incident_timeline).values(values).returning(incident_timeline)).mappings().one()
    return TimelineEntry.model_validate(dict(row))


def _grant(conn: Connection, incident_id: int, users: Sequence[str], *, by: str, at: datetime) -> list[str]:
    added = []
    for user in dict.fromkeys(users):
        values = {"incident_id": incident_id, "user_id": user, "invited_by": by[:64], "invited_at": at}
        if insert_ignoring_conflict(conn, incident_members, values, ("incident_id", "user_id")) is not None:
            added.append(user)
    return added
