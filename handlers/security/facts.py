"""What `/minio security` asks MinIO: the IAM users, each user's service accounts, and who the bot signs as.

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
from bot.clients.minio_models import ServiceAccountInfo, UserInfo
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
