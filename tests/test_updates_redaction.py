"""A rollback preview of a Tenant with MINIO_ROOT_PASSWORD in spec.env (issue 14, item 7).

Against the real API server, the MinIO simulator and the store: an approved
upgrade snapshots the spec, someone rotates the password and edits the env,
and `rollback` previews the diff. Neither password may reach Slack (every
message passes through the redaction function) or any row of the store, and
nothing the bot does may write a placeholder (or the old password) into the
Tenant.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client
from sqlalchemy import create_engine, select

from bot.redact import MASK, redact
from bot.store.schema import metadata
from sandbox.kube.controlplane import ControlPlane
from sandbox.kube.world import DEFAULT_IMAGE, TenantWorld
from sandbox.minio_sim import SimCluster
from tests.reading import plain
from tests.test_approvals import ALICE, BOB, text_of
from tests.test_scaling import Site, make_site
from tests.test_updates import NEW, NEW_TAG, roll_out

pytestmark = pytest.mark.kube

OLD_PASSWORD = "old-Root-Pa55-word-41"
NEW_PASSWORD = "new-Root-Pa55-word-42"


@pytest.fixture
def site(kube: ControlPlane, kube_api: client.ApiClient, tenant_world: TenantWorld, kube_ns: str,
         minio_cluster: SimCluster, tmp_path: Path) -> Iterator[Site]:
    s = make_site(kube, kube_api, kube_ns, minio_cluster, tmp_path, target_versions={"minio": NEW_TAG})
    yield s
    s.operator.join()
    s.bot.runtime.close()


def env_of(site: Site) -> dict[str, str | None]:
    return {e["name"]: e.get("value") for e in site.tenant()["spec"].get("env") or []}


def everything_stored(site: Site) -> str:
    engine = create_engine(site.bot.runtime.store_url)
    try:
        with engine.connect() as conn:
            return "\n".join(str(tuple(row)) for table in metadata.sorted_tables for row in conn.execute(select(table)))
    finally:
        engine.dispose()


def shown_in_slack(site: Site) -> str:
    """Everything the bot posted, as Slack receives it (delivery redacts every string)."""
    return "\n".join(redact(text_of(report)) for _channel, _ts, report, _thread in site.bot.outbox.posts)


def test_a_rollback_preview_of_a_spec_with_minio_root_password_in_env_shows_the_change_without_the_value_and_the_approved_rollback_keeps_it(  # noqa: E501
    site: Site,
) -> None:
    site.patch_spec({"env": [{"name": "MINIO_ROOT_PASSWORD", "value": OLD_PASSWORD},
                             {"name": "MINIO_BROWSER", "value": "on"}]})
    # An approved upgrade stores the spec as it was: the snapshot a rollback restores.
    assert not site.run(ALICE, f"update demo tenant {NEW}").failed
    roll_out(site, NEW)
    upgrade = site.approve_latest(BOB)
    site.operator.join()
    assert site.bot.status(upgrade) == "succeeded", site.card(upgrade)
    [snapshot] = site.bot.runtime.store.specs.list("demo")
    assert {e["name"]: e.get("value") for e in snapshot.spec["env"]} == {"MINIO_ROOT_PASSWORD": MASK,
                                                                         "MINIO_BROWSER": "on"}
    assert OLD_PASSWORD not in everything_stored(site)

    # The password is rotated and the env edited; then someone previews the rollback.
    site.patch_spec({"env": [{"name": "MINIO_ROOT_PASSWORD", "value": NEW_PASSWORD},
                             {"name": "MINIO_BROWSER", "value": "off"}]})
    preview = site.run(ALICE, f"update demo rollback {snapshot.id}")
    assert not preview.failed, text_of(preview)
    card = site.last_card()
    assert "spec.env: " in card and '"MINIO_BROWSER","value":"off' in card and '"MINIO_BROWSER","value":"on"' in card
    assert f'"MINIO_ROOT_PASSWORD","value":"{MASK}"' in card, "the secret's entry is shown, its value never"
    assert "each one keeps the value the Tenant has now" in card
    assert "The API server accepted the patch (dryRun=All)" in card
    for seen in (text_of(preview), card, shown_in_slack(site), everything_stored(site)):
        assert OLD_PASSWORD not in seen and NEW_PASSWORD not in seen
    [pending] = [a for a in site.bot.runtime.store.approvals.pending() if a.kind == "update-rollback"]
    assert NEW_PASSWORD not in json.dumps(pending.plan)

    # Approved: the env is restored (MINIO_BROWSER back on) and the live password is the rotated one, unchanged.
    roll_out(site, DEFAULT_IMAGE)
    rollback = site.approve_latest(BOB)
    site.operator.join()
    assert rollback == pending.id
    assert site.bot.status(rollback) == "succeeded", site.card(rollback)
    assert env_of(site) == {"MINIO_ROOT_PASSWORD": NEW_PASSWORD, "MINIO_BROWSER": "on"}
    assert json.dumps(site.tenant()["spec"]).count(MASK) == 0, "never the placeholder"
    stored = everything_stored(site)
    assert OLD_PASSWORD not in stored and NEW_PASSWORD not in stored
    assert NEW_PASSWORD not in shown_in_slack(site)


def test_a_rollback_whose_secret_has_no_current_value_says_why_and_writes_nothing(site: Site) -> None:
    site.patch_spec({"env": [{"name": "MINIO_ROOT_PASSWORD", "value": OLD_PASSWORD}]})
    saved = site.bot.runtime.store.specs.add("demo", dict(site.tenant()["spec"]), reason="hand-made")
    site.patch_spec({"env": [{"name": "MINIO_BROWSER", "value": "off"}]})  # the secret's entry is gone
    report = site.run(ALICE, f"update demo rollback {saved.id}")
    assert report.failed and "Not sent: " in plain(report.summary)
    assert "never stores secret values, so it cannot put this one back" in plain(report.summary)
    assert "refusing to write the redaction placeholder" not in plain(report.summary)
    assert not site.bot.runtime.store.approvals.recent(1)
    assert env_of(site) == {"MINIO_BROWSER": "off"}
