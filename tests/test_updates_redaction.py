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
from sandbox.kube.world import TenantWorld
from sandbox.minio_sim import SimCluster
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


def test_a_rollback_preview_of_a_spec_with_minio_root_password_in_env_never_shows_or_stores_it(site: Site) -> None:
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
    shown = shown_in_slack(site) + "\n" + redact(text_of(preview))
    assert OLD_PASSWORD not in shown and NEW_PASSWORD not in shown
    stored = everything_stored(site)
    assert OLD_PASSWORD not in stored and NEW_PASSWORD not in stored

    # Whatever becomes of the request, the Tenant keeps its current password: never the placeholder, never
    # the old one (which the bot no longer has).
    pending = [a for a in site.bot.runtime.store.approvals.pending() if a.kind == "update-rollback"]
    for approval in pending:
        site.bot.press(BOB, approval.id)
    site.operator.join()
    assert env_of(site)["MINIO_ROOT_PASSWORD"] == NEW_PASSWORD
    stored = everything_stored(site)
    assert OLD_PASSWORD not in stored and NEW_PASSWORD not in stored
    assert NEW_PASSWORD not in shown_in_slack(site)
    assert json.dumps(site.tenant()["spec"]).count(MASK) == 0
