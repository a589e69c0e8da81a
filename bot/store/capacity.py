"""Capacity history: one snapshot per tenant per poll, with per-bucket sizes.

A failed poll is stored too (``ok=False`` and the error) so charts and
forecasts show a gap instead of silently interpolating across an outage.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, delete, func, insert, select

from bot.store.db import Database
from bot.store.models import BucketSize, CapacitySnapshot
from bot.store.schema import bucket_sizes, capacity_snapshots


class CapacityHistory:
    """Store and read capacity snapshots."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add_snapshot(
        self,
        tenant: str,
        *,
        taken_at: datetime,
        raw_total: int,
        raw_used: int,
        usable_total: int,
        usable_used: int,
        objects: int,
        buckets_count: int,
        scanner_last_update: datetime | None = None,
        buckets: Iterable[BucketSize] = (),
    ) -> CapacitySnapshot:
        """Record a successful poll and its per-bucket sizes in one transaction."""
        values = {
            "tenant": tenant,
            "taken_at": taken_at,
            "ok": True,
            "raw_total": raw_total,
            "raw_used": raw_used,
            "usable_total": usable_total,
            "usable_used": usable_used,
            "objects": objects,
            "buckets_count": buckets_count,
            "scanner_last_update": scanner_last_update,
        }
        with self._db.write() as conn:
            row = conn.execute(insert(capacity_snapshots).values(values).returning(capacity_snapshots)).mappings().one()
            rows = [
                {"snapshot_id": row["id"], "bucket": b.bucket, "size": b.size, "objects": b.objects} for b in buckets
            ]
            if rows:
                # A list of parameter sets makes SQLAlchemy use the driver's executemany
                # (psycopg pipelines it), so 10,000 buckets cost one round of batching, not 10,000 statements.
                conn.execute(insert(bucket_sizes), rows)
        return CapacitySnapshot.model_validate(dict(row))

    def add_gap(self, tenant: str, *, taken_at: datetime, error: str) -> CapacitySnapshot:
        """Record a failed poll (MinIO unreachable) so the history shows the gap."""
        values = {"tenant": tenant, "taken_at": taken_at, "ok": False, "error": error}
        with self._db.write() as conn:
            row = conn.execute(insert(capacity_snapshots).values(values).returning(capacity_snapshots)).mappings().one()
        return CapacitySnapshot.model_validate(dict(row))

    def history(self, tenant: str, since: datetime, until: datetime | None = None) -> list[CapacitySnapshot]:
        """Snapshots (gaps included) taken at or after `since` (and before `until`), oldest first."""
        stmt = select(capacity_snapshots).where(
            capacity_snapshots.c.tenant == tenant, capacity_snapshots.c.taken_at >= since
        )
        if until is not None:
            stmt = stmt.where(capacity_snapshots.c.taken_at < until)
        stmt = stmt.order_by(capacity_snapshots.c.taken_at, capacity_snapshots.c.id)
        with self._db.read() as conn:
            return [CapacitySnapshot.model_validate(dict(r)) for r in conn.execute(stmt).mappings()]

    def usage_points(self, since: datetime, day_ago: datetime) -> dict[str, list[tuple[datetime, int, int]]]:
        """Per tenant, (taken_at, usable_used, usable_total) of three successful snapshots, oldest first:
        the oldest since ``since``, the newest at or before ``day_ago`` and the newest.

        Enough for a 24-hour trend and a straight-line forecast over the period without reading every
        point: the App Home asks this for all tenants on every open (three small queries).
        """
        c = capacity_snapshots.c
        ok = and_(c.ok.is_(True), c.usable_used.is_not(None), c.usable_total.is_not(None), c.taken_at >= since)
        wanted: set[tuple[str, datetime]] = set()
        with self._db.read() as conn:
            for tenant, oldest, newest in conn.execute(
                select(c.tenant, func.min(c.taken_at), func.max(c.taken_at)).where(ok).group_by(c.tenant)
            ):
                wanted.update({(tenant, oldest), (tenant, newest)})
            for tenant, before in conn.execute(
                select(c.tenant, func.max(c.taken_at)).where(ok, c.taken_at <= day_ago).group_by(c.tenant)
            ):
                wanted.add((tenant, before))
            times = sorted({at for _, at in wanted})
            rows = conn.execute(
                select(c.tenant, c.taken_at, c.usable_used, c.usable_total).where(ok, c.taken_at.in_(times))
            ).all() if times else []
        points: dict[str, dict[datetime, tuple[datetime, int, int]]] = {}
        for tenant, taken_at, used, total in rows:
            if (tenant, taken_at) in wanted:
                points.setdefault(tenant, {})[taken_at] = (taken_at, int(used), int(total))
        return {tenant: [by_time[at] for at in sorted(by_time)] for tenant, by_time in points.items()}

    def latest(self, tenant: str, *, include_gaps: bool = False) -> CapacitySnapshot | None:
        """The newest successful snapshot (or the newest of any kind with `include_gaps`)."""
        stmt = select(capacity_snapshots).where(capacity_snapshots.c.tenant == tenant)
        if not include_gaps:
            stmt = stmt.where(capacity_snapshots.c.ok.is_(True))
        stmt = stmt.order_by(capacity_snapshots.c.taken_at.desc(), capacity_snapshots.c.id.desc()).limit(1)
        with self._db.read() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else CapacitySnapshot.model_validate(dict(row))

    def buckets(self, snapshot_id: int) -> list[BucketSize]:
        """Per-bucket sizes of one snapshot, largest first."""
        stmt = (
            select(bucket_sizes.c.bucket, bucket_sizes.c.size, bucket_sizes.c.objects)
            .where(bucket_sizes.c.snapshot_id == snapshot_id)
            .order_by(bucket_sizes.c.size.desc(), bucket_sizes.c.bucket)
        )
        with self._db.read() as conn:
            return [BucketSize(bucket=r.bucket, size=r.size, objects=r.objects) for r in conn.execute(stmt)]

    def prune(self, before: datetime) -> int:
        """Delete snapshots (and their bucket rows) taken before `before`; returns how many snapshots went."""
        old = select(capacity_snapshots.c.id).where(capacity_snapshots.c.taken_at < before)
        with self._db.write() as conn:
            # Children first and explicitly: do not depend on SQLite having foreign keys switched on.
            conn.execute(delete(bucket_sizes).where(bucket_sizes.c.snapshot_id.in_(old)))
            return conn.execute(delete(capacity_snapshots).where(capacity_snapshots.c.taken_at < before)).rowcount
