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
from tests.test_approvals import Clock, World, world_from
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
