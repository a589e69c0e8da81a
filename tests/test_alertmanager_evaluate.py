"""Pure rules of alert-driven incidents: which tenant an alert is about, which checks fit, what the group says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from bot.clients.alertmanager_models import WebhookAlert, WebhookPayload
from bot.clients.errors import ClientError
from bot.config import Config, Thresholds, parse_config
from bot.report import Section, Status
from bot.store import AlertState
from handlers.alertmanager.evaluate import (
    Condition,
    capacity_level,
    condition_of,
    map_alert,
    map_group,
    selector_matches,
    summarize_group,
    told_already,
    verdict,
)
from handlers.capacity import CapacitySummary
from handlers.health import TenantHealth

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def config(**extra: Any) -> Config:
    data: dict[str, Any] = {
        "clusters": [
            {"name": "prod", "kubeconfig": "/dev/null", "alert_labels": {"match": {"cluster": "prod"}}},
            {"name": "lab", "kubeconfig": "/dev/null"},
        ],
        "tenants": [
            {"name": "analytics", "kubernetes": {"cluster": "prod", "namespace": "minio-analytics", "tenant": "an"}},
            {"name": "logs", "kubernetes": {"cluster": "prod", "namespace": "minio-logs"}},
            {"name": "logs-b", "kubernetes": {"cluster": "prod", "namespace": "minio-logs"}},
            {"name": "lab", "kubernetes": {"cluster": "lab", "namespace": "minio-lab"}},
            {"name": "legacy", "endpoints": ["http://10.0.0.1:9000", "http://10.0.0.2:9000"],
             "credentials": {"access_key_env": "A", "secret_key_env": "S"}},
            {"name": "metrics-only", "endpoints": ["http://10.0.1.1:9000"],
             "credentials": {"access_key_env": "A", "secret_key_env": "S"}, "prometheus_selector": 'job="mo"'},
        ],
    }
    data.update(extra)
    return parse_config(yaml.safe_dump(data))


def alert(status: str = "firing", **labels: str) -> WebhookAlert:
    return WebhookAlert.model_validate({
        "status": status, "labels": {"alertname": "MinioNodeOffline", **labels},
        "annotations": {"summary": "1 MinIO node(s) offline"}, "startsAt": NOW.isoformat(),
        "endsAt": "0001-01-01T00:00:00Z", "fingerprint": str(abs(hash(tuple(sorted(labels.items()))))),
    })


def tenant_of(labels: dict[str, str], cfg: Config | None = None) -> str | None:
    cfg = cfg or config()
    return map_alert(labels, cfg.tenants, cfg).tenant


def test_a_tenant_label_names_the_tenant_or_its_tenant_resource() -> None:
    assert tenant_of({"tenant": "logs", "cluster": "prod"}) == "logs"
    assert tenant_of({"v1_min_io_tenant": "an", "namespace": "minio-analytics", "cluster": "prod"}) == "analytics"


def test_the_namespace_decides_when_exactly_one_tenant_lives_there() -> None:
    assert tenant_of({"namespace": "minio-analytics", "cluster": "prod"}) == "analytics"
    cfg = config()
    two = map_alert({"namespace": "minio-logs", "cluster": "prod"}, cfg.tenants, cfg)
    assert two.tenant is None and "several tenants (logs, logs-b)" in two.reason


def test_a_cluster_is_only_matched_by_alerts_that_carry_its_labels() -> None:
    # prod's alerts carry cluster="prod"; without it, the namespace minio-analytics names nothing in lab.
    assert tenant_of({"namespace": "minio-analytics"}) is None
    assert tenant_of({"namespace": "minio-lab"}) == "lab"
    assert tenant_of({"namespace": "minio-lab", "cluster": "prod"}) == "lab"  # lab has no match labels: any


def test_static_tenants_by_their_selector_or_an_endpoint() -> None:
    assert tenant_of({"job": "mo", "instance": "somewhere:9000"}) == "metrics-only"
    assert tenant_of({"instance": "10.0.0.2:9000", "job": "minio"}) == "legacy"


def test_unknown_labels_map_to_no_tenant_and_say_which_labels() -> None:
    cfg = config()
    match = map_alert({"alertname": "Weird", "team": "storage", "zone": "b"}, cfg.tenants, cfg)
    assert match.tenant is None
    assert 'team="storage"' in match.reason and 'zone="b"' in match.reason


def test_the_label_names_are_configurable() -> None:
    cfg = config(alertmanager={"labels": {"tenant": ["minio_tenant"], "node": ["host"]}})
    assert tenant_of({"minio_tenant": "legacy"}, cfg) == "legacy"
    assert tenant_of({"tenant": "legacy"}, cfg) is None
    assert tenant_of({"host": "10.0.0.1:9000"}, cfg) == "legacy"


def test_a_group_spanning_two_tenants_is_not_guessed() -> None:
    cfg = config()
    match = map_group([alert(tenant="legacy"), alert(tenant="metrics-only")], cfg.tenants, cfg)
    assert match.tenant is None and "several tenants (legacy, metrics-only)" in match.reason
    assert map_group([alert(tenant="legacy"), alert(unknown="x")], cfg.tenants, cfg).tenant == "legacy"


def test_selectors_follow_prometheus_matchers() -> None:
    labels = {"job": "minio-prod", "env": "prod"}
    assert selector_matches('job=~"minio-.*", env!="dev"', labels)
    assert not selector_matches('job="minio"', labels)
    assert not selector_matches('job!~"minio.*"', labels)
    assert not selector_matches('job=~"minio"', labels), "regex matchers are anchored"
    assert not selector_matches("", labels)


def test_the_checks_that_fit_follow_the_category_then_the_name() -> None:
    assert condition_of({"alertname": "Anything", "category": "capacity"}) is Condition.CAPACITY
    assert condition_of({"alertname": "MinioCapacityHigh"}) is Condition.CAPACITY
    assert condition_of({"alertname": "MinioHighRequestLatency"}) is Condition.PERFORMANCE
    assert condition_of({"alertname": "MinioAuthFailures"}) is Condition.SECURITY
    assert condition_of({"alertname": "MinioDriveOffline"}) is Condition.HEALTH
    assert condition_of({"alertname": "SomethingElse"}) is Condition.HEALTH


def _payload(alerts: list[WebhookAlert], status: str = "firing", **extra: Any) -> WebhookPayload:
    return WebhookPayload.model_validate({
        "version": "4", "groupKey": '{}:{alertname="MinioNodeOffline"}', "status": status, "receiver": "bot",
        "groupLabels": {"alertname": "MinioNodeOffline"}, "commonLabels": {"alertname": "MinioNodeOffline"},
        "alerts": [a.model_dump(by_alias=True, mode="json") for a in alerts], **extra,
    })


def test_a_thousand_alerts_are_counted_and_ten_listed() -> None:
    alerts = [alert(tenant="legacy", instance=f"10.0.0.{i % 250}:{9000 + i}", severity="warning") for i in range(999)]
    alerts.append(alert(tenant="legacy", instance="10.0.9.9:9000", severity="critical"))
    cfg = config()
    payload = _payload(alerts, truncatedAlerts=5)
    record = summarize_group(payload, map_group(payload.alerts, cfg.tenants, cfg))
    assert record.total == 1000 and record.firing == 1000 and len(record.alerts) == 10
    assert record.tenant == "legacy" and record.truncated == 5
    assert record.severity is Status.UNHEALTHY, "the worst severity of the group"
    assert [(m.name, m.value) for m in record.matchers] == [("alertname", "MinioNodeOffline")]


def test_levels_the_bot_s_own_alerts_use() -> None:
    thresholds = Thresholds(plan=70, alert=80, critical=90)
    assert [capacity_level(p, thresholds) for p in (10, 70, 85, 95)] == ["OK", "PLAN", "ALERT", "CRITICAL"]
    told = AlertState(key="health:demo", state="DEGRADED", since=NOW, last_notified_at=NOW, message_ts="1.1")
    assert told_already(told, Condition.HEALTH)
    assert not told_already(told.model_copy(update={"state": "HEALTHY"}), Condition.HEALTH)
    assert not told_already(told.model_copy(update={"message_ts": None}), Condition.HEALTH)
    assert not told_already(None, Condition.HEALTH)
    assert not told_already(told, Condition.PERFORMANCE), "the bot's own alerts know health and capacity only"


def test_the_verdict_is_the_worst_finding_and_unknown_when_nothing_answered() -> None:
    health = TenantHealth(tenant="demo", status=Status.DEGRADED, reasons=["node 2 offline"],
                          sections=[Section(title="MinIO service", status=Status.DEGRADED)],
                          checked_at=NOW)
    capacity = CapacitySummary(tenant="demo", ok=True, pct_used=85.0, status=Status.DEGRADED)
    found = verdict({Condition.HEALTH: health, Condition.CAPACITY: capacity}, Thresholds())
    assert (found.status, found.health_level, found.capacity_level) == (Status.DEGRADED, "DEGRADED", "ALERT")
    nothing = verdict({Condition.HEALTH: ClientError("timeout", "health", "no answer")}, Thresholds())
    assert (nothing.status, nothing.health_level) == (Status.UNKNOWN, None)


def test_resolved_groups_keep_when_they_ended() -> None:
    ended = NOW + timedelta(minutes=7)
    resolved = alert("resolved", tenant="legacy").model_copy(update={"ends_at": ended})
    payload = _payload([resolved], status="resolved")
    cfg = config()
    record = summarize_group(payload, map_group(payload.alerts, cfg.tenants, cfg))
    assert record.status == "resolved" and record.ended_at == ended and record.firing == 0
