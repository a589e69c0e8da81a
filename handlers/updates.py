"""`/minio update ...`: versions, skew and targets; MinIO and operator upgrades; rollback to a stored spec.

==============================================  =================  ===========================
command                                         change kind        module
==============================================  =================  ===========================
``update <tenant> check``                       (read-only)        here
``update <tenant> tenant <image>``              update-tenant      handlers/updates_tenant.py
``update operator <image> [--cluster C]``       update-operator    handlers/updates_operator.py
``update <tenant> operator <image>``            update-operator    handlers/updates_operator.py
``update <tenant> rollback``                    (lists snapshots)  handlers/updates_rollback.py
``update <tenant> rollback <id>``               update-rollback    handlers/updates_rollback.py
``update operator rollback [--cluster C]``      (lists snapshots)  handlers/updates_rollback.py
``update operator rollback <id>``               update-operator-   handlers/updates_rollback.py
                                                rollback
==============================================  =================  ===========================

No internet is assumed: "latest" is whatever people configured under the
tenant's ``target_versions`` (``minio``, ``operator``). Image rules (a tag is
required; a digest only pinned to a tag) are in ``handlers/updates_images.py``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.application import Capability
from bot.approval_engine import request_change
from bot.clients.errors import ClientError
from bot.clients.kube_models import DeploymentInfo
from bot.clients.minio_models import ServerInfo
from bot.commands import Arg, Permission, Verb, escape
from bot.config import OperatorRef, TenantConfig
from bot.invocation import Invocation, UserError
from bot.report import Action, KeyValue, Report, Row, Section, Status, worst
from bot.runtime import Runtime
from handlers import updates_operator, updates_rollback, updates_tenant
from handlers.scaling_tenant import gather, handle_for
from handlers.updates_images import ImageError, ImageRef, image_repository, image_tag, parse_image, same_version
from handlers.updates_operator import plan_operator_update, snapshot_cluster
from handlers.updates_rollback import (
    list_operator_snapshots,
    list_snapshots,
    plan_operator_rollback,
    plan_rollback,
)
from handlers.updates_tenant import plan_tenant_update, version_summary

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
                raise ValueError("`update operator` takes one image: `update operator <repo/name:tag>`")
            data = {**data, "tenant": None, "action": OPERATOR_WORD, "value": data.get("action")}
        elif isinstance(data, dict) and isinstance(data.get("action"), str):
            data = {**data, "action": data["action"].lower()}
        return data

    @model_validator(mode="after")
    def _complete(self) -> UpdateArgs:
        if self.action is None:
            raise ValueError("say what: `check`, `tenant <image>`, `operator <image>` or `rollback [id]`")
        if self.action in ("tenant", OPERATOR_WORD) and not self.value:
            example = "operator:v7.1.1" if self.action == OPERATOR_WORD else "minio:RELEASE.2025-09-07T16-13-09Z"
            raise ValueError(f"`{self.action}` needs an image, e.g. `quay.io/minio/{example}`")
        if self.action == "check" and self.value:
            raise ValueError("`check` takes no further argument")
        if self.action == "rollback" and self.value and not self.value.isdigit():
            raise ValueError("`rollback` takes a snapshot id (a number) from `update <tenant> rollback`")
        if self.tenant is None and self.action not in (OPERATOR_WORD, "rollback"):
            raise ValueError("name the tenant: `update <tenant> check`")
        return self


def _image(text: str | None) -> ImageRef:
    try:
        return parse_image(text or "")
    except ImageError as exc:
        raise UserError(str(exc)) from None


# ----------------------------------------------------------------------------- check


def _operator_ref(runtime: Runtime, tenant: TenantConfig) -> OperatorRef:
    cluster = runtime.config.cluster(tenant.kubernetes.cluster) if tenant.kubernetes else None
    return cluster.operator if cluster else OperatorRef()


def _node_rows(info: ServerInfo, spec_tag: str | None) -> tuple[list[Row], list[str], Status]:
    versions = {s.endpoint: s.release_tag or s.version for s in info.servers}
    counts: dict[str, int] = {}
    for version in versions.values():
        counts[version] = counts.get(version, 0) + 1
    common = max(counts, key=lambda v: counts[v]) if counts else None
    rows = []
    for server in info.servers:
        odd = server.version != common or (spec_tag is not None and not same_version(server.version, spec_tag))
        state = "" if server.state == "online" else f" ({server.state})"
        rows.append(Row(status=Status.DEGRADED if odd else Status.HEALTHY,
                        text=f"`{escape(server.endpoint, 80)}`: {escape(server.version or 'unknown', 60)}{state}"))
    reasons: list[str] = []
    status = Status.HEALTHY
    if len(counts) > 1:
        reasons.append(f"Version skew: {version_summary(versions)}. Normal during a rollout; otherwise finish or "
                       "roll back the upgrade.")
        status = Status.DEGRADED
    if spec_tag and common and not same_version(common, spec_tag):
        reasons.append(f"The Tenant asks for {spec_tag} but the nodes run {common}: the rollout has not happened "
                       "or did not finish.")
        status = Status.DEGRADED
    return rows, reasons, status


def update_check(runtime: Runtime, tenant: TenantConfig) -> Report:
    """Operator image, Tenant image, each node's version, skew, and the configured targets."""
    ref = _operator_ref(runtime, tenant)
    calls: dict[str, Any] = {"info": runtime.minio(tenant).server_info}
    kube = runtime.kube_for(tenant)
    if kube is not None and tenant.kubernetes is not None:
        handle = handle_for(runtime, tenant)
        calls["tenant"] = handle.read
        calls["operator"] = lambda: kube.get_deployment(ref.namespace, ref.deployment)
    facts = gather(runtime, calls)
    statuses: list[Status] = []
    reasons: list[str] = []
    fields: list[KeyValue] = []
    spec_image = None
    operator_image = None
    if "tenant" in facts:
        obj = facts["tenant"]
        if isinstance(obj, ClientError):
            fields.append(KeyValue(label="Tenant image", value=f"unknown ({escape(str(obj), 200)})"))
            statuses.append(Status.UNKNOWN)
        else:
            spec_image = obj.info.image
            state = obj.info.status.current_state if obj.info.status else None
            fields.append(KeyValue(label="Tenant image (spec.image)", value=f"`{spec_image or '(operator default)'}`"))
            fields.append(KeyValue(label="Tenant state", value=state or "no status"))
        operator = facts["operator"]
        where = f"{ref.namespace}/{ref.deployment}"
        if isinstance(operator, DeploymentInfo):
            operator_image = operator.image
            fields.append(KeyValue(label=f"Operator ({where})", value=f"`{operator_image}` ({operator.available}/"
                                   f"{operator.replicas} available)"))
        else:
            fields.append(KeyValue(label=f"Operator ({where})", value=f"not found ({escape(str(operator), 200)})"))
    else:
        fields.append(KeyValue(label="Kubernetes", value="not configured (static endpoints): only node versions"))
    targets = tenant.target_versions
    fields.append(KeyValue(label="Target versions (configured)",
                           value=f"MinIO {targets.minio or 'not set'} · operator {targets.operator or 'not set'}"))
    sections = [Section(title="Versions", fields=fields)]
    info = facts["info"]
    spec_tag = image_tag(spec_image)
    if isinstance(info, ServerInfo):
        rows, node_reasons, node_status = _node_rows(info, spec_tag)
        sections.append(Section(title=f"MinIO nodes ({len(rows)})", status=node_status, rows=rows))
        reasons += node_reasons
        statuses.append(node_status)
    else:
        sections.append(Section(title="MinIO nodes", error=str(info)))
        statuses.append(Status.UNKNOWN)
    actions: list[Action] = []
    if targets.minio and spec_tag and not same_version(spec_tag, targets.minio):
        reasons.append(f"MinIO is on {spec_tag}; the configured target is {targets.minio}.")
        statuses.append(Status.INFO)
        repo = image_repository(spec_image) or "quay.io/minio/minio"
        actions.append(Action(label=f"Upgrade to {targets.minio}"[:75], action_id="run:update-tenant",
                              value=f"update {tenant.name} tenant {repo}:{targets.minio}", style="primary"))
    operator_tag = image_tag(operator_image)
    if targets.operator and operator_tag and not same_version(operator_tag, targets.operator):
        reasons.append(f"The operator is on {operator_tag}; the configured target is {targets.operator}.")
        statuses.append(Status.INFO)
        repo = image_repository(operator_image) or "quay.io/minio/operator"
        actions.append(Action(label=f"Upgrade operator to {targets.operator}"[:75], action_id="run:update-operator",
                              value=f"update {tenant.name} operator {repo}:{targets.operator}"))
    if not targets.minio and not targets.operator:
        reasons.append("No target versions configured (`target_versions: {minio: ..., operator: ...}`): the bot "
                       "does not look anything up on the internet.")
    status = worst(statuses, Status.HEALTHY)
    summary = "Versions are consistent." if status == Status.HEALTHY else (reasons[0] if reasons else "")
    return Report(
        title=f"Versions: {tenant.name}",
        status=status,
        summary=summary,
        reasons=reasons,
        sections=sections,
        actions=actions,
        footer=[f"Upgrade: `/minio update {tenant.name} tenant <image>` · operator: `/minio update operator <image>` "
                f"· undo: `/minio update {tenant.name} rollback`"],
    )


