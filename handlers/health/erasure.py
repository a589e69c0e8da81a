"""Erasure sets as they stand and how many more nodes or drives they can lose (pure).

The quorum arithmetic itself is MinIO's and lives in :mod:`bot.erasure`; this
module applies it to the live topology from admin ``info``: which drives of
each set are online, and on which node. The cluster keeps a quorum only while
every set of every pool does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bot.clients.minio_models import Drive, ServerInfo
from bot.erasure import default_parity, read_quorum, write_quorum
from bot.models import Frozen
from handlers.health.findings import plural


class ErasureSet(Frozen):
    """One erasure set as it stands: size, parity and where its online drives are."""

    pool: int
    index: int
    size: int
    parity: int
    online: int
    healing: int = 0
    online_per_node: tuple[int, ...] = ()  # online drives of this set on each node that holds some

    @property
    def data(self) -> int:
        """Data drives per object."""
        return self.size - self.parity

    @property
    def write_quorum(self) -> int:
        """Drives that must be online to write (see :func:`bot.erasure.write_quorum`)."""
        return write_quorum(self.size, self.parity)

    @property
    def read_quorum(self) -> int:
        """Drives that must be online to read (see :func:`bot.erasure.read_quorum`)."""
        return read_quorum(self.size, self.parity)

    @property
    def writable(self) -> bool:
        """True while the set keeps write quorum."""
        return self.online >= self.write_quorum

    @property
    def readable(self) -> bool:
        """True while the set keeps read quorum."""
        return self.online >= self.read_quorum

    @property
    def name(self) -> str:
        """``pool 0 set 1``."""
        return f"pool {self.pool} set {self.index}"

    def drives_to_spare(self, quorum: int) -> int:
        """Online drives that may still fail before ``quorum`` is lost (-1 when it is already lost)."""
        return self.online - quorum if self.online >= quorum else -1

    def nodes_to_spare(self, quorum: int) -> int:
        """How many more nodes may fail, in the worst case, before this set drops below ``quorum``.

        The worst case takes the nodes holding the most of this set's online
        drives first. -1 when the quorum is already lost.
        """
        spare = self.drives_to_spare(quorum)
        if spare < 0:
            return -1
        lost = 0
        for count in sorted(self.online_per_node, reverse=True):
            if count > spare:
                break
            spare -= count
            lost += 1
        return lost


def erasure_sets(info: ServerInfo) -> list[ErasureSet]:
    """The erasure sets of every pool, from ``backend`` (set counts, set size, parity) and the drive list."""
    backend = info.backend
    drives_by_set: dict[tuple[int, int], list[tuple[str, Drive]]] = {}
    for server in info.servers:
        for drive in server.drives:
            drives_by_set.setdefault((drive.pool_index, drive.set_index), []).append((server.endpoint, drive))
    sets: list[ErasureSet] = []
    for pool, (count, size) in enumerate(zip(backend.total_sets, backend.drives_per_set, strict=False)):
        parity = backend.standard_sc_parity if backend.standard_sc_parity is not None else default_parity(size)
        for index in range(count):
            members = drives_by_set.get((pool, index), [])
            online = [(server, d) for server, d in members if d.state == "ok"]
            per_node = Counter(server for server, _ in online)
            sets.append(
                ErasureSet(
                    pool=pool,
                    index=index,
                    size=size,
                    parity=min(parity, size // 2),
                    online=len(online),
                    healing=sum(1 for _, d in online if d.healing),
                    online_per_node=tuple(sorted(per_node.values(), reverse=True)),
                )
            )
    return sets


def node_tolerance(sets: Sequence[ErasureSet], read: bool = False) -> int:
    """More nodes the cluster can lose, in the worst case, and keep write (or read) quorum in every set.

    Losing any set's quorum fails the cluster, so the answer is the smallest
    tolerance over the sets; -1 when a set has already lost it.
    """
    return min((s.nodes_to_spare(s.read_quorum if read else s.write_quorum) for s in sets), default=0)


def drive_tolerance(sets: Sequence[ErasureSet], read: bool = False) -> int:
    """More drives any one set can lose and keep write (or read) quorum (-1 when already lost)."""
    return min((s.drives_to_spare(s.read_quorum if read else s.write_quorum) for s in sets), default=0)


def tolerance_text(writes: int, reads: int) -> str:
    """ "can lose 1 more node and keep writing, 2 and keep reading" from the two node tolerances."""
    if writes < 0:
        return "write quorum already lost"
    if writes == 0:
        head = "cannot lose any node and keep writing"
    else:
        head = f"can lose {plural(writes, 'more node')} and keep writing"
    return f"{head}, {max(reads, 0)} and keep reading"
