"""What `/minio security` asks MinIO: the IAM users, each user's service accounts, one access key, and who the bot
signs as.

One fan-out: the user list first (it names the users), then every user's service accounts in parallel,
at most ``MAX_IN_FLIGHT_PER_ENDPOINT`` at once, under the report deadline. Secrets are never asked for:
the admin API's answers carry none, and none would be shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.clients.minio_models import ServiceAccountDetail, ServiceAccountInfo, UserInfo
from bot.clients.timeouts import MAX_IN_FLIGHT_PER_ENDPOINT
from bot.config import TenantConfig
from bot.runtime import Runtime


@dataclass(frozen=True)
class IdentityFacts:
    """IAM users, their service accounts (or why they could not be read), and the bot's own access key."""

    users: list[UserInfo]
    accounts: dict[str, list[ServiceAccountInfo] | ClientError]
    bot_user: str


def identity_facts(runtime: Runtime, tenant: TenantConfig, only: str | None = None) -> IdentityFacts:
    """Every user (or just ``only``) with its service accounts."""
    client = runtime.minio(tenant)
    users = client.list_users()
    names = [u.access_key for u in users if only is None or u.access_key == only]
    calls: dict[str, Callable[[], Any]] = {name: partial(client.list_service_accounts, name) for name in names}
    accounts = fan_out(calls, deadline_s=runtime.config.timeouts.report_deadline,
                       max_workers=MAX_IN_FLIGHT_PER_ENDPOINT)
    return IdentityFacts(users=users, accounts=accounts, bot_user=client.signing_user())


@dataclass(frozen=True)
class KeyFacts:
    """One access key: its service account (None: MinIO has none by that name), the IAM users (to tell a user's
    name from an unknown key) and the bot's own access key."""

    key: str
    account: ServiceAccountDetail | None
    users: list[UserInfo]
    bot_user: str


def key_facts(runtime: Runtime, tenant: TenantConfig, key: str) -> KeyFacts:
    """The service account ``key`` and the user list, in parallel under the report deadline (a failure raises)."""
    client = runtime.minio(tenant)
    calls: dict[str, Callable[[], Any]] = {"account": partial(client.service_account_info, key),
                                           "users": client.list_users}
    got = fan_out(calls, deadline_s=runtime.config.timeouts.report_deadline, max_workers=2)
    account, users = got["account"], got["users"]
    if isinstance(account, ClientError):
        raise account
    if isinstance(users, ClientError):
        raise users
    return KeyFacts(key=key, account=account, users=users, bot_user=client.signing_user())
