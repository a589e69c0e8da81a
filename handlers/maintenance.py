"""`/minio maintenance <tenant> check|enable|disable`: the replacement for maintenance-procedures.sh.

- ``check`` asks MinIO, node by node, "can this node be taken down now?"
  (``/minio/health/cluster?maintenance=true``: 412 when it would break write
  quorum or while drives heal, with ``X-Minio-Healing-Drives``), and shows the
  tenant's pods, PVCs and recent warning events.
- ``enable`` (approval) opens a maintenance window with an end time (alerts for
  the tenant are muted while it is active: ``store.maintenance.active``),
  annotates the Tenant (``maintenance.minio.io/mode``, ``/timestamp``,
  ``/until``) and scales the console Deployment to 0 where one exists (MinIO
  Operator v6+ has none: then nothing is scaled, and the plan says so). The
  window records exactly what was changed, with previous values.
- ``disable`` (approval unless the tenant sets ``approve_maintenance_disable:
  false``) reverses exactly that record: an annotation or replica count that
  someone changed by hand in between is left alone, and the preview says so.

Windows past their end time stop muting alerts by themselves
(``store.maintenance.active`` is false after ``until``); the daily report
(``handlers/reports.py``) lists them until someone disables them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.application import Capability
from bot.approval_engine import request_change
from bot.changes import (
    Change,
    ChangePlan,
    DryRun,
    Finding,
    Outcome,
    Target,
    TenantObject,
    read_tenant,
    seal,
    tenant_unchanged,
    write_quorum_finding,
)
from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.clients.kube import KubeClient
from bot.clients.minio_models import ClusterHealth
from bot.commands import Arg, Permission, Verb, escape
from bot.config import TenantConfig
from bot.invocation import Invocation, UserError
from bot.report import Report, Row, Section, Status, worst
from bot.runtime import Runtime

MODE = "maintenance.minio.io/mode"
TIMESTAMP = "maintenance.minio.io/timestamp"
UNTIL = "maintenance.minio.io/until"
ANNOTATIONS = (MODE, TIMESTAMP, UNTIL)
DEFAULT_HOURS = 2.0
MAX_HOURS = 72.0
EVENTS_SINCE = timedelta(hours=1)
MAX_EVENTS = 10
ACTION_KIND = "maintenance"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _shown(value: str | None) -> str:
    return "(none)" if value is None else f"`{escape(value, 120)}`"


def console_name(tenant: TenantConfig) -> str:
    """The console Deployment name older operators created: ``<tenant>-console``."""
    return f"{tenant.tenant_name}-console"


def _kube(runtime: Runtime, tenant: TenantConfig) -> tuple[KubeClient, str, str] | None:
    kube = runtime.kube_for(tenant)
    if kube is None or tenant.kubernetes is None:
        return None
    return kube, tenant.kubernetes.namespace, tenant.tenant_name


def _config(runtime: Runtime, name: str) -> TenantConfig:
    tenant = next((t for t in runtime.tenants() if t.name == name), None)
    if tenant is None:
        raise ClientError("invalid", f"tenant {name}", "is no longer configured")
    return tenant


# ----------------------------------------------------------------------------- check


def node_verdict(node: int, address: str, answer: ClusterHealth | ClientError) -> Row:
    """One node's answer to "can it be taken down now?", explained."""
    label = f"node {node} ({address})"
    if isinstance(answer, ClientError):
        return Row(
            status=Status.UNKNOWN,
            text=f"{label}: did not answer ({answer}). It may already be down: count it as out, and do not take "
            "another node down until it is back.",
        )
    if answer.ok:
        quorum = f" (write quorum {answer.write_quorum})" if answer.write_quorum else ""
        return Row(status=Status.HEALTHY, text=f"{label}: safe to take down now; every erasure set keeps write "
                   f"quorum without its drives{quorum}.")
    if answer.healing_drives > 0:
        return Row(
            status=Status.DEGRADED,
            text=f"{label}: NOT safe now: {answer.healing_drives} drive(s) are healing (X-Minio-Healing-Drives: "
            f"{answer.healing_drives}, HTTP {answer.status}). MinIO refuses maintenance while any drive heals; "
            "wait until healing finishes.",
        )
    quorum = f" {answer.write_quorum}" if answer.write_quorum else ""
    return Row(
        status=Status.UNHEALTHY,
        text=f"{label}: NOT safe: without its drives an erasure set would fall below write quorum{quorum} "
        f"(HTTP {answer.status}). Bring offline drives or nodes back first.",
    )


