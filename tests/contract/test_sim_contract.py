"""The MinIO simulator answers like the real server: each fixture's situation, replayed on the simulator."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta

import pytest

from sandbox.minio_sim import SimCluster
from sandbox.minio_sim.iam import ServiceAccount
from tests.contract.shapes import Fixture, all_names, answer_problems, load, sealed, unsealed
from tests.fixtures.minio import ClusterFactory, admin_call, s3_client, sim_http

Answer = tuple[int, dict[str, str], bytes]


def _http(cluster: SimCluster, fixture: Fixture, node: int = 1, headers: dict[str, str] | None = None) -> Answer:
    query = "&".join(f"{k}={v}" for k, v in fixture.query.items())
    url = f"{cluster.node_url(node)}{fixture.path}" + (f"?{query}" if query else "")
    resp = sim_http(timeout=5.0).request(fixture.method, url, headers=headers)
    return resp.status, dict(resp.headers), resp.data


def _admin(cluster: SimCluster, fixture: Fixture, node: int = 1, **kwargs: object) -> Answer:
    command = fixture.path.removeprefix("/minio/admin/v3/")
    query = dict(fixture.query)
    query.update(kwargs.pop("query", {}))  # type: ignore[call-overload]
    resp = admin_call(
        cluster,
        fixture.method,
        command,
        query,
        node=node,
        http=sim_http(timeout=5.0),
        **kwargs,  # type: ignore[arg-type]
    )
    return resp.status, dict(resp.headers), resp.data


# ---------------------------------------------------------------- scenarios: the fixture's situation on the sim


def scenario_admin_info_one_peer_offline(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = make([(4, 2)])
    cluster.set_usage({"backups": (30 << 30, 200)})
    cluster.run_scanner()
    cluster.hang_node(3)  # node 1 waits its (short) peer timeout, then lists node 3 offline
    return _admin(cluster, fx)


def scenario_admin_datausageinfo(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = make([(4, 2)])
    cluster.set_usage({"backups": (30 << 30, 200), "logs": (2 << 30, 1000)})
    cluster.run_scanner()
    return _admin(cluster, fx)


LOCK_AGES = {"backups/db/2025-10-01.dump": 3 * 3600.0, "logs/app/08.log": 0.005, "logs/app/09.log": 0.0}


def scenario_admin_top_locks(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = make([(4, 2)])
    for resource, age in LOCK_AGES.items():
        cluster.add_lock(resource, age_seconds=age)
    return _admin(cluster, fx)


def scenario_admin_top_locks_single_server(make: ClusterFactory, fx: Fixture) -> Answer:
    return _admin(make([(1, 4)]), fx)


def scenario_admin_decommission_single_pool(make: ClusterFactory, fx: Fixture) -> Answer:
    return _admin(make([(4, 2)]), fx, query={"pool": "0"})


def scenario_admin_server_starting(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = make([(4, 2)])
    cluster.set_starting(1, seconds=60)
    return _admin(cluster, fx)


def scenario_admin_bad_signature(make: ClusterFactory, fx: Fixture) -> Answer:
    return _admin(make([(4, 2)]), fx, secret_key="not-the-secret-key")


def scenario_admin_pools_status_draining(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = make([(4, 2), (4, 2)], decommission_seconds=3600)
    second = cluster.model.pool_cmdline(cluster.model.pools[1])
    assert admin_call(cluster, "POST", "pools/decommission", {"pool": second}).status == 200
    return _admin(cluster, fx, query={"pool": second})


def scenario_admin_speedtest_stream(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = make([(4, 2)])
    cluster.speedtest_clear(time_scale=0.05)  # the 10 s test (2 x 10 s of measuring) streams for 1 s
    cluster.speedtest_fail(3)
    return _admin(cluster, fx)


def scenario_admin_speedtest_insufficient_capacity(make: ClusterFactory, fx: Fixture) -> Answer:
    # 4 data drives of 256 MiB: 1 GiB usable, less than 32 x 64 MiB.
    return _admin(make([(4, 2)], drive_size=256 << 20), fx)


def scenario_admin_info_service_account(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = make([(4, 2)])
    cluster.model.iam.add_user("ci-bot", "sim-ci-bot-secret", policy="readwrite")
    own = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": ["arn:aws:s3:::releases/*"]}]}
    cluster.model.iam.add_service_account("svc-ci-deploy", ServiceAccount(
        "ci-bot", "sim-ci-deploy-secret", name="deploy", description="CI deploy key",
        expiration="2027-03-31T00:00:00Z", policy=own))
    return _decrypted(cluster, _admin(cluster, fx))


def scenario_admin_info_service_account_not_found(make: ClusterFactory, fx: Fixture) -> Answer:
    return _admin(make([(4, 2)]), fx)


def scenario_admin_update_service_account_off(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = make([(4, 2)])
    body = sealed(json.dumps({"newStatus": "off"}).encode(), cluster.secret_key)
    return _admin(cluster, fx, body=body)


def scenario_admin_list_service_accounts(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = make([(4, 2)])
    return _decrypted(cluster, _admin(cluster, fx))


def _decrypted(cluster: SimCluster, answer: Answer) -> Answer:
    status, headers, body = answer
    return status, headers, unsealed(body, cluster.secret_key) if 200 <= status < 300 else body


def scenario_health_cluster_ok(make: ClusterFactory, fx: Fixture) -> Answer:
    return _http(make([(4, 2)]), fx)


def scenario_health_cluster_read_ok(make: ClusterFactory, fx: Fixture) -> Answer:
    return _http(make([(4, 2)]), fx)


def scenario_health_cluster_quorum_lost(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = make([(4, 2)])
    cluster.stop_node(1)
    cluster.stop_node(2)
    return _http(cluster, fx, node=4)


def scenario_health_cluster_starting(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = make([(4, 2)])
    cluster.set_starting(1, seconds=60)
    return _http(cluster, fx)


def scenario_health_cluster_maintenance_refused(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = make([(4, 2)])
    cluster.drive_replace(3, 1, heal_seconds=60, format_seconds=0)
    return _http(cluster, fx)


def scenario_health_live_ok(make: ClusterFactory, fx: Fixture) -> Answer:
    return _http(make([(4, 2)]), fx)


def scenario_health_live_starting(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = make([(4, 2)])
    cluster.set_starting(1, seconds=60)
    return _http(cluster, fx)


def scenario_metrics_cluster_rejections(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = make([(4, 2)])
    http = sim_http()
    http.request("GET", f"{cluster.node_url(1)}/", headers={"Authorization": "Basic c29tZW9uZTpzb21ldGhpbmc="})
    http.request("POST", f"{cluster.node_url(2)}/some-bucket/some-key")  # no route: an invalid call
    return _http(cluster, fx, headers={"Authorization": f"Bearer {cluster.prometheus_token()}"})


def _s3(cluster: SimCluster, fixture: Fixture) -> Answer:
    """The fixture's S3 request, SigV4-signed with the cluster's root keys."""
    from urllib.parse import urlsplit, urlunsplit

    from bot.clients.minio_auth import canonical_query, signed_headers

    url = urlsplit(cluster.node_url(1) + fixture.path)._replace(query=canonical_query(fixture.query))
    headers = signed_headers(method=fixture.method, url=url, access_key=cluster.access_key,
                             secret_key=cluster.secret_key, region=cluster.region)
    resp = sim_http(timeout=5.0).request(fixture.method, urlunsplit(url), headers=headers)
    return resp.status, dict(resp.headers), resp.data


def _replicating_documents(make: ClusterFactory) -> SimCluster:
    from sandbox.minio_sim.entities import ReplicationRule

    cluster = make([(4, 2)])
    cluster.model.create_bucket("documents")
    cluster.set_bucket_replication("documents", [ReplicationRule("dr", "dr-documents")])
    cluster.set_replication_backlog("documents", queued_count=40, queued_bytes=1 << 20, queued_avg_count=25,
                                    failed_hour_count=12, failed_hour_bytes=3 << 20, failed_count=30)
    return cluster


def scenario_s3_lifecycle_rules(make: ClusterFactory, fx: Fixture) -> Answer:
    from minio.commonconfig import DISABLED, ENABLED, Filter
    from minio.lifecycleconfig import Expiration, LifecycleConfig, NoncurrentVersionExpiration, Rule

    cluster = make([(4, 2)])
    cluster.model.create_bucket("documents")
    s3_client(cluster).set_bucket_lifecycle("documents", LifecycleConfig([
        Rule(ENABLED, rule_filter=Filter(prefix="tmp/"), rule_id="tmp", expiration=Expiration(days=30)),
        Rule(ENABLED, rule_filter=Filter(prefix=""), rule_id="versions",
             noncurrent_version_expiration=NoncurrentVersionExpiration(7)),
        Rule(DISABLED, rule_filter=Filter(prefix=""), rule_id="off", expiration=Expiration(days=1)),
    ]))
    return _s3(cluster, fx)


def scenario_s3_lifecycle_none(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = make([(4, 2)])
    cluster.model.create_bucket("logs")
    return _s3(cluster, fx)


def scenario_s3_replication_metrics_v2(make: ClusterFactory, fx: Fixture) -> Answer:
    return _s3(_replicating_documents(make), fx)


def scenario_s3_replication_metrics_v1(make: ClusterFactory, fx: Fixture) -> Answer:
    return _s3(_replicating_documents(make), fx)


def scenario_s3_replication_metrics_not_configured(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = make([(4, 2)])
    cluster.model.create_bucket("logs")
    return _s3(cluster, fx)


def scenario_admin_list_remote_targets(make: ClusterFactory, fx: Fixture) -> Answer:
    cluster = _replicating_documents(make)
    cluster.set_replication_backlog("documents", target_offline=1, offline_seconds=600, latency_avg_ms=80,
                                    latency_max_ms=300)
    return _admin(cluster, fx)


SCENARIOS: dict[str, Callable[[ClusterFactory, Fixture], Answer]] = {
    name.removeprefix("scenario_"): fn for name, fn in globals().items() if name.startswith("scenario_")
}


def test_every_fixture_has_a_simulator_scenario() -> None:
    assert set(SCENARIOS) == set(all_names())


@pytest.mark.parametrize("name", all_names())
def test_simulator_answers_like_the_real_server(name: str, minio_cluster_factory: ClusterFactory) -> None:
    fixture = load(name)
    status, headers, body = SCENARIOS[name](minio_cluster_factory, fixture)
    assert answer_problems(fixture, status, headers, body) == [], fixture.about


# ---------------------------------------------------------------- units the shape alone cannot show


def test_lock_elapsed_is_nanoseconds_of_the_lock_age(minio_cluster_factory: ClusterFactory) -> None:
    fixture = load("admin_top_locks")
    before = time.time()
    _, _, body = scenario_admin_top_locks(minio_cluster_factory, fixture)
    waited = time.time() - before + 1.0  # time spent between registering the locks and the answer, plus slack
    elapsed = {lock["resource"]: timedelta(microseconds=lock["elapsed"] / 1000) for lock in json.loads(body)}
    for resource, age in LOCK_AGES.items():
        assert timedelta(seconds=age) <= elapsed[resource] <= timedelta(seconds=age + waited), resource


def test_info_usage_and_drive_space_are_bytes_and_uptime_seconds(minio_cluster_factory: ClusterFactory) -> None:
    cluster = minio_cluster_factory([(4, 2)], drive_size=1 << 30)
    info = json.loads(_admin(cluster, load("admin_info_one_peer_offline"))[2])
    drive = info["servers"][0]["drives"][0]
    assert drive["totalspace"] == 1 << 30 and drive["usedspace"] + drive["availspace"] == 1 << 30
    assert 0 <= info["servers"][0]["uptime"] < 3600
