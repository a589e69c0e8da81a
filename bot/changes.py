"""Change plans and the change-kind registry: what a destructive action is before anyone approves it.

Every destructive action (maintenance on/off, deleting a pod, and later
scaling, upgrades and rollbacks) is first turned into a :class:`ChangePlan`:
the target, the parameters, a human preview (``before -> after``), the
Kubernetes server-side dry run, preflight findings, a risk level, and a hash
of the canonical plan that includes each target's ``resourceVersion``. The
approval engine (:mod:`bot.approval_engine`) stores the plan, posts it as a card,
and after approval asks the plan's *change kind* to re-check and execute it.

Adding a change kind
--------------------
A change kind is any object with these members (see :class:`ChangeKind`)::

    name: str          # unique, e.g. "maintenance-enable"; stored in the plan, routes execution
    action_kind: str   # the approval rule it falls under: one of bot.config.ACTION_KINDS
                       # ("scale", "maintenance", "update", "operator-update", "rollback", "pod-delete")

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        '''Called after approval, before execution. Return one Finding per check:
        the target is unchanged (use `tenant_unchanged` for a Tenant) and the
        preflight still passes. A failed *blocking* Finding refuses the change;
        the card shows every Finding. Raising ClientError counts as a failed check.'''

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        '''Make the change, at most once (the engine guarantees one call per
        approval). Call `progress("...")` for each step: the lines appear in the
        card's thread. Follow the change until it is done or a timeout you
        choose, then return an Outcome. Raise ClientError (or return
        Outcome(ok=False, ...)) on failure; the engine records and audits it.'''

and, by convention, a ``plan(...)`` function whose arguments depend on the
kind (a handler calls it; the engine never does). Build the plan with
:func:`seal` so its hash is set. Register the kind once, at import time of its
handler module: ``register(MyKind())``. The handler then calls
``bot.approval_engine.request_change(inv, plan)`` and returns its Report; the
engine does the rest (card, votes, expiry, re-check, execution, audit).

What goes into the hash: kind, action kind, tenant, params, targets (with
their resourceVersion and fingerprint) and the previewed changes. Preflight
findings and the dry-run result are observations at preview time, not part of
what is executed, so they are shown but not hashed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import Field

from bot.clients.errors import ClientError
from bot.clients.kube_models import TenantInfo
from bot.models import Frozen

if TYPE_CHECKING:
    from bot.clients.kube import KubeClient
    from bot.config import TenantConfig
    from bot.runtime import Runtime

Risk = Literal["low", "medium", "high"]


class Finding(Frozen):
    """One check of a plan: preflight at preview time, or a re-check after approval."""

    check: str  # short name: "target unchanged", "write quorum", "maintenance window"
    ok: bool
    detail: str  # one sentence a person can act on
    blocking: bool = True  # a failed blocking finding refuses the change


class DryRun(Frozen):
    """What the Kubernetes API server said to the write with ``dryRun=All``."""

    ok: bool
    detail: str


class Target(Frozen):
    """An object the change writes, as it was when the plan was made."""

    kind: str  # "Tenant", "Pod", "Deployment", "MaintenanceWindow"
    name: str
    namespace: str | None = None
    resource_version: str | None = None
    # What must still match at approval time even when resourceVersion moved
    # (e.g. a Tenant's spec + labels + annotations: the operator rewrites its
    # status every few minutes, which bumps resourceVersion but changes nothing
    # a plan relies on).
    fingerprint: str | None = None

    def label(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"


class Change(Frozen):
    """One line of the preview: what changes, from what, to what."""

    what: str
    before: str
    after: str


class ChangePlan(Frozen):
    """A destructive action, fully described before it is approved.

    Build one with :func:`seal` (which sets ``plan_hash``); the engine stores it
    as JSON and re-validates it from there.
    """

    kind: str  # change kind name (registry key)
    action_kind: str  # approval rule: one of bot.config.ACTION_KINDS
    tenant: str
    title: str  # "Enable maintenance on demo"
    params: dict[str, Any] = Field(default_factory=dict)  # everything execute() needs, JSON only
    targets: list[Target] = Field(default_factory=list)  # the first one is the primary target
    changes: list[Change] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)  # e.g. "no console Deployment: nothing to scale"
    dry_run: DryRun | None = None  # None when the action is not a Kubernetes write
    preflight: list[Finding] = Field(default_factory=list)
    risk: Risk = "medium"
    planned_at: datetime
    plan_hash: str = ""

    def canonical(self) -> dict[str, Any]:
        """The part of the plan the hash covers: what will be done, to which object versions."""
        return {
            "kind": self.kind,
            "action_kind": self.action_kind,
            "tenant": self.tenant,
            "params": self.params,
            "targets": [t.model_dump(mode="json") for t in self.targets],
            "changes": [c.model_dump(mode="json") for c in self.changes],
        }

    def compute_hash(self) -> str:
        """sha256 of the canonical JSON (sorted keys, no spaces)."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def resource_version(self) -> str | None:
        """The primary target's resourceVersion, if it has one."""
        return self.targets[0].resource_version if self.targets else None

    def blocking_failures(self) -> list[Finding]:
        """Preflight findings that stop the request (plus a failed dry run)."""
        failed = [f for f in self.preflight if not f.ok and f.blocking]
        if self.dry_run is not None and not self.dry_run.ok:
            failed.append(Finding(check="Kubernetes dry run", ok=False, detail=self.dry_run.detail))
        return failed


