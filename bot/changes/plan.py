"""The change plan: what a destructive action is before anyone approves it.

Every destructive action (maintenance on/off, deleting a pod, scaling,
upgrades and rollbacks) is first turned into a :class:`ChangePlan`: the
target, the parameters, a human preview (``before -> after``), the Kubernetes
server-side dry run, preflight findings, a risk level, and a hash of the
canonical plan that includes each target's ``resourceVersion``. The approval
engine (:mod:`bot.approval_engine`) stores the plan, posts it as a card, and after
approval asks the plan's *change kind* to re-check and execute it.

Texts in a plan (titles, findings, changes, notes, outcomes, progress lines)
are plain sentences: no markup; the card's renderer decides how they look.

Adding a change kind
--------------------
A change kind is any object with these members (see :class:`ChangeKind`)::

    name: str          # unique, e.g. "maintenance-enable"; stored in the plan, routes execution
    action_kind: str   # the approval rule it falls under: one of bot.config.ACTION_KINDS
                       # ("scale", "maintenance", "update", "operator-update", "rollback", "pod-delete")

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]:
        '''Called after approval, before execution. Return one Finding per check:
        the target is unchanged (`bot.changes.tenant.tenant_unchanged` for a Tenant)
        and the preflight still passes. A failed *blocking* Finding refuses the change;
        the card shows every Finding. Raising ClientError counts as a failed check.'''

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        '''Make the change, at most once (the engine guarantees one call per
        approval). Call `progress("...")` for each step: the lines appear in the
        card's thread. Follow the change until it is done or a timeout you
        choose (`bot.changes.follow`), then return an Outcome. Raise ClientError
        (or return Outcome(ok=False, ...)) on failure; the engine records and audits it.'''

    def resume(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        '''Called instead of `execute` when the bot process that executed the plan
        stopped half-way (killed, restarted): the leader takes the execution over once
        its lease expires. Never write again: re-read the target, and if the change
        was made, follow it to its end as `execute` would; say what you find. The
        default (:func:`outcome_by_recheck`) re-checks the target and reports it.'''

A kind inherits the default ``resume`` by subclassing :class:`ChangeKind`;
kinds that follow a rollout (upgrades, new pools, decommissions) override it.

and, by convention, a ``plan_...(...)`` function whose arguments depend on the
kind (a handler calls it; the engine never does). Build the plan with
:func:`seal` so its hash is set. A capability declares the kind once:
``capability.change_kind(MyKind())``. The handler then calls
``bot.approval_engine.request_change(inv, plan)`` and returns its Report; the
engine does the rest (card, votes, expiry, re-check, execution, audit).

A change to a whole cluster (the operator) names its ``cluster`` instead of a
tenant: the approval engine then governs it by that cluster's
``clusters[].approvals`` (approvers, required count, channel), never by the
rule of any tenant, and only the cluster's operators may request it.

What goes into the hash: kind, action kind, tenant or cluster, params, targets (with
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

from pydantic import Field, model_validator

from bot.models import Frozen
from bot.report import Report

if TYPE_CHECKING:
    from bot.runtime import Runtime

Risk = Literal["low", "medium", "high"]

CLUSTER_SUBJECT = "cluster:"


def cluster_subject(cluster: str) -> str:
    """What a cluster-scoped request is filed under in the approvals and audit tables (tenant names are DNS
    labels, so ``cluster:<name>`` never collides with one)."""
    return f"{CLUSTER_SUBJECT}{cluster}"


def subject_cluster(subject: str | None) -> str | None:
    """The cluster a request's subject names, or None for a tenant's request."""
    return subject[len(CLUSTER_SUBJECT):] if subject and subject.startswith(CLUSTER_SUBJECT) else None


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
    tenant: str = ""  # the tenant it changes; "" for a change to a whole cluster
    cluster: str | None = None  # a change to a whole cluster (the operator): governed by clusters[].approvals
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

    @model_validator(mode="after")
    def _one_subject(self) -> ChangePlan:
        if bool(self.tenant) == bool(self.cluster):
            raise ValueError("a change plan names either a tenant or a cluster")
        return self

    @property
    def subject(self) -> str:
        """What the request is filed under: the tenant's name, or ``cluster:<name>`` (:func:`cluster_subject`)."""
        return cluster_subject(self.cluster) if self.cluster else self.tenant

    def canonical(self) -> dict[str, Any]:
        """The part of the plan the hash covers: what will be done, to which object versions, under whose rule."""
        canonical = {
            "kind": self.kind,
            "action_kind": self.action_kind,
            "tenant": self.tenant,
            "params": self.params,
            "targets": [t.model_dump(mode="json") for t in self.targets],
            "changes": [c.model_dump(mode="json") for c in self.changes],
        }
        if self.cluster is not None:  # only when set, so tenants' plans keep the hashes they were stored with
            canonical["cluster"] = self.cluster
        return canonical

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
    """What execution did.

    ``report`` (optional) is a full report the engine posts in the card's thread once the outcome is
    recorded: figures, tables, a chart (``Report.charts``), for changes whose result is more than a
    sentence (a speed test). It is not stored with the request (only summary and lines are).
    """

    ok: bool
    summary: str  # one line for the card
    lines: list[str] = Field(default_factory=list)  # details, step by step
    report: Report | None = Field(default=None, exclude=True)


class ChangeKind(Protocol):
    """The interface every change kind implements (see the module docstring); subclass it for ``resume``."""

    @property
    def name(self) -> str: ...

    @property
    def action_kind(self) -> str: ...

    def recheck(self, runtime: Runtime, plan: ChangePlan) -> list[Finding]: ...

    def execute(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome: ...

    def resume(self, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]) -> Outcome:
        """After the executing process stopped: re-read the target and report (default: :func:`outcome_by_recheck`)."""
        return outcome_by_recheck(self, runtime, plan, progress)


NOT_RUN_AGAIN = "It was not run again."


def outcome_by_recheck(
    kind: ChangeKind, runtime: Runtime, plan: ChangePlan, progress: Callable[[str], None]
) -> Outcome:
    """The default resume: re-check the target and say what that suggests, without writing anything.

    A target still as previewed means the change was most likely never made; a
    moved one, that it was (or someone else changed it). Either way the outcome is
    unknown (``ok=False``): the card asks people to look rather than claim success.
    """
    progress("Re-reading the target to see whether the change was made.")
    findings = kind.recheck(runtime, plan)
    lines = [f"{f.check}: {f.detail}" for f in findings]
    if not [f for f in findings if not f.ok and f.blocking]:
        return Outcome(ok=False, summary="Outcome unknown: the bot stopped while this ran, and the target is still as "
                       f"previewed, so the change was most likely not made. {NOT_RUN_AGAIN}",
                       lines=[*lines, "Request it again if it is still needed."])
    return Outcome(ok=False, summary="Outcome unknown: the bot stopped while this ran, and the target is no longer as "
                   f"previewed, so the change was probably made. {NOT_RUN_AGAIN}",
                   lines=[*lines, "Check the target (/minio health) before requesting anything else."])
