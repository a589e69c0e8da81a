"""Runbook reports: the interactive checklist of a run, and the list of runbooks."""

from __future__ import annotations

from datetime import datetime

from bot.report import Action, Report, Section, Status, Text, code, emoji, mention, spans, when
from bot.store import RunbookRun
from handlers.runbooks.books import GROUPS, Runbook, fill_command, key, markdown_text, runbooks

CHECK_PREFIX = "rb-check"
RUN_PREFIX = "run"  # the dispatcher's built-in button: runs the command in the checklist's thread
SCHEDULER_ACTOR = "scheduler"


def who(actor: str) -> Text:
    """A person as a mention; the scheduler and the bot by what they are."""
    if actor == SCHEDULER_ACTOR:
        return "the scheduler"
    if actor[:1] in ("U", "W") and actor[1:].isalnum() and actor.isupper():
        return spans(mention(actor))
    return "the bot"


def checked_line(by: str, at: datetime) -> Text:
    """`checked by @bob at 2026-01-02 09:14 UTC`."""
    return spans(emoji("white_check_mark"), " checked by ", who(by), " at ", when(at))


def _step_section(book: Runbook, run: RunbookRun, number: int, tenant: str | None) -> Section:
    step = book.steps[number - 1]
    check = next((c for c in run.checks if c.step == number), None)
    lines: list[Text] = [markdown_text(step.text, tenant)]
    actions: list[Action] = []
    if check is not None:
        lines.append(checked_line(check.checked_by, check.checked_at))
    else:
        actions.append(Action(label="Check", action_id=f"{CHECK_PREFIX}:{run.id}:{number}", value="check"))
    if step.command:
        command = fill_command(step.command, tenant)
        if command is None:
            lines.append(spans("Needs a tenant: start with ", code(f"/minio runbook {key(book)} <tenant>"), "."))
        else:
            actions.append(Action(label="Run", action_id=f"{RUN_PREFIX}:{run.id}:{number}", value=command))
    status = Status.HEALTHY if check is not None else None
    return Section(title=f"Step {number}", status=status, lines=lines, actions=actions)


def checklist_report(book: Runbook, run: RunbookRun, tenant: str | None) -> Report:
    """The checklist message for a run: one section per step with its Check and Run buttons."""
    done = len({c.step for c in run.checks} & {s.number for s in book.steps})
    finished = run.finished_at is not None or done == len(book.steps)
    progress = f"{done}/{len(book.steps)} steps checked" + (" · completed" if finished else "")
    started = spans(f"Run #{run.id} · started by ", who(run.started_by), " at ", when(run.started_at),
                    f" · {progress}.")
    return Report(
        title=f"Runbook: {book.title}" + (f" ({tenant})" if tenant else ""),
        status=Status.HEALTHY if finished else None,
        summary=spans(markdown_text(book.intro), " ", started) if book.intro else started,
        sections=[_step_section(book, run, step.number, tenant) for step in book.steps],
        footer=[spans("Continue later with ", code(f"/minio runbook resume {run.id}"),
                      "; Run posts the result in this thread.")],
    )


def runbooks_report() -> Report:
    """Every runbook by group, and how to start or resume one."""
    books = runbooks()
    sections = []
    for group in GROUPS:
        mine = [b for name, b in books.items() if b.group == group and name == key(b)]
        if mine:
            lines: list[Text] = [spans(code(key(b)), f": {b.title} ({len(b.steps)} steps)") for b in mine]
            sections.append(Section(title=group.capitalize(), lines=lines))
    return Report(
        title="Runbooks",
        summary=spans("Start one with ", code("/minio runbook <name> [tenant]"), "; resume with ",
                      code("/minio runbook resume [<run id> | <name>]"), " (newest unfinished run by default)."),
        sections=sections,
        ephemeral=True,
    )
