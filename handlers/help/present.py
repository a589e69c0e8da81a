"""Help as a report: the verbs a caller may run here, or one verb in detail, from the verbs' own declarations."""

from __future__ import annotations

from typing import Any

from bot.commands import Verb
from bot.config import TenantConfig
from bot.report import Report, Section, Text, code, join, spans


def verb_help(verb: Verb[Any]) -> Report:
    """One verb: usage, summary, details, each argument and the examples."""
    lines: list[Text] = [spans(code(verb.usage())), spans(verb.summary)]
    if verb.details:
        lines.append(spans(verb.details))
    for arg in verb.args:
        if arg.help:
            lines.append(spans("• ", code(arg.usage().strip("[]")), f": {arg.help}"))
    if verb.examples:
        lines.append(spans("Examples: ", join([spans(code(e)) for e in verb.examples], "  ")))
    return Report(title=f"/minio {verb.name}", sections=[Section(title="Usage", lines=lines)], ephemeral=True)


def verbs_help(allowed: list[Verb[Any]], tenants: list[TenantConfig]) -> Report:
    """Every verb the caller may run here, with the tenants this channel sees."""
    names = join([spans(code(t.name)) for t in tenants]) or ("none",)
    return Report(
        title="minio-chatops commands",
        summary=spans("Tenants visible in this channel: ", names, "."),
        sections=[
            Section(title="What you can run here", lines=[spans(code(v.usage()), f": {v.summary}") for v in allowed])
        ],
        footer=[spans(code("/minio help <command>"), " explains one command.")],
        ephemeral=True,
    )


def no_such_verb(asked: str, allowed: list[Verb[Any]]) -> Text:
    """Why ``asked`` cannot be explained here, and what can."""
    names = join([spans(code(v.name)) for v in allowed])
    return spans("No command ", code(asked[:40]), " for you here. You can run: ", names, ".")
