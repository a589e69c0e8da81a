"""Runbooks: the markdown checklists in `runbooks/`, posted as interactive checklists.

    /minio runbook                          list the runbooks
    /minio runbook <name> [tenant]          post a checklist (a new run)
    /minio runbook resume [<run id> | <name>]

Every step gets a Check button; a step naming a `/minio ...` command gets a Run
button (the dispatcher's built-in `run:` button runs it in the checklist's
thread). Who checked which step and when is stored, so a run can be resumed
later, also after a restart. The scheduler can post the daily checklist.
"""

from __future__ import annotations

from bot.application import Capability, Job
from bot.commands import Arg
from bot.invocation import Invocation
from bot.report import Report
from handlers.runbooks.args import RunbookArgs
from handlers.runbooks.books import (
    GROUPS,
    Runbook,
    RunbookError,
    Step,
    fill_command,
    find_runbook,
    load_runbooks,
    parse_runbook,
    runbooks_dir,
)
from handlers.runbooks.present import CHECK_PREFIX, SCHEDULER_ACTOR, checklist_report, runbooks_report
from handlers.runbooks.runs import daily_checklist, on_check, post_checklist, resume, resume_latest, start

__all__ = [
    "GROUPS",
    "SCHEDULER_ACTOR",
    "Runbook",
    "RunbookArgs",
    "RunbookError",
    "Step",
    "capability",
    "checklist_report",
    "daily_checklist",
    "fill_command",
    "find_runbook",
    "load_runbooks",
    "parse_runbook",
    "post_checklist",
    "runbooks_dir",
]

capability = Capability("runbooks", __doc__)
capability.button(CHECK_PREFIX)(on_check)
capability.job(Job.DAILY_CHECKLIST)(daily_checklist)


@capability.verb(
    "runbook",
    summary="Post a runbook as an interactive checklist (Check and Run buttons); list or resume runs.",
    model=RunbookArgs,
    args=(
        Arg("name", "daily, weekly, monthly, emergency (or resume)"),
        Arg(
            "target",
            "a tenant (for commands that need one); after resume, a run id or a runbook name",
            metavar="tenant-or-run-id",
        ),
    ),
    details="Who checked which step and when is stored; resume RUN-ID re-posts a run where it stands, "
    "resume alone the newest unfinished run in this channel (resume NAME: of that runbook).",
    examples=(
        "/minio runbook daily",
        "/minio runbook weekly demo",
        "/minio runbook resume 12",
        "/minio runbook resume",
        "/minio runbook resume weekly",
    ),
)
def runbook_command(inv: Invocation, args: RunbookArgs) -> Report:
    """List runbooks, start a run (posting its checklist), or re-post a run where it stands."""
    if args.name is None:
        return runbooks_report()
    if args.run_id is not None:
        return resume(inv, args.run_id)
    if args.resume:
        return resume_latest(inv, args.resume_of)
    return start(inv, args.name, args.tenant)
