"""The MinIO policy of the bot's own user, derived from what MinioClient calls (issue 14, item 11).

``bot.clients.minio.POLICY_ACTIONS`` lists the IAM actions each public
``MinioClient`` method needs. These tests keep three things equal, like
tests/test_rbac.py does for Kubernetes: the methods of MinioClient and what
their code calls, the rows of the table, and deploy/minio/bot-policy.json.
A new admin call or SDK call without its action fails here.

Action names are MinIO's (the admin handlers' ``validateAdminReq`` /
``checkAdminRequestAuth`` actions, the S3 handlers' ``checkRequestAuthType``
actions). Two facts worth knowing: ``pools/list`` and ``pools/status`` accept
``admin:ServerInfo`` or ``admin:Decommission`` (older servers only the first);
``accountinfo`` needs valid credentials and no action.
"""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

from bot.clients.minio import CANARY_PREFIX, POLICY_ACTIONS, REMEDY_METHODS, MinioClient
from bot.config import ProbeSettings

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "deploy" / "minio" / "bot-policy.json"
REMEDIES = ROOT / "deploy" / "minio" / "bot-policy-remedies.json"

# Admin API path (after /minio/admin/v3/) -> the action MinIO checks; None: credentials only.
ADMIN_COMMAND_ACTIONS: dict[str, str | None] = {
    "info": "admin:ServerInfo",
    "datausageinfo": "admin:DataUsageInfo",
    "background-heal/status": "admin:Heal",
    "pools/list": "admin:ServerInfo",
    "pools/status": "admin:ServerInfo",
    "pools/decommission": "admin:Decommission",
    "pools/cancel": "admin:Decommission",
    "service": "admin:ServiceRestart",  # the client only ever sends action=restart
    "top/locks": "admin:TopLocksInfo",
    "accountinfo": None,
    "list-users": "admin:ListUsers",
    "list-service-accounts": "admin:ListServiceAccounts",
    "info-service-account": "admin:ListServiceAccounts",  # InfoServiceAccount checks ListServiceAccounts
    "update-service-account": "admin:UpdateServiceAccount",
    "get-bucket-quota": "admin:GetBucketQuota",
    "list-remote-targets": "admin:GetBucketTarget",
    "set-user-status": "admin:EnableUser",  # the server checks EnableUser for both states
    "set-bucket-quota": "admin:SetBucketQuota",
    "speedtest": "admin:OBDInfo",  # ObjectSpeedTestHandler checks HealthInfoAdminAction, whose name is admin:OBDInfo
}
# minio SDK method -> the S3 actions the server checks.
SDK_ACTIONS: dict[str, str | tuple[str, ...]] = {
    "list_buckets": "s3:ListAllMyBuckets",
    "get_bucket_policy": "s3:GetBucketPolicy",
    "get_bucket_versioning": "s3:GetBucketVersioning",
    "get_object_lock_config": "s3:GetBucketObjectLockConfiguration",
    "get_bucket_replication": "s3:GetReplicationConfiguration",
    "get_bucket_lifecycle": "s3:GetLifecycleConfiguration",
    "put_object": "s3:PutObject",
    "get_object": "s3:GetObject",
    "remove_object": "s3:DeleteObject",
    "list_objects": "s3:ListBucket",
    "copy_object": ("s3:GetObject", "s3:PutObject"),  # reads the source, writes the destination
    "stat_object": "s3:GetObject",  # HEAD Object: the server checks GetObject
    "set_bucket_versioning": "s3:PutBucketVersioning",
}
# S3 calls the client signs itself (no SDK method): a query that names the API -> its action.
RAW_S3_ACTIONS = {'"versions": ""': "s3:ListBucketVersions",
                  # GetBucketReplicationMetricsV2: the server checks GetReplicationConfigurationAction.
                  '"replication-metrics": "2"': "s3:GetReplicationConfiguration"}
OBJECT_ACTIONS = {"s3:PutObject", "s3:GetObject", "s3:DeleteObject"}

# self._admin(node, "GET", "<command>") and the streamed POST self._open_stream(node, "<command>", ...).
_ADMIN_CALL = re.compile(r"self\._(?:admin\(\s*\w+,\s*\"[A-Z]+\"|open_stream\(\s*\w+),\s*\"([^\"]+)\"")
_SDK_CALL = re.compile(r"\bc\.([a-z_]+)\(")
_SELF_CALL = re.compile(r"self\.([a-z_][a-z0-9_]*)\(")


def public_methods() -> set[str]:
    """Public methods of MinioClient (properties are not calls)."""
    return {
        name for name, value in inspect.getmembers(MinioClient)
        if not name.startswith("_") and callable(value)
        and not isinstance(inspect.getattr_static(MinioClient, name), property)
    }


def actions_in(source: str, seen: set[str] | None = None) -> tuple[set[str], set[str]]:
    """(actions, calls with no known action) of a method's source, following the methods it calls."""
    seen = set() if seen is None else seen
    actions: set[str] = set()
    unknown: set[str] = set()
    for command in _ADMIN_CALL.findall(source):
        if command not in ADMIN_COMMAND_ACTIONS:
            unknown.add(f"admin {command}")
        elif ADMIN_COMMAND_ACTIONS[command]:
            actions.add(str(ADMIN_COMMAND_ACTIONS[command]))
    for call in _SDK_CALL.findall(source):
        found = SDK_ACTIONS.get(call)
        if found is None:
            unknown.add(f"sdk {call}")
        else:
            actions |= {found} if isinstance(found, str) else set(found)
    for marker, action in RAW_S3_ACTIONS.items():
        if marker in source:
            actions.add(action)
    if "prometheus_jwt(" in source:
        actions.add("admin:Prometheus")
    for name in _SELF_CALL.findall(source):
        if name in seen or not callable(getattr(MinioClient, name, None)):
            continue
        seen.add(name)
        more, odd = actions_in(inspect.getsource(getattr(MinioClient, name)), seen)
        actions |= more
        unknown |= odd
    return actions, unknown


