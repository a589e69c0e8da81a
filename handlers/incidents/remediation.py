"""Incident remediation as approval-gated buttons. First: delete a crash-looping pod.

Diagnostics (`/minio incident pod-crash`) offer :func:`pod_delete_action`
under a failing pod. Pressing it *requests* the change: the plan is previewed
(Kubernetes dry run, quorum check) and posted as an approval card; another
authorised person approves it; the engine re-checks and deletes the pod once;
its StatefulSet recreates it with the same PVCs, and the card's thread follows
it until it is Ready again or the follow-up times out.

Refused when deleting the pod would leave any erasure set below write quorum:
the node's drives that are online now are subtracted from every set they
belong to (from MinIO's admin ``info``), and each set must keep at least its
write quorum. A pod whose MinIO node cannot be identified is refused too
(quorum cannot be proven).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.approval_engine import request_change
from bot.changes import Change, ChangeKind, ChangePlan, DryRun, Finding, Outcome, Target, seal
from bot.changes.tenant import configured
from bot.clients.errors import ClientError
from bot.clients.kube import KubeClient
from bot.clients.kube_models import PodInfo
from bot.config import TenantConfig
from bot.interactions import Click, ClickResult
from bot.invocation import Invocation, UserError
from bot.report import Action, code, notice, spans
from bot.runtime import Runtime
from handlers.incidents.quorum import server_for_pod, write_quorum_problems

REMEDIATE = "remediate"
POD_DELETE = "pod-delete"
ACTION_KIND = "pod-delete"
FOLLOW_TIMEOUT_S = 300.0  # how long the card's thread follows the recreated pod
FOLLOW_POLL_S = 5.0


def pod_delete_action(tenant_name: str, namespace: str, pod: str) -> Action:
    """A button that requests (with approval) deleting ``pod`` so its StatefulSet recreates it."""
    return Action(
        label=f"Delete pod {pod}"[:75],
        action_id=f"{REMEDIATE}:{POD_DELETE}:{pod}"[:255],
        value=f"{tenant_name}/{namespace}/{pod}",
        style="danger",
        confirm=f"Request approval to delete pod {pod}? Its StatefulSet recreates it with the same volumes. "
        "Someone else must approve, after a quorum check.",
    )


def quorum_finding(runtime: Runtime, tenant: TenantConfig, pod: str) -> Finding:
    """Blocking: deleting ``pod`` keeps every erasure set at or above write quorum."""
    check = "write quorum without this pod"
    try:
        client = runtime.minio(tenant)
        info = client.server_info()
    except ClientError as exc:
        return Finding(check=check, ok=False, detail=f"Cannot check quorum, so the deletion is refused: {exc}")
    server = server_for_pod(info, pod, client, runtime.config.resolve)
    if server is None:
        return Finding(check=check, ok=False, detail=f"Cannot tell which MinIO node pod {pod} serves, so quorum "
                       "cannot be proven: refused.")
    problems = write_quorum_problems(info, server)
    if problems:
        return Finding(check=check, ok=False, detail=f"Deleting {pod} now would break writes: "
                       + "; ".join(problems[:3]) + ". Bring the other offline drives or nodes back first.")
    return Finding(check=check, ok=True, detail=f"Every erasure set keeps write quorum without {pod} ({server}).")


# ----------------------------------------------------------------------------- the change kind


def _kube(runtime: Runtime, tenant: TenantConfig) -> tuple[KubeClient, str]:
    kube = runtime.kube_for(tenant)
    if kube is None or tenant.kubernetes is None:
        raise UserError(spans("Tenant ", code(tenant.name), " has no Kubernetes Tenant configured: pods cannot be "
                              "deleted from here."))
    return kube, tenant.kubernetes.namespace


def _find(kube: KubeClient, namespace: str, tenant: TenantConfig, pod: str) -> PodInfo | None:
    # Only the tenant's own pods (label v1.min.io/tenant) can be targets.
    return next((p for p in kube.list_pods(namespace, tenant.tenant_name) if p.name == pod), None)


def _state(pod: PodInfo) -> str:
    parts = [pod.waiting_reason or pod.phase or "unknown", f"{pod.restarts} restart(s)"]
    if pod.last_termination_reason:
        parts.append(f"last exit {pod.last_termination_reason}")
    return ", ".join(parts)


def _failing(pod: PodInfo) -> Finding:
    if pod.ready:
        return Finding(check="pod is failing", ok=False, detail=f"{pod.name} is Ready: deleting it would only "
                       "interrupt a working node.")
    return Finding(check="pod is failing", ok=True, detail=f"{pod.name} is not Ready ({_state(pod)}).")


def _dry_run(kube: KubeClient, namespace: str, pod: str) -> DryRun:
    try:
        kube.delete_pod(namespace, pod, dry_run=True)
        return DryRun(ok=True, detail=f"delete pod {namespace}/{pod}: accepted by the API server.")
    except ClientError as exc:
        return DryRun(ok=False, detail=f"delete pod {namespace}/{pod}: {exc}")


def plan_pod_delete(runtime: Runtime, tenant: TenantConfig, pod_name: str, requester: str) -> ChangePlan:
    """Preview of deleting one of the tenant's pods (UserError when there is no such pod)."""
    kube, namespace = _kube(runtime, tenant)
    pod = _find(kube, namespace, tenant, pod_name)
    if pod is None:
        raise UserError(spans("No pod ", code(pod_name[:80]), " of tenant ", code(tenant.name), " in namespace ",
                              code(namespace), "."))
    if pod.deleting:
        raise UserError(spans("Pod ", code(pod.name), " is already being deleted."))
    started = pod.started_at.isoformat() if pod.started_at else None
    statefulset = f"StatefulSet {tenant.tenant_name}-{pod.pool}" if pod.pool else "its StatefulSet"
    return seal(ChangePlan(
        kind=PodDelete.name,
        action_kind=ACTION_KIND,
        tenant=tenant.name,
        title=f"Delete pod {pod.name} of {tenant.name}",
        params={"namespace": namespace, "pod": pod.name, "started_at": started, "follow_seconds": FOLLOW_TIMEOUT_S,
                "requested_by": requester},
        targets=[Target(kind="Pod", namespace=namespace, name=pod.name, fingerprint=started)],
        changes=[Change(what=f"Pod {pod.name}", before=_state(pod),
                        after=f"deleted; {statefulset} recreates it with the same PVCs")],
        notes=["Data is not touched: the pod's PVCs stay; MinIO heals anything written while it is away."],
        dry_run=_dry_run(kube, namespace, pod.name),
        preflight=[_failing(pod), quorum_finding(runtime, tenant, pod.name)],
        risk="medium",
        planned_at=runtime.clock(),
    ))


