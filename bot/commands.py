"""The `/minio` command registry: each verb is declared once, and everything
(parsing, validation, help, permission, routing) is derived from that
declaration.

Parsing is pure and total: `Registry.parse` returns a `Command` or a
`UsageError` for any input, and never raises.
"""

from __future__ import annotations

import difflib
import html
import re
import shlex
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from bot.render.inline import to_plain
from bot.report import Code, Inline, Text, code, join, spans

if TYPE_CHECKING:
    from bot.invocation import Invocation
    from bot.report import Report

MAX_COMMAND_CHARS = 2000
UNREADABLE = spans("That command could not be read. Try ", Code(text="/minio help"), ".")
COMMAND = "/minio"


class Permission(IntEnum):
    """What a caller needs to run a verb. Higher includes lower."""

    VIEW = 0  # anyone in a channel that may see the tenant
    RESPOND = 1  # responders, operators and approvers: may declare incidents and bring people in
    REQUEST = 2  # operators: may request changes (which still need approval)
    ADMIN = 3


class NoArgs(BaseModel):
    """Argument model for verbs without arguments."""

    model_config = ConfigDict(extra="forbid")


A = TypeVar("A", bound=BaseModel)


@dataclass(frozen=True)
class Arg:
    """One argument in a verb's usage.

    kind: "positional" (in order), "option" (`--name value`), "flag" (`--name`).
    rest: a positional that takes every remaining word (titles, summaries).
    """

    name: str
    help: str = ""
    kind: str = "positional"
    required: bool = False
    choices: tuple[str, ...] | None = None
    rest: bool = False
    metavar: str | None = None

    @property
    def field(self) -> str:
        return self.name.replace("-", "_")

    def usage(self) -> str:
        if self.kind == "positional":
            label = "|".join(self.choices) if self.choices else (self.metavar or self.name)
            label = f"<{label}>" if not self.choices else label
            if self.rest:
                label += "..."
            return label if self.required else f"[{label}]"
        if self.kind == "flag":
            return f"[--{self.name}]"
        text = f"--{self.name} {self.metavar or self.name.upper().replace('-', '_')}"
        return text if self.required else f"[{text}]"


@dataclass(frozen=True)
class Verb(Generic[A]):
    """A declared `/minio` verb."""

    name: str
    summary: str
    model: type[A]
    handler: Callable[[Invocation, A], Report]
    args: tuple[Arg, ...] = ()
    permission: Permission = Permission.VIEW
    # Some verbs need more for some sub-actions (e.g. `maintenance x enable`).
    permission_for: Callable[[A], Permission] | None = None
    details: str = ""
    examples: tuple[str, ...] = ()
    slow: bool = False  # ack with a "working on it" note
    usage_override: str | None = None

    def usage(self) -> str:
        if self.usage_override:
            return f"{COMMAND} {self.name} {self.usage_override}".rstrip()
        parts = [arg.usage() for arg in self.args]
        return " ".join([COMMAND, self.name, *parts])

    def required_permission(self, args: A) -> Permission:
        return self.permission_for(args) if self.permission_for else self.permission


@dataclass(frozen=True)
class Command:
    """A parsed, validated command ready to run."""

    verb: Verb[Any]
    args: BaseModel
    text: str

    @property
    def tenant(self) -> str | None:
        value = getattr(self.args, "tenant", None)
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class UsageError:
    """Input the registry refused: ``text`` says why (spans; the renderer escapes it)."""

    text: Text
    verb: str | None = None

    @property
    def message(self) -> str:
        """The refusal as plain text (names keep their backticks)."""
        return to_plain(self.text)


_FORBIDDEN_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'"})


# A member id, bare (`U0123ABCD`, as people copy it from a profile) or as Slack sends a mention when a command
# escapes them (`<@U0123ABCD>`, `<@U0123ABCD|name>`). Our command does not, so `@name` arrives as a plain name.
_MEMBER = re.compile(r"^(?:<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>|([UW][A-Z0-9]{2,}))$")


def member_id(word: str) -> str | None:
    """The Slack member id a command word names, or None (a name: names are not unique)."""
    match = _MEMBER.match(word.strip())
    return (match.group(1) or match.group(2)) if match else None


def _tokenize(text: str) -> list[str] | UsageError:
    # Shell-like words; when single quotes do not pair up they are apostrophes
    # ("Can't write to bucket"), so only double quotes group words then.
    for quotes in ("'\"", '"'):
        try:
            lexer = shlex.shlex(text, posix=True, punctuation_chars=False)
            lexer.whitespace_split = True
            lexer.commenters = ""
            lexer.quotes = quotes
            return list(lexer)
        except ValueError:
            continue
    return UsageError(spans("Unbalanced quotes. Close every ", code('"'), " you open, or drop them."))


