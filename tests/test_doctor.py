"""`minio-chatops doctor` / `/minio doctor`: an installation checked end to end, each missing piece named.

Against the real parts: the Slack simulator (auth.test and its X-OAuth-Scopes
header, conversations.info, usergroups), the MinIO simulator (accountinfo and
the user's effective policy), a real kube-apiserver (SelfSubjectAccessReviews;
the RBAC-removed case runs in tests/test_rbac.py with the chart's own RBAC and
the bot's token), and the store. The pure parts (which access, which actions,
policy evaluation) are tested without servers.
"""

from __future__ import annotations

import copy
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk import WebClient

from bot.clients.lease import LeaseRecord
from bot.clients.slack import WebClientProbe
from bot.clients.slack_scopes import REQUIRED_SCOPES
from bot.config import parse_config
from bot.report import Report, Status
from bot.runtime import Runtime
from bot.shell import Shell
from handlers.doctor.evaluate import policy_allows, required_access, required_actions
from handlers.doctor.facts import DoctorFacts, LeaseState, gather
from handlers.doctor.present import doctor_report, lease_section
from sandbox.kube.controlplane import ControlPlane
from sandbox.minio_sim import SimCluster
from sandbox.slack_sim import SlackSim
from tests.reading import plain, report_text
from tests.test_deploy import MULTI, SINGLE, bot_grants, bot_namespace, render, rendered_config

ROOT = Path(__file__).resolve().parents[1]
BOT_POLICY: dict[str, Any] = json.loads((ROOT / "deploy" / "minio" / "bot-policy.json").read_text())
ALICE, CAROL, OPS, PLATFORM, ONCALL = "U0ALICE", "U0CAROL", "C0OPS", "C0PLATFORM", "S0ONCALL"


def rows(report: Report, status: Status) -> list[str]:
    """The plain text of every row with ``status``."""
    return [plain(r.text) for s in report.sections for r in s.rows if r.status == status]


# ---------------------------------------------------------------- pure: what is needed


@pytest.mark.parametrize("example", [SINGLE, MULTI])
def test_the_doctor_asks_for_exactly_what_the_chart_grants(example: str) -> None:
    # Two derivations from the same tables (API_CALLS, the config) must agree: what the doctor
    # checks with SelfSubjectAccessReviews is what the chart's RBAC grants the bot.
    manifests = render(example)
    config = rendered_config(manifests)
    [cluster] = config.clusters
    asked = {(a.namespace or None, a.group, a.resource + (f"/{a.subresource}" if a.subresource else ""), a.verb,
              a.name or None) for a in required_access(config, cluster, bot_namespace(manifests))}
    granted = set()
    for grant in bot_grants(manifests):
        if (grant.group, grant.resource) == ("authorization.k8s.io", "selfsubjectaccessreviews"):
            continue  # how the doctor asks
        for name in sorted(grant.names) if grant.names else [None]:
            granted.add((grant.namespace, grant.group, grant.resource, grant.verb, name))
    assert asked == granted


def test_the_shipped_bot_policy_allows_every_action_and_each_removal_is_caught() -> None:
    tenant = rendered_config(render(MULTI)).tenants[0]
    actions = required_actions(tenant)
    assert {a for a, _ in actions} >= {"admin:ServerInfo", "admin:Heal", "s3:PutObject", "s3:ListBucket"}
    assert all(policy_allows(BOT_POLICY, a, r) for a, r in actions)
    for index, (action, _resource) in enumerate(actions):
        policy = copy.deepcopy(BOT_POLICY)
        for statement in policy["Statement"]:
            statement["Action"] = [x for x in statement["Action"] if x != action]
        still = [a for a, r in actions if policy_allows(policy, a, r)]
        assert action not in still and len(still) == len(actions) - 1, index


def test_the_slack_simulator_installs_the_app_with_the_scopes_the_code_needs() -> None:
    from sandbox.slack_sim.state import DEFAULT_BOT_SCOPES

    assert set(REQUIRED_SCOPES) == DEFAULT_BOT_SCOPES


def test_policy_evaluation_follows_wildcards_resources_and_deny() -> None:
    admin_all = {"Statement": [{"Effect": "Allow", "Action": ["admin:*"]}]}
    assert policy_allows(admin_all, "admin:Heal", "")
    assert not policy_allows(admin_all, "s3:GetObject", "arn:aws:s3:::b/k")
    some_buckets = {"Statement": [{"Effect": "Allow", "Action": ["s3:GetBucketPolicy"],
                                   "Resource": ["arn:aws:s3:::a*"]}]}
    assert not policy_allows(some_buckets, "s3:GetBucketPolicy", "arn:aws:s3:::*"), "every bucket is needed"
    canary = {"Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::other/*"]}]}
    assert not policy_allows(canary, "s3:PutObject", "arn:aws:s3:::probe/.minio-chatops/canary/doctor")
    denied = {"Statement": [{"Effect": "Allow", "Action": ["admin:*"]},
                            {"Effect": "Deny", "Action": ["admin:ServiceRestart"]}]}
    assert policy_allows(denied, "admin:Heal", "") and not policy_allows(denied, "admin:ServiceRestart", "")
    conditional = {"Statement": [{"Effect": "Allow", "Action": ["admin:Heal"], "Condition": {"x": {}}}]}
    assert not policy_allows(conditional, "admin:Heal", "")


