"""Hedged calls: ask one MinIO node, and the next one too if the first fails or keeps the caller waiting.

Calls that any node can answer (admin ``info``, the cluster quorum probes,
bucket listing, the canary) start on one node and, if that node fails or has
not answered within ``HEDGE_S``, the next node is asked as well; the first good
answer wins. Each of those calls starts on a different node (``rotated``) so
that the load spreads and one hung node cannot stall them all.

Every hedged call runs inside the one fan-out of :func:`handlers.health.facts.gather_tenants`
and ends by its deadline; its attempts need their own threads because which node
answers is only known while they run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Generic, TypeVar

from bot.clients.errors import ClientError, MinioError

T = TypeVar("T")

# How long one node may keep a hedged call waiting before the next node is asked too. Short
# against the report deadline (12 s by default), long against a healthy answer (milliseconds).
HEDGE_S = 1.0
# Failures after which another node may answer (the kinds the client itself fails over on).
_MOVE_ON = frozenset({"unreachable", "timeout", "unavailable"})


class Once(Generic[T]):
    """Run ``fn`` at most once, from whichever thread asks first; later callers share its result or error.

    Several facts need the same client or the same Tenant object; this keeps
    them to one call without ordering the fan-out.
    """

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn
        self._lock = threading.Lock()
        self._done = False
        self._value: T | None = None
        self._error: BaseException | None = None

    def __call__(self) -> T:
        with self._lock:
            if not self._done:
                try:
                    self._value = self._fn()
                except BaseException as exc:  # noqa: BLE001 - re-raised to every caller below
                    self._error = exc
                self._done = True
        if self._error is not None:
            raise self._error
        return self._value  # type: ignore[return-value]

    @property
    def value(self) -> T | None:
        """The result if the call already succeeded, else None (never blocks)."""
        return self._value if self._done and self._error is None else None


def first_answer(
    attempt: Callable[[int], T], order: list[int], until: float, hedge_s: float = HEDGE_S,
    conclusive: Callable[[T], bool] | None = None, spread: int = 1,
) -> T:
    """Run ``attempt(node)`` on ``order[0]``, hedging to the next node on failure or after ``hedge_s``.

    Returns the first successful answer. ``conclusive`` tells an answer about the cluster from one
    that only speaks for the node (a node still starting): the next node is then asked at once, and
    the first inconclusive answer is returned only when no node gives a conclusive one. ``spread``
    nodes are asked from the start (for calls that wait on every peer, as admin ``info`` does: a node
    asked one hedge later answers one hedge too late). Raises the only error when one node was tried,
    a combined MinioError when every node failed, or a timeout error at ``until`` (a
    ``time.monotonic()`` instant). Abandoned attempts end on their own network timeouts.
    """
    if not order:
        raise MinioError("invalid", "MinIO cluster", "no nodes to ask")
    pool = ThreadPoolExecutor(max_workers=len(order), thread_name_prefix="hedge")
    futures: dict[Future[T], int] = {}
    judged: set[Future[T]] = set()
    errors: dict[int, ClientError] = {}
    inconclusive: list[T] = []
    queue = list(order)

    def launch() -> None:
        node = queue.pop(0)
        futures[pool.submit(attempt, node)] = node

    try:
        for _ in range(min(max(spread, 1), len(order))):
            launch()
        while True:
            remaining = until - time.monotonic()
            if remaining <= 0:
                break
            unjudged = [f for f in futures if f not in judged]
            done, _ = wait(
                unjudged, timeout=min(remaining, hedge_s) if queue else remaining, return_when=FIRST_COMPLETED
            )
            for future in done:
                judged.add(future)
                error = future.exception()
                if error is None:
                    result = future.result()
                    if conclusive is None or conclusive(result):
                        return result
                    inconclusive.append(result)
                    continue
                if not isinstance(error, ClientError) or error.kind not in _MOVE_ON:
                    raise error  # rejected keys, bad answers: every node would say the same
                errors[futures[future]] = error
            # Here a node failed, answered only for itself, or is merely slow: bring in the next one, if any.
            if queue:
                launch()
            elif len(judged) == len(futures):
                break
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if inconclusive:
        return inconclusive[0]
    return _no_answer(order, errors)


def _no_answer(order: list[int], errors: dict[int, ClientError]) -> Any:
    """Raise the error that explains why no node answered a hedged call."""
    if len(order) == 1 and errors:
        raise next(iter(errors.values()))
    tried = "; ".join(f"node {n}: {e.detail}" for n, e in errors.items())
    if len(errors) < len(order):
        missing = ", ".join(f"node {n}" for n in order if n not in errors)
        detail = f"no answer before the deadline from {missing}" + (f" ({tried})" if tried else "")
        raise MinioError("timeout", "MinIO cluster", detail)
    kinds = {e.kind for e in errors.values()}
    kind = next(iter(kinds)) if len(kinds) == 1 else "unreachable"
    raise MinioError(kind, "MinIO cluster", f"no node answered ({tried})")


def rotated(nodes: list[int], start: int) -> list[int]:
    """``nodes`` starting at position ``start`` (modulo), so hedged calls begin on different nodes."""
    if not nodes:
        return []
    shift = start % len(nodes)
    return nodes[shift:] + nodes[:shift]
