"""The `/minio security <tenant> users` report: users, their status and policies, their service accounts."""

from __future__ import annotations

from bot.clients.errors import ClientError
from bot.report import Report, Row, Section, Status, Text, code, join, spans
from handlers.security.facts import IdentityFacts


def users_report(tenant: str, facts: IdentityFacts) -> Report:
    """One row per user (status, policy, service accounts); disabled ones marked. No secret is ever shown."""
    rows: list[Row] = []
    for user in sorted(facts.users, key=lambda u: u.access_key):
        parts: list[Text] = [user.status or "status unknown", f"policy {user.policy_name or 'none'}"]
        if user.member_of:
            parts.append("groups " + ", ".join(user.member_of))
        accounts = facts.accounts.get(user.access_key)
        if isinstance(accounts, ClientError):
            parts.append(f"service accounts unreadable: {accounts.detail}")
        elif accounts:
            keys: list[Text] = [spans(code(a.access_key), "" if a.enabled else " (off)") for a in accounts]
            parts.append(spans(f"{len(accounts)} service account(s): ", join(keys)))
        if user.access_key == facts.bot_user:
            parts.append("the bot's own user")
        status = Status.INFO if user.status == "disabled" else Status.HEALTHY
        rows.append(Row(status=status, text=spans(code(user.access_key), ": ", join(parts, " · "))))
    disabled = sum(1 for u in facts.users if u.status == "disabled")
    return Report(
        title=f"Users: {tenant}",
        summary=f"{len(facts.users)} IAM user(s), {disabled} disabled. Secrets are never shown.",
        sections=[Section(title="IAM users", rows=rows)] if rows else [],
        footer=[spans("Disable one (needs approval): ", code(f"/minio security {tenant} disable-user <name>"))],
    )
