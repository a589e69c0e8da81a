"""`/minio runbook`: the markdown checklists in `runbooks/`, posted as interactive Slack checklists.

A runbook file is a `# Title`, an optional paragraph, then `- [ ]` steps. A
step naming a `/minio ...` command (in backticks) gets a **Run** button (the
dispatcher's built-in `run:` button: it runs the command in the checklist's
thread). Every step gets a **Check** button; who checked which step and when
is stored, so a run can be resumed later, also after a restart.

A checklist is always ONE message (its buttons must stay where people look):
each step is a section plus one actions block, and a runbook is limited to
`MAX_STEPS` steps so header, steps and footer fit Slack's 50 blocks.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from bot.application import Capability, Job
from bot.commands import Arg, Verb, escape
from bot.interactions import Click, ClickResult
from bot.invocation import Invocation, UserError
from bot.outbox import Outbox
from bot.report import Action, Report, Section, Status, notice
from bot.runtime import Runtime
from bot.store import RunbookRun
from handlers.incidents import timeline as incident_timeline

RUNBOOKS_ENV = "MINIO_CHATOPS_RUNBOOKS"  # a folder with daily/ weekly/ monthly/ emergency/
SOURCE_RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"  # a checkout
INSTALLED_RUNBOOKS = Path("/usr/share/minio-chatops/runbooks")  # where the container image puts them
GROUPS = ("daily", "weekly", "monthly", "emergency")
MAX_STEPS = 15  # 2 header blocks + 3 blocks per step (divider, section, actions) + footer <= 50
MAX_STEP_TEXT = 160  # with MAX_STEPS, keeps the whole checklist under Slack's message size
CHECK_PREFIX = "rb-check"
RUN_PREFIX = "run"  # the dispatcher's built-in button
SCHEDULER_ACTOR = "scheduler"
_TENANT_SEP = "@"  # runbook_runs.runbook holds "<name>" or "<name>@<tenant>"

_STEP = re.compile(r"^\s*[-*]\s+\[( |x|X)\]\s+(?P<text>.+?)\s*$")
_COMMAND = re.compile(r"`(?P<cmd>/minio(?:\s[^`]*)?)`")
_TITLE = re.compile(r"^#\s+(?P<title>.+?)\s*$")


@dataclass(frozen=True)
class Step:
    """One checklist step; `command` is the `/minio ...` it names, if any (with `{tenant}` unfilled)."""

    number: int
    text: str
    command: str | None


@dataclass(frozen=True)
class Runbook:
    """A parsed runbook file."""

    name: str
    group: str
    title: str
    intro: str
    steps: tuple[Step, ...]


class RunbookError(ValueError):
    """A runbook file that cannot be used (no steps, too many steps)."""


def parse_runbook(name: str, group: str, text: str) -> Runbook:
    """Parse one runbook's markdown; raises RunbookError when it has no steps, too many, or too long ones."""
    title = name.replace("-", " ").capitalize()
    intro: list[str] = []
    steps: list[Step] = []
    for line in text.splitlines():
        if m := _TITLE.match(line):
            title = m["title"]
        elif m := _STEP.match(line):
            if len(m["text"]) > MAX_STEP_TEXT:
                raise RunbookError(
                    f"runbook {group}/{name}: step {len(steps) + 1} is longer than {MAX_STEP_TEXT} characters"
                )
            found = _COMMAND.search(m["text"])
            command = found["cmd"].strip() if found else None
            # `<summary>`-style placeholders are for people to fill in: such a command is shown, not run.
            steps.append(Step(len(steps) + 1, m["text"], None if command and "<" in command else command))
        elif line.strip() and not steps and not line.startswith("#"):
            intro.append(line.strip())
    if not steps:
        raise RunbookError(f"runbook {group}/{name} has no `- [ ]` steps")
    if len(steps) > MAX_STEPS:
        raise RunbookError(f"runbook {group}/{name} has {len(steps)} steps; a checklist holds at most {MAX_STEPS}")
    return Runbook(name=name, group=group, title=title, intro=" ".join(intro), steps=tuple(steps))


def runbooks_dir() -> Path:
    """`$MINIO_CHATOPS_RUNBOOKS`, else the checkout's `runbooks/`, else the container image's copy."""
    configured = os.environ.get(RUNBOOKS_ENV)
    if configured:
        return Path(configured)
    return SOURCE_RUNBOOKS if SOURCE_RUNBOOKS.is_dir() else INSTALLED_RUNBOOKS


def load_runbooks(root: Path | None = None) -> dict[str, Runbook]:
    """Every runbook under `root/<group>/*.md`, by name (`group/name` too, and alone when unique)."""
    root = root or runbooks_dir()
    found: dict[str, Runbook] = {}
    stems: dict[str, int] = {}
    for group in GROUPS:
        for path in sorted((root / group).glob("*.md")):
            book = parse_runbook(path.stem, group, path.read_text(encoding="utf-8"))
            found[f"{group}/{path.stem}"] = book
            stems[path.stem] = stems.get(path.stem, 0) + 1
    for book in list(found.values()):
        if stems[book.name] == 1:
            found.setdefault(book.name, book)
    return found


