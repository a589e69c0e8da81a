"""Pure rules of upgrades and rollbacks: versions and skew, preflight findings, and the JSON patches.

No I/O: every function takes facts already read (:mod:`handlers.updates.facts`)
and returns values or :class:`~bot.changes.Finding`/:class:`~bot.changes.Change`
lines; plain sentences, no markup.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from bot.changes import Change, Finding
from bot.changes.preflight import (
    decommission_finding,
    healing_finding,
    nodes_online_finding,
    other_change_finding,
    quorum_finding,
    tenant_health_finding,
    tenant_state_finding,
)
from bot.changes.tenant import JsonPatch, pointer
from bot.clients.kube_models import DeploymentInfo
from bot.clients.minio_models import ServerInfo
from bot.config import TenantConfig
from bot.report import Status
from handlers.updates.facts import UpgradeFacts
from handlers.updates.images import (
    ImageRef,
    allowed_source,
    compare_versions,
    image_parts,
    image_source,
    image_tag,
    same_version,
)

OPERATOR_IMAGE_PATH = "/spec/template/spec/containers/0/image"
SHAPE = ("servers", "volumesPerServer")
_MISSING = object()


# ----------------------------------------------------------------------------- versions


def node_versions(info: ServerInfo) -> dict[str, str]:
    """endpoint -> version MinIO reports for it."""
    return {s.endpoint: s.release_tag or s.version for s in info.servers}


def version_summary(versions: dict[str, str]) -> str:
    """`RELEASE.X on 3 nodes, RELEASE.Y on 1` (most common first)."""
    counts: dict[str, int] = {}
    for version in versions.values():
        counts[version or "unknown"] = counts.get(version or "unknown", 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{v} on {n} node{'s' if n != 1 else ''}" for v, n in ordered) or "no nodes reported"


@dataclass(frozen=True)
class NodeVersion:
    """One MinIO node's version, and whether it stands out (skew, or not what the Tenant asks for)."""

    endpoint: str
    version: str
    state: str
    odd: bool


def version_skew(info: ServerInfo, spec_tag: str | None) -> tuple[list[NodeVersion], list[str], Status]:
    """Each node's version, the reasons a person should look (skew, rollout not finished) and the verdict."""
    versions = node_versions(info)
    counts: dict[str, int] = {}
    for version in versions.values():
        counts[version] = counts.get(version, 0) + 1
    common = max(counts, key=lambda v: counts[v]) if counts else None
    nodes = [NodeVersion(s.endpoint, s.version, s.state,
                         s.version != common or (spec_tag is not None and not same_version(s.version, spec_tag)))
             for s in info.servers]
    reasons: list[str] = []
    if len(counts) > 1:
        reasons.append(f"Version skew: {version_summary(versions)}. Normal during a rollout; otherwise finish or "
                       "roll back the upgrade.")
    if spec_tag and common and not same_version(common, spec_tag):
        reasons.append(f"The Tenant asks for {spec_tag} but the nodes run {common}: the rollout has not happened "
                       "or did not finish.")
    return nodes, reasons, Status.DEGRADED if reasons else Status.HEALTHY


# ----------------------------------------------------------------------------- preflight


def upgrade_findings(facts: UpgradeFacts, tenant: str, own_hash: str = "") -> list[Finding]:
    """healthy, quorum, all nodes online, no healing, not in another change (``own_hash``: this plan's request)."""
    return [
        tenant_health_finding(facts.tenant),
        quorum_finding(facts.health),
        nodes_online_finding(facts.info),
        healing_finding(facts.heal, facts.info),
        tenant_state_finding(facts.tenant),
        decommission_finding(facts.pools),
        other_change_finding(facts.approvals, tenant, own_hash),
    ]


def direction_finding(current: str | None, target: ImageRef) -> Finding:
    """Upgrade, downgrade or unknown order (a downgrade is allowed but flagged: MinIO may not read newer metadata)."""
    check = "version direction"
    order = compare_versions(current, target.tag)
    if order == -1:
        return Finding(check=check, ok=True, detail=f"{current} -> {target.tag} is an upgrade.")
    if order == 1:
        return Finding(check=check, ok=False, blocking=False, detail=f"{target.tag} is OLDER than {current}: a "
                       "downgrade. MinIO does not promise that older releases read what newer ones wrote; prefer "
                       "rollback to a snapshot taken before the upgrade.")
    return Finding(check=check, ok=True, blocking=False, detail=f"{current or 'the current tag'} and {target.tag} "
                   "cannot be ordered (not MinIO release tags); check the release notes yourself.")


