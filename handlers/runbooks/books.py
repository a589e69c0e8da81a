"""Runbook files: the markdown checklists in `runbooks/<group>/<name>.md`, read and parsed.

A runbook file is a `# Title`, an optional paragraph, then `- [ ]` steps. A
step naming a `/minio ...` command in backticks can be run from its checklist;
`{tenant}` in a command stands for the tenant the runbook runs for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.invocation import UserError
from bot.report import Text, code, join, spans

RUNBOOKS_ENV = "MINIO_CHATOPS_RUNBOOKS"  # a folder with daily/ weekly/ monthly/ emergency/
SOURCE_RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"  # a checkout
INSTALLED_RUNBOOKS = Path("/usr/share/minio-chatops/runbooks")  # where the container image puts them
GROUPS = ("daily", "weekly", "monthly", "emergency")
# Runbook files are markdown: a command is marked with backticks. Read here, never written (the report
# model carries code spans), hence a name for the character instead of a markup literal.
BACKTICK = chr(96)
_TENANT_SEP = "@"  # runbook_runs.runbook holds "<name>" or "<name>@<tenant>"
_BOXES = ("[ ]", "[x]", "[X]")


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
    """A runbook file that cannot be used (no steps)."""


def step_text(line: str) -> str | None:
    """The text of a `- [ ] ...` (or `* [x] ...`) line; None for any other line."""
    stripped = line.strip()
    if stripped[:1] not in ("-", "*") or not stripped[1:2].isspace():
        return None
    rest = stripped[1:].lstrip()
    box = next((b for b in _BOXES if rest.startswith(b)), None)
    text = rest[len(box):].strip() if box and rest[len(box):len(box) + 1].isspace() else ""
    return text or None


def named_command(text: str) -> str | None:
    """The first `/minio ...` command in backticks; None when there is none or it has a `<placeholder>`."""
    for quoted in text.split(BACKTICK)[1:-1:2]:
        command = quoted.strip()
        if command == "/minio" or command.startswith("/minio "):
            # `<summary>`-style placeholders are for people to fill in: such a command is shown, not run.
            return None if "<" in command else command
    return None


def parse_runbook(name: str, group: str, text: str) -> Runbook:
    """Parse one runbook's markdown; raises RunbookError when it has no steps."""
    title = name.replace("-", " ").capitalize()
    intro: list[str] = []
    steps: list[Step] = []
    for line in text.splitlines():
        found = step_text(line)
        if line.startswith("# "):
            title = line[2:].strip()
        elif found is not None:
            steps.append(Step(len(steps) + 1, found, named_command(found)))
        elif line.strip() and not steps and not line.startswith("#"):
            intro.append(line.strip())
    if not steps:
        raise RunbookError(f"runbook {group}/{name} has no - [ ] steps")
    return Runbook(name=name, group=group, title=title, intro=" ".join(intro), steps=tuple(steps))


def markdown_text(text: str, tenant: str | None = None) -> Text:
    """Runbook markdown as report text: backticked parts become code spans, `{tenant}` is filled in."""
    if tenant:
        text = text.replace("{tenant}", tenant)
    parts = text.split(BACKTICK)
    if len(parts) % 2 == 0:  # an unclosed backtick is shown as it is
        parts = [*parts[:-2], BACKTICK.join(parts[-2:])]
    return join([spans(code(p)) if i % 2 else spans(p) for i, p in enumerate(parts) if p], "")


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
def runbooks() -> dict[str, Runbook]:
    """The release's runbooks (read once per process: the files are part of the release)."""
    return load_runbooks()


def key(book: Runbook) -> str:
    """The shortest name that finds ``book``: its name, or `group/name` when the name is not unique."""
    return book.name if runbooks().get(book.name) is book else f"{book.group}/{book.name}"


def names() -> list[str]:
    """Every runbook by its shortest name."""
    return sorted({key(b) for b in runbooks().values()})


def find_runbook(name: str) -> Runbook:
    """The runbook called `name` (`daily`, `emergency/emergency`, ...) or a UserError listing the names."""
    book = runbooks().get(name.lower())
    if book is None:
        known = join([spans(code(n)) for n in names()])
        raise UserError(spans("No runbook ", code(name[:60]), ". Runbooks: ", known, "."))
    return book


def run_key(book: Runbook, tenant: str | None) -> str:
    """What `runbook_runs.runbook` stores: the runbook's name, plus `@tenant` when it runs for one."""
    return f"{key(book)}{_TENANT_SEP}{tenant}" if tenant else key(book)


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
