"""The parsed `/minio incident` command: a diagnostic, `declare`, `invite` or `resolve`, and the words after it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from bot.commands import member_id
from handlers.incidents.model import INCIDENT_TYPES, IncidentType

SEVERITIES = ("P1", "P2", "P3")
ACTIONS = (*INCIDENT_TYPES, "declare", "invite", "resolve")
MAX_INVITES = 20


class IncidentArgs(BaseModel):
    """The shapes of `incident`: `<type> [tenant]`, `declare <tenant> <P1|P2|P3> <title>`,
    `invite <member id>...`, `resolve [summary]`."""

    model_config = ConfigDict(extra="forbid")
    action: str
    tenant: str | None = None
    severity: str | None = None
    title: str | None = None
    summary: str | None = None
    type: IncidentType | None = None
    people: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _split_words(cls, data: Any) -> Any:
        """Give the free words after the action their meaning, which depends on the action."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        words = str(data.pop("words", "") or "").split()
        action = data.get("action")
        _check_type(data, action)
        if action == "declare":
            if len(words) < 3:
                raise ValueError("declare needs a tenant, a severity (P1, P2 or P3) and a title")
            severity = words[1].upper()
            if severity not in SEVERITIES:
                raise ValueError(f"severity is P1, P2 or P3, not {words[1][:10]}")
            data.update(tenant=words[0], severity=severity, title=" ".join(words[2:]))
        elif action == "invite":
            data["people"] = people(words)
        elif action == "resolve":
            if words:
                data["summary"] = " ".join(words)
        elif words:
            if len(words) > 1:
                raise ValueError(f"incident {action} takes one tenant, not {' '.join(words)[:60]}")
            data["tenant"] = words[0]
        return data


def people(words: list[str]) -> list[str]:
    """Member ids, typed or as mentions (``bot.commands.member_id`` reads both); names are refused (they are
    not unique, and whoever is named here will see the tenant)."""
    if not words:
        raise ValueError("invite needs the member id of each person (their profile, ⋯, Copy member ID)")
    if len(words) > MAX_INVITES:
        raise ValueError(f"invite at most {MAX_INVITES} people at once")
    found = []
    for word in words:
        member = member_id(word)
        if member is None:
            raise ValueError(f"{word[:40]} is not a member id like U0123ABCD (names are ambiguous; in Slack: their "
                             "profile, ⋯, Copy member ID)")
        found.append(member)
    return list(dict.fromkeys(found))


def _check_type(data: dict[str, Any], action: object) -> None:
    """`--type` belongs to `declare` and names an incident type (normalised to lower case in ``data``)."""
    kind = data.get("type")
    if kind is not None and action != "declare":
        raise ValueError("--type belongs to declare")
    if isinstance(kind, str):
        if kind.lower() not in INCIDENT_TYPES:
            raise ValueError(f"--type is one of {', '.join(INCIDENT_TYPES)}")
        data["type"] = kind.lower()