@dataclass
class Registry:
    """All verbs, by name, in declaration order."""

    verbs: dict[str, Verb[Any]] = field(default_factory=dict)

    def add(self, verb: Verb[Any]) -> Verb[Any]:
        if verb.name in self.verbs:
            raise ValueError(f"verb {verb.name} declared twice")
        self.verbs[verb.name] = verb
        return verb

    def get(self, name: str) -> Verb[Any] | None:
        return self.verbs.get(name)

    def __iter__(self) -> Iterator[Verb[Any]]:
        return iter(self.verbs.values())

    def parse(self, raw: str) -> Command | UsageError:
        """Turn the text after `/minio` into a Command, or explain why not. Never raises."""
        try:
            return self.parse_strict(raw)
        except Exception:  # noqa: BLE001 - a bug in the parser must not crash the ack; tests call parse_strict
            return UsageError(UNREADABLE)

    def parse_strict(self, raw: str) -> Command | UsageError:
        """As :meth:`parse`, but a bug raises instead of becoming a polite refusal (for tests)."""
        if len(raw) > MAX_COMMAND_CHARS:
            return UsageError(f"That command is too long ({len(raw)} characters; the limit is {MAX_COMMAND_CHARS}).")
        # Slack sends &, < and > entity-encoded.
        text = html.unescape(raw).translate(_SMART_QUOTES)
        text = unicodedata.normalize("NFC", text)
        if _FORBIDDEN_CHARS.search(text):
            return UsageError("That command contains control characters; type it again as plain text.")
        text = text.strip()
        if text.startswith(COMMAND + " ") or text == COMMAND:
            text = text[len(COMMAND) :].strip()
        tokens = _tokenize(text)
        if isinstance(tokens, UsageError):
            return tokens
        if not tokens:
            tokens = ["help"]
        name, rest = tokens[0].lower(), tokens[1:]
        verb = self.verbs.get(name)
        if verb is None:
            close = difflib.get_close_matches(name, list(self.verbs), n=1, cutoff=0.5)
            hint = spans(" Did you mean ", code(close[0]), "?") if close else ()
            return UsageError(spans("Unknown command ", code(name[:40]), ".", hint, " Try ", code("/minio help"), "."))
        values = _bind(verb, rest)
        if isinstance(values, UsageError):
            return values
        try:
            args = verb.model.model_validate(values)
        except ValidationError as exc:
            return UsageError(_validation_message(verb, exc), verb.name)
        return Command(verb=verb, args=args, text=text)


def _bind_options(verb: Verb[Any], tokens: list[str], values: dict[str, Any]) -> list[str] | UsageError:
    """Fill ``values`` from ``--name value`` / ``--name=value`` / ``--flag``; return the other words."""
    by_option = {a.name: a for a in verb.args if a.kind in ("option", "flag")}
    words: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--") and len(token) > 2:
            name, eq, inline = token[2:].partition("=")
            arg = by_option.get(name.lower())
            if arg is None:
                known = join([spans(code(f"--{n}")) for n in by_option]) or ("none",)
                return UsageError(
                    spans(code(verb.name), " has no option ", code(f"--{name[:40]}"), " (options: ", known, "). ",
                          _usage(verb)),
                    verb.name,
                )
            if arg.kind == "flag":
                values[arg.field] = True
            elif eq:
                values[arg.field] = inline
            elif i + 1 < len(tokens):
                i += 1
                values[arg.field] = tokens[i]
            else:
                return UsageError(spans(code(f"--{arg.name}"), " needs a value. ", _usage(verb)), verb.name)
        else:
            words.append(token)
        i += 1
    return words


def _bind(verb: Verb[Any], tokens: list[str]) -> dict[str, Any] | UsageError:
    """Match words to the verb's declared arguments."""
    values: dict[str, Any] = {}
    words = _bind_options(verb, tokens, values)
    if isinstance(words, UsageError):
        return words
    positionals = [a for a in verb.args if a.kind == "positional"]
    for index, arg in enumerate(positionals):
        if not words:
            break
        if arg.rest:
            values[arg.field] = " ".join(words)
            words = []
            break
        word = words.pop(0)
        if arg.choices and word.lower() not in arg.choices:
            # An optional positional that does not match its choices may belong to the next one.
            if not arg.required and index + 1 < len(positionals):
                words.insert(0, word)
                continue
            return UsageError(
                spans(code(word[:40]), f" is not one of {', '.join(arg.choices)}. ", _usage(verb)), verb.name
            )
        values[arg.field] = word.lower() if arg.choices else word
    if words:
        return UsageError(spans("Unexpected ", code(" ".join(words)[:60]), ". ", _usage(verb)), verb.name)
    missing = [a for a in verb.args if a.required and a.field not in values]
    if missing:
        names = join([spans(code(a.name)) for a in missing])
        return UsageError(spans("Missing ", names, ". ", _usage(verb)), verb.name)
    return values


def _usage(verb: Verb[Any]) -> tuple[Inline, ...]:
    return spans("Usage: ", code(verb.usage()))


def _validation_message(verb: Verb[Any], exc: ValidationError) -> Text:
    problems: list[Text] = []
    for item in exc.errors()[:3]:
        loc = ".".join(str(p) for p in item["loc"]) or "arguments"
        msg = item["msg"].removeprefix("Value error, ")
        problems.append(spans(code(loc.replace("_", "-")[:40]), ": ", msg[:200]))
    return spans(join(problems, "; "), ". ", _usage(verb))
