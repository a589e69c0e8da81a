"""The previewed maintenance changes: opening a window (enable) and closing it (disable)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot import humanize
from bot.changes import Change, ChangePlan, DryRun, Finding, Target, seal
from bot.clients.errors import ClientError
from bot.config import TenantConfig
from bot.invocation import UserError
from bot.report import code, spans
from bot.runtime import Runtime
from handlers.maintenance.evaluate import (
    ANNOTATIONS,
    MODE,
    annotations_to_revert,
    console_to_restore,
    enable_annotation_changes,
    iso,
    muting_quorum_finding,
    no_window_finding,
    nodes_safe_finding,
    window_state,
)
from handlers.maintenance.facts import WindowFacts, console_name, window_facts
from handlers.maintenance.kinds import ACTION_KIND, MaintenanceDisable, MaintenanceEnable


def _dry_run(label: str, write: Callable[[], object]) -> DryRun:
    try:
        write()
    except ClientError as exc:
        return DryRun(ok=False, detail=f"{label}: {exc}")
    return DryRun(ok=True, detail=f"{label}: accepted by the API server (admission and validation passed).")


def _merge(dry_runs: list[DryRun]) -> DryRun | None:
    if not dry_runs:
        return None
    return DryRun(ok=all(d.ok for d in dry_runs), detail=" ".join(d.detail for d in dry_runs))


def _enable_kubernetes(facts: WindowFacts, tenant: TenantConfig, hours: float, now: datetime
                       ) -> tuple[dict[str, Any], list[Target], list[Change], list[str], list[DryRun]]:
    """What enable does to the Tenant and its console: params, targets, preview lines, notes and dry runs."""
    handle, obj, console = facts.handle, facts.tenant, facts.console
    if handle is None or obj is None:
        return {}, [], [], ["This tenant has no Kubernetes Tenant configured: only the window and alert muting "
                            "apply."], []
    kube, namespace, name = handle.kube, handle.namespace, handle.name
    changes = enable_annotation_changes(obj, hours, now + timedelta(hours=hours))
    patch = {"metadata": {"annotations": {k: "true" if k == MODE else iso(now) for k in ANNOTATIONS}}}
    dry_runs = [_dry_run(f"annotate Tenant {namespace}/{name}", partial(
        kube.patch_tenant, namespace, name, patch, dry_run=True, resource_version=obj.resource_version))]
    params: dict[str, Any] = {"namespace": namespace, "tenant_name": name, "console": None}
    if console is None:
        return params, [obj.target()], changes, [f"No console Deployment {console_name(tenant)} (MinIO Operator v6+ "
                                                 "has none): nothing to scale."], dry_runs
    params["console"] = {"name": console.name, "replicas": console.replicas}
    changes.append(Change(what=f"Console Deployment {console.name} replicas", before=str(console.replicas),
                          after="0"))
    dry_runs.append(_dry_run(f"scale Deployment {namespace}/{console.name}", partial(
        kube.patch_deployment, namespace, console.name, {"spec": {"replicas": 0}}, dry_run=True)))
    targets = [obj.target(), Target(kind="Deployment", namespace=namespace, name=console.name,
                                    resource_version=console.resource_version, fingerprint=str(console.replicas))]
    return params, targets, changes, [], dry_runs


def plan_enable(runtime: Runtime, tenant: TenantConfig, requester: str, hours: float, reason: str) -> ChangePlan:
    """Preview of `maintenance enable`: annotations, console, alerts, window; dry run and preflight."""
    now = runtime.clock()
    facts = window_facts(runtime, tenant)
    params, targets, changes, notes, dry_runs = _enable_kubernetes(facts, tenant, hours, now)
    changes += [Change(what=f"Alerts for {tenant.name}", before="active", after=f"muted for {hours:g} h"),
                Change(what="Maintenance window", before="none", after=f"open for {hours:g} h")]
    if reason:
        notes.append(f"Reason: {reason[:300]}")
    preflight = [no_window_finding(facts.window), muting_quorum_finding(facts.health),
                 nodes_safe_finding(facts.nodes, facts.no_nodes, tenant.name)]
    return seal(ChangePlan(
        kind=MaintenanceEnable.name,
        action_kind=ACTION_KIND,
        tenant=tenant.name,
        title=f"Enable maintenance on {tenant.name} for {hours:g} h",
        params={"hours": hours, "reason": reason, "requested_by": requester, **params},
        targets=targets,
        changes=changes,
        notes=notes,
        dry_run=_merge(dry_runs),
        preflight=preflight,
        risk="medium" if params.get("console") else "low",
        planned_at=now,
    ))


def _disable_kubernetes(facts: WindowFacts, recorded: dict[str, Any]
                        ) -> tuple[dict[str, Any], list[Target], list[Change], list[str], list[DryRun]]:
    """What disable undoes on the Tenant and its console (only what enable set and still holds)."""
    handle, obj = facts.handle, facts.tenant
    if handle is None or obj is None or not recorded.get("tenant"):
        return {"revert": {}, "console": None}, [], [], [], []
    kube, namespace, name = handle.kube, handle.namespace, handle.name
    revert, changes, notes = annotations_to_revert(recorded, obj)
    dry_runs = []
    if revert:
        dry_runs.append(_dry_run(f"annotate Tenant {namespace}/{name}", partial(
            kube.patch_tenant, namespace, name, {"metadata": {"annotations": revert}}, dry_run=True,
            resource_version=obj.resource_version)))
    console, console_notes = console_to_restore(recorded.get("console"), facts.console)
    targets = [obj.target()]
    if console is not None and facts.console is not None:
        targets.append(Target(kind="Deployment", namespace=namespace, name=console["name"],
                              resource_version=facts.console.resource_version,
                              fingerprint=str(facts.console.replicas)))
        changes.append(Change(what=f"Console Deployment {console['name']} replicas",
                              before=str(facts.console.replicas), after=str(console["replicas"])))
        dry_runs.append(_dry_run(f"scale Deployment {namespace}/{console['name']}", partial(
            kube.patch_deployment, namespace, console["name"], {"spec": {"replicas": console["replicas"]}},
            dry_run=True)))
    params = {"revert": revert, "console": console, "namespace": namespace, "tenant_name": name}
    return params, targets, changes, notes + console_notes, dry_runs


def plan_disable(runtime: Runtime, tenant: TenantConfig, requester: str) -> ChangePlan:
    """Preview of `maintenance disable`: undo exactly what the open window recorded."""
    now = runtime.clock()
    facts = window_facts(runtime, tenant, ask_nodes=False)
    window = facts.window
    if window is None:
        raise UserError(spans("No maintenance window is open for ", code(tenant.name), ": nothing to disable."))
    params, targets, changes, notes, dry_runs = _disable_kubernetes(facts, window.changes or {})
    open_now = window.until > now
    changes += [
        Change(what=f"Alerts for {tenant.name}", before="muted" if open_now else "active (window past its end)",
               after="active"),
        Change(what=f"Maintenance window #{window.id}", before=window_state(window, now), after="closed"),
    ]
    opened = Finding(check="maintenance window", ok=True, detail=f"Window #{window.id} is open (since "
                     f"{humanize.moment(window.started_at)}).")
    return seal(ChangePlan(
        kind=MaintenanceDisable.name,
        action_kind=ACTION_KIND,
        tenant=tenant.name,
        title=f"Disable maintenance on {tenant.name}",
        params={"window_id": window.id, "requested_by": requester, **params},
        targets=[*targets, Target(kind="MaintenanceWindow", name=str(window.id))],
        changes=changes,
        notes=notes,
        dry_run=_merge(dry_runs),
        preflight=[opened],
        risk="low",
        planned_at=now,
    ))
