"""Following a change after it was made: poll, report what changed, stop at done, failed or timeout.

Rollouts, new pools, PVC resizes and decommissions all finish on their own
time (seconds to days). :func:`follow` polls an ``observe`` function, sends a
progress line only when the observed line changes (plus a heartbeat while
nothing moves), and tolerates read errors while components restart. The
engine's progress thread edits one message at most every 10 s, so a long
rollout costs a bounded number of Slack calls however often this polls.

The clock and sleep live in :data:`pacing` so tests and the benchmark can
run a 30-minute rollout in milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot import humanize
from bot.clients.errors import ClientError
from bot.clients.kube_models import TenantInfo, operator_error
from bot.config import ClusterConfig, TenantConfig

HEARTBEAT_S = 300.0  # a "still waiting" line at most this often when nothing changes


@dataclass
class Pacing:
    """Where following gets the time and how it waits (replaced by a fake clock in the benchmark)."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


pacing = Pacing()


class Phase(StrEnum):
    """Where a followed change is."""

    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class Observation:
    """One look at a change: its phase and a line describing it."""

    phase: Phase
    line: str


@dataclass(frozen=True)
class FollowResult:
    """How following ended: the last observation (or error), and how long it took."""

    phase: Phase
    line: str
    elapsed_s: float
    polls: int


OPERATOR_REJECTED = "the operator rejected the change: "


def operator_rejection(info: TenantInfo) -> Observation | None:
    """FAILED at once when the operator's controller refused the Tenant (its error in ``currentState``), else None.

    The controller validates a spec only after the API server stored it; while the error
    stands it rolls nothing out, so a follower that waited would only wait for its timeout.
    Every follower that reads the Tenant asks this right after reading it.
    """
    error = operator_error(info)
    return None if error is None else Observation(Phase.FAILED, OPERATOR_REJECTED + error)


def follow_limits(owner: TenantConfig | ClusterConfig) -> tuple[float, float]:
    """(timeout, poll interval) in seconds from the tenant's (or, for the operator, the cluster's) ``rollout``."""
    return owner.rollout.timeout_minutes * 60, owner.rollout.poll_seconds


def follow(
    observe: Callable[[], Observation],
    progress: Callable[[str], None],
    *,
    timeout_s: float,
    poll_s: float,
    what: str,
) -> FollowResult:
    """Poll ``observe`` until it reports done or failed, or ``timeout_s`` passes.

    A ClientError while observing is reported once per distinct message and
    polling goes on (pods and MinIO nodes restart during rollouts); the
    timeout still bounds the whole wait.
    """
    clock, sleep = pacing.clock, pacing.sleep
    started = clock()
    last_line = ""
    last_said = started
    polls = 0
    while True:
        polls += 1
        try:
            seen = observe()
        except ClientError as exc:
            seen = Observation(Phase.RUNNING, f"could not read the state ({exc}); still waiting")
        now = clock()
        if seen.line != last_line:
            progress(seen.line)
            last_line, last_said = seen.line, now
        elif now - last_said >= HEARTBEAT_S:
            progress(f"still waiting for {what} ({humanize.duration(now - started)}): {seen.line}")
            last_said = now
        if seen.phase in (Phase.DONE, Phase.FAILED):
            return FollowResult(seen.phase, seen.line, now - started, polls)
        if now - started >= timeout_s:
            return FollowResult(Phase.TIMEOUT, seen.line, now - started, polls)
        sleep(min(poll_s, max(0.0, timeout_s - (now - started))))
