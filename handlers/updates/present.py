"""The update answers that are reports: the version check and the lists of rollback snapshots."""

from __future__ import annotations

from bot.clients.kube_models import DeploymentInfo
from bot.clients.minio_models import ServerInfo
from bot.config import TenantConfig
from bot.report import (
    Action,
    Inline,
    KeyValue,
    Report,
    Row,
    Section,
    Status,
    Text,
    bold,
    code,
    join,
    mention,
    spans,
    when,
    worst,
)
from bot.store import SpecSnapshot
from handlers.updates.evaluate import NodeVersion, version_skew
from handlers.updates.facts import CheckFacts
from handlers.updates.images import image_repository, image_tag, same_version
from handlers.updates.snapshots import snapshot_images

BUTTONS = 5  # rollback previews offered as buttons under a list


# ----------------------------------------------------------------------------- check


def _kubernetes_fields(facts: CheckFacts) -> tuple[list[KeyValue], str | None, str | None, list[Status]]:
    """(fields, the Tenant's spec.image, the operator's image, verdicts) from the Tenant and operator reads."""
    if facts.tenant is None:
        return [KeyValue(label="Kubernetes", value="not configured (static endpoints): only node versions")], \
            None, None, []
    fields: list[KeyValue] = []
    statuses: list[Status] = []
    spec_image = None
    if isinstance(facts.tenant, Exception):
        fields.append(KeyValue(label="Tenant image", value=f"unknown ({facts.tenant})"))
        statuses.append(Status.UNKNOWN)
    else:
        spec_image = facts.tenant.info.image
        state = facts.tenant.info.status.current_state if facts.tenant.info.status else None
        fields.append(KeyValue(label="Tenant image (spec.image)", value=spans(code(spec_image or
                                                                                   "(operator default)"))))
        fields.append(KeyValue(label="Tenant state", value=state or "no status"))
    ref = facts.operator_ref
    label = f"Operator ({ref.namespace}/{ref.deployment})"
    operator = facts.operator
    if isinstance(operator, DeploymentInfo):
        fields.append(KeyValue(label=label, value=spans(code(operator.image or ""), f" ({operator.available}/"
                                                        f"{operator.replicas} available)")))
        return fields, spec_image, operator.image, statuses
    fields.append(KeyValue(label=label, value=f"not found ({operator})"))
    return fields, spec_image, None, statuses


def _node_row(node: NodeVersion) -> Row:
    state = "" if node.state == "online" else f" ({node.state})"
    return Row(status=Status.DEGRADED if node.odd else Status.HEALTHY,
               text=spans(code(node.endpoint), f": {node.version or 'unknown'}{state}"))


def _target_advice(tenant: TenantConfig, spec_image: str | None, operator_image: str | None
                   ) -> tuple[list[Text], list[Action]]:
    """Where the configured target versions differ from what runs: the reasons and the upgrade buttons."""
    targets, reasons, actions = tenant.target_versions, list[Text](), list[Action]()
    spec_tag, operator_tag = image_tag(spec_image), image_tag(operator_image)
    if targets.minio and spec_tag and not same_version(spec_tag, targets.minio):
        reasons.append(f"MinIO is on {spec_tag}; the configured target is {targets.minio}.")
        repo = image_repository(spec_image) or "quay.io/minio/minio"
        actions.append(Action(label=f"Upgrade to {targets.minio}", action_id="run:update-tenant",
                              value=f"update {tenant.name} tenant {repo}:{targets.minio}", style="primary"))
    if targets.operator and operator_tag and not same_version(operator_tag, targets.operator):
        reasons.append(f"The operator is on {operator_tag}; the configured target is {targets.operator}.")
        repo = image_repository(operator_image) or "quay.io/minio/operator"
        actions.append(Action(label=f"Upgrade operator to {targets.operator}", action_id="run:update-operator",
                              value=f"update {tenant.name} operator {repo}:{targets.operator}"))
    if not targets.minio and not targets.operator:
        reasons.append(spans("No target versions configured (", code("target_versions: {minio: ..., operator: ...}"),
                             "): the bot does not look anything up on the internet."))
    return reasons, actions


