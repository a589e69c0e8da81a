"""Pure rules of the security capability: which user names can be acted on, and what a status change means."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from bot.clients.minio_models import UserInfo
from handlers.security.facts import IdentityFacts

MAX_NAME = 128


class StatusChangeRefused(Exception):
    """The change cannot be planned; ``reason`` is one plain sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_name(name: str) -> str:
    """A user name as typed, if it can be one: any printable characters (unicode, ``/``, ``+`` ... are fine:
    they travel URL-encoded), no control characters, at most 128 characters."""
    if not name or len(name) > MAX_NAME or any(unicodedata.category(c).startswith("C") for c in name):
        raise StatusChangeRefused("That is not a user name: 1 to 128 printable characters.")
    return name


@dataclass(frozen=True)
class StatusChange:
    """What enabling or disabling one user does."""

    user: UserInfo
    enable: bool
    service_accounts: int  # how many access keys of the user stop (or start) working with it


def decide_status_change(facts: IdentityFacts, name: str, enable: bool) -> StatusChange:
    """The change, or StatusChangeRefused: the bot's own user, the root user, unknown users, no-ops."""
    if name == facts.bot_user:
        raise StatusChangeRefused("That is the bot's own MinIO user: disabling it would lock the bot out, so it "
                                  "is refused here. Do it with mc if you must.")
    user = next((u for u in facts.users if u.access_key == name), None)
    if user is None:
        raise StatusChangeRefused("There is no IAM user by that name. The root user is not an IAM user and cannot "
                                  "be disabled from chat (rotate its credentials instead).")
    wanted = "enabled" if enable else "disabled"
    if user.status == wanted:
        raise StatusChangeRefused(f"That user is already {wanted}: nothing to do.")
    accounts = facts.accounts.get(name)
    count = len(accounts) if isinstance(accounts, list) else 0
    return StatusChange(user=user, enable=enable, service_accounts=count)
