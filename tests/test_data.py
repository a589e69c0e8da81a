"""`/minio data`: protection status, versions of one prefix, and restores as approved changes.

Given the demo tenant on the simulator (documents is versioned with history, logs has a quota and
no versioning), the status flags buckets that hold data without versioning; a deleted document
shows its delete marker and comes back once, after a second person approves, audited.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from minio.error import S3Error

from bot.clients.errors import ClientError
from bot.commands import UsageError
from bot.report import Report
from handlers import data
from handlers.data.evaluate import decide_restore
from handlers.data.facts import KeyFacts
from handlers.data.restore import _remove_markers
from sandbox.minio_sim import SimCluster
from tests.fixtures.minio import s3_client
from tests.reading import plain, report_text
from tests.test_approvals import ALICE, BOB, CAROL, OPS, World, world_from

DOC = "reports/2026-q3.pdf"


def site_config(cluster: SimCluster, keys: Path, store_url: str) -> dict[str, Any]:
    (keys / "ak").write_text(cluster.access_key)
    (keys / "sk").write_text(cluster.secret_key)
    return {
        "admins": [],
        "store_url": store_url,
        "channels": [{"id": OPS}],
        "tenants": [{
            "name": "demo",
            "endpoints": cluster.endpoints,
            "credentials": {"access_key_file": str(keys / "ak"), "secret_key_file": str(keys / "sk")},
            "channels": [OPS],
            "operators": [ALICE, BOB],
            "approvals": {kind: {"approvers": [ALICE, BOB]} for kind in ("restore", "protection", "security")},
        }],
    }


@pytest.fixture
def site(minio_cluster: SimCluster, tmp_path: Path) -> Iterator[World]:
    minio_cluster.load_demo_data()
    minio_cluster.run_scanner()
    world = world_from(site_config(minio_cluster, tmp_path, f"sqlite:///{tmp_path / 'state.db'}"),
                       capabilities=(data.capability,))
    yield world
    world.runtime.close()


def run(world: World, text: str, user: str = ALICE) -> Report:
    command = world.dispatcher.parse(text)
    assert not isinstance(command, UsageError), plain(command.text)
    return world.dispatcher.run(user, OPS, command, outbox=world.outbox)


def read(cluster: SimCluster, key: str, bucket: str = "documents") -> bytes:
    response = s3_client(cluster).get_object(bucket, key)
    try:
        return bytes(response.read())
    finally:
        response.close()
        response.release_conn()


def test_status_flags_buckets_holding_data_without_versioning_and_shows_lock_and_quota(site: World) -> None:
    report = run(site, "/minio data demo")
    text = report_text(report)
    assert report.status is not None and report.status.name == "DEGRADED"
    reasons = " ".join(plain(r) for r in report.reasons)
    for bucket in ("logs", "ml-datasets", "web-assets"):
        assert f"'{bucket}' holds" in reasons or f"{bucket}" in reasons
    assert "backups" not in reasons and "documents" not in reasons
    assert "versioning Enabled" in text and "object lock" in text
    assert "quota" in text and "% used" in text
    assert "Sizes from the scanner" in text


def test_status_is_bounded_to_the_largest_buckets_and_counts_the_rest(site: World, minio_cluster: SimCluster,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("handlers.data.facts.TOP_BUCKETS", 2)
    minio_cluster.set_usage({f"small-{i:03d}": (i + 1, 1) for i in range(30)})
    minio_cluster.run_scanner()
    report = run(site, "/minio data demo")
    assert len(report.sections[0].rows) == 2
    assert "34 smaller bucket(s) not inspected" in report_text(report)


def test_one_bucket_and_a_missing_bucket(site: World) -> None:
    report = run(site, "/minio data demo documents")
    assert report.title.endswith("/ documents") and report.status is not None and report.status.name == "HEALTHY"
    missing = run(site, "/minio data demo no-such-bucket")
    assert missing.failed and "does not exist" in report_text(missing)


def test_a_deleted_document_shows_its_delete_marker_and_comes_back_once_after_approval(
    site: World, minio_cluster: SimCluster
) -> None:
    s3_client(minio_cluster).remove_object("documents", DOC)
    listing = report_text(run(site, "/minio data demo versions documents/reports/"))
    assert "delete marker" in listing and "the object reads as deleted" in listing
    assert f"/minio data demo restore documents/{DOC}" in listing
    requested = run(site, f"/minio data demo restore documents/{DOC}")
    assert not requested.failed, report_text(requested)
    [(channel, ts, card, _)] = site.outbox.posts
    preview = report_text(card)
    assert channel == OPS and "Remove 1 delete marker(s)" in preview
    assert "version" in preview and "(current" not in preview
    with pytest.raises(S3Error):
        read(minio_cluster, DOC)  # nothing happens before the approval
    approval = site.runtime.store.approvals.recent(1)[0]
    assert "someone else" in report_text(site.press(ALICE, approval.id).ephemeral or card)
    site.press(BOB, approval.id)
    assert site.status(approval.id) == "succeeded"
    assert read(minio_cluster, DOC) == b"%PDF q3 final\n"
    site.press(BOB, approval.id)  # a late second click changes nothing
    actions = site.actions(approval.id)
    assert actions[0] == "request" and actions.count("execute") == 1 and actions[-1] == "result"
    assert "is back" in report_text(site.outbox.card(ts))


def test_restoring_an_older_version_copies_it_to_the_top_and_keeps_history(
    site: World, minio_cluster: SimCluster
) -> None:
    old = next(v for v in site.runtime.minio(site.runtime.config.tenants[0]).list_object_versions(
        "documents", DOC).versions if not v.is_latest)
    run(site, f"/minio data demo restore documents/{DOC} --version {old.version_id}")
    preview = report_text(site.outbox.posts[-1][2])
    assert "Copy it server-side" in preview and old.version_id in preview
    site.press(BOB, site.runtime.store.approvals.recent(1)[0].id)
    assert read(minio_cluster, DOC) == b"%PDF q3 draft\n"
    versions = site.runtime.minio(site.runtime.config.tenants[0]).list_object_versions("documents", DOC).versions
    assert len(versions) == 3


def test_the_plan_is_refused_after_approval_when_the_key_changed_since_the_preview(
    site: World, minio_cluster: SimCluster
) -> None:
    s3_client(minio_cluster).remove_object("documents", DOC)
    run(site, f"/minio data demo restore documents/{DOC}")
    s3_client(minio_cluster).put_object("documents", DOC, io.BytesIO(b"new"), 3)  # someone wrote it meanwhile
    approval = site.runtime.store.approvals.recent(1)[0]
    site.press(BOB, approval.id)
    assert site.status(approval.id) == "refused"
    assert read(minio_cluster, DOC) == b"new"


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("/minio data demo restore documents/never/was.pdf", "never existed"),
        ("/minio data demo restore logs/app.log", "only a backup can help: /minio backup <tenant> restore logs/"),
        ("/minio data demo restore documents/reports/2026-q3.pdf", "is not deleted"),
        ("/minio data demo restore documents/reports", "Keys under that name: reports/2026-q3.pdf"),
        ("/minio data demo versions documents", "name a bucket and a key or prefix"),
        ("/minio data demo versions documents/x --page not-a-token", "page token"),
        ("/minio data demo restore nowhere/k", "does not exist"),
        # restore --to another key: not the key itself (plain restore does that), not a prefix, needs history.
        (f"/minio data demo restore documents/{DOC} --to {DOC}", "use restore without --to"),
        (f"/minio data demo restore documents/{DOC} --to reports/", "looks like a prefix"),
        ("/minio data demo restore documents/never/was.pdf --to reports/x.pdf", "never existed"),
        ("/minio data demo restore logs/app.log --to logs/app.old", "only a backup can help"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_requested(site: World, command: str, says: str) -> None:
    report = run(site, command)
    assert report.failed and says.lower() in report_text(report).lower(), report_text(report)
    assert site.outbox.posts == []


@pytest.mark.parametrize("to", ["", " --to reports/2026-q3.restored.pdf"])
def test_a_version_id_of_another_key_is_refused(site: World, to: str) -> None:
    client = site.runtime.minio(site.runtime.config.tenants[0])
    other = client.list_object_versions("documents", "contracts/acme.pdf").versions[0].version_id
    report = run(site, f"/minio data demo restore documents/{DOC} --version {other}{to}")
    assert report.failed and f"{other} is not a version of {DOC}" in report_text(report)
    assert site.outbox.posts == []


def test_only_operators_may_request_a_restore_but_anyone_here_may_look(site: World) -> None:
    assert not run(site, "/minio data demo versions documents/reports/", user=CAROL).failed
    refused = run(site, f"/minio data demo restore documents/{DOC}", user=CAROL)
    assert refused.failed and site.outbox.posts == []


def test_versions_page_on_with_the_token_the_report_gives(site: World, minio_cluster: SimCluster,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data, "PAGE_SIZE", 2)
    first = report_text(run(site, "/minio data demo versions documents/reports/"))
    token = first.split("--page ")[1].split()[0].strip("'`")
    second = report_text(run(site, f"/minio data demo versions documents/reports/ --page {token}"))
    assert "2026-q4.pdf" in second and "2026-q4.pdf" not in first


class _Flaky:
    """A client whose second version delete fails (a node went down mid-restore)."""

    def __init__(self) -> None:
        self.deleted: list[str] = []

    def delete_object_version(self, bucket: str, key: str, version_id: str) -> None:
        if self.deleted:
            raise ClientError("unreachable", "MinIO node 1", "connection refused")
        self.deleted.append(version_id)


def test_a_restore_that_fails_half_way_says_what_was_done_and_what_was_not() -> None:
    lines: list[str] = []
    outcome = _remove_markers(_Flaky(), "documents", DOC, ["m2", "m1"], "v1", lines.append)  # type: ignore[arg-type]
    assert not outcome.ok
    assert "1 of 2 delete marker(s) were removed" in outcome.summary
    assert "still reads as deleted" in outcome.summary
    assert lines == ["Removed delete marker m2."]


def test_the_decision_removes_only_markers_when_nothing_else_is_above_the_chosen_version() -> None:
    from bot.clients.minio_models import ObjectVersion, VersioningInfo

    stack = [ObjectVersion(key="k", version_id="m", delete_marker=True, is_latest=True),
             ObjectVersion(key="k", version_id="v2", size=2), ObjectVersion(key="k", version_id="v1", size=1)]
    facts = KeyFacts("b", "k", VersioningInfo(bucket="b", status="Enabled"), stack, [], True)
    assert decide_restore(facts, "v2").action == "remove-markers"
    assert decide_restore(facts, "v1").action == "copy"
    assert decide_restore(facts, None).becomes_current.version_id == "v2"


def test_versioning_is_enabled_on_a_bucket_after_approval_and_never_offered_off(
    site: World, minio_cluster: SimCluster
) -> None:
    run(site, "/minio data demo enable-versioning logs")
    preview = report_text(site.outbox.posts[0][2])
    assert "Versioning of logs" in preview and "Off" in preview and "Enabled" in preview
    site.press(BOB, site.runtime.store.approvals.recent(1)[0].id)
    assert s3_client(minio_cluster).get_bucket_versioning("logs").status == "Enabled"
    again = run(site, "/minio data demo enable-versioning logs")
    assert again.failed and "already enabled" in report_text(again)
    # There is no way to turn it off from chat.
    assert isinstance(site.dispatcher.parse("/minio data demo disable-versioning logs"), UsageError)


def test_a_quota_is_set_and_removed_after_approval(site: World, minio_cluster: SimCluster) -> None:
    run(site, "/minio data demo quota ml-datasets 2Ti")
    assert "Hard quota of ml-datasets" in report_text(site.outbox.posts[-1][2])
    site.press(BOB, site.runtime.store.approvals.recent(1)[0].id)
    client = site.runtime.minio(site.runtime.config.tenants[0])
    quota = client.bucket_quota("ml-datasets")
    assert quota is not None and quota.limit == 2 << 40
    run(site, "/minio data demo quota ml-datasets none")
    # The test clock stands still: both requests have the same time, so pick the one still pending.
    pending = next(a for a in site.runtime.store.approvals.recent(5) if a.status == "pending")
    site.press(BOB, pending.id)
    assert client.bucket_quota("ml-datasets") is None


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("/minio data demo quota logs lots", "Not a size"),
        ("/minio data demo quota logs 50Ti", "already 50.0 TiB"),
        ("/minio data demo quota nowhere 1Ti", "does not exist"),
        ("/minio data demo enable-versioning documents", "already enabled"),
    ],
)
def test_protection_changes_refuse_bad_input(site: World, command: str, says: str) -> None:
    report = run(site, command)
    assert report.failed and says in report_text(report), report_text(report)
    assert site.outbox.posts == []


def _deleted_tree(cluster: SimCluster, count: int) -> None:
    s3 = s3_client(cluster)
    for i in range(count):
        s3.put_object("documents", f"team/a/{i:03d}.txt", io.BytesIO(b"x" * (i + 1)), i + 1)
    for i in range(count):
        s3.remove_object("documents", f"team/a/{i:03d}.txt")


def test_a_prefix_restore_previews_count_and_bytes_and_undeletes_every_key_once_approved(
    site: World, minio_cluster: SimCluster
) -> None:
    _deleted_tree(minio_cluster, 12)
    requested = run(site, "/minio data demo restore documents/team/ --prefix")
    assert not requested.failed, report_text(requested)
    preview = report_text(site.outbox.posts[-1][2])
    assert "Restore 12 key(s) under documents/team/" in preview and "78 B" in preview
    assert "... and 2 more." in preview
    site.press(BOB, site.runtime.store.approvals.recent(1)[0].id)
    assert [len(read(minio_cluster, f"team/a/{i:03d}.txt")) for i in range(12)] == list(range(1, 13))


def test_a_prefix_restore_over_the_limit_is_refused(minio_cluster: SimCluster, tmp_path: Path) -> None:
    minio_cluster.load_demo_data()
    raw = site_config(minio_cluster, tmp_path, f"sqlite:///{tmp_path / 'limit.db'}")
    raw["tenants"][0]["restore_prefix_limit"] = 5
    world = world_from(raw, capabilities=(data.capability,))
    try:
        _deleted_tree(minio_cluster, 8)
        report = run(world, "/minio data demo restore documents/team/ --prefix")
        assert report.failed and "More than 5 keys" in report_text(report) and world.outbox.posts == []
    finally:
        world.runtime.close()


def test_a_prefix_restore_to_a_time_brings_back_the_versions_of_then(site: World, minio_cluster: SimCluster) -> None:
    import time
    from datetime import UTC, datetime

    s3 = s3_client(minio_cluster)
    s3.put_object("documents", "cfg/app.yaml", io.BytesIO(b"good"), 4)
    time.sleep(1.1)
    then = datetime.now(UTC)
    time.sleep(1.1)
    s3.put_object("documents", "cfg/app.yaml", io.BytesIO(b"broken"), 6)
    s3.put_object("documents", "cfg/new.yaml", io.BytesIO(b"later"), 5)  # did not exist then: left alone
    run(site, f"/minio data demo restore documents/cfg/ --prefix --before {then.isoformat()}")
    assert "Restore 1 key(s)" in report_text(site.outbox.posts[-1][2])
    site.press(BOB, site.runtime.store.approvals.recent(1)[0].id)
    assert read(minio_cluster, "cfg/app.yaml") == b"good" and read(minio_cluster, "cfg/new.yaml") == b"later"


class _StopsAfter:
    """A client whose copies fail from the third on (a node went down mid-run)."""

    def __init__(self) -> None:
        self.copied: list[str] = []

    def copy_object_version(self, bucket: str, key: str, version: str) -> None:
        if len(self.copied) == 2:
            raise ClientError("unreachable", "MinIO node 1", "connection refused")
        self.copied.append(key)


def test_a_prefix_restore_whose_request_got_no_answer_stops_and_names_the_unknown_key() -> None:
    from handlers.data.prefix_restore import run_steps

    steps = [{"key": f"k{i}", "action": "copy", "version": "v", "markers": []} for i in range(5)]
    outcome = run_steps(_StopsAfter(), "b", steps, lambda _line: None)  # type: ignore[arg-type]
    assert not outcome.ok
    assert "Prefix restore stopped. Restored 2 of 5 key(s)." in outcome.summary
    assert "Not known whether it was restored (the request got no answer): k2" in outcome.summary
    assert "Not attempted (2): k3, k4." in outcome.summary


def _stop_nodes_after(monkeypatch: pytest.MonkeyPatch, cluster: SimCluster, keys: int, nodes: list[int]) -> None:
    """Stop ``nodes`` (the simulator's fault injection) once ``keys`` delete markers have been removed."""
    from bot.clients import MinioClient

    real = MinioClient.delete_object_version
    done: list[str] = []

    def delete_then_fail(self: MinioClient, bucket: str, key: str, version_id: str, node: int | None = None) -> None:
        if len(done) == keys:
            for number in nodes:
                cluster.stop_node(number)
        real(self, bucket, key, version_id, node)
        done.append(key)

    monkeypatch.setattr(MinioClient, "delete_object_version", delete_then_fail)


def _deleted(cluster: SimCluster, key: str) -> bool:
    try:
        read(cluster, key)
    except S3Error:
        return True
    return False


def test_a_node_going_down_during_a_prefix_restore_costs_nothing_while_the_others_answer(
    site: World, minio_cluster: SimCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deleted_tree(minio_cluster, 12)
    run(site, "/minio data demo restore documents/team/ --prefix")
    _stop_nodes_after(monkeypatch, minio_cluster, 4, [1])
    approval = site.runtime.store.approvals.recent(1)[0]
    site.press(BOB, approval.id)
    assert site.status(approval.id) == "succeeded"
    assert "12 key(s) restored under documents" in report_text(site.outbox.card(site.outbox.posts[-1][1]))
    minio_cluster.start_node(1)  # the test reads through node 1
    assert not any(_deleted(minio_cluster, f"team/a/{i:03d}.txt") for i in range(12))


def test_a_prefix_restore_stops_when_the_cluster_takes_no_more_writes_and_says_what_was_and_was_not_done(
    site: World, minio_cluster: SimCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deleted_tree(minio_cluster, 12)
    run(site, "/minio data demo restore documents/team/ --prefix")
    _stop_nodes_after(monkeypatch, minio_cluster, 4, [1, 2])  # 4 of 8 drives left: below write quorum
    approval = site.runtime.store.approvals.recent(1)[0]
    site.press(BOB, approval.id)
    assert site.status(approval.id) != "succeeded"
    card = report_text(site.outbox.card(site.outbox.posts[-1][1]))
    assert "Prefix restore stopped. Restored 4 of 12 key(s)." in card
    assert ("Failed, nothing changed on them (3): team/a/004.txt, team/a/005.txt, team/a/006.txt." in card)
    assert "Not attempted (5): team/a/007.txt, team/a/008.txt, team/a/009.txt, team/a/010.txt, team/a/011.txt." in card
    for number in (1, 2):
        minio_cluster.start_node(number)
    assert [_deleted(minio_cluster, f"team/a/{i:03d}.txt") for i in range(12)] == [False] * 4 + [True] * 8


# ------------------------------------------------------------------ lifecycle and replication in the status


def _lifecycle(cluster: SimCluster, bucket: str) -> None:
    from minio.commonconfig import DISABLED, ENABLED, Filter
    from minio.lifecycleconfig import Expiration, LifecycleConfig, NoncurrentVersionExpiration, Rule

    s3_client(cluster).set_bucket_lifecycle(bucket, LifecycleConfig([
        Rule(ENABLED, rule_filter=Filter(prefix="tmp/"), rule_id="tmp", expiration=Expiration(days=30)),
        Rule(ENABLED, rule_filter=Filter(prefix="old/"), rule_id="old", expiration=Expiration(days=90)),
        Rule(ENABLED, rule_filter=Filter(prefix=""), rule_id="versions",
             noncurrent_version_expiration=NoncurrentVersionExpiration(7)),
        Rule(DISABLED, rule_filter=Filter(prefix=""), rule_id="off", expiration=Expiration(days=1)),
    ]))


def _row(report: Report, bucket: str) -> str:
    rows = [plain(r.text) for r in report.sections[0].rows]
    return next((row for row in rows if row.split(":")[0].strip("'` ") == bucket), f"no row for {bucket} in {rows}")


def test_a_bucket_with_lifecycle_rules_shows_how_many_and_the_next_expiry(site: World,
                                                                           minio_cluster: SimCluster) -> None:
    _lifecycle(minio_cluster, "documents")
    report = run(site, "/minio data demo")
    row = _row(report, "documents")
    assert "lifecycle 3 rule(s) on" in row
    assert "next expiry: objects after 30 days, old versions after 7 days" in row
    # A versioned bucket without a noncurrent-version expiry is fine: nothing flags it.
    assert "lifecycle" not in _row(report, "backups") and "documents" not in " ".join(plain(r) for r in report.reasons)


def test_a_bucket_whose_replication_fails_or_falls_behind_is_flagged(site: World, minio_cluster: SimCluster) -> None:
    from sandbox.minio_sim.entities import ReplicationRule

    minio_cluster.set_bucket_replication("documents", [ReplicationRule("dr", "dr-documents")])
    minio_cluster.set_bucket_replication("backups", [ReplicationRule("dr", "dr-backups")])
    minio_cluster.set_replication_backlog("documents", failed_hour_count=12, failed_hour_bytes=3 << 20,
                                          queued_count=40, queued_bytes=1 << 20, queued_avg_count=40)
    minio_cluster.set_replication_backlog("backups", queued_count=500, queued_bytes=2 << 30, queued_avg_count=20,
                                          latency_avg_ms=80, latency_max_ms=300)
    report = run(site, "/minio data demo")
    reasons = " ".join(plain(r) for r in report.reasons)
    assert "`documents`: replication failing: 12 operation(s) (3.00 MiB) failed in the last hour" in reasons
    assert "`backups`: replication backlog growing: 500 waiting (2.00 GiB), above its average of 20" in reasons
    assert "replicates to `dr-documents`" in _row(report, "documents")
    assert "40 waiting" in _row(report, "documents")
    assert "2 bucket(s) with replication trouble" in plain(report.summary)
    assert "link latency 80 ms average (max 300 ms)" in _row(report, "backups")


def test_a_bucket_whose_replication_target_is_offline_is_flagged(site: World, minio_cluster: SimCluster) -> None:
    from sandbox.minio_sim.entities import ReplicationRule

    minio_cluster.set_bucket_replication("documents", [ReplicationRule("dr", "dr-documents")])
    minio_cluster.set_replication_backlog("documents", target_offline=1, offline_seconds=600)
    report = run(site, "/minio data demo documents")
    assert report.status is not None and report.status.name == "DEGRADED"
    reasons = " ".join(plain(r) for r in report.reasons)
    assert "`documents`: replication failing: target dr-documents is offline since" in reasons


def test_an_empty_bucket_is_not_flagged_for_replication(site: World, minio_cluster: SimCluster) -> None:
    from sandbox.minio_sim.entities import ReplicationRule

    minio_cluster.model.create_bucket("fresh")
    minio_cluster.set_bucket_replication("fresh", [ReplicationRule("dr", "dr-fresh")])
    minio_cluster.set_replication_backlog("fresh", failed_hour_count=3, queued_count=9, queued_avg_count=1)
    report = run(site, "/minio data demo fresh")
    assert report.reasons == [] and "replication failing" not in report_text(report)


def test_a_bucket_whose_lifecycle_could_not_be_read_says_so_and_the_rest_still_arrives(
    site: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.clients import MinioClient

    real = MinioClient.bucket_lifecycle

    def flaky(self: MinioClient, bucket: str, node: int | None = None) -> Any:
        if bucket == "documents":
            raise ClientError("unreachable", "MinIO node 2", "connection refused")
        return real(self, bucket, node)

    monkeypatch.setattr(MinioClient, "bucket_lifecycle", flaky)
    report = run(site, "/minio data demo")
    assert "could not read lifecycle" in _row(report, "documents")
    assert "could not read" not in _row(report, "backups")
    assert report.status is not None and report.status.name == "DEGRADED"


# ------------------------------------------------------------------ restore --to another key

RESTORED = "reports/2026-q3.restored.pdf"


def test_restore_to_another_key_copies_the_newest_data_version_and_leaves_the_key_alone(
    site: World, minio_cluster: SimCluster
) -> None:
    s3_client(minio_cluster).remove_object("documents", DOC)  # a delete marker on top of the final version
    requested = run(site, f"/minio data demo restore documents/{DOC} --to {RESTORED}")
    assert not requested.failed, report_text(requested)
    [(_, ts, card, _)] = site.outbox.posts
    preview = report_text(card)
    assert f"documents/{RESTORED} does not exist now: the copy creates it." in preview
    assert f"documents/{DOC} itself is not touched." in preview
    with pytest.raises(S3Error):
        read(minio_cluster, RESTORED)  # nothing before the approval
    approval = site.runtime.store.approvals.recent(1)[0]
    assert "someone else" in report_text(site.press(ALICE, approval.id).ephemeral or card)
    site.press(BOB, approval.id)
    assert site.status(approval.id) == "succeeded"
    assert read(minio_cluster, RESTORED) == b"%PDF q3 final\n"
    with pytest.raises(S3Error):
        read(minio_cluster, DOC)  # the original still reads as deleted: untouched
    site.press(BOB, approval.id)
    assert site.actions(approval.id).count("execute") == 1
    assert f"restored to documents/{RESTORED}" in report_text(site.outbox.card(ts))


def test_restore_to_an_existing_key_says_so_and_is_refused_if_that_key_changed_since_the_preview(
    site: World, minio_cluster: SimCluster
) -> None:
    s3 = s3_client(minio_cluster)
    s3.put_object("documents", RESTORED, io.BytesIO(b"older copy"), 10)
    old = next(v for v in site.runtime.minio(site.runtime.config.tenants[0]).list_object_versions(
        "documents", DOC).versions if not v.is_latest)
    run(site, f"/minio data demo restore documents/{DOC} --version {old.version_id} --to {RESTORED}")
    preview = report_text(site.outbox.posts[-1][2])
    assert f"documents/{RESTORED} exists now: the copy becomes its new current version" in preview
    assert old.version_id in preview
    s3.put_object("documents", RESTORED, io.BytesIO(b"someone else"), 12)  # written after the preview
    approval = site.runtime.store.approvals.recent(1)[0]
    site.press(BOB, approval.id)
    assert site.status(approval.id) == "refused"
    assert read(minio_cluster, RESTORED) == b"someone else" and read(minio_cluster, DOC) == b"%PDF q3 final\n"


def test_to_goes_only_with_a_one_key_restore(site: World) -> None:
    assert isinstance(site.dispatcher.parse(f"/minio data demo versions documents/x --to {RESTORED}"), UsageError)
    assert isinstance(site.dispatcher.parse(f"/minio data demo restore documents/x --prefix --to {RESTORED}"),
                      UsageError)


def test_a_lifecycle_rule_with_a_date_shows_that_date_as_the_next_expiry(site: World,
                                                                         minio_cluster: SimCluster) -> None:
    from datetime import UTC, datetime

    from minio.commonconfig import ENABLED, Filter
    from minio.lifecycleconfig import Expiration, LifecycleConfig, Rule

    s3_client(minio_cluster).set_bucket_lifecycle("backups", LifecycleConfig([
        Rule(ENABLED, rule_filter=Filter(prefix="2025/"), rule_id="old-year",
             expiration=Expiration(date=datetime(2027, 1, 1, tzinfo=UTC))),
    ]))
    row = _row(run(site, "/minio data demo backups"), "backups")
    assert "lifecycle 1 rule(s) on, next expiry: objects on 2027-01-01" in row
