"""Pure rules of the security capability: which names can be acted on, what a status change means, and which
users a security finding offers responses for."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from bot.clients.minio_models import ServiceAccountDetail, UserInfo
from handlers.security.facts import IdentityFacts, KeyFacts

MAX_NAME = 128
# MinIO's built-in policy that grants every admin action. Policy documents are not read (the bot's policy does
# not grant admin:GetPolicy), so a custom policy granting admin:* is not recognised by its name.
ADMIN_POLICIES = frozenset({"consoleAdmin"})


class StatusChangeRefused(Exception):
    """The change cannot be planned; ``reason`` is one plain sentence, ``instead`` a command that may help."""

    def __init__(self, reason: str, instead: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.instead = instead


def check_name(name: str, what: str = "user name") -> str:
    """A user name or access key as typed, if it can be one: any printable characters (unicode, ``/``, ``+``
    ... are fine: they travel URL-encoded), no control characters, at most 128 characters."""
    if not name or len(name) > MAX_NAME or any(unicodedata.category(c).startswith("C") for c in name):
        raise StatusChangeRefused(f"That is not a {what}: 1 to 128 printable characters.")
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


@dataclass(frozen=True)
class KeyChange:
    """Turning one service account (access key) off or on, and what the preview says about it."""

    account: ServiceAccountDetail
    enable: bool
    parent: UserInfo | None  # None: the parent is no IAM user (the root user, or an LDAP/OpenID identity)

    @property
    def fingerprint(self) -> str:
        """What must not change between the preview and the execution: the key's status and owner."""
        return f"{self.account.status}|{self.account.parent_user}"


def decide_key_status(facts: KeyFacts, tenant: str, enable: bool) -> KeyChange:
    """The change, or StatusChangeRefused: the bot's own key, the root user, a user's name, unknown keys, no-ops."""
    key = facts.key
    users = {u.access_key: u for u in facts.users}
    if key == facts.bot_user:
        who = "" if key in users or facts.account is not None else " (the root user)"
        raise StatusChangeRefused(f"That is the access key the bot signs with{who}: revoking it would lock the bot "
                                  "out, so it is refused here.")
    if facts.account is None:
        if key in users:
            raise StatusChangeRefused("That is an IAM user, not a service account: its access key is its name. "
                                      "Disable the user instead (needs approval):",
                                      instead=f"/minio security {tenant} disable-user {key}")
        raise StatusChangeRefused("MinIO has no service account with that access key. The root user and temporary "
                                  "(STS) keys are no service accounts and cannot be revoked from chat: rotate the "
                                  "root credentials instead.")
    if facts.account.enabled == enable:
        state = "on (in use)" if enable else "off (already revoked)"
        raise StatusChangeRefused(f"That access key is already {state}: nothing to do.")
    return KeyChange(account=facts.account, enable=enable, parent=users.get(facts.account.parent_user))


def admin_grade(user: UserInfo) -> bool:
    """Whether the user's policy grants every admin action (MinIO's built-in ``consoleAdmin``)."""
    return any(p.strip() in ADMIN_POLICIES for p in (user.policy_name or "").split(","))


def response_candidates(users: list[UserInfo], bot_user: str, limit: int) -> list[UserInfo]:
    """The users a security finding offers "Disable user" / "Revoke key" for: enabled, admin-grade, not the bot's
    own user (the root user is never listed as an IAM user), by name, at most ``limit``."""
    picked = [u for u in users if u.status == "enabled" and admin_grade(u) and u.access_key != bot_user]
    return sorted(picked, key=lambda u: u.access_key)[:limit]