def check_report(tenant: TenantConfig, facts: CheckFacts) -> Report:
    """Operator image, Tenant image, each node's version, skew, and the configured targets."""
    fields, spec_image, operator_image, statuses = _kubernetes_fields(facts)
    targets = tenant.target_versions
    fields.append(KeyValue(label="Target versions (configured)",
                           value=f"MinIO {targets.minio or 'not set'} · operator {targets.operator or 'not set'}"))
    sections = [Section(title="Versions", fields=fields)]
    reasons: list[Text] = []
    if isinstance(facts.info, ServerInfo):
        nodes, node_reasons, node_status = version_skew(facts.info, image_tag(spec_image))
        sections.append(Section(title=f"MinIO nodes ({len(nodes)})", status=node_status,
                                rows=[_node_row(n) for n in nodes]))
        reasons += node_reasons
        statuses.append(node_status)
    else:
        sections.append(Section(title="MinIO nodes", error=str(facts.info)))
        statuses.append(Status.UNKNOWN)
    advice, actions = _target_advice(tenant, spec_image, operator_image)
    statuses += [Status.INFO] * len(actions)
    reasons += advice
    status = worst(statuses, Status.HEALTHY)
    name = tenant.name
    return Report(
        title=f"Versions: {name}",
        status=status,
        summary="Versions are consistent." if status == Status.HEALTHY else (reasons[0] if reasons else ""),
        reasons=reasons,
        sections=sections,
        actions=actions,
        footer=[spans("Upgrade: ", code(f"/minio update {name} tenant <image>"), " · operator: ",
                      code("/minio update operator <image>"), " · undo: ", code(f"/minio update {name} rollback"))],
    )


# ----------------------------------------------------------------------------- snapshots


def _snapshot_row(snap: SpecSnapshot, what: Text) -> Row:
    who: tuple[Inline, ...] = (" by ", mention(snap.taken_by)) if snap.taken_by else ()
    return Row(text=spans(bold(f"#{snap.id}"), " ", when(snap.taken_at), who, f": {snap.reason[:120]} (", what, ")"))


def snapshot_list(name: str, snapshots: list[SpecSnapshot]) -> Report:
    """The tenant's stored specs, newest first, each with a button that previews its rollback."""
    title = f"Rollback snapshots of {name}"
    if not snapshots:
        return Report(title=title, summary=spans("No snapshot is stored yet: the bot saves the spec before every "
                                                 "upgrade (", code(f"/minio update {name} tenant <image>"), ")."),
                      ephemeral=True)
    rows = []
    for snap in snapshots:
        image = snap.spec.get("image") if isinstance(snap.spec, dict) else None
        rows.append(_snapshot_row(snap, spans("image ", code(image_tag(str(image)) if image else "unset"))))
    actions = [Action(label=f"Preview rollback to #{s.id}", action_id=f"run:rollback:{s.id}",
                      value=f"update {name} rollback {s.id}") for s in snapshots[:BUTTONS]]
    return Report(
        title=title,
        summary=f"{len(snapshots)} stored spec(s), newest first. A rollback is previewed and needs approval.",
        sections=[Section(title="Snapshots", rows=rows)],
        actions=actions,
        footer=[spans(code(f"/minio update {name} rollback <id>"), " previews the diff.")],
    )


def operator_snapshot_list(cluster: str, snapshots: list[SpecSnapshot]) -> Report:
    """The cluster's stored operator images, newest first, each with a button that previews its rollback."""
    title = f"Operator rollback snapshots of cluster {cluster}"
    if not snapshots:
        return Report(title=title, summary=spans("No operator snapshot is stored yet: the bot saves the operator's "
                                                 "images before every operator upgrade (",
                                                 code("/minio update operator <image>"), ")."), ephemeral=True)
    rows = [_snapshot_row(s, join([spans(code(i[:90])) for i in snapshot_images(s.spec)]) or "no image")
            for s in snapshots]
    actions = [Action(label=f"Preview rollback to #{s.id}", action_id=f"run:operator-rollback:{s.id}",
                      value=f"update operator rollback {s.id} --cluster {cluster}") for s in snapshots[:BUTTONS]]
    return Report(
        title=title,
        summary=f"{len(snapshots)} stored operator snapshot(s), newest first. A rollback is previewed and needs "
                "the operator-update approvals.",
        sections=[Section(title="Snapshots", rows=rows)],
        actions=actions,
        footer=[spans(code("/minio update operator rollback <id>"), " previews the change.")],
    )
