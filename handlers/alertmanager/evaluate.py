"""Pure rules over an Alertmanager notification: which tenant, which condition, what the group says.

Nothing here does I/O: the tenants, the configuration and the gathered facts
come in as arguments, so every rule is tested without a server.

Mapping an alert to a tenant tries, in order, for every cluster whose
``alert_labels.match`` the alert carries (and for static tenants, with
``alertmanager.labels``): a tenant label (``tenant``, ``v1_min_io_tenant``)
naming the tenant or its Tenant resource, in the alert's namespace when it has
one; the namespace label, when exactly one tenant lives there; the tenant's own
``prometheus_selector``; a node label (``instance``, ``server``) equal to one
of a static tenant's endpoints. The first rule that names exactly one tenant
decides; two tenants for one alert is ambiguous and says so.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum

from pydantic import Field

from bot.clients.alertmanager_models import Matcher, WebhookAlert, WebhookPayload
from bot.clients.errors import ClientError
from bot.config import AlertLabels, Config, TenantConfig, Thresholds
from bot.models import Frozen
from bot.report import Status, worst
from bot.store import AlertState
from bot.store.alerts import BASELINES, health_level
from handlers.capacity import CapacitySummary
from handlers.health import TenantHealth
from handlers.incidents.model import Diagnosis

MAX_LISTED = 10  # alerts kept (and shown) per group; the rest are counted
CATEGORY_LABEL = "category"  # the shipped rules say which diagnostics fit


class Condition(StrEnum):
    """What kind of problem an alert is about; decides the diagnostics and the de-duplication key."""

    HEALTH = "health"  # nodes, drives, quorum
    CAPACITY = "capacity"
    PERFORMANCE = "performance"
    SECURITY = "security"


_CATEGORIES = {
    "availability": Condition.HEALTH,
    "health": Condition.HEALTH,
    "capacity": Condition.CAPACITY,
    "performance": Condition.PERFORMANCE,
    "latency": Condition.PERFORMANCE,
    "security": Condition.SECURITY,
}
# For rules that carry no category: words in the alert name, most specific first.
_KEYWORDS: tuple[tuple[Condition, tuple[str, ...]], ...] = (
    (Condition.CAPACITY, ("capacity", "full", "space", "usage", "quota", "fill")),
    (Condition.SECURITY, ("auth", "security", "cert", "tls", "credential", "forbidden")),
    (Condition.PERFORMANCE, ("latency", "slow", "ttfb", "perf", "waiting", "throughput")),
)
# The conditions that have a row in the alert-state table (what the channel was last told; bot.store.alerts).
BASELINE = {Condition.HEALTH: BASELINES["health"], Condition.CAPACITY: BASELINES["capacity"]}
_SEVERITY = {"critical": Status.UNHEALTHY, "page": Status.UNHEALTHY, "error": Status.UNHEALTHY,
             "warning": Status.DEGRADED, "info": Status.INFO, "none": Status.INFO}
_INCIDENT_SEVERITY = {Status.UNHEALTHY: "P1", Status.DEGRADED: "P2"}


def condition_of(labels: Mapping[str, str]) -> Condition:
    """The condition an alert is about: its ``category`` label, else words in its name, else health."""
    category = labels.get(CATEGORY_LABEL, "").lower()
    if category in _CATEGORIES:
        return _CATEGORIES[category]
    name = labels.get("alertname", "").lower()
    for condition, words in _KEYWORDS:
        if any(word in name for word in words):
            return condition
    return Condition.HEALTH


def conditions_of(alerts: Iterable[WebhookAlert]) -> list[Condition]:
    """The distinct conditions of a group's alerts, in a fixed order."""
    found = {condition_of(a.labels) for a in alerts}
    return [c for c in Condition if c in found]


def severity_status(labels: Mapping[str, str]) -> Status:
    """What the alert's ``severity`` label means as a verdict (DEGRADED when it has none or an unknown one)."""
    return _SEVERITY.get(labels.get("severity", "").lower(), Status.DEGRADED)


def incident_severity(status: Status) -> str:
    """P1 for a critical alert, P2 for a warning, P3 otherwise."""
    return _INCIDENT_SEVERITY.get(status, "P3")


# ----------------------------------------------------------------------------- tenant mapping


class TenantMatch(Frozen):
    """Where a group's alerts belong: a tenant, or the reason none was found."""

    tenant: str | None
    reason: str = ""


# One Prometheus label matcher (name, operator, quoted value), then a comma or the end.
_MATCHER = re.compile(r'\s{0,}([a-zA-Z_]\w{0,})\s{0,}(=~|!~|!=|=)\s{0,}"([^"\\]{0,})"\s{0,}(?:,|$)')


