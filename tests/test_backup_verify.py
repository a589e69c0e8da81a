"""`/minio backup <tenant> verify`: the newest backups are read back whole; stale, empty, missing and
corrupted backups are each reported as such."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.clients.minio_models import ListedObject, ReadBack
from bot.report import Report, Status
from handlers import backup
from handlers.backup.evaluate import check_object
from sandbox.minio_sim import SimCluster
from tests.fixtures.minio import s3_client
from tests.reading import report_text
from tests.test_approvals import OPS, Clock, World, world_from
from tests.test_data import run, site_config


def make_site(cluster: SimCluster, tmp_path: Path, **backup_target: Any) -> World:
    raw = site_config(cluster, tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    raw["tenants"][0]["backup"] = {"bucket": "backups", "prefix": "nightly/", "rpo_hours": 24, **backup_target}
    return world_from(raw, clock=Clock(datetime.now(UTC)), capabilities=(backup.capability,))


@pytest.fixture
def site(minio_cluster: SimCluster, tmp_path: Path) -> Iterator[World]:
    s3 = s3_client(minio_cluster)
    s3.make_bucket("backups")
    for i in range(7):
        data = f"backup {i}".encode() * 100
        s3.put_object("backups", f"nightly/db-{i}.tar", io.BytesIO(data), len(data))
    world = make_site(minio_cluster, tmp_path)
    yield world
    world.runtime.close()


def verify(world: World, extra: str = "") -> Report:
    report = run(world, f"/minio backup demo verify {extra}".strip())
    assert world.outbox.posts == []
    return report


def test_the_newest_backups_read_back_whole_and_fresh_is_healthy(site: World) -> None:
    report = verify(site, "--sample 3")
    text = report_text(report)
    assert report.status is Status.HEALTHY, text
    assert "3 of 3 sampled object(s) read back whole" in text and "checksum matches" in text
    assert "db-6.tar" in text and "db-3.tar" not in text  # the newest three only


def test_a_stale_backup_is_degraded(site: World) -> None:
    site.clock.now = datetime.now(UTC) + timedelta(hours=30)
    report = verify(site)
    assert report.status is Status.DEGRADED and "over the 24 h RPO" in report_text(report)


def test_an_empty_location_and_a_missing_bucket_are_reported(minio_cluster: SimCluster, tmp_path: Path) -> None:
    s3_client(minio_cluster).make_bucket("backups")
    world = make_site(minio_cluster, tmp_path)
    try:
        empty = verify(world)
        assert empty.status is Status.DEGRADED and "No backup objects under" in report_text(empty)
    finally:
        world.runtime.close()
    (tmp_path / "other").mkdir()
    other = make_site(minio_cluster, tmp_path / "other", bucket="no-such-backups")
    try:
        missing = verify(other)
        assert missing.status is Status.UNHEALTHY and "does not exist" in report_text(missing)
    finally:
        other.runtime.close()


def test_an_unreachable_backup_endpoint_is_unhealthy(minio_cluster: SimCluster, tmp_path: Path) -> None:
    world = make_site(minio_cluster, tmp_path, endpoint="http://127.0.0.1:9")
    try:
        report = verify(world)
        assert report.status is Status.UNHEALTHY and "could not be read" in report_text(report)
    finally:
        world.runtime.close()


def test_an_object_that_reads_back_differently_is_unhealthy() -> None:
    listed = ListedObject(key="k", size=4, etag="0" * 32)
    assert check_object(listed, ReadBack(bucket="b", key="k", size=4, md5="1" * 32)).status is Status.UNHEALTHY
    assert check_object(listed, ReadBack(bucket="b", key="k", size=3, md5="0" * 32)).status is Status.UNHEALTHY
    multipart = ListedObject(key="k", size=4, etag="abc-3")
    assert check_object(multipart, ReadBack(bucket="b", key="k", size=4, md5="x")).status is Status.HEALTHY


def test_without_a_backup_location_the_command_says_how_to_set_one(minio_cluster: SimCluster,
                                                                    tmp_path: Path) -> None:
    raw = site_config(minio_cluster, tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    world = world_from(raw, capabilities=(backup.capability,))
    try:
        report = run(world, "/minio backup demo verify")
        assert report.failed and "No backup location is configured" in report_text(report)
    finally:
        world.runtime.close()


# ---------------------------------------------------------------- against the source (mirror layout)


def put(cluster: SimCluster, bucket: str, key: str, data: bytes) -> None:
    s3_client(cluster).put_object(bucket, key, io.BytesIO(data), len(data))


@pytest.fixture
def mirrored(minio_cluster: SimCluster, tmp_path: Path) -> Iterator[World]:
    """documents/{a,b,c}.txt on the tenant, and their mirror under backups/mirror/documents/."""
    s3 = s3_client(minio_cluster)
    s3.make_bucket("documents")
    s3.make_bucket("backups")
    for name in ("a", "b", "c"):
        put(minio_cluster, "documents", f"{name}.txt", f"document {name}".encode())
    for name in ("a", "b", "c"):
        put(minio_cluster, "backups", f"mirror/documents/{name}.txt", f"document {name}".encode())
    world = make_site(minio_cluster, tmp_path, prefix="mirror/", verify_every_hours=1)
    yield world
    world.runtime.close()


def test_each_backup_is_compared_with_its_source_by_etag(mirrored: World) -> None:
    report = verify(mirrored)
    text = report_text(report)
    assert report.status is Status.HEALTHY, text
    assert text.count("matches its source (size, ETag MD5)") == 3
    assert "3 of 3 compared with their source on the tenant (0 source(s) gone)" in text


def test_a_backup_that_differs_from_its_source_is_unhealthy_and_named(mirrored: World,
                                                                       minio_cluster: SimCluster) -> None:
    put(minio_cluster, "backups", "mirror/documents/b.txt", b"document X")  # same size, other bytes
    report = verify(mirrored)
    text = report_text(report)
    assert report.status is Status.UNHEALTHY, text
    assert "1 sampled backup object(s) differ from their source: `mirror/documents/b.txt`" in text
    assert "differs from its source: ETag MD5s differ" in text


def test_a_source_that_is_gone_is_said_and_is_no_failure(mirrored: World, minio_cluster: SimCluster) -> None:
    s3_client(minio_cluster).remove_object("documents", "a.txt")
    report = verify(mirrored)
    text = report_text(report)
    assert report.status is Status.HEALTHY, text
    assert "source no longer exists on the tenant" in text and "(1 source(s) gone)" in text


def test_a_source_newer_than_its_backup_is_held_against_the_rpo(mirrored: World, minio_cluster: SimCluster) -> None:
    import time

    time.sleep(1.1)  # object times have one-second resolution
    put(minio_cluster, "documents", "c.txt", b"document c, edited")
    within = verify(mirrored)
    assert within.status is Status.HEALTHY and "after this backup: within the 24 h RPO" in report_text(within)
    mirrored.clock.now = datetime.now(UTC) + timedelta(hours=25)
    late = report_text(verify(mirrored))
    assert "its backup still has the older copy: over the 24 h RPO" in late
    assert "1 source object(s) changed longer than the 24 h RPO ago" in late


def test_multipart_etags_are_compared_by_reading_both_back() -> None:
    from handlers.backup.evaluate import compare_with_source, needs_source_read

    now = datetime.now(UTC)
    backup = ListedObject(key="m/b/k", size=4, etag="abc-2", last_modified=now)
    source = ListedObject(key="k", size=4, etag="0" * 32, last_modified=now - timedelta(hours=1))
    assert needs_source_read(backup, source)
    same = ReadBack(bucket="b", key="k", size=4, md5="1" * 32)
    check = compare_with_source(backup, same, source, same, now, 24)
    assert check.status is Status.HEALTHY and "MD5 of both read back" in check.detail
    other = ReadBack(bucket="b", key="k", size=4, md5="2" * 32)
    assert compare_with_source(backup, same, source, other, now, 24).status is Status.UNHEALTHY


# ---------------------------------------------------------------- scheduled, with one alert per failure


def scheduled_run(world: World) -> str:
    from bot.scheduler import Scheduler

    scheduler = Scheduler(world.runtime, world.outbox, app=world.dispatcher.app)
    return scheduler.run_backup_verify()


def alerts_posted(world: World) -> list[Report]:
    return [report for (_, _, report, thread) in world.outbox.posts if thread is None]


def test_a_failed_scheduled_verification_alerts_once_and_recovers_once(mirrored: World,
                                                                        minio_cluster: SimCluster) -> None:
    assert scheduled_run(mirrored) == "sent"
    assert alerts_posted(mirrored) == []  # healthy: nothing to say
    assert scheduled_run(mirrored) == "skipped"  # the same slot runs once
    s3_client(minio_cluster).remove_object("backups", "mirror/documents/c.txt")
    put(minio_cluster, "backups", "mirror/documents/b.txt", b"document X")  # corrupted
    mirrored.clock.now += timedelta(hours=1)
    scheduled_run(mirrored)
    [alert] = alerts_posted(mirrored)
    assert alert.title == "MinIO alert: backup verification failed for demo"
    assert "differ from their source" in report_text(alert)
    mirrored.clock.now += timedelta(hours=1)
    scheduled_run(mirrored)
    assert len(alerts_posted(mirrored)) == 1  # still failed: no second alert
    put(minio_cluster, "backups", "mirror/documents/b.txt", b"document b")  # fixed
    mirrored.clock.now += timedelta(hours=1)
    scheduled_run(mirrored)
    _failed, recovery = alerts_posted(mirrored)
    assert recovery.title == "Recovered: demo backups verify again" and recovery.status is Status.HEALTHY
    assert [c for (c, _, _, _) in mirrored.outbox.posts] == [OPS, OPS]
    claimed = mirrored.runtime.store.scheduler.last_claimed("backup-verify:demo")
    assert claimed is not None and claimed <= mirrored.clock.now


def test_a_failure_during_a_maintenance_window_is_told_after_it(mirrored: World, minio_cluster: SimCluster) -> None:
    scheduled_run(mirrored)
    now = mirrored.clock.now
    mirrored.runtime.store.maintenance.open("demo", started_by="U0ALICE", until=now + timedelta(hours=2),
                                            changes={}, at=now)
    s3_client(minio_cluster).remove_object("backups", "mirror/documents/c.txt")
    put(minio_cluster, "backups", "mirror/documents/b.txt", b"document X")  # corrupted during the window
    mirrored.clock.now += timedelta(hours=1)
    scheduled_run(mirrored)
    assert alerts_posted(mirrored) == [], "quiet during maintenance"
    mirrored.clock.now += timedelta(hours=2)  # the window is over; the backup is still bad
    scheduled_run(mirrored)
    [alert] = alerts_posted(mirrored)
    assert alert.title == "MinIO alert: backup verification failed for demo"


def test_a_missing_backup_location_alerts_as_unreachable(minio_cluster: SimCluster, tmp_path: Path) -> None:
    world = make_site(minio_cluster, tmp_path, endpoint="http://127.0.0.1:9", verify_every_hours=1)
    try:
        scheduled_run(world)
        [alert] = alerts_posted(world)
        assert alert.status is Status.UNHEALTHY and "could not be read" in report_text(alert)
    finally:
        world.runtime.close()


def test_a_tenant_with_verification_off_is_not_verified(minio_cluster: SimCluster, tmp_path: Path) -> None:
    world = make_site(minio_cluster, tmp_path, endpoint="http://127.0.0.1:9", verify_every_hours=0)
    try:
        assert scheduled_run(world) == "not_due" and world.outbox.posts == []
    finally:
        world.runtime.close()
