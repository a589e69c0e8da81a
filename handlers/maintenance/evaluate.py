"""Pure rules of maintenance windows: which nodes may go down, what enable sets and what disable may undo.

No I/O: every function takes facts already read (:mod:`handlers.maintenance.facts`)
and returns findings, preview lines or the patches to write; plain sentences.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot import humanize
from bot.changes import Change, Finding
from bot.changes.preflight import quorum_finding
from bot.changes.tenant import TenantObject
from bot.clients.errors import ClientError
from bot.clients.minio_models import ClusterHealth
from bot.store import MaintenanceWindow
from handlers.maintenance.facts import ConsoleState, NodeAnswer

MODE = "maintenance.minio.io/mode"
TIMESTAMP = "maintenance.minio.io/timestamp"
UNTIL = "maintenance.minio.io/until"
ANNOTATIONS = (MODE, TIMESTAMP, UNTIL)


def iso(moment: datetime) -> str:
    """The timestamp written into annotations: ``2026-12-06T09:00:00Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def shown(value: str | None) -> str:
    """An annotation value in a preview line ("(none)" when unset)."""
    return "(none)" if value is None else value[:120]


def safe_nodes(nodes: list[NodeAnswer]) -> list[NodeAnswer]:
    """The nodes MinIO says can be taken down now (each assuming every other node stays up)."""
    return [n for n in nodes if isinstance(n.answer, ClusterHealth) and n.answer.ok]


# ----------------------------------------------------------------------------- preflight


def no_window_finding(window: MaintenanceWindow | None) -> Finding:
    """One window at a time."""
    if window is None:
        return Finding(check="maintenance window", ok=True, detail="No window is open yet.")
    return Finding(check="maintenance window", ok=False, detail=f"A window is already open (since "
                   f"{humanize.moment(window.started_at)}, until {humanize.moment(window.until)}); disable it first.")


def muting_quorum_finding(health: ClusterHealth | ClientError) -> Finding:
    """Write quorum now, blocking: muting the alerts of a tenant that lost it would hide an outage."""
    finding = quorum_finding(health)
    if finding.ok or not (isinstance(health, ClusterHealth) and health.quorum_lost):
        return finding
    return finding.model_copy(update={"detail": finding.detail + " Muting alerts now would hide an outage: "
                                      "resolve it first."})


def nodes_safe_finding(nodes: list[NodeAnswer], no_nodes: ClientError | None, tenant: str) -> Finding:
    """Informational: which nodes MinIO says can go down now (maintenance itself may not need any)."""
    check = "nodes safe to take down"
    if no_nodes is not None:
        return Finding(check=check, ok=False, blocking=False, detail=str(no_nodes))
    safe = [str(n.number) for n in safe_nodes(nodes)]
    if len(safe) == len(nodes):
        return Finding(check=check, ok=True, blocking=False,
                       detail=f"All {len(nodes)} nodes can be taken down, one at a time.")
    healing = max((n.answer.healing_drives for n in nodes if isinstance(n.answer, ClusterHealth)), default=0)
    starting = [str(n.number) for n in nodes if isinstance(n.answer, ClusterHealth) and n.answer.starting]
    notes = ([f"{healing} drive(s) healing"] if healing else []) + ([f"node(s) {', '.join(starting)} starting"]
                                                                      if starting else [])
    why = f" ({'; '.join(notes)})" if notes else ""
    return Finding(check=check, ok=False, blocking=False,
                   detail=f"Only node(s) {', '.join(safe) or 'none'} of {len(nodes)} can be taken down now{why}; "
                   f"see /minio maintenance {tenant} check.")


def console_unchanged_finding(planned: dict[str, Any] | None, current: ConsoleState | None) -> Finding:
    """The console Deployment is as previewed (still none, or the same replica count)."""
    check = "console Deployment"
    if planned is None:
        if current is None:
            return Finding(check=check, ok=True, detail="Still none (nothing to scale).")
        return Finding(check=check, ok=False, detail=f"A console Deployment {current.name} appeared since the "
                       "preview. Request the change again.")
    if current is None:
        return Finding(check=check, ok=False, detail=f"Console Deployment {planned['name']} is gone since the "
                       "preview. Request the change again.")
    if current.replicas != int(planned["replicas"]):
        return Finding(check=check, ok=False, detail=f"Console replicas changed since the preview "
                       f"({planned['replicas']} → {current.replicas}). Request the change again.")
    return Finding(check=check, ok=True, detail=f"Console still at {current.replicas} replica(s).")


def window_still_open_finding(window: MaintenanceWindow | None, window_id: object) -> Finding:
    """The window a disable plan closes is still the open one."""
    if window is not None and window.id == window_id:
        return Finding(check="maintenance window", ok=True, detail=f"Window #{window.id} is still open.")
    return Finding(check="maintenance window", ok=False, detail="The window this plan closes is no longer open "
                   "(closed or replaced since the preview). Request it again.")


# ----------------------------------------------------------------------------- what enable sets, what disable undoes


def enable_annotation_changes(obj: TenantObject, hours: float, until_if_now: datetime) -> list[Change]:
    """The three annotations, before and after."""
    after = {MODE: "true", TIMESTAMP: "the time it is enabled",
             UNTIL: f"{hours:g} h later (about {humanize.moment(until_if_now)} if approved now)"}
    return [Change(what=f"Tenant annotation {key}", before=shown(obj.annotations.get(key)), after=after[key])
            for key in ANNOTATIONS]


def annotation_values(now: datetime, until: datetime) -> dict[str, str]:
    """The annotations enable writes."""
    return {MODE: "true", TIMESTAMP: iso(now), UNTIL: iso(until)}


def annotations_to_revert(recorded: dict[str, Any], obj: TenantObject) -> tuple[dict[str, str | None], list[Change],
                                                                                 list[str]]:
    """(annotation -> value to restore, preview lines, notes): only what enable set and still holds."""
    revert: dict[str, str | None] = {}
    changes: list[Change] = []
    notes: list[str] = []
    for key, change in (recorded.get("annotations") or {}).items():
        current = obj.annotations.get(key)
        before = change.get("before")
        if current == change.get("after"):
            revert[key] = before
            changes.append(Change(what=f"Tenant annotation {key}", before=shown(current),
                                  after=shown(before) if before is not None else "(removed)"))
        else:
            notes.append(f"{key} was changed by hand since enable (now {shown(current)}): left as is.")
    return revert, changes, notes


def console_to_restore(recorded: dict[str, Any] | None, current: ConsoleState | None) -> tuple[dict[str, Any] | None,
                                                                                                list[str]]:
    """The console scale-back (name and replicas) when the console is still as enable left it, else why not."""
    if not recorded:
        return None, []
    if current is None:
        return None, [f"Console Deployment {recorded['name']} is gone: nothing to scale back."]
    if current.replicas != int(recorded.get("after", 0)):
        return None, [f"Console {recorded['name']} was rescaled by hand since enable (now {current.replicas}): left "
                      "as is."]
    return {"name": recorded["name"], "replicas": int(recorded["before"])}, []


def window_state(window: MaintenanceWindow, now: datetime) -> str:
    """`open until …` or `past its end (…)`."""
    if window.until > now:
        return f"open until {humanize.moment(window.until)}"
    return f"past its end ({humanize.moment(window.until)})"
