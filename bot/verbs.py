"""The `/minio` verbs, in the order `help` lists them. Each is declared in its handler module."""

from __future__ import annotations

from bot.commands import Registry
from bot.interactions import Buttons
from handlers import help as help_verb
from handlers import tenants


def build_registry() -> Registry:
    """A registry holding every verb the bot serves."""
    registry = Registry()
    for verb in (help_verb.VERB, tenants.VERB):
        registry.add(verb)
    return registry


def build_buttons() -> Buttons:
    """Every button the bot answers (besides `run`, which runs the command in its value)."""
    buttons = Buttons()
    return buttons
