"""The `/minio security <tenant> users` report: users, their status and policies, their service accounts (each
key's status and expiry). MinIO reports no time of last use for users or keys: the report says so once rather
than inventing one."""

from __future__ import annotations

from datetime import datetime

from bot.clients.errors import ClientError
from bot.clients.minio_models import ServiceAccountInfo
from bot.report import Report, Row, Section, Status, Text, code, join, spans, when
from handlers.security.facts import IdentityFacts

LAST_USE = "Last use: not reported by MinIO (its admin API has no last-use time for users or access keys)."


def _key(account: ServiceAccountInfo, now: datetime) -> Text:
    parts: list[Text] = [spans(code(account.access_key), " ", "on" if account.enabled else "off")]
    if account.expiration is None:
        parts.append("no expiry")
    elif account.expiration <= now:
        parts.append(spans("expired ", when(account.expiration, "date")))
    else:
        parts.append(spans("expires ", when(account.expiration, "date")))
    if not account.implied_policy:
        parts.append("own policy")
    return join(parts, ", ")


def users_report(tenant: str, facts: IdentityFacts, now: datetime) -> Report:
    """One row per user (status, policy, service accounts with status and expiry); disabled ones marked. No secret
    is ever shown."""
    rows: list[Row] = []
    for user in sorted(facts.users, key=lambda u: u.access_key):
        parts: list[Text] = [user.status or "status unknown", f"policy {user.policy_name or 'none'}"]
        if user.member_of:
            parts.append("groups " + ", ".join(user.member_of))
        accounts = facts.accounts.get(user.access_key)
        if isinstance(accounts, ClientError):
            parts.append(f"service accounts unreadable: {accounts.detail}")
        elif accounts:
            keys: list[Text] = [_key(a, now) for a in accounts]
            parts.append(spans(f"{len(accounts)} service account(s): ", join(keys, "; ")))
        if user.access_key == facts.bot_user:
            parts.append("the bot's own user")
        status = Status.INFO if user.status == "disabled" else Status.HEALTHY
        rows.append(Row(status=status, text=spans(code(user.access_key), ": ", join(parts, " · "))))
    disabled = sum(1 for u in facts.users if u.status == "disabled")
    return Report(
        title=f"Users: {tenant}",
        summary=f"{len(facts.users)} IAM user(s), {disabled} disabled. Secrets are never shown.",
        sections=[Section(title="IAM users", rows=rows, lines=[LAST_USE])] if rows else [],
        footer=[spans("Disable a user or revoke one access key (needs approval): ",
                      code(f"/minio security {tenant} disable-user <name>"), ", ",
                      code(f"/minio security {tenant} revoke-key <access key>"))],
    )
