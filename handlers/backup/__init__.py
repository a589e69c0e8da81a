"""Backup verification and restore from backup: are the backups there, recent, readable, true to their
source, and can they be brought back?

**Layout of the backup location.** The backup of ``<bucket>/<key>`` on the tenant is the object
``backup.prefix + "<bucket>/<key>"`` in ``backup.bucket`` (on the tenant, or on ``backup.endpoint``):
the layout a mirror of the whole tenant into the backup location produces (``mc mirror <tenant>
<backup>/<bucket>/<prefix>``, or one replication target per bucket under the prefix). Verification
reads it that way to find each backup's source; a restore reads it that way to find a key's backup.

- ``backup <tenant> verify [--sample N]``: the newest objects under the backup location are read back
  in full; each must have the size its listing says and, for single-part uploads, the MD5 its ETag says.
  Each is then compared with its source on the tenant where that still exists: size, and checksum (the
  ETags when both are single-part, else the source is read back and the MD5s compared; the report says
  which). A source that is gone is said (not a failure); a source written after its backup is said,
  and held against the RPO. The newest backup's age is held against ``backup.rpo_hours``.
- Scheduled: every ``backup.verify_every_hours`` (default 24) the leader verifies each tenant with a
  backup location; a failed verification (UNHEALTHY, or stale against the RPO) is posted once to the
  tenant's alert channels, and a recovery when it passes again (alert key ``backup:<tenant>``).
- ``backup <tenant> restore <bucket>/<key> [--prefix] [--into <tenant>]`` (approval, rule ``restore``):
  copies backup objects back onto their keys, on the same tenant or another configured one (same
  endpoint: server-side copy; another: streamed through the bot). See ``handlers.backup.restore``.

Layout: ``layout`` (the backup key convention), ``facts`` (listing and read-back, one fan-out),
``evaluate`` (per-object, source and freshness verdicts), ``present`` (the report), ``schedule`` (the
job and its alerts), ``restore`` (the plan and its change kind).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.application import Capability, Job
from bot.approval_engine import request_change
from bot.clients.errors import ClientError
from bot.commands import Arg, Permission
from bot.invocation import Invocation, UserError
from bot.report import Report, code, spans
from handlers.backup.facts import verify_facts
from handlers.backup.present import unreachable_report, verify_report
from handlers.backup.restore import BackupRestore, BackupRestoreRefused, plan_backup_restore
from handlers.backup.schedule import verify_backups

__all__ = ["BackupArgs", "backup_command", "capability", "verify_backups"]

capability = Capability("backup", __doc__)
capability.change_kind(BackupRestore())
capability.job(Job.BACKUP_VERIFY)(verify_backups)
DEFAULT_SAMPLE = 5
MAX_SAMPLE = 50


class BackupArgs(BaseModel):
    """Arguments of `/minio backup`."""

    model_config = ConfigDict(extra="forbid")
    tenant: str = Field(max_length=63)
    action: Literal["verify", "restore"]
    target: str | None = Field(None, max_length=1100)  # restore: <bucket>/<key-or-prefix>
    sample: int | None = Field(None, ge=1, le=MAX_SAMPLE)
    prefix: bool = False
    into: str | None = Field(None, max_length=63)

    @model_validator(mode="after")
    def _complete(self) -> BackupArgs:
        if self.action == "restore" and self.target is None:
            raise ValueError("restore needs <bucket>/<key-or-prefix>")
        if self.action == "verify" and (self.target is not None or self.prefix or self.into is not None):
            raise ValueError("verify takes only --sample; <bucket>/<key>, --prefix and --into go with restore")
        if self.action == "restore" and self.sample is not None:
            raise ValueError("--sample goes with verify")
        return self


def _permission(args: BackupArgs) -> Permission:
    return Permission.REQUEST if args.action == "restore" else Permission.VIEW


@capability.verb(
    "backup",
    summary="Verify backups (read back, compare with the source, freshness against the RPO); restore from them "
    "(needs approval).",
    model=BackupArgs,
    args=(
        Arg("tenant", "the tenant", required=True),
        Arg("action", "what to do", required=True, choices=("verify", "restore")),
        Arg("target", "restore: <bucket>/<key>, or <bucket>/<prefix> with --prefix", metavar="bucket/key"),
        Arg("sample", f"verify: how many of the newest backup objects to read back (default {DEFAULT_SAMPLE}, at "
            f"most {MAX_SAMPLE})", kind="option", metavar="N"),
        Arg("prefix", "restore: every backup object under <bucket>/<prefix>", kind="flag"),
        Arg("into", "restore: onto this other configured tenant (same bucket and key)", kind="option",
            metavar="TENANT"),
    ),
    permission=Permission.VIEW,
    permission_for=_permission,
    details="The backup of <bucket>/<key> is read at backup.bucket / backup.prefix + <bucket>/<key> (the layout a "
    "mirror of the tenant produces). restore copies it back (server-side on the same endpoint, streamed through "
    "the bot otherwise); an existing key becomes a new version, and is never overwritten in a bucket without "
    "versioning.",
    examples=("/minio backup demo verify", "/minio backup demo verify --sample 20",
              "/minio backup demo restore documents/reports/2026-q3.pdf",
              "/minio backup demo restore documents/reports/ --prefix --into staging"),
    slow=True,
)
def backup_command(inv: Invocation, args: BackupArgs) -> Report:
    """Read back the newest backups of a tenant and report, or request a restore from them."""
    tenant = inv.tenant(args.tenant)
    if tenant.backup is None:
        raise UserError(spans("No backup location is configured for ", code(tenant.name), ": set ", code("backup"),
                              " (bucket, prefix, rpo_hours) for it."))
    if args.action == "restore":
        return _restore(inv, args)
    try:
        facts = verify_facts(inv.runtime, tenant, tenant.backup, args.sample or DEFAULT_SAMPLE)
    except ClientError as exc:
        return unreachable_report(tenant.name, tenant.backup, exc)
    return verify_report(tenant.name, facts, inv.runtime.clock())


def _restore(inv: Invocation, args: BackupArgs) -> Report:
    source = inv.tenant(args.tenant)
    assert source.backup is not None
    destination = inv.tenant(args.into) if args.into else source
    if not inv.runtime.access.can_request(inv.user, destination):
        raise UserError(spans("You may not request changes on ", code(destination.name), "."))
    bucket, _, key = (args.target or "").lstrip("/").partition("/")
    if not bucket or (not key and not args.prefix):
        raise UserError(spans("Name a bucket and a key: ", code("<bucket>/<key>"), ", or ", code("<bucket>/<prefix>"),
                              " with ", code("--prefix"), "."))
    try:
        plan = plan_backup_restore(inv.runtime, source, source.backup, destination, bucket, key, args.prefix,
                                   inv.user)
    except BackupRestoreRefused as refused:
        hint = f" {refused.hint}" if refused.hint else ""
        raise UserError(f"Nothing to restore: {refused.reason}{hint}") from None
    return request_change(inv, plan)
