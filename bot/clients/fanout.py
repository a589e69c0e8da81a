"""Run independent client calls in parallel with one deadline for all of them.

A report is assembled from many sections; a slow or dead section must not hold
up the rest. ``fan_out`` returns by the deadline whatever happened: a result
or a :class:`ClientError` per key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar

from bot.clients.errors import ClientError

T = TypeVar("T")


def fan_out(
    calls: Mapping[str, Callable[[], T]],
    deadline_s: float,
    max_workers: int = 16,
) -> dict[str, T | ClientError]:
    """Run ``calls`` concurrently; return each key's result or error by ``deadline_s``.

    A call that raises ClientError keeps its error; any other exception becomes
    ``ClientError(kind="internal")`` (no traceback reaches a report); a call not
    finished by the deadline becomes ``ClientError(kind="timeout")``. The caller
    is never blocked past the deadline: the pool is shut down without waiting,
    and an abandoned call ends on its own network timeout.
    """
    results: dict[str, T | ClientError] = {}
    if not calls:
        return results
    start = time.monotonic()
    # A pool per call (not ``with``: its exit would join hung threads).
    pool = ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(calls))), thread_name_prefix="fan-out")
    futures: dict[Future[T], str] = {pool.submit(fn): key for key, fn in calls.items()}
    pending = set(futures)
    try:
        while pending:
            remaining = deadline_s - (time.monotonic() - start)
            if remaining <= 0:
                break
            done, pending = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
            for fut in done:
                key = futures[fut]
                exc = fut.exception()
                if exc is None:
                    results[key] = fut.result()
                elif isinstance(exc, ClientError):
                    results[key] = exc
                else:
                    # Only the exception type: its text may carry request details.
                    results[key] = ClientError("internal", key, f"unexpected {type(exc).__name__}")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    for fut in pending:
        key = futures[fut]
        results[key] = ClientError("timeout", key, f"no answer within {deadline_s:g} s")
    # Keep the caller's key order: reports render sections in that order.
    return {key: results[key] for key in calls}


def required(result: T | ClientError) -> T:
    """A fan-out result the caller cannot do without: its value, or its ClientError raised."""
    if isinstance(result, ClientError):
        raise result
    return result
