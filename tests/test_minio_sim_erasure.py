"""Erasure-set math of the simulator, checked against the shapes in minio-facts.md."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.minio_sim import erasure


@pytest.mark.parametrize(
    ("nodes", "drives", "set_size", "sets"),
    [
        (4, 2, 8, 1),  # the facts' examples
        (4, 4, 16, 1),
        (4, 8, 16, 2),
        (4, 6, 12, 2),
        (1, 1, 1, 1),
        (1, 4, 4, 1),
        (2, 2, 4, 1),
        (8, 2, 16, 1),
        (16, 1, 16, 1),
        (32, 1, 16, 2),
    ],
)
def test_set_size_is_largest_symmetric_divisor(nodes: int, drives: int, set_size: int, sets: int) -> None:
    assert erasure.choose_set_size(nodes, drives) == set_size
    assert erasure.set_count(nodes, drives) == sets


def test_shape_without_a_symmetric_set_size_is_rejected() -> None:
    with pytest.raises(ValueError, match="no erasure set size"):
        erasure.choose_set_size(17, 1)


@pytest.mark.parametrize(
    ("set_size", "parity"), [(1, 0), (2, 1), (3, 1), (4, 2), (5, 2), (6, 3), (7, 3), (8, 4), (12, 4), (16, 4)]
)
def test_default_parity_by_set_size(set_size: int, parity: int) -> None:
    assert erasure.default_parity(set_size) == parity


@pytest.mark.parametrize(
    ("set_size", "parity", "write", "read"),
    [(8, 4, 5, 4), (16, 4, 12, 12), (12, 4, 8, 8), (4, 2, 3, 2), (8, 2, 6, 6), (6, 3, 4, 3)],
)
def test_quorums(set_size: int, parity: int, write: int, read: int) -> None:
    # Write quorum gains one drive exactly when data == parity (split-brain protection).
    assert erasure.write_quorum(set_size, parity) == write
    assert erasure.read_quorum(set_size, parity) == read


def test_parity_above_half_the_set_is_invalid() -> None:
    with pytest.raises(ValueError):
        erasure.validate_parity(8, 5)


@given(nodes=st.integers(1, 16), drives=st.integers(1, 16))
def test_layout_spreads_each_set_evenly_over_nodes(nodes: int, drives: int) -> None:
    try:
        size = erasure.choose_set_size(nodes, drives)
    except ValueError:
        return
    slots = erasure.layout_pool(nodes, drives)
    assert len(slots) == nodes * drives
    assert len({(s.node_offset, s.drive) for s in slots}) == nodes * drives
    by_set: dict[int, Counter[int]] = {}
    for slot in slots:
        by_set.setdefault(slot.set_index, Counter())[slot.node_offset] += 1
    for per_node in by_set.values():
        assert sum(per_node.values()) == size
        # Every node that holds drives of a set holds the same number of them.
        assert len(set(per_node.values())) == 1