def policy_statements(path: Path = POLICY) -> list[dict[str, object]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["Version"] == "2012-10-17"
    return list(document["Statement"])


def test_every_public_minio_client_method_is_in_policy_actions() -> None:
    methods = public_methods()
    missing = sorted(methods - set(POLICY_ACTIONS))
    assert not missing, f"add these MinioClient methods to POLICY_ACTIONS in bot/clients/minio.py: {missing}"
    stale = sorted(set(POLICY_ACTIONS) - methods)
    assert not stale, f"POLICY_ACTIONS names methods MinioClient no longer has: {stale}"


def test_the_table_matches_what_each_method_calls() -> None:
    for method in sorted(public_methods()):
        actions, unknown = actions_in(inspect.getsource(getattr(MinioClient, method)), {method})
        assert not unknown, f"{method} makes calls whose MinIO action is not known here: {sorted(unknown)}"
        assert actions == set(POLICY_ACTIONS[method]), f"{method}: its code needs {sorted(actions)}"


def test_a_new_call_without_its_action_is_caught() -> None:
    source = 'answer = self._admin(target, "POST", "set-config-kv")\nc.set_bucket_policy(b, p)'
    actions, unknown = actions_in(source)
    assert actions == set() and unknown == {"admin set-config-kv", "sdk set_bucket_policy"}


def granted_actions(path: Path) -> set[str]:
    return {a for s in policy_statements(path) for a in s["Action"]}  # type: ignore[attr-defined]


def test_the_shipped_policy_is_exactly_the_union_of_the_table() -> None:
    wanted = {action for method, actions in POLICY_ACTIONS.items() if method not in REMEDY_METHODS
              for action in actions}
    granted: set[str] = set()
    for statement in policy_statements():
        assert statement["Effect"] == "Allow", statement
        actions = set(statement["Action"])  # type: ignore[call-overload]
        assert not any("*" in a for a in actions), f"no wildcard actions: {statement}"
        granted |= actions
        if any(a.startswith("admin:") for a in actions):
            assert all(a.startswith("admin:") for a in actions) and "Resource" not in statement, statement
        elif actions & OBJECT_ACTIONS:
            # Objects are written, read and deleted only where the canary puts them.
            assert actions <= OBJECT_ACTIONS, statement
            assert statement["Resource"] == [f"arn:aws:s3:::{ProbeSettings().bucket}/{CANARY_PREFIX}*"], statement
        else:
            assert statement["Resource"] == ["arn:aws:s3:::*"], statement
    assert granted == wanted, f"missing {sorted(wanted - granted)}, extra {sorted(granted - wanted)}"


def test_the_remedies_policy_grants_exactly_what_the_remedy_methods_call() -> None:
    wanted = {action for method in REMEDY_METHODS for action in POLICY_ACTIONS[method]}
    for statement in policy_statements(REMEDIES):
        assert statement["Effect"] == "Allow" and not any("*" in a for a in statement["Action"])  # type: ignore[attr-defined]
    assert granted_actions(REMEDIES) == wanted
    assert REMEDY_METHODS <= set(POLICY_ACTIONS)


def test_the_bot_never_gets_iam_config_or_bucket_write_actions() -> None:
    writes = re.compile(r"^admin:(Create|Delete|Add|Remove|Attach|Detach|Update|Set|Enable|Disable|Config|KMS|"
                        r"ServerUpdate|ServiceStop|ServiceFreeze|ForceUnlock)|^s3:(Put|Delete)(?!Object$)")
    assert sorted(a for a in granted_actions(POLICY) if writes.match(a)) == []
    # The remedies policy may enable/disable users, set quotas, enable versioning and restore objects.
    assert sorted(a for a in granted_actions(REMEDIES) if writes.match(a)) == [
        "admin:EnableUser", "admin:SetBucketQuota", "admin:UpdateServiceAccount", "s3:PutBucketVersioning"]


def test_no_minio_api_is_used_outside_the_client() -> None:
    # Otherwise a call could escape the table, and the policy with it.
    api_use = re.compile(r"^\s*(from minio(\.minioadmin)? import (Minio|MinioAdmin)\b|import minio\b)", re.M)
    allowed = {"bot/clients/minio.py"}
    offenders = []
    for folder in ("bot", "handlers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            text = path.read_text(encoding="utf-8")
            if relative not in allowed and (api_use.search(text) or "ADMIN_PREFIX" in text):
                offenders.append(relative)
    assert not offenders, f"MinIO calls belong in MinioClient (with POLICY_ACTIONS rows): {offenders}"


def test_the_readme_and_deploy_readme_point_at_the_policy() -> None:
    for doc in (ROOT / "README.md", ROOT / "deploy" / "README.md"):
        assert "minio/bot-policy.json" in doc.read_text(encoding="utf-8"), f"{doc} does not name the policy"