@cache
def _runbooks() -> dict[str, Runbook]:
    # The files are part of the release: read once per process.
    return load_runbooks()


def find_runbook(name: str) -> Runbook:
    """The runbook called `name` (`daily`, `emergency/emergency`, ...) or a UserError listing the names."""
    books = _runbooks()
    book = books.get(name.lower())
    if book is None:
        raise UserError(f"No runbook `{escape(name, 60)}`. Runbooks: {', '.join(f'`{n}`' for n in _names(books))}.")
    return book


def _names(books: dict[str, Runbook]) -> list[str]:
    return sorted({b.name if b.name in books else f"{b.group}/{b.name}" for b in books.values()})


def _key(book: Runbook) -> str:
    return book.name if _runbooks().get(book.name) is book else f"{book.group}/{book.name}"


def run_key(book: Runbook, tenant: str | None) -> str:
    """What `runbook_runs.runbook` stores: the runbook's name, plus `@tenant` when it runs for one."""
    return f"{_key(book)}{_TENANT_SEP}{tenant}" if tenant else _key(book)


def split_run_key(value: str) -> tuple[str, str | None]:
    """(runbook name, tenant or None) from a stored run key."""
    name, _, tenant = value.partition(_TENANT_SEP)
    return name, tenant or None


def fill_command(command: str, tenant: str | None) -> str | None:
    """The step's command for `tenant`; without a tenant, a trailing `{tenant}` is dropped and any other
    makes the command unrunnable (None)."""
    if tenant:
        return command.replace("{tenant}", tenant)
    words = command.split()
    if words and words[-1] == "{tenant}":
        words = words[:-1]
    return None if any("{tenant}" in w for w in words) else " ".join(words)