# ----------------------------------------------------------------------------- operator target tenant


def operator_tenant(inv: Invocation, cluster: str | None, request: bool = True) -> TenantConfig:
    """The tenant whose approval rules govern an operator upgrade: a visible Kubernetes tenant on the cluster
    that the caller may request changes for (any visible one when ``request`` is False: read-only use)."""
    candidates = [t for t in inv.visible_tenants() if t.kubernetes is not None
                  and (cluster is None or t.kubernetes.cluster == cluster)]
    clusters = sorted({t.kubernetes.cluster for t in candidates if t.kubernetes})
    if not candidates:
        where = f" on cluster `{escape(cluster, 63)}`" if cluster else ""
        raise UserError(f"No Kubernetes tenant{where} is visible in this channel, so there is no operator to upgrade "
                        "from here.")
    if len(clusters) > 1:
        raise UserError(f"Tenants here run on several clusters ({', '.join(clusters)}): say which operator, e.g. "
                        f"`/minio update operator <image> --cluster {clusters[0]}`.")
    if not request:
        return candidates[0]
    access = inv.runtime.access
    allowed = [t for t in candidates if access.can_request(inv.user, t)]
    if not allowed:
        raise UserError("You may not request an operator upgrade: you are not an operator or approver of any tenant "
                        f"on cluster `{clusters[0]}`.")
    return allowed[0]


