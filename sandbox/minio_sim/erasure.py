"""Erasure-set layout and quorum math, derived from a pool's shape the way MinIO does it.

Pure functions only: the rest of the simulator (health, capacity, S3 writes) asks
these for set sizes, parity and quorums instead of hard-coding numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_SET_SIZE = 2
MAX_SET_SIZE = 16


@dataclass(frozen=True)
class DriveSlot:
    """Where one drive of a pool sits: its node (1-based within the pool) and erasure-set position."""

    node_offset: int
    drive: int
    set_index: int
    disk_index: int


def _symmetric(set_size: int, count: int) -> bool:
    # MinIO keeps a set size only if it lines up with every ellipsis dimension
    # (hosts and drives per host): one must divide the other.
    return set_size % count == 0 or count % set_size == 0


def choose_set_size(nodes: int, drives_per_node: int) -> int:
    """Return the erasure-set size MinIO picks for a pool of `nodes` x `drives_per_node`.

    The largest size in 2..16 that divides the pool's drive count and stays
    symmetric with both the node count and the drives-per-node count.
    A single-drive pool is a set of 1. Raises ValueError when no size fits.
    """
    if nodes < 1 or drives_per_node < 1:
        raise ValueError("a pool needs at least one node and one drive per node")
    total = nodes * drives_per_node
    if total == 1:
        return 1
    candidates = [
        size
        for size in range(MIN_SET_SIZE, MAX_SET_SIZE + 1)
        if total % size == 0 and _symmetric(size, nodes) and _symmetric(size, drives_per_node)
    ]
    if not candidates:
        raise ValueError(f"no erasure set size in 2..16 fits {nodes} nodes x {drives_per_node} drives")
    return max(candidates)


def set_count(nodes: int, drives_per_node: int) -> int:
    """Number of erasure sets in a pool."""
    return nodes * drives_per_node // choose_set_size(nodes, drives_per_node)


def default_parity(set_size: int) -> int:
    """MinIO's default standard-storage-class parity (EC:N) for a set size."""
    if set_size < 1:
        raise ValueError("set size must be positive")
    if set_size == 1:
        return 0
    if set_size <= 3:
        return 1
    if set_size <= 5:
        return 2
    if set_size <= 7:
        return 3
    return 4


def default_rr_parity(set_size: int) -> int:
    """Default reduced-redundancy parity: 1, or 0 for a single-drive set."""
    return 0 if set_size == 1 else 1


def validate_parity(set_size: int, parity: int) -> None:
    """Raise ValueError if `parity` is not allowed for `set_size` (at most half the set)."""
    if parity < 0 or parity > set_size // 2:
        raise ValueError(f"parity EC:{parity} is invalid for an erasure set of {set_size} drives")


def data_drives(set_size: int, parity: int) -> int:
    """Drives holding data shards in a set."""
    return set_size - parity


def write_quorum(set_size: int, parity: int) -> int:
    """Online drives a set needs to accept writes: data drives, plus one when data == parity."""
    data = data_drives(set_size, parity)
    return data + 1 if data == parity else data


def read_quorum(set_size: int, parity: int) -> int:
    """Online drives a set needs to serve reads: the data drives."""
    return data_drives(set_size, parity)


def layout_pool(nodes: int, drives_per_node: int) -> list[DriveSlot]:
    """Assign every drive of a pool to an erasure set.

    Endpoints are ordered drive-major (drive 1 of every node, then drive 2, ...)
    and cut into consecutive sets, so each set's drives spread evenly over the
    nodes and losing one node costs every set the same number of drives.
    """
    size = choose_set_size(nodes, drives_per_node)
    ordered = [(node, drive) for drive in range(1, drives_per_node + 1) for node in range(1, nodes + 1)]
    return [
        DriveSlot(node_offset=node, drive=drive, set_index=i // size, disk_index=i % size)
        for i, (node, drive) in enumerate(ordered)
    ]


def set_meets_quorum(online: int, set_size: int, parity: int, *, for_read: bool) -> bool:
    """True when `online` drives satisfy the set's read or write quorum."""
    needed = read_quorum(set_size, parity) if for_read else write_quorum(set_size, parity)
    return online >= needed