def _mrkdwn(text: str) -> str:
    """Runbook text for Slack: `<summary>`-style placeholders shown literally, not parsed as links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _who(actor: str) -> str:
    if actor == SCHEDULER_ACTOR:
        return "the scheduler"
    return "the bot" if actor == incident_timeline.BOT_ACTOR else incident_timeline.actor_mention(actor)


def _hhmm(when: datetime) -> str:
    return when.strftime("%H:%M UTC")


def checklist_report(book: Runbook, run: RunbookRun, tenant: str | None) -> Report:
    """The checklist message for a run: one section per step with its Check and Run buttons."""
    checks = {c.step: c for c in run.checks}
    done = sum(1 for s in book.steps if s.number in checks)
    sections: list[Section] = []
    for step in book.steps:
        text = _mrkdwn(step.text.replace("{tenant}", tenant) if tenant else step.text)
        check = checks.get(step.number)
        lines: list[str] = []
        actions: list[Action] = []
        if check is not None:
            lines.append(f":white_check_mark: checked by {_who(check.checked_by)} at {_hhmm(check.checked_at)}")
        else:
            actions.append(Action(label="Check", action_id=f"{CHECK_PREFIX}:{run.id}:{step.number}", value="check"))
        if step.command:
            command = fill_command(step.command, tenant)
            if command is None:
                lines.append(f"_Needs a tenant: start with `/minio runbook {_key(book)} &lt;tenant&gt;`._")
            else:
                actions.append(Action(label="Run", action_id=f"{RUN_PREFIX}:{run.id}:{step.number}", value=command))
        sections.append(
            Section(
                title=f"{step.number}. {text}",
                status=Status.HEALTHY if check is not None else None,
                lines=lines,
                actions=actions,
            )
        )
    finished = run.finished_at is not None or done == len(book.steps)
    progress = f"{done}/{len(book.steps)} steps checked" + (" · completed" if finished else "")
    started = f"Run #{run.id} · started by {_who(run.started_by)} at {_hhmm(run.started_at)} · {progress}."
    return Report(
        title=f"Runbook: {book.title}" + (f" ({tenant})" if tenant else ""),
        status=Status.HEALTHY if finished else None,
        summary=" ".join(x for x in (_mrkdwn(book.intro), started) if x),
        sections=sections,
        footer=[f"Continue later with `/minio runbook resume {run.id}`; Run posts the result in this thread."],
    )


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
    incident_timeline.record(
        runtime, channel, incident_timeline.BOT_ACTOR, "runbook", f"posted the {book.title} checklist (run #{run.id})"
    )
    return run, ts


def daily_checklist(runtime: Runtime, channel: str, outbox: Outbox) -> str:
    """For the scheduler: post the daily runbook in `channel` as a new run; returns the message ts."""
    _run, ts = post_checklist(runtime, outbox, channel, "daily", None, SCHEDULER_ACTOR)
    return ts


# ---------------------------------------------------------------- the verb


class RunbookArgs(BaseModel):
    """`runbook`, `runbook <name> [tenant]`, `runbook resume [<run id> | <name>]`."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    tenant: str | None = None
    run_id: int | None = None
    resume: bool = False
    resume_of: str | None = None  # `resume <name>`: the newest open run of that runbook

    @model_validator(mode="before")
    @classmethod
    def _target(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        target = data.pop("target", None)
        if data.get("name") == "resume":
            data["resume"] = True
            if target is not None and str(target).isdigit():
                data["run_id"] = int(target)
            elif target is not None:
                data["resume_of"] = target
        elif target is not None:
            data["tenant"] = target
        return data


def _list() -> Report:
    books = _runbooks()
    sections = []
    for group in GROUPS:
        mine = [b for key, b in books.items() if b.group == group and key == _key(b)]
        if mine:
            lines = [f"`{_key(b)}`: {escape(b.title, 100)} ({len(b.steps)} steps)" for b in mine]
            sections.append(Section(title=group.capitalize(), lines=lines))
    return Report(
        title="Runbooks",
        summary="Start one with `/minio runbook &lt;name&gt; [tenant]`; "
        "resume with `/minio runbook resume [&lt;run id&gt; | &lt;name&gt;]` (newest unfinished run by default).",
        sections=sections,
        ephemeral=True,
    )


def runbook_command(inv: Invocation, args: RunbookArgs) -> Report:
    """List runbooks, start a run (posting its checklist), or re-post a run where it stands."""
    if args.name is None:
        return _list()
    if args.run_id is not None:
        return _resume(inv, args.run_id)
    if args.resume:
        return _resume_latest(inv, args.resume_of)
    tenant = inv.tenant(args.tenant).name if args.tenant else None
    run, _ts = post_checklist(inv.runtime, inv.outbox, inv.channel, args.name, tenant, inv.user, inv.thread_ts)
    return Report(title="", summary=f"Posted the checklist (run #{run.id}).", ephemeral=True)


def _resume(inv: Invocation, run_id: int) -> Report:
    store = inv.runtime.store
    run = store.runbooks.get(run_id)
    if run is None or run.channel != inv.channel:
        # Runs of other channels are not disclosed: same answer as for a run that does not exist.
        raise UserError(f"There is no runbook run #{run_id} in this channel.")
    name, tenant = split_run_key(run.runbook)
    if tenant:
        inv.tenant(tenant)  # the channel must still see the tenant
    book = find_runbook(name)
    ts = inv.outbox.post(inv.channel, checklist_report(book, run, tenant), thread_ts=inv.thread_ts)
    store.runbooks.set_message(run.id, ts)
    return Report(title="", summary=f"Re-posted run #{run.id} where it stands.", ephemeral=True)


def _resume_latest(inv: Invocation, name: str | None) -> Report:
    """Re-post the newest unfinished run in this channel (of runbook `name` when given)."""
    key = _key(find_runbook(name)) if name else None  # unknown names are refused with the list
    run = inv.runtime.store.runbooks.latest_open(inv.channel, key)
    if run is None:
        of = f" of `{escape(key, 60)}`" if key else ""
        start = f"`/minio runbook {escape(key, 60)}`" if key else "`/minio runbook` and a runbook name"
        raise UserError(f"There is no unfinished runbook run{of} in this channel; start one with {start}.")
    return _resume(inv, run.id)


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
        incident_timeline.record(
            inv.runtime, click.channel, inv.user, "check", f"checked step {step.number} of {book.title}: {step.text}"
        )
    else:
        earlier = next((c for c in run.checks if c.step == step.number), None)
        who = f" by {_who(earlier.checked_by)} at {_hhmm(earlier.checked_at)}" if earlier else ""
        ephemeral = notice(f"Step {step.number} was already checked{who}.")
    return ClickResult(update=checklist_report(book, run, tenant), ephemeral=ephemeral)


VERB = Verb(
    name="runbook",
    summary="Post a runbook as an interactive checklist (Check and Run buttons); list or resume runs.",
    model=RunbookArgs,
    handler=runbook_command,
    args=(
        Arg("name", "daily, weekly, monthly, emergency (or `resume`)"),
        Arg(
            "target",
            "a tenant (for commands that need one); after `resume`, a run id or a runbook name",
            metavar="tenant-or-run-id",
        ),
    ),
    details="Who checked which step and when is stored; `resume <run id>` re-posts a run where it stands, "
    "`resume` alone the newest unfinished run in this channel (`resume <name>`: of that runbook).",
    examples=(
        "/minio runbook daily",
        "/minio runbook weekly demo",
        "/minio runbook resume 12",
        "/minio runbook resume",
        "/minio runbook resume weekly",
    ),
)


capability = Capability("runbooks", __doc__)
capability.add_verb(VERB)
capability.button(CHECK_PREFIX)(on_check)
capability.job(Job.DAILY_CHECKLIST)(daily_checklist)
