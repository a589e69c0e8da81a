"""Capacity figures computed from drive views, the way MinIO's admin API and metrics report them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sandbox.minio_sim.entities import DriveView
from sandbox.minio_sim.model import ClusterModel


@dataclass(frozen=True)
class Capacity:
    """Raw and usable capacity in bytes (offline drives count for nothing)."""

    raw_total: int
    raw_free: int
    usable_total: int
    usable_free: int


def compute_capacity(model: ClusterModel, views: Iterable[DriveView]) -> Capacity:
    """Raw = sums over all drives; usable = only data drives (disk_index < set size - parity)."""
    raw_total = raw_free = usable_total = usable_free = 0
    for view in views:
        raw_total += view.total
        raw_free += view.avail
        pool = model.pools[view.drive.pool_index]
        if view.drive.disk_index < pool.set_size - model.standard_parity():
            usable_total += view.total
            usable_free += view.avail
    return Capacity(raw_total, raw_free, usable_total, usable_free)