def _window_section(runtime: Runtime, tenant: TenantConfig) -> Section:
    window = runtime.store.maintenance.current(tenant.name)
    now = runtime.clock()
    if window is None:
        return Section(title="Maintenance window", lines=["None open: alerts are active."])
    state = (
        f"open until {_when(window.until)}: alerts for `{tenant.name}` are muted"
        if window.until > now
        else f"past its end ({_when(window.until)}): alerts are active again; disable it to undo its changes"
    )
    return Section(
        title="Maintenance window",
        status=Status.INFO if window.until > now else Status.DEGRADED,
        lines=[f"Opened by <@{window.started_by}> at {_when(window.started_at)}, {state}."],
    )


def maintenance_check(runtime: Runtime, tenant: TenantConfig) -> Report:
    """Node by node: is it safe to take this node down now? Plus pods, PVCs, events and the current window."""
    sections: list[Section] = []
    statuses: list[Status] = []
    calls: dict[str, Callable[[], Any]] = {}
    try:
        client = runtime.minio(tenant)
        nodes = client.nodes
        addresses = {n: url.split("://", 1)[-1] for n, url in zip(nodes, client.endpoints, strict=True)}
        for n in nodes:
            calls[f"node:{n}"] = partial(client.cluster_health, maintenance=True, node=n)
        calls["cluster"] = client.cluster_health
    except ClientError as exc:
        nodes, addresses = [], {}
        sections.append(Section(title="Node by node: safe to take down now?", error=str(exc)))
        statuses.append(Status.UNKNOWN)
    kube = _kube(runtime, tenant)
    if kube is not None:
        client_k, namespace, name = kube
        calls["pods"] = partial(client_k.list_pods, namespace, name)
        calls["pvcs"] = partial(client_k.list_pvcs, namespace, name)
        calls["events"] = partial(client_k.list_events, namespace, True, EVENTS_SINCE)
    results = fan_out(calls, deadline_s=runtime.config.timeouts.report_deadline)
    safe = 0
    if nodes:
        rows = [node_verdict(n, addresses[n], results[f"node:{n}"]) for n in nodes]
        safe = sum(1 for r in rows if r.status == Status.HEALTHY)
        cluster = results.get("cluster")
        lines: list[str] = []
        if isinstance(cluster, ClusterHealth) and not cluster.ok:
            lines.append(":red_circle: The cluster has lost write quorum right now: this is an incident, not a "
                         "maintenance slot.")
            statuses.append(Status.UNHEALTHY)
        lines.append("Each answer assumes every other node stays up: take one node down at a time and run this "
                     "check again once it is back and healing has finished.")
        sections.append(Section(title="Node by node: safe to take down now?", rows=rows, lines=lines))
        statuses.append(Status.HEALTHY if safe == len(nodes) else Status.UNHEALTHY if safe == 0 else Status.DEGRADED)
    if kube is not None:
        sections += _kube_sections(results)
    sections.append(_window_section(runtime, tenant))
    summary = (
        f"{safe} of {len(nodes)} node(s) can be taken down now, one at a time."
        if nodes
        else "MinIO could not be asked which nodes are safe to take down."
    )
    return Report(
        title=f"Maintenance check: {tenant.name}",
        status=worst(statuses, Status.UNKNOWN),
        summary=summary,
        sections=sections,
        footer=[f"Open a window: `/minio maintenance {tenant.name} enable [--hours H] [reason]` (needs approval)."],
    )


