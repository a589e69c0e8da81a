"""Alert levels: pure rules over an observation and what the channels were last told."""

from __future__ import annotations

from bot.config import Thresholds
from bot.report import Status
from bot.store.alerts import BASELINES, health_level

__all__ = ["BASELINE", "capacity_level", "health_level", "rank"]

HYSTERESIS_POINTS = 1.0
HEALTH_LEVELS = ("HEALTHY", "DEGRADED", "UNHEALTHY")
CAPACITY_LEVELS = ("OK", "PLAN", "ALERT", "CRITICAL")
BASELINE = BASELINES  # what a tenant seen for the first time starts from (the alert_state contract)
STATUS = {"HEALTHY": Status.HEALTHY, "DEGRADED": Status.DEGRADED, "UNHEALTHY": Status.UNHEALTHY,
          "OK": Status.HEALTHY, "PLAN": Status.INFO, "ALERT": Status.DEGRADED, "CRITICAL": Status.UNHEALTHY}


def capacity_level(pct_used: float, thresholds: Thresholds, previous: str) -> str:
    """The capacity level for `pct_used`: up at a threshold, down only once 1 point below it."""
    limits = (0.0, thresholds.plan, thresholds.alert, thresholds.critical)  # indexed like CAPACITY_LEVELS
    raw = max(rank for rank, limit in enumerate(limits) if pct_used >= limit)
    before = CAPACITY_LEVELS.index(previous) if previous in CAPACITY_LEVELS else 0
    # Falling: settle on the highest level (at most the previous one) still within the hysteresis band.
    for rank in range(before, raw, -1):
        if pct_used >= limits[rank] - HYSTERESIS_POINTS:
            return CAPACITY_LEVELS[rank]
    return CAPACITY_LEVELS[raw]


def rank(kind: str, level: str) -> int:
    """How bad `level` is among the levels of `kind` (health or capacity); 0 is the baseline."""
    levels = HEALTH_LEVELS if kind == "health" else CAPACITY_LEVELS
    return levels.index(level) if level in levels else 0