def seal(plan: ChangePlan) -> ChangePlan:
    """The plan with its hash set."""
    return plan.model_copy(update={"plan_hash": plan.compute_hash()})


class Outcome(Frozen):
    """What execution did."""

    ok: bool
    summary: str  # one line for the card
    lines: list[str] = Field(default_factory=list)  # details, step by step


class ChangeKind(Protocol):
    """The interface every change kind implements (see the module docstring)."""

    @property
    def name(self) -> str: ...

    @property
    def action_kind(self) -> str: ...

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]: ...

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome: ...


# ----------------------------------------------------------------------------- helpers for kinds


class TenantObject(Frozen):
    """A Tenant with the metadata plans need: annotations, labels and a change fingerprint."""

    info: TenantInfo
    annotations: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    fingerprint: str

    @property
    def resource_version(self) -> str:
        return self.info.resource_version

    def target(self) -> Target:
        """This Tenant as a plan target."""
        return Target(
            kind="Tenant",
            namespace=self.info.namespace,
            name=self.info.name,
            resource_version=self.info.resource_version,
            fingerprint=self.fingerprint,
        )


def read_tenant(kube: KubeClient, namespace: str, name: str) -> TenantObject:
    """Read a Tenant with its metadata (KubeError on failure, e.g. not_found or forbidden)."""
    obj = kube.get_tenant_object(namespace, name)
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    annotations = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    basis = {
        "spec": obj.get("spec") or {},
        "annotations": annotations,
        "labels": labels,
        "deleting": bool(meta.get("deletionTimestamp")),
    }
    digest = hashlib.sha256(json.dumps(basis, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return TenantObject(info=TenantInfo.from_api(obj), annotations=annotations, labels=labels, fingerprint=digest)


def tenant_unchanged(planned: Target, current: TenantObject) -> Finding:
    """Is the Tenant still the one previewed? resourceVersion first, then spec + labels + annotations.

    A moved resourceVersion with an equal fingerprint means only ``status``
    changed (the operator refreshes it every few minutes): the plan still holds.
    """
    check = "target unchanged"
    if current.resource_version == planned.resource_version:
        return Finding(check=check, ok=True, detail=f"{planned.label()} is unchanged since the preview "
                       f"(resourceVersion {planned.resource_version}).")
    if planned.fingerprint is not None and current.fingerprint == planned.fingerprint:
        return Finding(
            check=check,
            ok=True,
            detail=f"{planned.label()}: only its status changed since the preview (resourceVersion "
            f"{planned.resource_version} -> {current.resource_version}); spec, labels and annotations are as "
            "previewed.",
        )
    return Finding(
        check=check,
        ok=False,
        detail=f"{planned.label()} changed since the preview (resourceVersion {planned.resource_version} -> "
        f"{current.resource_version}). The plan is refused: request the change again to see a fresh preview.",
    )


def write_quorum_finding(runtime: Runtime, tenant: TenantConfig, *, blocking: bool = True) -> Finding:
    """MinIO's own answer to "does every erasure set have write quorum now?" (``/minio/health/cluster``)."""
    check = "write quorum"
    try:
        health = runtime.minio(tenant).cluster_health()
    except ClientError as exc:
        return Finding(check=check, ok=False, blocking=blocking,
                       detail=f"MinIO did not answer the cluster health check: {exc}")
    quorum = f" (write quorum {health.write_quorum})" if health.write_quorum else ""
    if health.ok:
        return Finding(check=check, ok=True, blocking=blocking,
                       detail=f"Every erasure set has write quorum{quorum}.")
    return Finding(
        check=check,
        ok=False,
        blocking=blocking,
        detail=f"MinIO reports that an erasure set has lost write quorum{quorum} (HTTP {health.status}).",
    )