def target_finding(wanted: str | None, target: ImageRef, what: str = "target") -> Finding | None:
    """Compare with the configured target version, when one is set."""
    if not wanted:
        return None
    if same_version(wanted, target.tag):
        return Finding(check="configured target", ok=True, blocking=False,
                       detail=f"{target.tag} is the configured target version.")
    return Finding(check="configured target", ok=False, blocking=False,
                   detail=f"The configured {what} is {wanted}, not {target.tag}.")


def tenant_update_findings(facts: UpgradeFacts, tenant: TenantConfig, current_tag: str | None, image: ImageRef
                           ) -> list[Finding]:
    """Every check of a MinIO upgrade: the calm-tenant preflight, the direction and the configured target."""
    findings = [*upgrade_findings(facts, tenant.name), direction_finding(current_tag, image)]
    configured = target_finding(tenant.target_versions.minio, image)
    return findings + ([configured] if configured is not None else [])


def operator_available_finding(deployment: DeploymentInfo, caveat: str = "") -> Finding:
    """Are the operator's replicas available? (A warning only: the change may be what fixes it.)"""
    if deployment.available >= deployment.replicas:
        return Finding(check="operator available", ok=True, detail=f"{deployment.available}/{deployment.replicas} "
                       "replica(s) available.")
    return Finding(check="operator available", ok=False, blocking=False, detail=(
        f"Only {deployment.available}/{deployment.replicas} replica(s) are available now{caveat}."))


def operator_update_findings(deployment: DeploymentInfo, image: ImageRef, wanted: str | None) -> list[Finding]:
    """The operator's availability, whether this is a downgrade, and the configured target."""
    findings = [operator_available_finding(deployment, "; the upgrade may be what fixes it, or may hide why")]
    current = image_tag(deployment.image)
    if compare_versions(current, image.tag) == 1:
        findings.append(Finding(check="version direction", ok=False, blocking=False,
                                detail=f"{image.tag} is older than {current}: a downgrade of the operator."))
    configured = target_finding(wanted, image, "operator target")
    return findings + ([configured] if configured is not None else [])


def image_source_finding(image: str, allowed: list[str] | None, running: list[str], setting: str) -> Finding:
    """Is ``image`` from an allowed registry/repository? ``allowed``: the configured list (``setting`` names it);
    None: only the repositories of the images ``running`` now (the safe default)."""
    check = "image source"
    source = image_source(image)
    if allowed is None:
        entries = sorted({image_source(i) for i in running if i})
        why = "the repository running now" if len(entries) == 1 else "the repositories running now"
    else:
        entries, why = list(allowed), setting
    if entries and allowed_source(source, entries):
        return Finding(check=check, ok=True, detail=f"{source} is an allowed source ({why}).")
    listed = ", ".join(entries) or "none (no image runs now)"
    return Finding(check=check, ok=False, detail=(
        f"{source} is not an allowed image source. Allowed: {listed} ({why}). To take images from another "
        f"registry or repository, add it to {setting} in the configuration first."))


def image_changes(what: str, before: str | None, after: str) -> list[Change]:
    """The full image reference before -> after, and each part of it (registry, repository, tag, digest) on its
    own line, so a switch of registry cannot hide behind a familiar tag."""
    old = image_parts(before) if before else None
    new = image_parts(after)

    def line(part: str, then: str | None, now: str | None) -> Change:
        then_text, now_text = then or "none", now or "none"
        return Change(what=f"{what} {part}", before=then_text if old else "(unset)",
                      after=f"{now_text} (unchanged)" if old and then_text == now_text else now_text)

    return [
        Change(what=what, before=before or "(unset)", after=after),
        line("registry", old.registry if old else None, new.registry),
        line("repository", old.repository if old else None, new.repository),
        line("tag", old.tag if old else None, new.tag),
        line("digest", old.digest if old else None, new.digest),
    ]


# ----------------------------------------------------------------------------- patches


def image_ops(current: str | None, new: str) -> JsonPatch:
    """JSON patch that sets ``spec.image``, testing the previous value so a concurrent edit fails the write."""
    if current is None:
        return [{"op": "add", "path": "/spec/image", "value": new}]
    return [{"op": "test", "path": "/spec/image", "value": current},
            {"op": "replace", "path": "/spec/image", "value": new}]


