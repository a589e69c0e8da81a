"""Bucket replication: the simulator answers GetBucketReplication, the client types it, data-loss reports it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.clients import MinioClient, MinioError, Timeouts
from bot.report import Status
from handlers.incidents.diagnostics import diagnose
from handlers.incidents.model import IncidentType
from sandbox.minio_sim import SimCluster
from sandbox.minio_sim.entities import ReplicationRule
from tests.fixtures.minio import s3_client, sim_http
from tests.reading import plain
from tests.test_incident_env import EnvFactory, section, tenant_doc, texts

pytest_plugins = ["tests.test_incident_env"]


def client_for(cluster: SimCluster) -> MinioClient:
    return MinioClient(
        cluster.endpoints,
        cluster.access_key,
        SecretStr(cluster.secret_key),
        region=cluster.region,
        timeouts=Timeouts(connect=1.0, read=3.0),
    )


# ---------------------------------------------------------------- simulator


def test_simulator_answers_get_bucket_replication_as_the_sdk_expects(minio_cluster: SimCluster) -> None:
    s3 = s3_client(minio_cluster)
    s3.make_bucket("logs")
    # None configured: MinIO's 404 ReplicationConfigurationNotFoundError, which the SDK turns into None.
    assert s3.get_bucket_replication("logs") is None

    minio_cluster.set_bucket_replication(
        "logs", [ReplicationRule("to-dr", "dr-logs"), ReplicationRule("old", "dr-old", enabled=False, priority=2)]
    )
    config = s3.get_bucket_replication("logs")
    assert config is not None
    assert [(r.rule_id, r.status, r.priority) for r in config.rules] == [
        ("to-dr", "Enabled", 1),
        ("old", "Disabled", 2),
    ]
    assert [r.destination.bucket_arn for r in config.rules if r.destination] == [
        "arn:aws:s3:::dr-logs",
        "arn:aws:s3:::dr-old",
    ]

    minio_cluster.set_bucket_replication("logs", [])
    assert s3.get_bucket_replication("logs") is None


def test_control_port_sets_and_clears_replication(minio_cluster: SimCluster) -> None:
    s3 = s3_client(minio_cluster)
    s3.make_bucket("photos")
    http = sim_http()
    url = f"{minio_cluster.control_url}/bucket/photos/replication"
    answer = http.request("POST", url, body=json.dumps([{"target": "dr-photos", "enabled": False, "id": "r1"}]))
    assert answer.status == 200 and json.loads(answer.data)["result"] == {"rules": 1}
    config = s3.get_bucket_replication("photos")
    assert config is not None and config.rules[0].status == "Disabled"

    assert http.request("POST", url, body=b'[{"enabled": true}]').status == 400  # no target
    assert http.request("POST", f"{minio_cluster.control_url}/bucket/nope/replication", body=b"[]").status == 404
    assert http.request("POST", url, body=b"[]").status == 200
    assert s3.get_bucket_replication("photos") is None


# ---------------------------------------------------------------- client


def test_client_types_replication_rules_and_says_none_when_unset(minio_cluster: SimCluster) -> None:
    minio_cluster.load_demo_data()
    minio_cluster.set_bucket_replication(
        "backups", [ReplicationRule("dr", "backups-dr"), ReplicationRule("legacy", "old-site", enabled=False)]
    )
    mc = client_for(minio_cluster)
    try:
        assert mc.bucket_replication("logs") is None
        info = mc.bucket_replication("backups")
        assert info is not None and info.bucket == "backups"
        assert [(r.rule_id, r.enabled, r.target_bucket) for r in info.rules] == [
            ("dr", True, "backups-dr"),
            ("legacy", False, "old-site"),
        ]
        assert [r.rule_id for r in info.disabled_rules] == ["legacy"]
        with pytest.raises(MinioError) as err:
            mc.bucket_replication("no-such-bucket")
        assert err.value.kind == "not_found"
    finally:
        mc.close()


def test_client_maps_an_unreachable_cluster_to_minio_error(minio_cluster: SimCluster) -> None:
    mc = client_for(minio_cluster)
    minio_cluster.stop()
    try:
        with pytest.raises(MinioError) as err:
            mc.bucket_replication("logs")
        assert err.value.kind in ("unreachable", "timeout", "unavailable")
    finally:
        mc.close()


# ---------------------------------------------------------------- data-loss report


def test_data_loss_lists_replication_per_bucket_and_flags_disabled_rules(
    make_env: EnvFactory, tmp_path: Path, demo_cluster: SimCluster
) -> None:
    demo_cluster.set_bucket_replication("backups", [ReplicationRule("dr", "backups-dr")])
    demo_cluster.set_bucket_replication(
        "ml-datasets", [ReplicationRule("site-b", "ml-b"), ReplicationRule("site-c", "ml-c", enabled=False)]
    )
    env = make_env([tenant_doc(tmp_path, demo_cluster)])
    tenant = env.runtime.config.tenant("demo")
    assert tenant is not None

    report = diagnose(env.runtime, tenant, IncidentType("data-loss"))

    replication = section(report, "Replication")
    text = texts(replication)
    assert "`backups`: dr enabled -> `backups-dr`" in text
    assert "`ml-datasets`: site-b enabled -> `ml-b`; site-c DISABLED -> `ml-c`" in text
    assert "`logs`: no replication" in text
    rows = {plain(r.text).split(":")[0]: r.status for r in replication.rows}
    assert rows["`backups`"] is Status.HEALTHY
    assert rows["`logs`"] is Status.INFO
    assert rows["`ml-datasets`"] is Status.DEGRADED
    assert replication.status is Status.DEGRADED
    actions = texts(section(report, "Recommended next actions"))
    assert "Replication rules are disabled on `ml-datasets`" in actions


def test_data_loss_without_any_replication_is_informational(
    make_env: EnvFactory, tmp_path: Path, demo_cluster: SimCluster
) -> None:
    env = make_env([tenant_doc(tmp_path, demo_cluster)])
    report = env.run("incident data-loss demo")
    replication = section(report, "Replication")
    assert replication.status is Status.INFO
    assert all(plain(r.text).endswith(": no replication") for r in replication.rows) and replication.rows
    assert "Replication rules are disabled" not in texts(section(report, "Recommended next actions"))