def _kube_sections(results: dict[str, Any]) -> list[Section]:
    sections: list[Section] = []
    pods = results["pods"]
    if isinstance(pods, ClientError):
        sections.append(Section(title="Pods", error=str(pods)))
    else:
        rows = []
        for pod in pods:
            problem = pod.waiting_reason or ("not ready" if not pod.ready else None)
            readiness = "ready" if pod.ready else "NOT ready"
            text = f"`{pod.name}` {pod.phase or '?'}, {readiness}, {pod.restarts} restart(s)"
            if pod.waiting_reason:
                text += f", {pod.waiting_reason}"
            rows.append(Row(status=Status.DEGRADED if problem else Status.HEALTHY, text=text))
        sections.append(Section(title=f"Pods ({sum(p.ready for p in pods)}/{len(pods)} ready)",
                                rows=rows or [Row(status=Status.UNKNOWN, text="no pods found")]))
    pvcs = results["pvcs"]
    if isinstance(pvcs, ClientError):
        sections.append(Section(title="PVCs", error=str(pvcs)))
    else:
        unbound = [p for p in pvcs if p.phase != "Bound"]
        lines = [f"{len(pvcs) - len(unbound)} of {len(pvcs)} Bound."]
        lines += [f"`{p.name}`: {p.phase or 'unknown phase'}" for p in unbound[:20]]
        sections.append(Section(title="PVCs", status=Status.DEGRADED if unbound else Status.HEALTHY, lines=lines))
    events = results["events"]
    if isinstance(events, ClientError):
        sections.append(Section(title="Recent warning events", error=str(events)))
    else:
        lines = []
        for event in events[:MAX_EVENTS]:
            when = f"{event.last_seen:%H:%M} " if event.last_seen else ""
            times = f" (x{event.count})" if event.count > 1 else ""
            lines.append(f"{when}{event.object} {event.reason}: {escape(event.message or '', 200)}{times}")
        sections.append(Section(title="Recent warning events (last hour)", lines=lines or ["None."]))
    return sections


# ----------------------------------------------------------------------------- enable


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


def _no_window(runtime: Runtime, tenant: str) -> Finding:
    window = runtime.store.maintenance.current(tenant)
    if window is None:
        return Finding(check="maintenance window", ok=True, detail="No window is open yet.")
    return Finding(check="maintenance window", ok=False,
                   detail=f"A window is already open (since {_when(window.started_at)}, until {_when(window.until)}); "
                   f"disable it first.")


def _nodes_finding(runtime: Runtime, tenant: TenantConfig) -> Finding:
    """Informational: which nodes MinIO says can go down now (maintenance itself may not need any)."""
    try:
        client = runtime.minio(tenant)
        answers = fan_out({str(n): partial(client.cluster_health, maintenance=True, node=n) for n in client.nodes},
                          deadline_s=runtime.config.timeouts.report_deadline)
    except ClientError as exc:
        return Finding(check="nodes safe to take down", ok=False, blocking=False, detail=str(exc))
    safe = [n for n, a in answers.items() if isinstance(a, ClusterHealth) and a.ok]
    healing = max((a.healing_drives for a in answers.values() if isinstance(a, ClusterHealth)), default=0)
    if len(safe) == len(answers):
        return Finding(check="nodes safe to take down", ok=True, blocking=False,
                       detail=f"All {len(answers)} nodes can be taken down, one at a time.")
    why = f" ({healing} drive(s) healing)" if healing else ""
    return Finding(check="nodes safe to take down", ok=False, blocking=False,
                   detail=f"Only node(s) {', '.join(safe) or 'none'} of {len(answers)} can be taken down now{why}; "
                   f"see `/minio maintenance {tenant.name} check`.")


