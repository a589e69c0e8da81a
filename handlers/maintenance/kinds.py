"""The maintenance change kinds: open a window (annotate, scale the console down, mute alerts) and close it.

``maintenance-enable`` records exactly what it changed (annotations with their
previous values, the console's replicas) in the window; ``maintenance-disable``
reverses that record, leaving alone whatever someone changed by hand since.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from bot import humanize
from bot.changes import ChangeKind, ChangePlan, Finding, Outcome
from bot.changes.tenant import TenantHandle, TenantObject, configured, kube_handle, tenant_unchanged
from bot.clients.errors import ClientError
from bot.runtime import Runtime
from handlers.maintenance.evaluate import (
    MODE,
    TIMESTAMP,
    UNTIL,
    annotation_values,
    console_unchanged_finding,
    muting_quorum_finding,
    no_window_finding,
    window_still_open_finding,
)
from handlers.maintenance.facts import window_facts

ACTION_KIND = "maintenance"


def _changed(handle: TenantHandle) -> Outcome:
    return Outcome(ok=False, summary=f"Tenant {handle.namespace}/{handle.name} changed after the re-check; nothing "
                   "was changed. Request it again.")


def _current(handle: TenantHandle | None, plan: ChangePlan) -> TenantObject | None:
    """The Tenant now, if the plan targets one and it is still as previewed (None: no Tenant in the plan)."""
    if handle is None or not plan.targets or plan.targets[0].kind != "Tenant":
        return None
    return handle.read()


class MaintenanceEnable(ChangeKind):
    """Change kind `maintenance-enable`."""

    name = "maintenance-enable"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        facts = window_facts(runtime, configured(runtime, plan.tenant), ask_nodes=False)
        findings = [no_window_finding(facts.window)]
        if facts.tenant is not None and plan.targets:
            findings.append(tenant_unchanged(plan.targets[0], facts.tenant))
            findings.append(console_unchanged_finding(plan.params.get("console"), facts.console))
        findings.append(muting_quorum_finding(facts.health))
        return findings

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        tenant = configured(runtime, plan.tenant)
        now = runtime.clock()
        until = now + timedelta(hours=float(plan.params["hours"]))
        values = annotation_values(now, until)
        handle = kube_handle(runtime, tenant)
        obj = _current(handle, plan)
        record: dict[str, Any] = {"annotations": {}, "console": None, "tenant": None}
        if handle is not None and obj is not None:
            if not tenant_unchanged(plan.targets[0], obj).ok:
                return _changed(handle)
            record["tenant"] = {"namespace": handle.namespace, "name": handle.name}
            record["annotations"] = {k: {"before": obj.annotations.get(k), "after": v} for k, v in values.items()}
            console = plan.params.get("console")
            if console:
                record["console"] = {"namespace": handle.namespace, "name": console["name"],
                                     "before": int(console["replicas"]), "after": 0}
        window = runtime.store.maintenance.open(tenant.name, started_by=str(plan.params.get("requested_by")
                                                                            or "unknown"),
                                                until=until, changes=record, at=now)
        if window is None:
            return Outcome(ok=False, summary=f"A maintenance window is already open for {tenant.name}; nothing "
                           "was changed.")
        lines = [f"Window #{window.id} open until {humanize.moment(until)}: alerts for {tenant.name} are muted."]
        progress(lines[-1])
        if handle is not None and obj is not None:
            failed = _annotate_and_scale(runtime, handle, obj, values, record["console"], window.id, lines, progress)
            if failed is not None:
                return failed
        return Outcome(ok=True, summary=f"Maintenance enabled on {tenant.name} until {humanize.moment(until)}; "
                       "alerts muted.", lines=lines)


def _annotate_and_scale(runtime: Runtime, handle: TenantHandle, obj: TenantObject, values: dict[str, str],
                        console: dict[str, Any] | None, window_id: int, lines: list[str],
                        progress: Callable[[str], None]) -> Outcome | None:
    """Enable's Kubernetes writes, in order; a failed Outcome (and the window closed) when the first is refused."""
    where = f"{handle.namespace}/{handle.name}"
    try:
        handle.kube.patch_tenant(handle.namespace, handle.name, {"metadata": {"annotations": values}},
                                 resource_version=obj.resource_version)
    except ClientError as exc:
        runtime.store.maintenance.close(window_id, at=runtime.clock())
        return Outcome(ok=False, summary=f"Kubernetes refused to annotate Tenant {where}: {exc}",
                       lines=["The window was closed again: alerts stay active and nothing else changed."])
    lines.append(f"Tenant {where} annotated: {MODE}=true, {TIMESTAMP}={values[TIMESTAMP]}, {UNTIL}={values[UNTIL]}.")
    progress(lines[-1])
    if console:
        try:
            handle.kube.patch_deployment(handle.namespace, console["name"], {"spec": {"replicas": 0}})
        except ClientError as exc:
            return Outcome(ok=False, summary=f"Maintenance is on, but the console could not be scaled down: {exc}",
                           lines=[*lines, "disable reverses what was changed."])
        lines.append(f"Console Deployment {console['name']} scaled {console['before']} → 0.")
    else:
        lines.append("No console Deployment (MinIO Operator v6+): nothing scaled.")
    progress(lines[-1])
    return None


class MaintenanceDisable(ChangeKind):
    """Change kind `maintenance-disable`."""

    name = "maintenance-disable"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        facts = window_facts(runtime, configured(runtime, plan.tenant), ask_nodes=False)
        findings = [window_still_open_finding(facts.window, plan.params.get("window_id"))]
        if facts.tenant is not None and plan.targets and plan.targets[0].kind == "Tenant":
            findings.append(tenant_unchanged(plan.targets[0], facts.tenant))
            if plan.params.get("console"):
                still = facts.console is not None and facts.console.replicas == 0
                findings.append(Finding(check="console Deployment", ok=True, detail="Still scaled to 0.") if still
                                else Finding(check="console Deployment", ok=False, detail="The console changed since "
                                             "the preview. Request it again."))
        return findings

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        tenant = configured(runtime, plan.tenant)
        lines: list[str] = []
        handle = kube_handle(runtime, tenant)
        obj = _current(handle, plan)
        revert: dict[str, str | None] = plan.params.get("revert") or {}
        if handle is not None and obj is not None:
            if not tenant_unchanged(plan.targets[0], obj).ok:
                return _changed(handle)
            if revert:
                handle.kube.patch_tenant(handle.namespace, handle.name, {"metadata": {"annotations": revert}},
                                         resource_version=obj.resource_version)
                restored = ", ".join(f"{k}={'(removed)' if v is None else v}" for k, v in revert.items())
                lines.append(f"Tenant {handle.namespace}/{handle.name} annotations restored: {restored}.")
                progress(lines[-1])
            console = plan.params.get("console")
            if console:
                handle.kube.patch_deployment(handle.namespace, console["name"],
                                             {"spec": {"replicas": int(console["replicas"])}})
                lines.append(f"Console Deployment {console['name']} scaled 0 → {console['replicas']}.")
                progress(lines[-1])
        window_id = int(plan.params["window_id"])
        runtime.store.maintenance.close(window_id, at=runtime.clock())
        lines.append(f"Window #{window_id} closed: alerts for {tenant.name} are active again.")
        progress(lines[-1])
        return Outcome(ok=True, summary=f"Maintenance disabled on {tenant.name}; alerts active again.", lines=lines)


CHANGE_KINDS = (MaintenanceEnable(), MaintenanceDisable())