def selector_matches(selector: str, labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy every matcher of a ``prometheus_selector`` (``job="minio", env=~"prod.*"``)."""
    matchers = _MATCHER.findall(selector)
    if not matchers:
        return False
    for name, op, value in matchers:
        actual = labels.get(name, "")
        if op in ("=~", "!~"):
            try:
                hit = re.fullmatch(value, actual) is not None
            except re.error:
                return False
            if hit != (op == "=~"):
                return False
        elif (actual == value) != (op == "="):
            return False
    return True


def _host_port(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


def _first(labels: Mapping[str, str], names: list[str]) -> str | None:
    return next((labels[n] for n in names if labels.get(n)), None)


def _scopes(labels: Mapping[str, str], config: Config) -> list[tuple[str | None, AlertLabels]]:
    """(cluster name or None for static tenants, its label names) for every scope this alert may come from."""
    scopes: list[tuple[str | None, AlertLabels]] = []
    for cluster in config.clusters:
        settings = cluster.alert_labels or config.alertmanager.labels
        if all(labels.get(k) == v for k, v in settings.match.items()):
            scopes.append((cluster.name, settings))
    scopes.append((None, config.alertmanager.labels))
    return scopes


def _in_scope(tenant: TenantConfig, cluster: str | None) -> bool:
    return tenant.kubernetes.cluster == cluster if tenant.kubernetes else cluster is None


def _rule_hits(rule: str, labels: Mapping[str, str], tenants: list[TenantConfig], names: AlertLabels) -> set[str]:
    namespace = _first(labels, names.namespace)
    if rule == "tenant":
        value = _first(labels, names.tenant)
        return {
            t.name for t in tenants
            if value in (t.name, t.tenant_name)
            and (namespace is None or t.kubernetes is None or t.kubernetes.namespace == namespace)
        } if value else set()
    if rule == "namespace":
        return {t.name for t in tenants if namespace and t.kubernetes and t.kubernetes.namespace == namespace}
    if rule == "selector":
        return {t.name for t in tenants if t.prometheus_selector and selector_matches(t.prometheus_selector, labels)}
    nodes = {labels[n] for n in names.node if labels.get(n)}
    return {t.name for t in tenants if nodes & {_host_port(e) for e in t.endpoints}}


def map_alert(labels: Mapping[str, str], tenants: list[TenantConfig], config: Config) -> TenantMatch:
    """The tenant one alert belongs to (see the module docstring for the order of the rules)."""
    scopes = _scopes(labels, config)
    for rule in ("tenant", "namespace", "selector", "node"):
        hits: set[str] = set()
        for cluster, names in scopes:
            hits |= _rule_hits(rule, labels, [t for t in tenants if _in_scope(t, cluster)], names)
        if len(hits) == 1:
            return TenantMatch(tenant=hits.pop())
        if len(hits) > 1:
            return TenantMatch(tenant=None, reason=f"its labels fit several tenants ({', '.join(sorted(hits))})")
    shown = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "alertname")[:300]
    return TenantMatch(tenant=None, reason=f"no tenant matches its labels ({shown or 'none'})")


def map_group(alerts: list[WebhookAlert], tenants: list[TenantConfig], config: Config) -> TenantMatch:
    """The one tenant a group's alerts belong to; unmapped when none does or when they span several."""
    found: dict[str, int] = {}
    first_reason = ""
    cache: dict[tuple[tuple[str, str], ...], TenantMatch] = {}
    for alert in alerts:
        key = tuple(sorted(alert.labels.items()))
        match = cache.get(key)
        if match is None:
            match = cache[key] = map_alert(alert.labels, tenants, config)
        if match.tenant is None:
            first_reason = first_reason or match.reason
        else:
            found[match.tenant] = found.get(match.tenant, 0) + 1
    if len(found) == 1:
        return TenantMatch(tenant=next(iter(found)))
    if found:
        names = ", ".join(sorted(found))
        return TenantMatch(tenant=None, reason=f"the group holds alerts of several tenants ({names}); "
                                               "group by tenant in Alertmanager's route")
    return TenantMatch(tenant=None, reason=first_reason or "no alert in the group names a tenant")


# ----------------------------------------------------------------------------- the group, summarised


class AlertLine(Frozen):
    """One alert as the message lists it."""

    name: str
    status: str
    severity: str = ""
    summary: str = ""
    labels: dict[str, str] = Field(default_factory=dict)  # the labels the group does not share
    starts_at: datetime
    ends_at: datetime | None = None


class GroupRecord(Frozen):
    """What fired, as stored with the group: enough to redraw its message at any later time."""

    status: str
    title: str
    summary: str = ""
    receiver: str = ""
    severity: Status = Status.DEGRADED
    conditions: list[Condition] = Field(default_factory=list)
    alerts: list[AlertLine] = Field(default_factory=list)
    total: int = 0
    firing: int = 0
    truncated: int = 0
    common_labels: dict[str, str] = Field(default_factory=dict)
    matchers: list[Matcher] = Field(default_factory=list)  # a silence for the group matches these
    started_at: datetime
    ended_at: datetime | None = None
    external_url: str = ""
    tenant: str | None = None
    unmapped_reason: str = ""


def _alert_line(alert: WebhookAlert, common: Mapping[str, str]) -> AlertLine:
    own = {k: v for k, v in alert.labels.items() if common.get(k) != v and k != "alertname"}
    ends = alert.ends_at if alert.ends_at is not None and alert.ends_at.year > 1 else None
    return AlertLine(
        name=alert.name or "(no alertname)", status=alert.status, severity=alert.labels.get("severity", ""),
        summary=alert.annotations.get("summary", "")[:300], labels=dict(sorted(own.items())[:6]),
        starts_at=alert.starts_at, ends_at=ends if alert.status == "resolved" else None,
    )


def summarize_group(payload: WebhookPayload, match: TenantMatch) -> GroupRecord:
    """The group as stored and shown: title, worst severity, conditions, the first alerts, the matchers."""
    alerts = sorted(payload.alerts, key=lambda a: (a.status != "firing", a.starts_at))
    common = payload.common_labels
    names = sorted({a.name for a in payload.alerts if a.name})
    title = names[0] if len(names) == 1 else f"{len(names)} alert rules" if names else "Alert"
    severities = [severity_status(a.labels) for a in payload.alerts]
    labels = payload.group_labels or common
    ended = [a.ends_at for a in payload.alerts if a.ends_at is not None and a.ends_at.year > 1]
    return GroupRecord(
        status=payload.status,
        title=title,
        summary=payload.common_annotations.get("summary", "")[:300],
        receiver=payload.receiver,
        severity=worst(severities, Status.DEGRADED),
        conditions=conditions_of(payload.alerts),
        alerts=[_alert_line(a, common) for a in alerts[:MAX_LISTED]],
        total=len(payload.alerts),
        firing=len(payload.firing),
        truncated=payload.truncated_alerts,
        common_labels=dict(common),
        matchers=[Matcher(name=k, value=v) for k, v in sorted(labels.items())],
        started_at=min(a.starts_at for a in payload.alerts),
        ended_at=max(ended) if payload.status == "resolved" and ended else None,
        external_url=payload.external_url,
        tenant=match.tenant,
        unmapped_reason=match.reason,
    )


# ----------------------------------------------------------------------------- verdict and the bot's own alerts


def capacity_level(pct_used: float, thresholds: Thresholds) -> str:
    """OK / PLAN / ALERT / CRITICAL: the highest threshold ``pct_used`` has reached."""
    level = "OK"
    for name, limit in (("PLAN", thresholds.plan), ("ALERT", thresholds.alert), ("CRITICAL", thresholds.critical)):
        if pct_used >= limit:
            level = name
    return level


def told_already(state: AlertState | None, condition: Condition) -> bool:
    """Whether the bot's own alert already told the channel of a problem with this condition (and where)."""
    return (
        state is not None and condition in BASELINE and state.state != BASELINE[condition]
        and state.message_ts is not None
    )




# ----------------------------------------------------------------------------- what the diagnostics found

Observation = TenantHealth | CapacitySummary | Diagnosis | ClientError
"""One diagnostic's result, or why it is missing."""


class Verdict(Frozen):
    """The bot's verdict over the diagnostics it ran for a group, and the levels its own alerts use."""

    status: Status
    health_level: str | None = None
    capacity_level: str | None = None


def verdict(observations: Mapping[Condition, Observation], thresholds: Thresholds) -> Verdict:
    """Worst status over what was found (UNKNOWN when nothing could be checked), plus the alert levels."""
    statuses: list[Status] = []
    health_at: str | None = None
    capacity_at: str | None = None
    for observed in observations.values():
        if isinstance(observed, TenantHealth):
            statuses.append(observed.status)
            health_at = health_level(observed.status)
        elif isinstance(observed, CapacitySummary):
            if observed.ok and observed.pct_used is not None:
                statuses.append(observed.status)
                capacity_at = capacity_level(observed.pct_used, thresholds)
        elif isinstance(observed, Diagnosis):
            statuses += [s.status for s in observed.sections if s.status and s.status is not Status.UNKNOWN]
    return Verdict(status=worst(statuses, Status.UNKNOWN), health_level=health_at, capacity_level=capacity_at)
