"""Approval requests and their votes.

Races between replicas and double clicks are settled by the database, not by
reading first: :meth:`ApprovalRequests.transition` is one conditional UPDATE and
:meth:`ApprovalRequests.add_vote` one INSERT guarded by a unique key.

Plans and results are stored redacted (:func:`bot.redact.redact_structured`).
A plan that carried a secret therefore no longer matches its hash once stored,
and the engine refuses to run it: a secret can neither be stored nor executed
from a stored copy.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Connection, RowMapping, or_, select, update
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import ColumnElement

from bot.redact import redact, redact_structured
from bot.store.db import Database, insert_ignoring_conflict
from bot.store.models import Approval, ApprovalStatus, JsonObject, Vote
from bot.store.schema import approval_votes, approvals

_ID_BYTES = 9  # 12 URL-safe characters: short enough for button values, 72 random bits
_HELD = (ApprovalStatus.APPROVED.value, ApprovalStatus.EXECUTING.value)  # the statuses a lease covers


def new_approval_id() -> str:
    """A fresh approval id: URL-safe, short, unguessable (it travels in Slack button values)."""
    return secrets.token_urlsafe(_ID_BYTES)


class ApprovalRequests:
    """Create, read and move approval requests through their statuses."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(
        self,
        *,
        tenant: str,
        kind: str,
        plan: JsonObject,
        plan_hash: str,
        requester: str,
        expires_at: datetime,
        approvals_required: int = 1,
        resource_version: str | None = None,
        channel: str | None = None,
        message_ts: str | None = None,
        created_at: datetime | None = None,
    ) -> Approval:
        """Record a new pending request and return it (with its generated id)."""
        approval_id = new_approval_id()
        values = {
            "id": approval_id,
            "tenant": tenant,
            "kind": kind,
            "plan": redact_structured(plan),
            "plan_hash": plan_hash,
            "resource_version": resource_version,
            "status": ApprovalStatus.PENDING.value,
            "requester": requester,
            "approvals_required": approvals_required,
            "channel": channel,
            "message_ts": message_ts,
            "created_at": created_at or datetime.now(UTC),
            "expires_at": expires_at,
        }
        with self._db.write() as conn:
            conn.execute(approvals.insert().values(values))
            created = _load(conn, approval_id)
        assert created is not None  # just inserted in this transaction
        return created

    def get(self, approval_id: str) -> Approval | None:
        """The request with its votes, or None if there is no such id."""
        with self._db.read() as conn:
            return _load(conn, approval_id)

    def transition(
        self,
        approval_id: str,
        from_statuses: Iterable[str],
        to_status: str,
        *,
        decided_at: datetime | None = None,
        executed_at: datetime | None = None,
        result: str | None = None,
        message_ts: str | None = None,
        resource_version: str | None = None,
        lease_owner: str | None = None,
        lease_expires_at: datetime | None = None,
        held_by: str | None = None,
        lease_expired_by: datetime | None = None,
    ) -> bool:
        """Move a request to `to_status` if it is still in one of `from_statuses`; True if this caller won.

        One ``UPDATE ... WHERE id = ? AND status IN (...)``: when two replicas
        (or two clicks) race, the database lets exactly one row update happen
        and every other caller gets False. Fields left as None are unchanged.
        ``held_by`` also requires that this lease owner still holds the request;
        ``lease_expired_by`` that its lease (if any) had expired at that time.
        """
        allowed = [ApprovalStatus(s).value for s in from_statuses]
        target = ApprovalStatus(to_status).value
        changes: dict[str, object] = {"status": target}
        for name, value in (
            ("decided_at", decided_at),
            ("executed_at", executed_at),
            ("result", redact(result) if result is not None else None),
            ("message_ts", message_ts),
            ("resource_version", resource_version),
            ("lease_owner", lease_owner),
            ("lease_expires_at", lease_expires_at),
        ):
            if value is not None:
                changes[name] = value
        conditions = [approvals.c.id == approval_id, approvals.c.status.in_(allowed)]
        if held_by is not None:
            conditions.append(approvals.c.lease_owner == held_by)
        if lease_expired_by is not None:
            conditions.append(_lease_expired(lease_expired_by))
        stmt = update(approvals).where(*conditions).values(changes)
        with self._db.write() as conn:
            return conn.execute(stmt).rowcount == 1

    # ----- execution leases -------------------------------------------------------------------

    def renew_leases(self, owner: str, approval_ids: Iterable[str], until: datetime) -> set[str]:
        """Extend ``owner``'s leases on these approved or executing requests to ``until``; the ids still held.

        An id missing from the answer was taken over by another process (its
        lease had expired) or has ended: its holder must not write its outcome.
        """
        ids = sorted(set(approval_ids))
        if not ids:
            return set()
        held = [approvals.c.id.in_(ids), approvals.c.lease_owner == owner, approvals.c.status.in_(_HELD)]
        with self._db.write() as conn:
            conn.execute(update(approvals).where(*held).values(lease_expires_at=until))
            return set(conn.scalars(select(approvals.c.id).where(*held)))

    def release_leases(self, owner: str, approval_ids: Iterable[str], at: datetime) -> int:
        """End ``owner``'s leases now (a process stopping on purpose), so a successor resumes them at once."""
        ids = sorted(set(approval_ids))
        if not ids:
            return 0
        stmt = (
            update(approvals)
            .where(approvals.c.id.in_(ids), approvals.c.lease_owner == owner, approvals.c.status.in_(_HELD))
            .values(lease_expires_at=at)
        )
        with self._db.write() as conn:
            return int(conn.execute(stmt).rowcount)

    def take_over(self, approval_id: str, *, owner: str, until: datetime, now: datetime) -> bool:
        """Take the lease of an ``executing`` request whose lease expired by ``now``; True for the one taker.

        One conditional UPDATE: of several leaders racing (or a holder renewing
        late), exactly one wins, and the new expiry makes every later try fail.
        """
        stmt = (
            update(approvals)
            .where(approvals.c.id == approval_id, approvals.c.status == ApprovalStatus.EXECUTING.value,
                   _lease_expired(now))
            .values(lease_owner=owner, lease_expires_at=until)
        )
        with self._db.write() as conn:
            return conn.execute(stmt).rowcount == 1

    def lease_expired(self, now: datetime, limit: int = 500) -> list[Approval]:
        """Approved or executing requests whose holder's lease expired by ``now`` (or that never had one), oldest
        first: what a process that stopped left behind."""
        stmt = (
            select(approvals)
            .where(approvals.c.status.in_(_HELD), _lease_expired(now))
            .order_by(approvals.c.created_at, approvals.c.id)
            .limit(limit)
        )
        return self._list(stmt)

    def set_message(self, approval_id: str, *, channel: str, message_ts: str) -> bool:
        """Remember where the approval card was posted; False if there is no such request."""
        stmt = update(approvals).where(approvals.c.id == approval_id).values(channel=channel, message_ts=message_ts)
        with self._db.write() as conn:
            return conn.execute(stmt).rowcount == 1

    def add_vote(self, approval_id: str, user: str, *, at: datetime | None = None) -> bool:
        """Record `user`'s approval; False if they already approved this request.

        The vote is recorded whatever the request's status: checking the status
        and counting votes against `approvals_required` is the caller's job.
        Raises StoreError if the request does not exist.
        """
        values = {"approval_id": approval_id, "user_id": user, "decided_at": at or datetime.now(UTC)}
        with self._db.write() as conn:
            inserted = insert_ignoring_conflict(conn, approval_votes, values, ["approval_id", "user_id"])
        return inserted is not None

    def votes(self, approval_id: str) -> list[Vote]:
        """The votes on one request, oldest first."""
        with self._db.read() as conn:
            return _votes(conn, [approval_id]).get(approval_id, [])

    def pending(self, tenant: str | None = None) -> list[Approval]:
        """Requests still waiting for approval (optionally for one tenant), oldest first."""
        stmt = select(approvals).where(approvals.c.status == ApprovalStatus.PENDING.value)
        if tenant is not None:
            stmt = stmt.where(approvals.c.tenant == tenant)
        return self._list(stmt.order_by(approvals.c.created_at, approvals.c.id))

    def due_for_expiry(self, now: datetime) -> list[Approval]:
        """Pending requests whose deadline has passed at `now`; expire each with :meth:`transition`."""
        stmt = (
            select(approvals)
            .where(approvals.c.status == ApprovalStatus.PENDING.value, approvals.c.expires_at <= now)
            .order_by(approvals.c.expires_at, approvals.c.id)
        )
        return self._list(stmt)

    def recent(self, limit: int = 20, *, tenant: str | None = None) -> list[Approval]:
        """The newest requests in any status, newest first."""
        stmt = select(approvals)
        if tenant is not None:
            stmt = stmt.where(approvals.c.tenant == tenant)
        return self._list(stmt.order_by(approvals.c.created_at.desc(), approvals.c.id).limit(limit))

    def _list(self, stmt: Executable) -> list[Approval]:
        with self._db.read() as conn:
            rows = list(conn.execute(stmt).mappings())
            votes = _votes(conn, [r["id"] for r in rows])
        return [_approval(r, votes.get(r["id"], [])) for r in rows]


def _lease_expired(now: datetime) -> ColumnElement[bool]:
    """No lease (a row from before leases, or never held), or one that ended before ``now``."""
    return or_(approvals.c.lease_expires_at.is_(None), approvals.c.lease_expires_at < now)


def _load(conn: Connection, approval_id: str) -> Approval | None:
    row = conn.execute(select(approvals).where(approvals.c.id == approval_id)).mappings().first()
    if row is None:
        return None
    return _approval(row, _votes(conn, [approval_id]).get(approval_id, []))


def _votes(conn: Connection, approval_ids: list[str]) -> dict[str, list[Vote]]:
    if not approval_ids:
        return {}
    stmt = (
        select(approval_votes)
        .where(approval_votes.c.approval_id.in_(approval_ids))
        .order_by(approval_votes.c.decided_at, approval_votes.c.user_id)
    )
    found: dict[str, list[Vote]] = {}
    for r in conn.execute(stmt).mappings():
        vote = Vote(approval_id=r["approval_id"], user=r["user_id"], decided_at=r["decided_at"])
        found.setdefault(vote.approval_id, []).append(vote)
    return found


def _approval(row: RowMapping, votes: list[Vote]) -> Approval:
    return Approval.model_validate({**row, "votes": tuple(votes)})