# ----------------------------------------------------------------------------- the verb


def update_command(inv: Invocation, args: UpdateArgs) -> Report:
    """Route `/minio update ...` to the check, a previewed upgrade, the snapshot list or a rollback."""
    runtime = inv.runtime
    if args.tenant is None and args.action == "rollback":
        return _operator_rollback(inv, args)
    if args.tenant is None:
        tenant = operator_tenant(inv, args.cluster)
        return request_change(inv, plan_operator_update(runtime, tenant, inv.user, _image(args.value)))
    tenant = inv.tenant(args.tenant)
    if args.action == "check":
        return update_check(runtime, tenant)
    if args.action == OPERATOR_WORD:
        return request_change(inv, plan_operator_update(runtime, tenant, inv.user, _image(args.value)))
    handle = handle_for(runtime, tenant)
    if args.action == "tenant":
        return request_change(inv, plan_tenant_update(runtime, handle, inv.user, _image(args.value)))
    if not args.value:
        return list_snapshots(runtime, handle)
    return request_change(inv, plan_rollback(runtime, handle, inv.user, int(args.value)))


def _operator_rollback(inv: Invocation, args: UpdateArgs) -> Report:
    """`update operator rollback [id] [--cluster C]`: list the operator snapshots, or preview restoring one."""
    if not args.value:
        tenant = operator_tenant(inv, args.cluster, request=False)
        assert tenant.kubernetes is not None
        return list_operator_snapshots(inv.runtime, tenant.kubernetes.cluster)
    snapshot_id = int(args.value)
    cluster = args.cluster
    if cluster is None:  # the snapshot says which cluster's operator it is
        snap = inv.runtime.store.specs.get(snapshot_id)
        cluster = snapshot_cluster(snap.tenant) if snap else None
    tenant = operator_tenant(inv, cluster)
    return request_change(inv, plan_operator_rollback(inv.runtime, tenant, inv.user, snapshot_id))


def _permission(args: UpdateArgs) -> Permission:
    if args.action == "check" or (args.action == "rollback" and not args.value):
        return Permission.VIEW
    # `update operator <image>` names no tenant: the handler checks the caller against the tenant it picks.
    return Permission.VIEW if args.tenant is None else Permission.REQUEST


USAGE = ("<tenant> check | <tenant> tenant <image> | operator <image> [--cluster C] | <tenant> rollback [id] | "
         "operator rollback [id] [--cluster C]")

VERB = Verb(
    name="update",
    summary="Versions and skew; upgrade MinIO or the operator (with preflight, progress and a rollback snapshot).",
    model=UpdateArgs,
    handler=update_command,
    args=(
        Arg("tenant", "the tenant (or `operator`)", required=True),
        Arg("action", "check, tenant, operator or rollback"),
        Arg("value", "the image (repo/name:tag) or the snapshot id", metavar="image/id"),
        Arg("cluster", "operator: which cluster's operator (default: the one the channel's tenants run on)",
            kind="option", metavar="C"),
    ),
    permission=Permission.REQUEST,
    permission_for=_permission,
    details=(
        "Images need a tag (`repo/name:tag`); a digest is accepted only pinned to a tag (`repo:tag@sha256:...`); "
        "moving tags like `latest` are refused. Upgrades are refused while the tenant is unhealthy, lacks quorum, "
        "heals a drive or is in another change. The spec is saved before each upgrade; `rollback` restores it. "
        "Operator upgrades (and `operator rollback`) fall under the `operator-update` approval rule (two approvals "
        "by default); the operator's images are saved before each one."
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
    usage_override=USAGE,
)

capability = Capability("updates", __doc__)
capability.add_verb(VERB)
for _kind in (*updates_tenant.CHANGE_KINDS, *updates_operator.CHANGE_KINDS, *updates_rollback.CHANGE_KINDS):
    capability.change_kind(_kind)