class _ConsoleState(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    replicas: int
    resource_version: str


def _console(kube: KubeClient, namespace: str, tenant: TenantConfig) -> _ConsoleState | None:
    """The console Deployment if one exists (operator v6+ has none: None)."""
    try:
        deployment = kube.get_deployment(namespace, console_name(tenant))
    except ClientError as exc:
        if exc.kind == "not_found":
            return None
        raise
    return _ConsoleState(name=deployment.name, replicas=deployment.replicas,
                         resource_version=deployment.resource_version)


def plan_enable(runtime: Runtime, tenant: TenantConfig, requester: str, hours: float, reason: str) -> ChangePlan:
    """Preview of `maintenance enable`: annotations, console, alerts, window; dry run and preflight."""
    now = runtime.clock()
    params: dict[str, Any] = {"hours": hours, "reason": reason, "requested_by": requester}
    targets: list[Target] = []
    changes: list[Change] = []
    notes: list[str] = []
    dry_runs: list[DryRun] = []
    about = _when(now + timedelta(hours=hours))
    new_values = {MODE: "true", TIMESTAMP: "the time it is enabled", UNTIL: f"{hours:g} h later (about {about} if "
                  "approved now)"}
    kube = _kube(runtime, tenant)
    if kube is not None:
        client, namespace, name = kube
        obj = read_tenant(client, namespace, name)
        targets.append(obj.target())
        params |= {"namespace": namespace, "tenant_name": name}
        for key in ANNOTATIONS:
            changes.append(Change(what=f"Tenant annotation `{key}`", before=_shown(obj.annotations.get(key)),
                                  after=new_values[key]))
        patch = {"metadata": {"annotations": {k: "true" if k == MODE else _iso(now) for k in ANNOTATIONS}}}
        dry_runs.append(_dry_run(f"annotate Tenant {namespace}/{name}", partial(
            client.patch_tenant, namespace, name, patch, dry_run=True, resource_version=obj.resource_version)))
        console = _console(client, namespace, tenant)
        if console is None:
            notes.append(f"No console Deployment `{console_name(tenant)}` (MinIO Operator v6+ has none): "
                         "nothing to scale.")
            params["console"] = None
        else:
            params["console"] = {"name": console.name, "replicas": console.replicas}
            targets.append(Target(kind="Deployment", namespace=namespace, name=console.name,
                                  resource_version=console.resource_version, fingerprint=str(console.replicas)))
            changes.append(Change(what=f"Console Deployment `{console.name}` replicas", before=str(console.replicas),
                                  after="0"))
            dry_runs.append(_dry_run(f"scale Deployment {namespace}/{console.name}", partial(
                client.patch_deployment, namespace, console.name, {"spec": {"replicas": 0}}, dry_run=True)))
    else:
        notes.append("This tenant has no Kubernetes Tenant configured: only the window and alert muting apply.")
    changes.append(Change(what=f"Alerts for `{tenant.name}`", before="active", after=f"muted for {hours:g} h"))
    changes.append(Change(what="Maintenance window", before="none", after=f"open for {hours:g} h"))
    if reason:
        notes.append(f"Reason: {escape(reason, 300)}")
    preflight = [
        _no_window(runtime, tenant.name),
        _quorum(runtime, tenant),
        _nodes_finding(runtime, tenant),
    ]
    return seal(ChangePlan(
        kind=MaintenanceEnable.name,
        action_kind=ACTION_KIND,
        tenant=tenant.name,
        title=f"Enable maintenance on {tenant.name} for {hours:g} h",
        params=params,
        targets=targets,
        changes=changes,
        notes=notes,
        dry_run=_merge(dry_runs),
        preflight=preflight,
        risk="medium" if params.get("console") else "low",
        planned_at=now,
    ))


def _quorum(runtime: Runtime, tenant: TenantConfig) -> Finding:
    """Write quorum now, blocking: muting the alerts of a tenant that lost it would hide an outage."""
    finding = write_quorum_finding(runtime, tenant)
    if finding.ok:
        return finding
    return finding.model_copy(update={"detail": finding.detail + " Muting alerts now would hide an outage: "
                                      "resolve it first."})


class MaintenanceEnable:
    """Change kind `maintenance-enable`."""

    name = "maintenance-enable"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        tenant = _config(runtime, plan.tenant)
        findings = [_no_window(runtime, plan.tenant)]
        kube = _kube(runtime, tenant)
        if kube is not None and plan.targets:
            client, namespace, _name = kube
            findings.append(tenant_unchanged(plan.targets[0], read_tenant(client, namespace, plan.targets[0].name)))
            findings.append(_console_unchanged(client, namespace, tenant, plan.params.get("console")))
        findings.append(_quorum(runtime, tenant))
        return findings

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        tenant = _config(runtime, plan.tenant)
        now = runtime.clock()
        until = now + timedelta(hours=float(plan.params["hours"]))
        values = {MODE: "true", TIMESTAMP: _iso(now), UNTIL: _iso(until)}
        kube = _kube(runtime, tenant)
        obj: TenantObject | None = None
        record: dict[str, Any] = {"annotations": {}, "console": None, "tenant": None}
        if kube is not None and plan.targets:
            client, namespace, name = kube
            obj = read_tenant(client, namespace, name)
            if not tenant_unchanged(plan.targets[0], obj).ok:
                return Outcome(ok=False, summary=f"Tenant {namespace}/{name} changed after the re-check; nothing "
                               "was changed. Request it again.")
            record["tenant"] = {"namespace": namespace, "name": name}
            record["annotations"] = {k: {"before": obj.annotations.get(k), "after": v} for k, v in values.items()}
            console = plan.params.get("console")
            if console:
                record["console"] = {"namespace": namespace, "name": console["name"],
                                     "before": int(console["replicas"]), "after": 0}
        window = runtime.store.maintenance.open(
            tenant.name, started_by=str(plan.params.get("requested_by") or "unknown"), until=until,
            changes=record, at=now,
        )
        if window is None:
            return Outcome(ok=False, summary=f"A maintenance window is already open for {tenant.name}; nothing "
                           "was changed.")
        lines = [f"Window #{window.id} open until {_when(until)}: alerts for `{tenant.name}` are muted."]
        progress(lines[-1])
        if kube is not None and obj is not None:
            client, namespace, name = kube
            try:
                client.patch_tenant(namespace, name, {"metadata": {"annotations": values}},
                                    resource_version=obj.resource_version)
            except ClientError as exc:
                runtime.store.maintenance.close(window.id, at=runtime.clock())
                return Outcome(ok=False, summary=f"Kubernetes refused to annotate Tenant {namespace}/{name}: {exc}",
                               lines=["The window was closed again: alerts stay active and nothing else changed."])
            lines.append(f"Tenant {namespace}/{name} annotated: {MODE}=true, {TIMESTAMP}={values[TIMESTAMP]}, "
                         f"{UNTIL}={values[UNTIL]}.")
            progress(lines[-1])
            console = record["console"]
            if console:
                try:
                    client.patch_deployment(namespace, console["name"], {"spec": {"replicas": 0}})
                except ClientError as exc:
                    return Outcome(ok=False, summary=f"Maintenance is on, but the console could not be scaled "
                                   f"down: {exc}", lines=[*lines, "`disable` reverses what was changed."])
                lines.append(f"Console Deployment `{console['name']}` scaled {console['before']} → 0.")
            else:
                lines.append("No console Deployment (MinIO Operator v6+): nothing scaled.")
            progress(lines[-1])
        return Outcome(ok=True, summary=f"Maintenance enabled on {tenant.name} until {_when(until)}; alerts muted.",
                       lines=lines)


def _console_unchanged(client: KubeClient, namespace: str, tenant: TenantConfig, planned: Any) -> Finding:
    check = "console Deployment"
    current = _console(client, namespace, tenant)
    if planned is None:
        if current is None:
            return Finding(check=check, ok=True, detail="Still none (nothing to scale).")
        return Finding(check=check, ok=False, detail=f"A console Deployment `{current.name}` appeared since the "
                       "preview. Request the change again.")
    if current is None:
        return Finding(check=check, ok=False, detail=f"Console Deployment `{planned['name']}` is gone since the "
                       "preview. Request the change again.")
    if current.replicas != int(planned["replicas"]):
        return Finding(check=check, ok=False, detail=f"Console replicas changed since the preview "
                       f"({planned['replicas']} → {current.replicas}). Request the change again.")
    return Finding(check=check, ok=True, detail=f"Console still at {current.replicas} replica(s).")


# ----------------------------------------------------------------------------- disable


def plan_disable(runtime: Runtime, tenant: TenantConfig, requester: str) -> ChangePlan:
    """Preview of `maintenance disable`: undo exactly what the open window recorded."""
    now = runtime.clock()
    window = runtime.store.maintenance.current(tenant.name)
    if window is None:
        raise UserError(f"No maintenance window is open for `{tenant.name}`: nothing to disable.")
    recorded = window.changes or {}
    params: dict[str, Any] = {"window_id": window.id, "requested_by": requester, "revert": {}, "console": None}
    targets = [Target(kind="MaintenanceWindow", name=str(window.id))]
    changes: list[Change] = []
    notes: list[str] = []
    dry_runs: list[DryRun] = []
    kube = _kube(runtime, tenant)
    where = recorded.get("tenant")
    if kube is not None and where:
        client, namespace, name = kube
        obj = read_tenant(client, namespace, name)
        targets.insert(0, obj.target())
        for key, change in (recorded.get("annotations") or {}).items():
            current = obj.annotations.get(key)
            if current == change.get("after"):
                params["revert"][key] = change.get("before")
                changes.append(Change(what=f"Tenant annotation `{key}`", before=_shown(current),
                                      after=_shown(change.get("before")) if change.get("before") is not None
                                      else "(removed)"))
            else:
                notes.append(f"`{key}` was changed by hand since enable (now {_shown(current)}): left as is.")
        if params["revert"]:
            patch = {"metadata": {"annotations": params["revert"]}}
            dry_runs.append(_dry_run(f"annotate Tenant {namespace}/{name}", partial(
                client.patch_tenant, namespace, name, patch, dry_run=True, resource_version=obj.resource_version)))
        console = recorded.get("console")
        if console:
            current_console = _console(client, namespace, tenant)
            if current_console is None:
                notes.append(f"Console Deployment `{console['name']}` is gone: nothing to scale back.")
            elif current_console.replicas != int(console.get("after", 0)):
                notes.append(f"Console `{console['name']}` was rescaled by hand since enable (now "
                             f"{current_console.replicas}): left as is.")
            else:
                params["console"] = {"name": console["name"], "replicas": int(console["before"])}
                targets.append(Target(kind="Deployment", namespace=namespace, name=console["name"],
                                      resource_version=current_console.resource_version,
                                      fingerprint=str(current_console.replicas)))
                changes.append(Change(what=f"Console Deployment `{console['name']}` replicas",
                                      before=str(current_console.replicas), after=str(console["before"])))
                dry_runs.append(_dry_run(f"scale Deployment {namespace}/{console['name']}", partial(
                    client.patch_deployment, namespace, console["name"],
                    {"spec": {"replicas": int(console["before"])}}, dry_run=True)))
        params |= {"namespace": namespace, "tenant_name": name}
    state = f"open until {_when(window.until)}" if window.until > now else f"past its end ({_when(window.until)})"
    changes.append(Change(what=f"Alerts for `{tenant.name}`",
                          before="muted" if window.until > now else "active (window past its end)", after="active"))
    changes.append(Change(what=f"Maintenance window #{window.id}", before=state, after="closed"))
    return seal(ChangePlan(
        kind=MaintenanceDisable.name,
        action_kind=ACTION_KIND,
        tenant=tenant.name,
        title=f"Disable maintenance on {tenant.name}",
        params=params,
        targets=targets,
        changes=changes,
        notes=notes,
        dry_run=_merge(dry_runs),
        preflight=[Finding(check="maintenance window", ok=True, detail=f"Window #{window.id} is open "
                           f"(by <@{window.started_by}> since {_when(window.started_at)}).")],
        risk="low",
        planned_at=now,
    ))


class MaintenanceDisable:
    """Change kind `maintenance-disable`."""

    name = "maintenance-disable"
    action_kind = ACTION_KIND

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        tenant = _config(runtime, plan.tenant)
        window = runtime.store.maintenance.current(plan.tenant)
        findings = [
            Finding(check="maintenance window", ok=True, detail=f"Window #{window.id} is still open.")
            if window is not None and window.id == plan.params.get("window_id")
            else Finding(check="maintenance window", ok=False, detail="The window this plan closes is no longer "
                         "open (closed or replaced since the preview). Request it again.")
        ]
        kube = _kube(runtime, tenant)
        if kube is not None and plan.targets and plan.targets[0].kind == "Tenant":
            client, namespace, _name = kube
            findings.append(tenant_unchanged(plan.targets[0], read_tenant(client, namespace, plan.targets[0].name)))
            console = plan.params.get("console")
            if console:
                current = _console(client, namespace, tenant)
                findings.append(
                    Finding(check="console Deployment", ok=True, detail="Still scaled to 0.")
                    if current is not None and current.replicas == 0
                    else Finding(check="console Deployment", ok=False, detail="The console changed since the "
                                 "preview. Request it again.")
                )
        return findings

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        tenant = _config(runtime, plan.tenant)
        lines: list[str] = []
        kube = _kube(runtime, tenant)
        revert: dict[str, str | None] = plan.params.get("revert") or {}
        if kube is not None and plan.targets and plan.targets[0].kind == "Tenant":
            client, namespace, name = kube
            obj = read_tenant(client, namespace, name)
            if not tenant_unchanged(plan.targets[0], obj).ok:
                return Outcome(ok=False, summary=f"Tenant {namespace}/{name} changed after the re-check; nothing "
                               "was changed. Request it again.")
            if revert:
                client.patch_tenant(namespace, name, {"metadata": {"annotations": revert}},
                                    resource_version=obj.resource_version)
                restored = ", ".join(f"{k}={'(removed)' if v is None else v}" for k, v in revert.items())
                lines.append(f"Tenant {namespace}/{name} annotations restored: {restored}.")
                progress(lines[-1])
            console = plan.params.get("console")
            if console:
                client.patch_deployment(namespace, console["name"], {"spec": {"replicas": int(console["replicas"])}})
                lines.append(f"Console Deployment `{console['name']}` scaled 0 → {console['replicas']}.")
                progress(lines[-1])
        window_id = int(plan.params["window_id"])
        runtime.store.maintenance.close(window_id, at=runtime.clock())
        lines.append(f"Window #{window_id} closed: alerts for `{tenant.name}` are active again.")
        progress(lines[-1])
        return Outcome(ok=True, summary=f"Maintenance disabled on {tenant.name}; alerts active again.", lines=lines)


CHANGE_KINDS = (MaintenanceEnable(), MaintenanceDisable())


# ----------------------------------------------------------------------------- the verb


class MaintenanceArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant: str
    action: Literal["check", "enable", "disable"]
    hours: float = Field(DEFAULT_HOURS, gt=0, le=MAX_HOURS)
    reason: str = Field("", max_length=300)


def maintenance_command(inv: Invocation, args: MaintenanceArgs) -> Report:
    """check: node-by-node report; enable/disable: a previewed change that goes through approval."""
    tenant = inv.tenant(args.tenant)
    if args.action == "check":
        return maintenance_check(inv.runtime, tenant)
    if args.action == "enable":
        plan = plan_enable(inv.runtime, tenant, inv.user, args.hours, args.reason)
        return request_change(inv, plan)
    plan = plan_disable(inv.runtime, tenant, inv.user)
    return request_change(inv, plan, approval_required=tenant.approve_maintenance_disable)


def _permission(args: MaintenanceArgs) -> Permission:
    return Permission.VIEW if args.action == "check" else Permission.REQUEST


VERB = Verb(
    name="maintenance",
    summary="Is it safe to take a node down? Open or close a maintenance window (needs approval).",
    model=MaintenanceArgs,
    handler=maintenance_command,
    args=(
        Arg("tenant", "the tenant", required=True),
        Arg("action", "what to do", required=True, choices=("check", "enable", "disable")),
        Arg("hours", f"window length for enable (default {DEFAULT_HOURS:g}, at most {MAX_HOURS:g})", kind="option"),
        Arg("reason", "why (shown on the approval card)", rest=True),
    ),
    permission=Permission.VIEW,
    permission_for=_permission,
    details="`enable` annotates the Tenant (maintenance.minio.io/mode, /timestamp, /until), scales the console "
    "Deployment to 0 where one exists and mutes alerts until the window ends; `disable` reverses exactly that.",
    examples=("/minio maintenance demo check", "/minio maintenance demo enable --hours 4 replacing drive 3"),
    slow=True,
)

capability = Capability("maintenance", __doc__)
capability.add_verb(VERB)
for _kind in CHANGE_KINDS:
    capability.change_kind(_kind)
