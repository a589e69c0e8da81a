"""The shipped MinIO alert rules, unit-tested with Prometheus's own ``promtool test rules``.

Series are shaped like MinIO's v2 cluster metrics scraped from two pods of one
Tenant (every server reports the cluster, with its ``server`` label): an alert
must come once per tenant, not once per scraped pod, and carry the labels the
bot maps and routes by (``tenant``, ``job``, ``severity``, ``category``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

RULES = Path(__file__).resolve().parent.parent / "deploy" / "prometheus" / "minio-rules.yaml"
TENANT = {"job": "minio", "tenant": "demo"}
PODS = ("demo-pool-0-0:9000", "demo-pool-0-1:9000")


def _rules() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return {rule["alert"]: rule for group in doc["groups"] for rule in group["rules"]}


def _annotations(name: str, value: float) -> dict[str, str]:
    """The rule's annotations as Prometheus renders them for ``value``."""
    def render(text: str) -> str:
        text = re.sub(r'\{\{ \$value \| printf "%\.(\d)f" \}\}', lambda m: f"{value:.{int(m.group(1))}f}", text)
        return text.replace("{{ $value }}", f"{value:g}")

    return {k: render(v) for k, v in _rules()[name].get("annotations", {}).items()}


def _series(metric: str, values: str, server: str = PODS[0], **labels: str) -> list[dict[str, str]]:
    """The same server's sample as scraped through each pod."""
    out = []
    for pod in PODS:
        rendered = ",".join(f'{k}="{v}"' for k, v in {**TENANT, "instance": pod, "server": server, **labels}.items())
        out.append({"series": f"{metric}{{{rendered}}}", "values": values})
    return out


def _expect(name: str, value: float | None) -> dict[str, Any]:
    if value is None:
        return {"eval_time": "40m", "alertname": name, "exp_alerts": []}
    labels = {**TENANT, **_rules()[name]["labels"]}
    return {"eval_time": "40m", "alertname": name,
            "exp_alerts": [{"exp_labels": labels, "exp_annotations": _annotations(name, value)}]}


def _run(tmp_path: Path, series: list[dict[str, str]], expectations: list[dict[str, Any]]) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool was not found on PATH. Install it with: apt-get install -y prometheus", pytrace=False)
    shutil.copyfile(RULES, tmp_path / "minio-rules.yaml")
    test = {"rule_files": ["minio-rules.yaml"], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": expectations}]}
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", "test.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_node_offline_is_one_alert_per_tenant_and_its_drives_do_not_alert_again(tmp_path: Path) -> None:
    series = [
        *_series("minio_cluster_nodes_offline_total", "0 1x50"),
        *_series("minio_cluster_drive_offline_total", "0 2x50"),
        *_series("minio_cluster_health_status", "1x50"),
    ]
    _run(tmp_path, series, [_expect("MinioNodeOffline", 1), _expect("MinioDriveOffline", None),
                            _expect("MinioClusterUnhealthy", None)])


def test_a_drive_offline_alone_alerts_and_quorum_lost_is_critical(tmp_path: Path) -> None:
    series = [
        *_series("minio_cluster_nodes_offline_total", "0x50"),
        *_series("minio_cluster_drive_offline_total", "0 1x50"),
        *_series("minio_cluster_health_status", "1 0x50"),
    ]
    _run(tmp_path, series, [_expect("MinioDriveOffline", 1), _expect("MinioClusterUnhealthy", 0),
                            _expect("MinioNodeOffline", None)])


def test_capacity_over_80_percent_is_a_warning_not_yet_critical(tmp_path: Path) -> None:
    total = 1000 * 2**30
    series = [
        *_series("minio_cluster_capacity_usable_total_bytes", f"{total}x50"),
        *_series("minio_cluster_capacity_usable_free_bytes", f"{total * 0.15:.0f}x50"),
    ]
    _run(tmp_path, series, [_expect("MinioCapacityHigh", 85.0), _expect("MinioCapacityCritical", None)])


def test_auth_failures_and_latency_count_each_server_once_however_many_pods_are_scraped(tmp_path: Path) -> None:
    series = [
        *_series("minio_s3_requests_rejected_auth_total", "0+600x50"),  # 10 per second on one server
        *_series("minio_s3_requests_ttfb_seconds_distribution", "0+0x50", api="getobject", le="0.05"),
        *_series("minio_s3_requests_ttfb_seconds_distribution", "0+6000x50", api="getobject", le="5"),
        *_series("minio_s3_requests_ttfb_seconds_distribution", "0+6000x50", api="getobject", le="+Inf"),
    ]
    # p99 inside the 0.05..5 s bucket: 0.05 + 0.99 * 4.95 = 4.9505 s.
    _run(tmp_path, series, [_expect("MinioAuthFailures", 10.0), _expect("MinioHighRequestLatency", 4.9505)])