def lease_facts(record: LeaseRecord | None, now: datetime) -> DoctorFacts:
    return DoctorFacts(now=now, slack=None, lease=LeaseState("minio-chatops", "minio-chatops-leader", 15, record))


def test_the_lease_needs_a_holder_that_renews_it() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def record(holder: str, ago_s: float) -> LeaseRecord:
        renewed = (now - timedelta(seconds=ago_s)).isoformat().replace("+00:00", "Z")
        return LeaseRecord(holder=holder, duration_s=15, transitions=1, acquire_time=None, resource_version="1",
                           renew_time=renewed)

    fresh = lease_section(lease_facts(record("minio-chatops-0", 3), now))
    assert fresh.status == Status.HEALTHY and "held by `minio-chatops-0`" in plain(fresh.rows[0].text)
    stale = lease_section(lease_facts(record("minio-chatops-0", 120), now))
    assert stale.status == Status.UNHEALTHY and "stopped renewing" in plain(stale.rows[0].text)
    assert "has no holder" in plain(lease_section(lease_facts(record("", 1), now)).rows[0].text)
    assert "no Lease" in plain(lease_section(lease_facts(None, now)).rows[0].text)


# ---------------------------------------------------------------- against the simulators and the API server


@pytest.fixture
def installation(slack_sim: SlackSim, minio_cluster: SimCluster, kube: ControlPlane, kube_ns: str,
                 tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A config for tenant "demo" (static endpoints), the admin's kubeconfig, #ops, the on-call group."""
    (tmp_path / "ak").write_text(minio_cluster.access_key)
    (tmp_path / "sk").write_text(minio_cluster.secret_key)
    raw = {
        "admins": [ALICE],
        "store_url": f"sqlite:///{tmp_path / 'state.db'}",
        "timeouts": {"connect": 2, "read": 5, "probe": 2, "report_deadline": 10},
        "slack": {"api_url": slack_sim.api_url},
        "clusters": [{"name": "default", "kubeconfig": str(kube.write_kubeconfig(tmp_path / "kubeconfig")),
                      "namespaces": [kube_ns], "discover": False}],
        "channels": [{"id": OPS}],
        "tenants": [{
            "name": "demo",
            "endpoints": list(minio_cluster.endpoints),
            "credentials": {"access_key_file": str(tmp_path / "ak"), "secret_key_file": str(tmp_path / "sk")},
            "channels": [OPS],
            "operators": [ONCALL],
        }],
    }
    Runtime(parse_config(yaml.safe_dump(raw))).store.migrate()
    yield raw


def doctor(raw: dict[str, Any], slack_sim: SlackSim) -> Report:
    probe = WebClientProbe(WebClient(token=slack_sim.bot_token, base_url=slack_sim.api_url, timeout=5))
    runtime = Runtime(parse_config(yaml.safe_dump(raw)), slack=probe)
    try:
        return doctor_report(gather(runtime))
    finally:
        runtime.close()


@pytest.mark.kube
def test_a_complete_installation_passes_every_check(installation: dict[str, Any], slack_sim: SlackSim) -> None:
    report = doctor(installation, slack_sim)
    assert report.status == Status.HEALTHY and report.exit_code == 0, report_text(report)
    text = report_text(report)
    assert f"all {len(REQUIRED_SCOPES)} scopes the bot needs are granted" in text
    assert "Kubernetes calls the bot makes are allowed" in text and "MinIO actions the bot uses are allowed" in text
    assert "schema at version" in text and "the 1 configured user group resolved" in text
    assert "the app is in the 1 configured channel" in text
    assert plain(report.summary).startswith("doctor: ") and plain(report.summary).endswith("0 to fix")


@pytest.mark.kube
def test_a_token_missing_one_scope_is_named(installation: dict[str, Any], slack_sim: SlackSim) -> None:
    slack_sim.set_scopes([s for s in REQUIRED_SCOPES if s != "usergroups:read"])
    report = doctor(installation, slack_sim)
    assert report.exit_code == 2
    [problem] = [r for r in rows(report, Status.UNHEALTHY) if "scope" in r]
    assert problem.startswith("scope `usergroups:read` missing (resolve operator and approver user groups)")
    assert "slack-app-manifest.yaml" in problem


@pytest.mark.kube
def test_a_minio_user_missing_one_policy_action_is_named(
    installation: dict[str, Any], slack_sim: SlackSim, minio_cluster: SimCluster
) -> None:
    policy = copy.deepcopy(BOT_POLICY)
    policy["Statement"][0]["Action"].remove("admin:TopLocksInfo")
    minio_cluster.set_account_policy(policy)
    report = doctor(installation, slack_sim)
    assert report.exit_code == 2
    assert rows(report, Status.UNHEALTHY) == [
        "the bot's MinIO user may not `admin:TopLocksInfo`: add it to its policy (`deploy/minio/bot-policy.json`)"
    ]
    # The shipped policy itself is complete.
    minio_cluster.set_account_policy(BOT_POLICY)
    assert doctor(installation, slack_sim).exit_code == 0


@pytest.mark.kube
def test_channels_groups_credentials_and_store_problems_are_named(
    installation: dict[str, Any], slack_sim: SlackSim, tmp_path: Path
) -> None:
    raw = copy.deepcopy(installation)
    raw["channels"].append({"id": PLATFORM})  # the bot is not a member
    raw["channels"].append({"id": "C0GONE"})
    raw["tenants"][0]["operators"] = ["S0NOSUCH"]
    (tmp_path / "sk").write_text("wrong-secret-key")
    raw["store_url"] = f"sqlite:///{tmp_path / 'empty.db'}"
    report = doctor(raw, slack_sim)
    fix = rows(report, Status.UNHEALTHY)
    assert any(r.startswith("the app is not in") and "/invite @minio-chatops" in r for r in fix), fix
    assert any(r.startswith("channel `C0GONE` not found") for r in fix), fix
    assert any(r.startswith("user group `S0NOSUCH` does not resolve") for r in fix), fix
    assert any(r.startswith("MinIO rejected the credentials") for r in fix), fix
    assert rows(report, Status.DEGRADED) == [
        "sqlite reachable but empty: the bot creates its tables when it starts"
    ]
    assert "wrong-secret-key" not in report_text(report)


@pytest.mark.kube
def test_a_rejected_token_and_an_unreachable_minio_are_named(
    installation: dict[str, Any], slack_sim: SlackSim, minio_cluster: SimCluster
) -> None:
    runtime = Runtime(parse_config(yaml.safe_dump(installation)),
                      slack=WebClientProbe(WebClient(token="xoxb-not-the-token", base_url=slack_sim.api_url)))
    minio_cluster.stop()
    try:
        report = doctor_report(gather(runtime))
    finally:
        runtime.close()
    fix = rows(report, Status.UNHEALTHY)
    assert any(r.startswith("the bot token does not work (auth.test: invalid_auth)") for r in fix), fix
    assert any(r.startswith("MinIO unreachable") for r in fix), fix
    assert "xoxb-not-the-token" not in report_text(report)


@pytest.mark.kube
def test_slash_doctor_is_for_admins_only(installation: dict[str, Any], slack_sim: SlackSim) -> None:
    probe = WebClientProbe(WebClient(token=slack_sim.bot_token, base_url=slack_sim.api_url))
    runtime = Runtime(parse_config(yaml.safe_dump(installation)), slack=probe)
    try:
        out = io.StringIO()
        assert Shell(runtime, user=CAROL, channel=OPS, out=out).run_line("/minio doctor") == 3
        assert "it is for bot admins" in out.getvalue()
        out = io.StringIO()
        assert Shell(runtime, user=ALICE, channel=OPS, out=out).run_line("/minio doctor") == 0
        assert "0 to fix" in out.getvalue()
    finally:
        runtime.close()


# ---------------------------------------------------------------- the command line, against the demo


@pytest.mark.kube
def test_minio_chatops_doctor_exits_0_on_the_demo_and_names_what_is_removed(tmp_path: Path) -> None:
    from sandbox.launcher import Sandbox

    with Sandbox(with_slack=True, state_dir=tmp_path / "demo") as demo:
        env = {**os.environ, "SLACK_BOT_TOKEN": demo.slack.bot_token}
        command = [sys.executable, "-m", "bot.cli", "doctor", "--config", str(demo.config_path)]
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.strip().splitlines()[-1] == "doctor: 8 checks, 8 ok, 0 to look at, 0 to fix"
        demo.slack.set_scopes([s for s in REQUIRED_SCOPES if s != "pins:write"])
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 2
        assert "scope `pins:write` missing (pin the incident summary)" in done.stdout
        assert done.stdout.strip().splitlines()[-1] == "doctor: 8 checks, 7 ok, 0 to look at, 1 to fix"