def operator_ops(current: str | None, new: str) -> JsonPatch:
    """JSON patch of the operator's first container image, testing the old one."""
    test = [{"op": "test", "path": OPERATOR_IMAGE_PATH, "value": current}] if current else []
    return [*test, {"op": "replace", "path": OPERATOR_IMAGE_PATH, "value": new}]


def operator_rollback_ops(current: list[str], restored: list[str]) -> JsonPatch:
    """JSON patch that sets each container's image back, testing each current one."""
    ops: JsonPatch = []
    for index, (now, then) in enumerate(zip(current, restored, strict=True)):
        if now != then:
            path = f"/spec/template/spec/containers/{index}/image"
            ops += [{"op": "test", "path": path, "value": now}, {"op": "replace", "path": path, "value": then}]
    return ops


def _short(value: Any, limit: int = 90) -> str:
    if value is _MISSING:
        return "(unset)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _field_ops(current: dict[str, Any], snapshot: dict[str, Any]) -> tuple[JsonPatch, list[Change]]:
    """Every top-level spec field but the pools, set back to the snapshot's value."""
    ops: JsonPatch = []
    changes: list[Change] = []
    for key in sorted((set(current) | set(snapshot)) - {"pools"}):
        now, then = current.get(key, _MISSING), snapshot.get(key, _MISSING)
        if now == then:
            continue
        if then is _MISSING:
            ops.append({"op": "remove", "path": pointer("spec", key)})
        else:
            ops.append({"op": "add", "path": pointer("spec", key), "value": then})
        changes.append(Change(what=f"spec.{key}", before=_short(now), after=_short(then)))
    return ops, changes


def _pool_ops(now_pools: list[dict[str, Any]], then_pools: list[dict[str, Any]]
              ) -> tuple[JsonPatch, list[Change], list[str]]:
    """The snapshot's pools, same names and shapes, each keeping its current volume claim template."""
    ops: JsonPatch = []
    changes: list[Change] = []
    notes: list[str] = []
    for index, (now_pool, then_pool) in enumerate(zip(now_pools, then_pools, strict=True)):
        restored = copy.deepcopy(then_pool)
        if "volumeClaimTemplate" in now_pool:
            restored["volumeClaimTemplate"] = now_pool["volumeClaimTemplate"]
            if now_pool.get("volumeClaimTemplate") != then_pool.get("volumeClaimTemplate"):
                notes.append(f"{now_pool.get('name')}: the volume claim template keeps its current value (volumes "
                             "only grow).")
        if restored == now_pool:
            continue
        ops += [{"op": "test", "path": pointer("spec", "pools", index, "name"), "value": now_pool.get("name")},
                {"op": "replace", "path": pointer("spec", "pools", index), "value": restored}]
        for field in sorted(set(now_pool) | set(restored)):
            before, after = now_pool.get(field, _MISSING), restored.get(field, _MISSING)
            if before != after:
                changes.append(Change(what=f"spec.pools[{now_pool.get('name')}].{field}", before=_short(before),
                                      after=_short(after)))
    return ops, changes, notes


def rollback_ops(current: dict[str, Any], snapshot: dict[str, Any]) -> tuple[JsonPatch, list[Change], list[str]]:
    """(JSON patch, preview lines, notes) that turn ``current`` into ``snapshot`` within MinIO's rules.

    Pools are restored only when the snapshot has the same pools (names, servers,
    volumes): a rollback never adds or removes a pool. A pool's
    ``volumeClaimTemplate`` keeps its current value: volumes can only grow.
    """
    ops, changes = _field_ops(current, snapshot)
    pools_now = [p for p in current.get("pools") or [] if isinstance(p, dict)]
    pools_then = [p for p in snapshot.get("pools") or [] if isinstance(p, dict)]
    shape_now = [(p.get("name"), *(p.get(k) for k in SHAPE)) for p in pools_now]
    shape_then = [(p.get("name"), *(p.get(k) for k in SHAPE)) for p in pools_then]
    if shape_now != shape_then:
        names_now = ", ".join(str(s[0]) for s in shape_now)
        names_then = ", ".join(str(s[0]) for s in shape_then)
        return ops, changes, [f"Pools stay as they are ({names_now}; the snapshot had {names_then}): a rollback "
                              "never adds or removes a pool. Grow with add-pool, shrink with decommission + "
                              "remove-pool."]
    pool_ops, pool_changes, notes = _pool_ops(pools_now, pools_then)
    return ops + pool_ops, changes + pool_changes, notes
