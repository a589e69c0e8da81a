"""MinIO's erasure-set arithmetic (minio-facts.md): set sizes, default parity, quorum, usable share.

Pure functions, shared by every capability that reasons about drives: health
(tolerance), capacity (usable bytes), scaling (a new pool's shape) and
remediation (can this pod go down?).
"""

from __future__ import annotations

MIN_DRIVES = 4
"""The fewest drives a pool may have (servers x volumes per server)."""
MAX_SET_SIZE = 16


def default_parity(set_size: int) -> int:
    """MinIO's default standard-class parity for an erasure set of ``set_size`` drives."""
    if set_size >= 8:
        return 4
    return {0: 0, 1: 0, 2: 1, 3: 1, 4: 2, 5: 2, 6: 3, 7: 3}[max(0, set_size)]


def erasure_set_size(servers: int, volumes_per_server: int) -> int | None:
    """The set size MinIO picks for a pool: the largest in 2..16 dividing the drives, symmetric with the shape.

    None when no size fits (MinIO would refuse to start with that pool).
    """
    total = servers * volumes_per_server
    for size in range(MAX_SET_SIZE, 1, -1):
        symmetric = all(size % n == 0 or n % size == 0 for n in (servers, volumes_per_server))
        if total % size == 0 and symmetric:
            return size
    return None


def write_quorum(set_size: int, parity: int) -> int:
    """Drives that must be online to write: the data drives, one more when data equals parity (split brain)."""
    data = set_size - parity
    return data + 1 if data == parity else data


def read_quorum(set_size: int, parity: int) -> int:
    """Drives that must be online to read: the data drives."""
    return set_size - parity


def usable_bytes(raw: int, set_size: int, parity: int) -> int:
    """Usable share of ``raw``: data drives over set size."""
    return raw * (set_size - parity) // set_size if set_size else raw
