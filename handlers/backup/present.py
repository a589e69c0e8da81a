"""The backup verification report: freshness against the RPO, then each sampled object read back."""

from __future__ import annotations

from datetime import datetime

from bot.clients.errors import ClientError
from bot.config import BackupTarget
from bot.report import Report, Row, Section, Status, Text, code, duration, size, spans, when, worst
from handlers.backup.evaluate import check_object, compare_with_source, freshness
from handlers.backup.facts import VerifyFacts


def verify_report(tenant: str, facts: VerifyFacts, now: datetime) -> Report:
    """UNHEALTHY when a backup does not read back as listed; DEGRADED when stale or empty."""
    target = facts.target
    where = spans(code(f"{target.bucket}/{target.prefix}"), f" at {target.endpoint}" if target.endpoint else "")
    listing = facts.listing
    newest = listing.objects[0].last_modified if listing.objects else None
    fresh, age = freshness(newest, now, target.rpo_hours)
    checks = [check_object(o, facts.reads.get(o.key)) for o in listing.objects]
    compared = {o.key: compare_with_source(o, facts.reads.get(o.key), facts.sources[o.key],
                                           facts.source_reads.get(o.key), now, target.rpo_hours)
                for o in listing.objects if o.key in facts.sources}
    rows = [Row(status=worst([c.status, *([compared[c.listed.key].status] if c.listed.key in compared else [])]),
                text=spans(code(c.listed.key), " ", size(c.listed.size), ": ", c.detail, "; ",
                           compared[c.listed.key].detail if c.listed.key in compared
                           else "not in the <bucket>/<key> layout: no source to compare"))
            for c in checks]
    reasons: list[Text] = []
    if newest is None:
        reasons.append(spans("No backup objects under ", where, "."))
    elif fresh is Status.DEGRADED and age is not None:
        reasons.append(spans("Newest backup is ", duration(age), f" old: over the {target.rpo_hours:g} h RPO."))
    bad = [c for c in checks if c.status is Status.UNHEALTHY]
    if bad:
        reasons.append(f"{len(bad)} of {len(checks)} sampled backup object(s) did not read back as listed.")
    differ = [k for k, c in compared.items() if c.status is Status.UNHEALTHY]
    if differ:
        reasons.append(spans(f"{len(differ)} sampled backup object(s) differ from their source: ", code(differ[0]),
                             *([f" and {len(differ) - 1} more"] if len(differ) > 1 else []), "."))
    behind = [k for k, c in compared.items() if c.status is Status.DEGRADED]
    if behind:
        reasons.append(f"{len(behind)} source object(s) changed longer than the {target.rpo_hours:g} h RPO ago "
                       "and their backup still has the older copy.")
    footer: list[Text] = [spans("Newest backup: ", when(newest), " (", duration(age), " old)")] if newest and age \
        else []
    if listing.truncated:
        footer.append(f"Looked at the first {listing.seen:,} objects of the location only.")
    gone = sum(1 for c in compared.values() if c.detail.startswith("source no longer exists"))
    footer.append(spans(f"{len(compared) - gone} of {len(checks)} compared with their source on the tenant "
                        f"({gone} source(s) gone); a backup of ", code("<bucket>/<key>"), " is read at ",
                        code(f"{target.bucket}/{target.prefix}<bucket>/<key>"), "."))
    status = worst([fresh, *(c.status for c in checks), *(c.status for c in compared.values())])
    summary: Text = spans(f"{len(checks) - len(bad)} of {len(checks)} sampled object(s) read back whole from ",
                          where, ".")
    return Report(title=f"Backup verification: {tenant}", status=status, summary=summary, reasons=reasons,
                  sections=[Section(title="Newest backups, read back", rows=rows)] if rows else [], footer=footer)


def unreachable_report(tenant: str, target: BackupTarget, error: ClientError) -> Report:
    """The backup location could not be listed: missing bucket, or the endpoint did not answer."""
    where = spans(code(f"{target.bucket}/{target.prefix}"), f" at {target.endpoint}" if target.endpoint else "")
    missing = error.kind == "not_found" and "NoSuchBucket" in error.detail
    reason: Text = (spans("The backup bucket ", code(target.bucket), " does not exist.") if missing
                    else spans("The backup location ", where, f" could not be read: {error.detail}"))
    return Report(title=f"Backup verification: {tenant}", status=Status.UNHEALTHY, summary="Nothing could be verified.",
                  reasons=[reason])
