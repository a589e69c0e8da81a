"""`/minio backup <tenant> restore`: backup objects copied back onto their keys, after a second person approves.

Given the demo tenant with its backups mirrored under backups/mirror/<bucket>/<key> (on the tenant
itself, or on another endpoint), a lost document comes back once from the backup, audited; an existing
key becomes a new version, never an overwrite in a bucket without versioning; faults (backup unreachable
or empty, a key not in the backup, the destination going down mid-restore) say exactly what happened.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from minio.error import S3Error

from bot.changes import ChangePlan
from bot.report import Report
from handlers import backup
from handlers.backup.restore import BackupRestore, plan_backup_restore
from sandbox.minio_sim import SimCluster
from tests.fixtures.minio import ClusterFactory, s3_client
from tests.reading import report_text
from tests.test_approvals import ALICE, BOB, World, world_from
from tests.test_data import read, run, site_config

DOC = "reports/2026-q3.pdf"


def put(cluster: SimCluster, bucket: str, key: str, data: bytes) -> None:
    s3_client(cluster).put_object(bucket, key, io.BytesIO(data), len(data))


def seed(cluster: SimCluster, backups: SimCluster | None = None) -> None:
    """documents (versioned) and logs (no versioning) on the tenant; their backups under backups/mirror/."""
    s3 = s3_client(cluster)
    s3.make_bucket("documents")
    s3.make_bucket("logs")
    from minio.versioningconfig import ENABLED, VersioningConfig

    s3.set_bucket_versioning("documents", VersioningConfig(ENABLED))
    put(cluster, "documents", DOC, b"%PDF q3 final\n")
    put(cluster, "logs", "app.log", b"today's log\n")
    where = backups or cluster
    s3_client(where).make_bucket("backups")
    put(where, "backups", f"mirror/documents/{DOC}", b"%PDF q3 final\n")
    put(where, "backups", "mirror/logs/app.log", b"yesterday's log\n")
    for i in range(5):
        put(where, "backups", f"mirror/documents/team/{i}.txt", b"t" * (i + 1))


def config(cluster: SimCluster, tmp_path: Path, **backup_target: Any) -> dict[str, Any]:
    raw = site_config(cluster, tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    raw["tenants"][0]["backup"] = {"bucket": "backups", "prefix": "mirror/", "rpo_hours": 24, **backup_target}
    return raw


def second_tenant(raw: dict[str, Any], cluster: SimCluster, name: str = "staging") -> None:
    tenant = dict(raw["tenants"][0])
    tenant.pop("backup", None)
    raw["tenants"].append({**tenant, "name": name, "endpoints": cluster.endpoints})


@pytest.fixture
def site(minio_cluster: SimCluster, tmp_path: Path) -> Iterator[World]:
    seed(minio_cluster)
    world = world_from(config(minio_cluster, tmp_path), capabilities=(backup.capability,))
    yield world
    world.runtime.close()


def approve(world: World) -> str:
    approval = world.runtime.store.approvals.recent(1)[0]
    world.press(BOB, approval.id)
    return approval.id


def preview(world: World) -> str:
    return report_text(world.outbox.posts[-1][2])


def refused(world: World, command: str) -> str:
    report = run(world, command)
    assert report.failed and world.outbox.posts == [], report_text(report)
    return report_text(report)


def test_a_lost_document_comes_back_from_the_backup_once_after_approval(site: World, minio_cluster: SimCluster) -> None:
    s3_client(minio_cluster).remove_object("documents", DOC)
    requested = run(site, f"/minio backup demo restore documents/{DOC}")
    assert not requested.failed, report_text(requested)
    text = preview(site)
    assert f"Restore documents/{DOC} on demo from backup" in text and "server-side copy" in text
    assert "0 of 1 object(s) exist now" in text and ": new" in text
    with pytest.raises(S3Error):
        read(minio_cluster, DOC)  # nothing before the approval
    approval = site.runtime.store.approvals.recent(1)[0]
    assert "someone else" in report_text(site.press(ALICE, approval.id).ephemeral or Report(title=""))
    site.press(BOB, approval.id)
    assert site.status(approval.id) == "succeeded"
    assert read(minio_cluster, DOC) == b"%PDF q3 final\n"
    site.press(BOB, approval.id)  # a late second click changes nothing
    actions = site.actions(approval.id)
    assert actions[0] == "request" and actions.count("execute") == 1 and actions[-1] == "result"
    progress = [report_text(r) for (_, _, r, thread) in site.outbox.posts if thread is not None]
    assert any(f"1 of 1 object(s) restored (14 B): documents/{DOC}" in line for line in progress)


def test_an_existing_key_in_a_versioned_bucket_becomes_a_new_version(site: World, minio_cluster: SimCluster) -> None:
    put(minio_cluster, "documents", DOC, b"broken")
    run(site, f"/minio backup demo restore documents/{DOC}")
    text = preview(site)
    assert "1 of 1 object(s) exist now" in text and "exists now, becomes a new version" in text
    approve(site)
    assert read(minio_cluster, DOC) == b"%PDF q3 final\n"
    versions = site.runtime.minio(site.runtime.config.tenants[0]).list_object_versions("documents", DOC).versions
    assert len(versions) == 3  # final, broken, and the restored copy on top


def test_a_key_identical_to_its_backup_is_left_alone(site: World, minio_cluster: SimCluster) -> None:
    assert "already identical to its backup" in refused(site, f"/minio backup demo restore documents/{DOC}")
    put(minio_cluster, "documents", "team/0.txt", b"t")  # one of the five is there already, unchanged
    run(site, "/minio backup demo restore documents/team/ --prefix")
    text = preview(site)
    assert "Restore 4 object(s)" in text and "1 object(s) already identical to their backup" in text


def test_overwriting_in_a_bucket_without_versioning_is_refused_and_says_why(site: World) -> None:
    says = refused(site, "/minio backup demo restore logs/app.log")
    assert "does not keep versions" in says and "no way back" in says and "--into" in says


def test_a_prefix_restore_previews_count_and_bytes_and_restores_each_object(site: World,
                                                                           minio_cluster: SimCluster) -> None:
    run(site, "/minio backup demo restore documents/team/ --prefix")
    text = preview(site)
    assert "Restore 5 object(s) under documents/team/ on demo from backup" in text and "15 B" in text
    approve(site)
    assert [read(minio_cluster, f"team/{i}.txt") for i in range(5)] == [b"t" * (i + 1) for i in range(5)]


def test_a_prefix_over_the_limit_is_refused(minio_cluster: SimCluster, tmp_path: Path) -> None:
    seed(minio_cluster)
    raw = config(minio_cluster, tmp_path)
    raw["tenants"][0]["restore_prefix_limit"] = 3
    world = world_from(raw, capabilities=(backup.capability,))
    try:
        says = refused(world, "/minio backup demo restore documents/team/ --prefix")
        assert "More than 3 backup objects under documents/team/" in says
    finally:
        world.runtime.close()


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("/minio backup demo restore documents/never/was.pdf", "The backup holds no documents/never/was.pdf"),
        ("/minio backup demo restore documents/nothing/ --prefix", "The backup holds no anything under"),
        ("/minio backup demo restore documents", "Name a bucket and a key"),
        ("/minio backup demo restore nowhere/k.txt", "The backup holds no nowhere/k.txt"),
        ("/minio backup demo restore documents/x --into nosuch", "Unknown tenant"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_requested(site: World, command: str, says: str) -> None:
    assert says in refused(site, command)


def test_a_missing_destination_bucket_is_refused(site: World, minio_cluster: SimCluster) -> None:
    put(minio_cluster, "backups", "mirror/gone/k.txt", b"k")
    assert "Bucket gone does not exist on demo" in refused(site, "/minio backup demo restore gone/k.txt")


def test_option_mix_ups_are_usage_errors(site: World) -> None:
    from bot.commands import UsageError

    for text in ("/minio backup demo verify --prefix", "/minio backup demo restore",
                 "/minio backup demo restore documents/a --sample 3"):
        assert isinstance(site.dispatcher.parse(text), UsageError), text


def test_an_empty_backup_location_and_an_unreachable_one_are_said(minio_cluster: SimCluster, tmp_path: Path) -> None:
    s3_client(minio_cluster).make_bucket("documents")
    s3_client(minio_cluster).make_bucket("backups")
    empty = world_from(config(minio_cluster, tmp_path), capabilities=(backup.capability,))
    (tmp_path / "down").mkdir()
    down = world_from(config(minio_cluster, tmp_path / "down", endpoint="http://127.0.0.1:9"),
                      capabilities=(backup.capability,))
    try:
        assert "The backup location backups/mirror/ is empty" in refused(empty, f"/minio backup demo restore "
                                                                                f"documents/{DOC}")
        says = refused(down, f"/minio backup demo restore documents/{DOC}")
        assert "The backup location backups/mirror/ at http://127.0.0.1:9 could not be read" in says
    finally:
        empty.runtime.close()
        down.runtime.close()


def test_the_restore_is_refused_after_approval_when_the_backup_changed(site: World, minio_cluster: SimCluster) -> None:
    s3_client(minio_cluster).remove_object("documents", DOC)
    run(site, f"/minio backup demo restore documents/{DOC}")
    put(minio_cluster, "backups", f"mirror/documents/{DOC}", b"another backup")
    approval_id = approve(site)
    assert site.status(approval_id) == "refused"
    with pytest.raises(S3Error):
        read(minio_cluster, DOC)


# ---------------------------------------------------------------- another endpoint, another tenant


@pytest.fixture
def two_sites(minio_cluster_factory: ClusterFactory, tmp_path: Path) -> Iterator[tuple[World, SimCluster,
                                                                                      SimCluster]]:
    """demo (backups on a second endpoint) and staging (a third cluster)."""
    tenant, backups, staging = minio_cluster_factory(), minio_cluster_factory(), minio_cluster_factory()
    seed(tenant, backups)
    s3_client(staging).make_bucket("documents")
    raw = config(tenant, tmp_path, endpoint=backups.endpoints[0])
    second_tenant(raw, staging)
    world = world_from(raw, capabilities=(backup.capability,))
    yield world, backups, staging
    world.runtime.close()


def test_a_restore_into_another_tenant_streams_each_object_through_the_bot(
    two_sites: tuple[World, SimCluster, SimCluster],
) -> None:
    world, _, staging = two_sites
    run(world, "/minio backup demo restore documents/team/ --prefix --into staging")
    text = preview(world)
    assert "on staging (from demo's backup)" in text and "streamed through the bot" in text
    approval_id = approve(world)
    assert world.status(approval_id) == "succeeded"
    assert [read(staging, f"team/{i}.txt") for i in range(5)] == [b"t" * (i + 1) for i in range(5)]


def test_a_large_backup_streams_into_another_tenant_as_a_multipart_upload(
    two_sites: tuple[World, SimCluster, SimCluster],
) -> None:
    """Real backups are often bigger than one part: the streamed PUT goes multipart, and the copy is whole."""
    world, backups, staging = two_sites
    data = bytes(range(256)) * (12 * 1024 * 1024 // 256 + 11)  # a little over 12 MiB
    put(backups, "backups", "mirror/documents/archive/2026-11.tar", data)
    run(world, "/minio backup demo restore documents/archive/2026-11.tar --into staging")
    assert "streamed through the bot" in preview(world)
    assert world.status(approve(world)) == "succeeded"
    assert read(staging, "archive/2026-11.tar") == data
    etag = s3_client(staging).stat_object("documents", "archive/2026-11.tar").etag
    assert etag is not None and "-" in etag, "written in parts, as a real server would take it"


def test_the_destination_going_down_mid_restore_stops_and_names_what_was_and_was_not_restored(
    two_sites: tuple[World, SimCluster, SimCluster],
) -> None:
    world, _, staging = two_sites
    demo, target = world.runtime.config.tenants
    assert demo.backup is not None
    plan: ChangePlan = plan_backup_restore(world.runtime, demo, demo.backup, target, "documents", "team/", True,
                                           ALICE)
    lines: list[str] = []

    def progress(line: str) -> None:
        lines.append(line)
        if len(lines) == 2:  # the whole destination goes down after the second object
            for node in range(1, 5):
                staging.stop_node(node)

    outcome = BackupRestore().execute(world.runtime, plan, progress)
    assert not outcome.ok
    assert "Restored 2 of 5 object(s) (3 B)." in outcome.summary
    assert "Failed: documents/team/2.txt: MinIO cluster unreachable: no node of the destination answered" \
        in outcome.summary and "may or may not" not in outcome.summary  # refused: certainly not written
    assert "Not restored: documents/team/2.txt and the 2 object(s) after it, which were not touched." in outcome.summary
    assert "Restored: documents/team/0.txt" in outcome.lines and "Not touched: documents/team/4.txt" in outcome.lines
    for node in range(1, 5):
        staging.start_node(node)
    assert [read(staging, f"team/{i}.txt") for i in range(2)] == [b"t", b"tt"]
    for i in range(2, 5):  # nothing half-copied: the failed object and those after it are simply not there
        with pytest.raises(S3Error):
            read(staging, f"team/{i}.txt")


def test_one_destination_node_down_is_gone_around(two_sites: tuple[World, SimCluster, SimCluster]) -> None:
    world, _, staging = two_sites
    staging.stop_node(1)
    run(world, "/minio backup demo restore documents/team/ --prefix --into staging")
    assert world.status(approve(world)) == "succeeded"
    staging.start_node(1)  # the test reads through node 1
    assert [read(staging, f"team/{i}.txt") for i in range(5)] == [b"t" * (i + 1) for i in range(5)]


def test_only_operators_may_request_a_restore_from_backup(site: World, minio_cluster: SimCluster) -> None:
    from tests.test_approvals import CAROL

    s3_client(minio_cluster).remove_object("documents", DOC)
    denied = run(site, f"/minio backup demo restore documents/{DOC}", user=CAROL)
    assert denied.failed and site.outbox.posts == []
    with pytest.raises(S3Error):
        read(minio_cluster, DOC)


def test_a_streamed_object_over_its_deadline_is_stopped_and_named(
    two_sites: tuple[World, SimCluster, SimCluster], monkeypatch: pytest.MonkeyPatch,
) -> None:
    import bot.clients.minio as minio_client

    world, _, staging = two_sites
    demo, target = world.runtime.config.tenants
    assert demo.backup is not None
    plan = plan_backup_restore(world.runtime, demo, demo.backup, target, "documents", "team/", True, ALICE)
    monkeypatch.setattr(minio_client, "stream_deadline", lambda size: -1.0)  # every transfer is already late
    outcome = BackupRestore().execute(world.runtime, plan, lambda _line: None)
    assert not outcome.ok and "Restored 0 of 5 object(s)" in outcome.summary
    assert "Failed: documents/team/0.txt" in outcome.summary and "deadline; nothing was written" in outcome.summary
    assert "may or may not" not in outcome.summary
    with pytest.raises(S3Error):
        read(staging, "team/0.txt")