class PodDelete(ChangeKind):
    """Change kind `pod-delete`."""

    name = "pod-delete"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        tenant = configured(runtime, plan.tenant)
        kube, namespace = _kube(runtime, tenant)
        name = str(plan.params["pod"])
        pod = _find(kube, namespace, tenant, name)
        if pod is None or pod.deleting:
            return [Finding(check="target unchanged", ok=False, detail=f"Pod {name} is gone or already being "
                            "recreated: nothing to do.")]
        started = pod.started_at.isoformat() if pod.started_at else None
        if started != plan.params.get("started_at"):
            return [Finding(check="target unchanged", ok=False, detail=f"Pod {name} was recreated since the "
                            "preview. Request it again if it still fails.")]
        return [
            Finding(check="target unchanged", ok=True, detail=f"Pod {name} is the one previewed."),
            _failing(pod),
            quorum_finding(runtime, tenant, name),
        ]

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        tenant = configured(runtime, plan.tenant)
        kube, namespace = _kube(runtime, tenant)
        name = str(plan.params["pod"])
        kube.delete_pod(namespace, name)
        lines = [f"Pod {namespace}/{name} deleted; waiting for its StatefulSet to recreate it."]
        progress(lines[-1])
        return _follow(kube, namespace, tenant, name, plan.params, progress, lines)


def _follow(kube: KubeClient, namespace: str, tenant: TenantConfig, name: str, params: dict[str, Any],
            progress: Callable[[str], None], lines: list[str]) -> Outcome:
    """Watch the recreated pod until Ready or the timeout; the deletion itself already happened."""
    timeout = float(params.get("follow_seconds") or FOLLOW_TIMEOUT_S)
    started = time.monotonic()
    seen_new = False
    while time.monotonic() - started < timeout:
        try:
            pod = _find(kube, namespace, tenant, name)
        except ClientError as exc:
            progress(f"Could not read the pod: {exc}")
            pod = None
        recreated = pod is not None and not pod.deleting and (
            pod.started_at is None or pod.started_at.isoformat() != params.get("started_at"))
        if pod is not None and recreated and not seen_new:
            seen_new = True
            lines.append(f"Pod {name} recreated ({_state(pod)}).")
            progress(lines[-1])
        if pod is not None and recreated and pod.ready:
            lines.append(f"Pod {name} is Ready again after {time.monotonic() - started:.0f} s.")
            progress(lines[-1])
            return Outcome(ok=True, summary=f"Pod {name} deleted, recreated and Ready again.", lines=lines)
        time.sleep(min(FOLLOW_POLL_S, max(0.0, timeout - (time.monotonic() - started))))
    lines.append(f"Stopped following after {timeout:.0f} s: the pod is not Ready yet.")
    return Outcome(ok=True, summary=f"Pod {name} deleted, but not Ready again within {timeout:.0f} s: check "
                   f"/minio health {tenant.name}.", lines=lines)


# ----------------------------------------------------------------------------- the button


def clicked_tenant(_inv: Invocation, click: Click) -> str | None:
    """The tenant a remediation button acts on (the framework checks the clicker's permission on it)."""
    return click.value.split("/", 1)[0] or None


def on_remediate(inv: Invocation, click: Click) -> ClickResult:
    """A remediation button: plan the change and request its approval (the clicker is the requester)."""
    parts = click.action_id.split(":")
    if len(parts) < 2 or parts[1] != POD_DELETE:
        return ClickResult(ephemeral=notice("This remediation is not supported; run the diagnostics again."))
    tenant_name, namespace, pod = [*click.value.split("/", 2), "", "", ""][:3]
    tenant = inv.runtime.find_tenant(tenant_name)
    if tenant is None or tenant.kubernetes is None or tenant.kubernetes.namespace != namespace or not pod:
        return ClickResult(ephemeral=notice("This button does not match the tenant's configuration; run the "
                                            "diagnostics again."))
    plan = plan_pod_delete(inv.runtime, tenant, pod, inv.user)
    return ClickResult(ephemeral=request_change(inv, plan))
