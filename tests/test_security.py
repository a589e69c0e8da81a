"""`/minio security`: users and service accounts, and disabling a user as an approved change.

Given the demo tenant on the simulator, a user disabled after a second person approves can no longer
sign requests (nor can its service accounts); the bot's own user and the root user are refused; names
with unicode and path characters work; secrets never appear.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from minio.error import S3Error

from bot.commands import UsageError
from bot.report import Report
from handlers import security
from sandbox.minio_sim import SimCluster
from tests.fixtures.minio import admin_client, s3_client
from tests.reading import plain, report_text
from tests.test_approvals import ALICE, BOB, CAROL, OPS, World, world_from
from tests.test_data import site_config


def make_site(cluster: SimCluster, tmp_path: Path, access_key: str | None = None, secret: str | None = None) -> World:
    raw = site_config(cluster, tmp_path, f"sqlite:///{tmp_path / 'state.db'}")
    if access_key is not None and secret is not None:  # the bot signs as its own IAM user
        (tmp_path / "ak").write_text(access_key)
        (tmp_path / "sk").write_text(secret)
    return world_from(raw, capabilities=(security.capability,))


@pytest.fixture
def site(minio_cluster: SimCluster, tmp_path: Path) -> Iterator[World]:
    world = make_site(minio_cluster, tmp_path)
    yield world
    world.runtime.close()


def run(world: World, text: str, user: str = ALICE) -> Report:
    command = world.dispatcher.parse(text)
    assert not isinstance(command, UsageError), plain(command.text)
    return world.dispatcher.run(user, OPS, command, outbox=world.outbox)


def signs(cluster: SimCluster, user: str, secret: str) -> bool:
    try:
        s3_client(cluster, access_key=user, secret_key=secret).list_buckets()
    except S3Error as exc:
        assert exc.code == "InvalidAccessKeyId" and "disabled" in (exc.message or "")
        return False
    return True


def test_users_lists_status_policies_and_service_accounts_and_never_a_secret(site: World) -> None:
    text = report_text(run(site, "/minio security demo users"))
    assert "backup-agent" in text and "policy readwrite" in text and "svc-backup-nightly" in text
    assert "old-ci" in text and "disabled" in text
    assert "sim-" not in text and "secret" not in text.replace("Secrets are never shown", "")


def test_disabling_a_user_needs_approval_and_then_the_server_refuses_that_user(
    site: World, minio_cluster: SimCluster
) -> None:
    requested = run(site, "/minio security demo disable-user probe")
    assert not requested.failed, report_text(requested)
    [(channel, ts, card, _)] = site.outbox.posts
    assert channel == OPS and "Disable MinIO user probe on demo" in report_text(card)
    assert signs(minio_cluster, "probe", "sim-probe-secret"), "nothing happens before the approval"
    approval = site.runtime.store.approvals.recent(1)[0]
    site.press(ALICE, approval.id)  # the requester cannot approve
    assert signs(minio_cluster, "probe", "sim-probe-secret")
    site.press(BOB, approval.id)
    assert site.status(approval.id) == "succeeded"
    assert not signs(minio_cluster, "probe", "sim-probe-secret")
    assert "User probe is disabled on demo" in report_text(site.outbox.card(ts))
    assert site.actions(approval.id).count("execute") == 1


def test_disabling_a_user_stops_its_service_accounts_and_the_preview_says_so(
    site: World, minio_cluster: SimCluster
) -> None:
    run(site, "/minio security demo disable-user backup-agent")
    assert "Service accounts of backup-agent" in report_text(site.outbox.posts[0][2])
    site.press(BOB, site.runtime.store.approvals.recent(1)[0].id)
    assert not signs(minio_cluster, "svc-backup-nightly", "sim-svc-backup-nightly-secret")


def test_enabling_brings_a_disabled_user_back(site: World, minio_cluster: SimCluster) -> None:
    assert not signs(minio_cluster, "old-ci", "sim-old-ci-secret")
    run(site, "/minio security demo enable-user old-ci")
    site.press(BOB, site.runtime.store.approvals.recent(1)[0].id)
    assert signs(minio_cluster, "old-ci", "sim-old-ci-secret")


def test_the_bots_own_user_is_refused(minio_cluster: SimCluster, tmp_path: Path) -> None:
    world = make_site(minio_cluster, tmp_path, "grafana", "sim-grafana-secret")
    try:
        report = run(world, "/minio security demo disable-user grafana")
        assert report.failed and "the bot's own MinIO user" in report_text(report)
        assert "the bot's own user" in report_text(run(world, "/minio security demo users"))
        root = run(world, f"/minio security demo disable-user {minio_cluster.access_key}")
        assert root.failed and "root user" in report_text(root)
        assert world.outbox.posts == []
    finally:
        world.runtime.close()


def test_the_root_user_is_refused_when_the_bot_signs_as_root(site: World, minio_cluster: SimCluster) -> None:
    report = run(site, f"/minio security demo disable-user {minio_cluster.access_key}")
    assert report.failed and site.outbox.posts == []


def test_a_user_name_with_unicode_and_path_characters(site: World, minio_cluster: SimCluster) -> None:
    name = "ops/zoë+1"
    admin_client(minio_cluster).user_add(name, "zoe-secret-123")
    assert signs(minio_cluster, name, "zoe-secret-123")
    run(site, f"/minio security demo disable-user {name}")
    assert name in report_text(site.outbox.posts[0][2])
    site.press(BOB, site.runtime.store.approvals.recent(1)[0].id)
    assert not signs(minio_cluster, name, "zoe-secret-123")


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("/minio security demo disable-user nobody", "no IAM user by that name"),
        ("/minio security demo enable-user probe", "already enabled"),
    ],
)
def test_unknown_users_and_no_ops_are_refused(site: World, command: str, says: str) -> None:
    report = run(site, command)
    assert report.failed and says in report_text(report) and site.outbox.posts == []


def test_someone_who_may_only_look_cannot_request(site: World) -> None:
    assert not run(site, "/minio security demo users", user=CAROL).failed
    assert run(site, "/minio security demo disable-user probe", user=CAROL).failed
    assert site.outbox.posts == []


def test_a_status_changed_since_the_preview_is_refused_after_approval(site: World, minio_cluster: SimCluster) -> None:
    run(site, "/minio security demo disable-user probe")
    admin_client(minio_cluster).user_disable("probe")  # someone did it by hand meanwhile
    approval = site.runtime.store.approvals.recent(1)[0]
    site.press(BOB, approval.id)
    assert site.status(approval.id) == "refused"
