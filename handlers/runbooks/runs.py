"""Runbook runs: start one (post its checklist), tick a step, resume a run where it stands.

Who checked which step and when is stored with the run, so a run can be
resumed later, also after a restart. A run in an incident channel tells the
application (Hook.CHANNEL_EVENT), and the incident timeline records it.
"""

from __future__ import annotations

from bot.application import Hook
from bot.interactions import Click, ClickResult
from bot.invocation import Invocation, UserError
from bot.outbox import Outbox
from bot.report import Report, code, notice, spans, when
from bot.runtime import Runtime
from bot.store import RunbookRun
from handlers.runbooks.books import find_runbook, key, run_key, split_run_key
from handlers.runbooks.present import SCHEDULER_ACTOR, checklist_report, who


def post_checklist(
    runtime: Runtime,
    outbox: Outbox,
    channel: str,
    name: str,
    tenant: str | None,
    started_by: str,
    thread_ts: str | None = None,
) -> tuple[RunbookRun, str]:
    """Start a run of runbook `name` in `channel`, post its checklist and remember the message; (run, ts)."""
    book = find_runbook(name)
    store = runtime.store
    run = store.runbooks.start(run_key(book, tenant), channel=channel, started_by=started_by, at=runtime.clock())
    ts = outbox.post(channel, checklist_report(book, run, tenant), thread_ts=thread_ts)
    store.runbooks.set_message(run.id, ts)
    return run, ts


def daily_checklist(runtime: Runtime, channel: str, outbox: Outbox) -> str:
    """For the scheduler: post the daily runbook in `channel` as a new run; returns the message ts."""
    _run, ts = post_checklist(runtime, outbox, channel, "daily", None, SCHEDULER_ACTOR)
    return ts


def start(inv: Invocation, name: str, tenant_name: str | None) -> Report:
    """`/minio runbook <name> [tenant]`: post the checklist here (the channel must see the tenant)."""
    tenant = inv.tenant(tenant_name).name if tenant_name else None
    run, _ts = post_checklist(inv.runtime, inv.outbox, inv.channel, name, tenant, inv.user, inv.thread_ts)
    book = find_runbook(name)
    inv.app.fire(Hook.CHANNEL_EVENT, inv.runtime, inv.channel, inv.user, "runbook",
                 f"posted the {book.title} checklist (run #{run.id})")
    return Report(title="", summary=f"Posted the checklist (run #{run.id}).", ephemeral=True)


def resume(inv: Invocation, run_id: int) -> Report:
    """Re-post run ``run_id`` of this channel where it stands."""
    store = inv.runtime.store
    run = store.runbooks.get(run_id)
    if run is None or run.channel != inv.channel:
        # Runs of other channels are not disclosed: same answer as for a run that does not exist.
        raise UserError(f"There is no runbook run #{run_id} in this channel.")
    name, tenant = split_run_key(run.runbook)
    if tenant:
        inv.tenant(tenant)  # the channel must still see the tenant
    ts = inv.outbox.post(inv.channel, checklist_report(find_runbook(name), run, tenant), thread_ts=inv.thread_ts)
    store.runbooks.set_message(run.id, ts)
    return Report(title="", summary=f"Re-posted run #{run.id} where it stands.", ephemeral=True)


def resume_latest(inv: Invocation, name: str | None) -> Report:
    """Re-post the newest unfinished run in this channel (of runbook `name` when given)."""
    wanted = key(find_runbook(name)) if name else None  # unknown names are refused with the list
    run = inv.runtime.store.runbooks.latest_open(inv.channel, wanted)
    if run is None:
        of = spans(" of ", code(wanted)) if wanted else ""
        how = code(f"/minio runbook {wanted}") if wanted else spans(code("/minio runbook"), " and a runbook name")
        raise UserError(spans("There is no unfinished runbook run", of, " in this channel; start one with ", how, "."))
    return resume(inv, run.id)


def _check_target(action_id: str) -> tuple[int, int] | None:
    parts = action_id.split(":")
    if len(parts) != 3 or not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    return int(parts[1]), int(parts[2])


def on_check(inv: Invocation, click: Click) -> ClickResult:
    """A Check button: tick the step (the first tick stands) and redraw the checklist in place."""
    target = _check_target(click.action_id)
    store = inv.runtime.store
    run = store.runbooks.get(target[0]) if target else None
    if target is None or run is None or run.channel != click.channel:
        return ClickResult(ephemeral=notice("This checklist is no longer known; start it again."))
    name, tenant = split_run_key(run.runbook)
    book = find_runbook(name)
    step = next((s for s in book.steps if s.number == target[1]), None)
    if step is None:
        return ClickResult(ephemeral=notice("That step no longer exists in the runbook."))
    now = inv.runtime.clock()
    first = store.runbooks.check(run.id, step.number, by=inv.user, at=now)
    run = store.runbooks.get(run.id) or run
    if first and len(run.checks) >= len(book.steps) and store.runbooks.finish(run.id, at=now):
        run = store.runbooks.get(run.id) or run
    ephemeral = None
    if first:
        inv.app.fire(Hook.CHANNEL_EVENT, inv.runtime, click.channel, inv.user, "check",
                     f"checked step {step.number} of {book.title}: {step.text}")
    else:
        earlier = next((c for c in run.checks if c.step == step.number), None)
        by = spans(" by ", who(earlier.checked_by), " at ", when(earlier.checked_at)) if earlier else ""
        ephemeral = notice(spans(f"Step {step.number} was already checked", by, "."))
    return ClickResult(update=checklist_report(book, run, tenant), ephemeral=ephemeral)
