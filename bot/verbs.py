"""The `/minio` verbs, in the order `help` lists them. Each is declared in its handler module."""

from __future__ import annotations

from bot import approvals as approval_engine
from bot.commands import Registry
from bot.interactions import Buttons
from handlers import approvals, incidents, maintenance, remediation, reports, runbooks, tenants
from handlers import capacity as capacity_verb
from handlers import health as health_verb
from handlers import help as help_verb
from handlers import scaling as scaling_verb
from handlers import updates as updates_verb


def build_registry() -> Registry:
    """A registry holding every verb the bot serves."""
    registry = Registry()
    for verb in (
        help_verb.VERB, tenants.VERB, health_verb.VERB, capacity_verb.VERB, incidents.VERB, runbooks.VERB,
        reports.VERB, scaling_verb.VERB, maintenance.VERB, updates_verb.VERB, *approvals.VERBS,
    ):
        registry.add(verb)
    return registry


def build_buttons() -> Buttons:
    """Every button the bot answers (besides `run`, which runs the command in its value)."""
    buttons = Buttons()
    buttons.add(runbooks.CHECK_BUTTON)
    for button in (*approval_engine.BUTTONS, *remediation.BUTTONS):
        buttons.add(button)
    return buttons
