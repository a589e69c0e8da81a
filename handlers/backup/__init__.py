"""Backup verification: are the backups there, recent, and readable?

- ``backup <tenant> verify [--sample N]``: the newest objects under the tenant's backup location
  (``backup.bucket``/``prefix``, on the tenant or on ``backup.endpoint``) are read back in full; each
  must have the size its listing says and, for single-part uploads, the MD5 its ETag says. The newest
  one's age is held against ``backup.rpo_hours``.

Layout: ``facts`` (listing and read-back, one fan-out), ``evaluate`` (per-object and freshness
verdicts), ``present`` (the report).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.application import Capability
from bot.clients.errors import ClientError
from bot.commands import Arg
from bot.invocation import Invocation, UserError
from bot.report import Report, code, spans
from handlers.backup.facts import verify_facts
from handlers.backup.present import unreachable_report, verify_report

__all__ = ["BackupArgs", "backup_command", "capability"]

capability = Capability("backup", __doc__)
DEFAULT_SAMPLE = 5
MAX_SAMPLE = 50


class BackupArgs(BaseModel):
    """Arguments of `/minio backup`."""

    model_config = ConfigDict(extra="forbid")
    tenant: str = Field(max_length=63)
    action: Literal["verify"]
    sample: int = Field(DEFAULT_SAMPLE, ge=1, le=MAX_SAMPLE)


@capability.verb(
    "backup",
    summary="Verify backups: read back the newest ones, check sizes and checksums, freshness against the RPO.",
    model=BackupArgs,
    args=(
        Arg("tenant", "the tenant", required=True),
        Arg("action", "what to do", required=True, choices=("verify",)),
        Arg("sample", f"how many of the newest backup objects to read back (default {DEFAULT_SAMPLE}, at most "
            f"{MAX_SAMPLE})", kind="option", metavar="N"),
    ),
    examples=("/minio backup demo verify", "/minio backup demo verify --sample 20"),
    slow=True,
)
def backup_command(inv: Invocation, args: BackupArgs) -> Report:
    """Read back the newest backups of a tenant and report."""
    tenant = inv.tenant(args.tenant)
    if tenant.backup is None:
        raise UserError(spans("No backup location is configured for ", code(tenant.name), ": set ", code("backup"),
                              " (bucket, prefix, rpo_hours) for it."))
    try:
        facts = verify_facts(inv.runtime, tenant, tenant.backup, args.sample)
    except ClientError as exc:
        return unreachable_report(tenant.name, tenant.backup, exc)
    return verify_report(tenant.name, facts, inv.runtime.clock())
