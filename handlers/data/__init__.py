"""Data protection and recovery: how well each bucket is protected, find lost objects, restore them.

- ``data <tenant> [bucket]``: per bucket (the largest from the scanner's usage, a count of the rest)
  versioning, object lock and its default retention, replication targets with their backlog, failures,
  online state and link latency, lifecycle rules (how many are on, the next expiry) and quota; buckets
  that hold data without versioning are flagged (a delete there cannot be undone from MinIO), and so is
  replication that fails or falls behind (never on an empty bucket). A part that could not be read is
  said in its bucket's row; the rest of the report still arrives.
- ``data <tenant> versions <bucket>/<key-or-prefix> [--page TOKEN]``: versions and delete markers under
  one prefix, newest first per key, one page at a time (never a whole-bucket listing).
- ``data <tenant> restore <bucket>/<key> [--version ID]`` (approval, rule ``restore``): previews what
  becomes the current version, then removes the delete marker(s) above it or copies the chosen version
  server-side onto the key. History is kept; a bucket without versioning is refused (only backups help).
  With ``--to <key>`` the chosen version (default: the newest data version, under any delete marker) is
  copied onto that other key of the same bucket and the original key is left untouched; the preview says
  whether the destination exists now, and the approval re-checks that it did not change.
  With ``--prefix [--before TIME]`` every key under the prefix is undeleted (or brought back to its
  version at TIME); the preview counts keys and bytes and refuses beyond ``restore_prefix_limit``.
- ``data <tenant> enable-versioning <bucket>`` and ``data <tenant> quota <bucket> <size|none>``
  (approval, rule ``protection``). Versioning is never suspended and object lock never touched from chat.

Layout: ``facts`` (client calls), ``evaluate`` (bucket verdicts, the restore decision, page tokens),
``present`` (status and versions reports), ``restore`` (the plan and its change kind), ``protection``
(versioning and quota plans and kinds).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from kubernetes.utils import parse_quantity
from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.application import Capability
from bot.approval_engine import request_change
from bot.clients.errors import ClientError
from bot.commands import Arg, Permission
from bot.config import TenantConfig
from bot.invocation import Invocation, UserError
from bot.report import Report, code, spans
from handlers.data.evaluate import read_page_token, split_target
from handlers.data.facts import status_facts, version_facts
from handlers.data.prefix_restore import PrefixRestore, plan_prefix_restore
from handlers.data.present import status_report, versions_report
from handlers.data.protection import CHANGE_KINDS as PROTECTION_KINDS
from handlers.data.protection import plan_enable_versioning, plan_quota
from handlers.data.restore import DataRestore, RestoreRefused, plan_restore

__all__ = ["DataArgs", "capability", "data_command"]

capability = Capability("data", __doc__)
capability.change_kind(DataRestore())
capability.change_kind(PrefixRestore())
for _kind in PROTECTION_KINDS:
    capability.change_kind(_kind)

PAGE_SIZE = 25
SUBCOMMANDS = ("versions", "restore", "enable-versioning", "quota")
Action = Literal["status", "versions", "restore", "enable-versioning", "quota"]


class DataArgs(BaseModel):
    """Arguments of `/minio data`."""

    model_config = ConfigDict(extra="forbid")
    tenant: str = Field(max_length=63)
    what: str | None = Field(None, max_length=1100)  # a bucket, or versions / restore
    target: str | None = Field(None, max_length=1100)  # <bucket>/<key-or-prefix>, or a bucket
    value: str | None = Field(None, max_length=40)  # quota: a size (60Ti, 500Gi) or none
    version: str | None = Field(None, max_length=100)
    to: str | None = Field(None, max_length=1024)  # S3 keys are at most 1,024 bytes
    page: str | None = Field(None, max_length=3000)
    prefix: bool = False
    before: str | None = Field(None, max_length=40)

    @property
    def action(self) -> Action:
        if self.what in SUBCOMMANDS and self.target is not None:
            return self.what  # type: ignore[return-value]
        return "status"

    @model_validator(mode="after")
    def _complete(self) -> DataArgs:
        if self.what in SUBCOMMANDS and self.target is None:
            raise ValueError(f"{self.what} needs " + ("a bucket" if self.what in ("enable-versioning", "quota")
                                                      else "<bucket>/<key-or-prefix>"))
        if self.target is not None and self.what not in SUBCOMMANDS:
            raise ValueError("say what: data <tenant> [bucket] | versions <bucket>/<prefix> | restore <bucket>/<key>"
                             " | enable-versioning <bucket> | quota <bucket> <size|none>")
        if (self.value is None) == (self.action == "quota"):
            raise ValueError("quota takes a size (e.g. 60Ti) or none" if self.value is None
                             else "only quota takes a size")
        if self.version is not None and self.action != "restore":
            raise ValueError("--version goes with restore")
        if self.page is not None and self.action != "versions":
            raise ValueError("--page goes with versions")
        if self.prefix and (self.action != "restore" or self.version is not None):
            raise ValueError("--prefix goes with restore, without --version")
        if self.before is not None and not self.prefix:
            raise ValueError("--before goes with restore --prefix")
        if self.to is not None and (self.action != "restore" or self.prefix):
            raise ValueError("--to goes with restore of one key (not --prefix)")
        return self


def _permission(args: DataArgs) -> Permission:
    return Permission.VIEW if args.action in ("status", "versions") else Permission.REQUEST


@capability.verb(
    "data",
    summary="Data protection per bucket; find object versions and restore them (restore needs approval).",
    model=DataArgs,
    args=(
        Arg("tenant", "the tenant", required=True),
        Arg("what", "a bucket, or versions / restore / enable-versioning / quota",
            metavar="bucket|versions|restore|enable-versioning|quota"),
        Arg("target", "<bucket>/<key-or-prefix> for versions and restore; a bucket otherwise", metavar="bucket/key"),
        Arg("value", "quota: the size (60Ti, 500Gi) or none", metavar="size"),
        Arg("version", "restore: the version to make current (default: undelete)", kind="option", metavar="ID"),
        Arg("to", "restore: copy the version onto this other key of the bucket, leaving the key as it is",
            kind="option", metavar="KEY"),
        Arg("page", "versions: the next page, as the previous page says", kind="option", metavar="TOKEN"),
        Arg("prefix", "restore: every key under <bucket>/<prefix>", kind="flag"),
        Arg("before", "restore --prefix: bring keys back to how they were at this time (ISO 8601, UTC)",
            kind="option", metavar="TIME"),
    ),
    permission=Permission.VIEW,
    permission_for=_permission,
    details="Status reads the scanner's usage (never lists objects) and inspects the largest buckets (lifecycle, "
    "replication backlog and targets included). versions "
    "lists one prefix a page at a time. restore removes delete markers or copies a version onto the key, "
    "keeping every version; without versioning only a backup can help.",
    examples=(
        "/minio data demo",
        "/minio data demo documents",
        "/minio data demo versions documents/reports/",
        "/minio data demo restore documents/reports/2026-q3.pdf",
        "/minio data demo restore documents/reports/2026-q3.pdf --to reports/2026-q3.restored.pdf",
        "/minio data demo enable-versioning logs",
        "/minio data demo quota logs 60Ti",
    ),
    slow=True,
)
def data_command(inv: Invocation, args: DataArgs) -> Report:
    """Status, a page of versions, or a restore request."""
    tenant = inv.tenant(args.tenant)
    runtime = inv.runtime
    if args.action == "status":
        facts = status_facts(runtime, tenant, args.what)
        if args.what is not None and _missing(facts.buckets[0].versioning):
            raise _no_bucket(args.what, tenant.name)
        return status_report(tenant.name, facts)
    if args.action in ("enable-versioning", "quota"):
        return _protection(inv, tenant, args)
    try:
        bucket, key = split_target(args.target or "")
    except ValueError as exc:
        raise UserError(str(exc)) from None
    try:
        if args.action == "versions":
            marker, version_marker = _page(args.page)
            found = version_facts(runtime, tenant, bucket, key, marker, version_marker, PAGE_SIZE)
            return versions_report(tenant.name, bucket, key, found)
        if args.prefix:
            plan = plan_prefix_restore(runtime, tenant, bucket, key, _when(args.before), inv.user)
        else:
            plan = plan_restore(runtime, tenant, bucket, key, args.version, inv.user, to=args.to)
    except RestoreRefused as refused:
        hint = f" {refused.hint}" if refused.hint else ""
        raise UserError(f"Nothing to restore: {refused.reason}{hint}") from None
    except ClientError as exc:
        if _missing(exc):
            raise _no_bucket(bucket, tenant.name) from None
        raise
    return request_change(inv, plan)


def _protection(inv: Invocation, tenant: TenantConfig, args: DataArgs) -> Report:
    bucket = (args.target or "").strip("/")
    try:
        if args.action == "enable-versioning":
            plan = plan_enable_versioning(inv.runtime, tenant, bucket, inv.user)
        else:
            plan = plan_quota(inv.runtime, tenant, bucket, _size(args.value or ""), inv.user)
    except RestoreRefused as refused:
        raise UserError(refused.reason) from None
    except ClientError as exc:
        if _missing(exc):
            raise _no_bucket(bucket, tenant.name) from None
        raise
    return request_change(inv, plan)


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(spans("Not a time: ", code(text[:40]), ". Use ISO 8601, e.g. ", code("2026-12-05T18:00Z"),
                              ".")) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _size(text: str) -> int:
    """``none``/``0`` -> 0; ``60Ti``, ``500Gi``, ``1T`` -> bytes (Kubernetes quantity syntax)."""
    if text.lower() in ("none", "0", "off"):
        return 0
    try:
        value = int(parse_quantity(text))
    except ValueError:
        raise UserError(spans("Not a size: ", code(text[:40]), ". Use e.g. ", code("60Ti"), " or ", code("none"),
                              ".")) from None
    if value <= 0:
        raise UserError("A quota must be more than 0 bytes (or none to remove it).")
    return value


def _missing(answer: object) -> bool:
    return isinstance(answer, ClientError) and answer.kind == "not_found" and "NoSuchBucket" in answer.detail


def _no_bucket(bucket: str, tenant: str) -> UserError:
    return UserError(spans("Bucket ", code(bucket[:63]), " does not exist on ", code(tenant), "."))


def _page(token: str | None) -> tuple[str, str]:
    if token is None:
        return "", ""
    try:
        return read_page_token(token)
    except ValueError:
        raise UserError("That page token is not one this bot gave out: list again without --page.") from None
