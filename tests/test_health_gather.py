"""Gathering helpers: hedged "any node" calls and run-once facts, without a network."""

from __future__ import annotations

import threading
import time

import pytest

from bot.clients.errors import MinioError
from handlers.health.hedging import Once, first_answer, rotated


def test_the_first_node_that_answers_wins() -> None:
    assert first_answer(lambda n: f"node {n}", [1, 2, 3], until=time.monotonic() + 2) == "node 1"


def test_a_refusing_node_hands_over_to_the_next_at_once() -> None:
    def attempt(node: int) -> str:
        if node == 1:
            raise MinioError("unreachable", f"MinIO node {node}", "connection refused")
        return f"node {node}"

    started = time.monotonic()
    assert first_answer(attempt, [1, 2], until=started + 2, hedge_s=1.0) == "node 2"
    assert time.monotonic() - started < 0.5


def test_a_hung_node_is_hedged_after_hedge_s() -> None:
    release = threading.Event()

    def attempt(node: int) -> str:
        if node == 1:
            release.wait(5)
        return f"node {node}"

    started = time.monotonic()
    try:
        assert first_answer(attempt, [1, 2], until=started + 3, hedge_s=0.2) == "node 2"
        assert 0.2 <= time.monotonic() - started < 1.0
    finally:
        release.set()


def test_when_every_node_fails_the_error_names_each_node() -> None:
    def attempt(node: int) -> str:
        raise MinioError("unreachable", f"MinIO node {node}", "connection refused")

    with pytest.raises(MinioError) as err:
        first_answer(attempt, [1, 2], until=time.monotonic() + 2)
    assert err.value.kind == "unreachable"
    assert "node 1: connection refused" in str(err.value) and "node 2: connection refused" in str(err.value)


def test_a_definitive_error_is_not_retried_on_other_nodes() -> None:
    asked: list[int] = []

    def attempt(node: int) -> str:
        asked.append(node)
        raise MinioError("auth", f"MinIO node {node}", "rejected the credentials")

    with pytest.raises(MinioError) as err:
        first_answer(attempt, [1, 2, 3], until=time.monotonic() + 2)
    assert err.value.kind == "auth" and asked == [1]


def test_the_deadline_bounds_a_call_no_node_answers() -> None:
    release = threading.Event()

    def attempt(node: int) -> str:
        release.wait(5)
        return "late"

    started = time.monotonic()
    try:
        with pytest.raises(MinioError) as err:
            first_answer(attempt, [1, 2], until=started + 0.5, hedge_s=0.1)
        assert time.monotonic() - started < 1.0
        assert err.value.kind == "timeout" and "node 1, node 2" in str(err.value)
    finally:
        release.set()


def test_hedged_calls_start_on_different_nodes() -> None:
    assert rotated([1, 2, 3, 4], 1) == [2, 3, 4, 1]
    assert rotated([1, 2], 3) == [2, 1]
    assert rotated([], 2) == []


def test_a_shared_fact_is_fetched_once_and_its_error_shared() -> None:
    calls: list[int] = []

    def fetch() -> int:
        calls.append(1)
        time.sleep(0.05)
        return 42

    once = Once(fetch)
    threads = [threading.Thread(target=once) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert once() == 42 and once.value == 42 and len(calls) == 1

    def fail() -> int:
        raise MinioError("auth", "MinIO node 1", "rejected")

    failing = Once(fail)
    for _ in range(2):
        with pytest.raises(MinioError):
            failing()
    assert failing.value is None


def test_a_node_that_answers_only_for_itself_hands_over_to_the_next() -> None:
    # A starting node's 503 says nothing about the cluster: the next node is asked.
    answer = first_answer(lambda n: ("starting" if n == 1 else "quorum met", n), [1, 2],
                          until=time.monotonic() + 5, conclusive=lambda a: a[0] != "starting")
    assert answer == ("quorum met", 2)


def test_when_every_node_answers_only_for_itself_the_first_such_answer_is_returned() -> None:
    answer = first_answer(lambda n: ("starting", n), [1, 2, 3], until=time.monotonic() + 2,
                          conclusive=lambda a: a[0] != "starting")
    assert answer == ("starting", 1)


def test_spread_asks_several_nodes_from_the_start() -> None:
    # For calls that wait on every peer (admin info): node 1 hangs, node 2 is asked at once, not a hedge later.
    release = threading.Event()
    asked: list[int] = []

    def attempt(node: int) -> str:
        asked.append(node)
        if node == 1:
            release.wait(5)
        return f"node {node}"

    try:
        assert first_answer(attempt, [1, 2, 3], until=time.monotonic() + 3, hedge_s=20, spread=2) == "node 2"
        assert sorted(asked) == [1, 2], "node 3 is not needed"
    finally:
        release.set()
