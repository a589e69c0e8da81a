"""Versions and upgrades: what MinIO and the operator run, upgrades with preflight and progress, rollbacks.

- ``update <tenant> check``: the operator's and the Tenant's images, the version
  each MinIO node reports, skew, and the configured target versions (no
  internet is assumed: "latest" is whatever ``target_versions`` says).
- ``update <tenant> tenant <image>``: a MinIO upgrade through ``spec.image``,
  refused unless the tenant is calm (healthy, quorum, every node online, no
  healing, no decommission, no other change); the spec is saved first and the
  card's thread follows the rollout node by node.
- ``update operator <image> [--cluster C]``: the operator Deployment of a
  cluster. It manages every Tenant there, so it is governed by the cluster,
  never by a tenant: only the cluster's ``operators`` (and admins) may request
  it, the card goes to the cluster's ``approvals.channel`` and needs its
  ``approvals`` (refused when the cluster has none); its images are saved first.
- ``update <tenant> rollback [id]`` / ``update operator rollback [id]``: list
  the saved snapshots, or preview restoring one (a rollback never adds or
  removes a pool, volumes never shrink, and secrets keep their current values:
  snapshots never hold them).

Images need a tag; a digest only pinned to a tag; moving tags are refused; the
registry/repository must be allowed (``allowed_images``, by default the ones
running now); the card shows the full reference, part by part
(:mod:`handlers.updates.images`). Layout: ``facts``, ``evaluate``, ``plans``,
``kinds`` and ``observers`` (after approval), ``snapshots`` (the saved specs),
``present`` (the check and the snapshot lists).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.application import Capability
from bot.approval_engine import request_change
from bot.changes.tenant import handle_for
from bot.commands import Arg, Permission
from bot.config import ClusterConfig
from bot.invocation import Invocation, UserError
from bot.report import Report, code, join, spans
from handlers.updates.facts import check_facts, stored_snapshots
from handlers.updates.images import parse_image
from handlers.updates.kinds import CHANGE_KINDS
from handlers.updates.plans import plan_operator_rollback, plan_operator_update, plan_rollback, plan_tenant_update
from handlers.updates.present import check_report, operator_snapshot_list, snapshot_list
from handlers.updates.snapshots import snapshot_cluster, snapshot_key

capability = Capability("updates", __doc__)
for _kind in CHANGE_KINDS:
    capability.change_kind(_kind)

OPERATOR_WORD = "operator"


class UpdateArgs(BaseModel):
    """Arguments of `/minio update` (``update operator <image>`` has no tenant)."""

    model_config = ConfigDict(extra="forbid")
    tenant: str | None = Field(None, max_length=63)
    action: Literal["check", "tenant", "operator", "rollback"] | None = None
    value: str | None = Field(None, max_length=300)
    cluster: str | None = Field(None, max_length=63)

    @model_validator(mode="before")
    @classmethod
    def _operator_first(cls, data: Any) -> Any:
        # `update operator <image>` names no tenant: shift the words into place.
        if isinstance(data, dict) and str(data.get("tenant", "")).lower() == OPERATOR_WORD:
            if str(data.get("action", "")).lower() == "rollback":  # `update operator rollback [id]`
                return {**data, "tenant": None, "action": "rollback"}
            if data.get("value") is not None:
                raise ValueError("update operator takes one image: update operator <repo/name:tag>")
            data = {**data, "tenant": None, "action": OPERATOR_WORD, "value": data.get("action")}
        elif isinstance(data, dict) and isinstance(data.get("action"), str):
            data = {**data, "action": data["action"].lower()}
        return data

    @model_validator(mode="after")
    def _complete(self) -> UpdateArgs:
        if self.action is None:
            raise ValueError("say what: check, tenant <image>, operator <image> or rollback [id]")
        if self.action in ("tenant", OPERATOR_WORD) and not self.value:
            example = "operator:v7.1.1" if self.action == OPERATOR_WORD else "minio:RELEASE.2025-09-07T16-13-09Z"
            raise ValueError(f"{self.action} needs an image, e.g. quay.io/minio/{example}")
        if self.action == "check" and self.value:
            raise ValueError("check takes no further argument")
        if self.action == "rollback" and self.value and not self.value.isdigit():
            raise ValueError("rollback takes a snapshot id (a number) from update <tenant> rollback")
        if self.tenant is None and self.action not in (OPERATOR_WORD, "rollback"):
            raise ValueError("name the tenant: update <tenant> check")
        return self


def operator_cluster(inv: Invocation, name: str | None, request: bool = True) -> ClusterConfig:
    """The cluster whose operator ``update operator ...`` changes: the one named, else the only one this channel
    sees (through its tenants, or as the cluster's approval channel). With ``request``, the caller must be allowed
    to request operator changes there (the cluster's operators or admins, and the cluster must have ``approvals``)."""
    runtime = inv.runtime
    visible = {t.kubernetes.cluster for t in inv.visible_tenants() if t.kubernetes is not None}
    visible |= {c.name for c in runtime.access.visible_clusters(inv.channel)}
    if name is None:
        if not visible:
            raise UserError("No Kubernetes cluster is visible in this channel, so there is no operator to change "
                            "from here.")
        if len(visible) > 1:
            ordered = sorted(visible)
            raise UserError(spans("Tenants here run on several clusters (", join([spans(code(c)) for c in ordered]),
                                  "): say which operator, e.g. ",
                                  code(f"/minio update operator <image> --cluster {ordered[0]}"), "."))
        name = next(iter(visible))
    cluster = runtime.config.cluster(name)
    if cluster is None or name not in visible:
        raise UserError(spans("Cluster ", code(name[:63]), " is not visible in this channel."))
    if request:
        decision = runtime.access.check_cluster_request(inv.user, cluster)
        if not decision.allowed:
            raise UserError(decision.reason)
    return cluster


def _operator_rollback(inv: Invocation, args: UpdateArgs) -> Report:
    """`update operator rollback [id] [--cluster C]`: list the operator snapshots, or preview restoring one."""
    if not args.value:
        cluster = operator_cluster(inv, args.cluster, request=False)
        return operator_snapshot_list(cluster.name, stored_snapshots(inv.runtime, snapshot_key(cluster.name)))
    snapshot_id = int(args.value)
    name = args.cluster
    if name is None:  # the snapshot says which cluster's operator it is
        snap = inv.runtime.store.specs.get(snapshot_id)
        name = snapshot_cluster(snap.tenant) if snap else None
    cluster = operator_cluster(inv, name)
    return request_change(inv, plan_operator_rollback(inv.runtime, cluster, inv.user, snapshot_id))


def _permission(args: UpdateArgs) -> Permission:
    if args.action == "check" or (args.action == "rollback" and not args.value):
        return Permission.VIEW
    # The operator belongs to the cluster, not to a tenant: the handler checks the caller against the cluster.
    return Permission.VIEW if args.tenant is None or args.action == OPERATOR_WORD else Permission.REQUEST


def _operator_update(inv: Invocation, cluster: ClusterConfig, args: UpdateArgs) -> Report:
    image = parse_image(args.value or "")
    return request_change(inv, plan_operator_update(inv.runtime, cluster, inv.user, image))


@capability.verb(
    "update",
    summary="Versions and skew; upgrade MinIO or the operator (with preflight, progress and a rollback snapshot).",
    model=UpdateArgs,
    args=(
        Arg("tenant", "the tenant (or operator)", required=True),
        Arg("action", "check, tenant, operator or rollback"),
        Arg("value", "the image (repo/name:tag) or the snapshot id", metavar="image/id"),
        Arg("cluster", "operator: which cluster's operator (default: the one the channel's tenants run on)",
            kind="option", metavar="C"),
    ),
    permission=Permission.REQUEST,
    permission_for=_permission,
    details=(
        "Images need a tag (repo/name:tag); a digest is accepted only pinned to a tag (repo:tag@sha256:...); "
        "moving tags like latest are refused. Upgrades are refused while the tenant is unhealthy, lacks quorum, "
        "heals a drive or is in another change, and when the image's registry/repository is not allowed "
        "(allowed_images; by default the one running now). The spec is saved before each upgrade (secret values "
        "never: a rollback keeps their current values); rollback restores it. Operator upgrades and rollbacks "
        "are governed by the cluster: its operators request them, its approvals (approvers, required count, "
        "channel) decide them, and a cluster without approvals refuses them."
    ),
    examples=(
        "/minio update demo check",
        "/minio update demo tenant quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
        "/minio update operator quay.io/minio/operator:v7.1.1",
        "/minio update demo rollback",
        "/minio update demo rollback 3",
        "/minio update operator rollback",
    ),
    slow=True,
    usage_override=("<tenant> check | <tenant> tenant <image> | operator <image> [--cluster C] | "
                    "<tenant> rollback [id] | operator rollback [id] [--cluster C]"),
)
def update(inv: Invocation, args: UpdateArgs) -> Report:
    """Route `/minio update ...` to the check, a previewed upgrade, the snapshot list or a rollback."""
    runtime = inv.runtime
    if args.tenant is None and args.action == "rollback":
        return _operator_rollback(inv, args)
    if args.tenant is None:
        return _operator_update(inv, operator_cluster(inv, args.cluster), args)
    tenant = inv.tenant(args.tenant)
    if args.action == "check":
        return check_report(tenant, check_facts(runtime, tenant))
    if args.action == OPERATOR_WORD:  # the check's button: the operator of the tenant's cluster
        cluster = tenant.kubernetes.cluster if tenant.kubernetes else None
        if cluster is None:
            raise UserError(spans(code(tenant.name), " has no Kubernetes cluster configured, so it has no operator "
                                  "to upgrade."))
        return _operator_update(inv, operator_cluster(inv, cluster), args)
    handle = handle_for(runtime, tenant)
    if args.action == "tenant":
        return request_change(inv, plan_tenant_update(runtime, handle, inv.user, parse_image(args.value or "")))
    if not args.value:
        return snapshot_list(tenant.name, stored_snapshots(runtime, tenant.name))
    return request_change(inv, plan_rollback(runtime, handle, inv.user, int(args.value)))
