"""Alerts: tell a channel when a tenant's health or capacity changes, once, and again when it clears.

Every few minutes (the leader only) the bot checks each tenant's health
(HEALTHY, DEGRADED, UNHEALTHY) and capacity against its thresholds (OK, PLAN,
ALERT, CRITICAL). A change is posted once to every channel that sees the tenant
(or to that channel's `alerts_to` route), and a recovery message follows when it
clears. Capacity falls back a level only once usage is a point below the
threshold, so a tenant hovering at the line does not post every check. Nothing
is posted during a maintenance window; after it, the first check says what the
work left behind (or fixed).

Modules: `facts` (health and capacity of every tenant: one fan-out, one
deadline), `evaluate` (levels and hysteresis, pure), `present` (the posts),
`notify` (compare with what channels were last told, post, remember).
"""

from __future__ import annotations

from bot.application import Capability, Job
from handlers.alerts.evaluate import capacity_level, health_level
from handlers.alerts.facts import AlertSources
from handlers.alerts.notify import AlertEvent, evaluate_alerts

__all__ = ["AlertEvent", "AlertSources", "capability", "capacity_level", "evaluate_alerts", "health_level"]

capability = Capability("alerts", __doc__)
capability.job(Job.ALERTS)(evaluate_alerts)
