"""Reports of the data capability: protection status per bucket, and a page of one prefix's versions."""

from __future__ import annotations

from datetime import timedelta

from bot.clients.errors import ClientError
from bot.clients.minio_models import ObjectVersion
from bot.report import (
    Inline,
    Report,
    Row,
    Section,
    Status,
    Text,
    code,
    duration,
    join,
    size,
    spans,
    when,
    worst,
)
from handlers.data.evaluate import BucketVerdict, judge_bucket, judge_replication, page_token
from handlers.data.facts import BucketProtection, StatusFacts, VersionFacts


def _lock_text(bucket: BucketProtection) -> Text | None:
    lock = bucket.lock
    if isinstance(lock, ClientError) or not lock.enabled:
        return None
    retention = f" ({lock.mode} {lock.duration} {(lock.unit or '').lower()})" if lock.mode and lock.duration else ""
    return f"object lock{retention}"


def _replication_text(bucket: BucketProtection) -> Text | None:
    replication = bucket.replication
    if replication is None or isinstance(replication, ClientError) or not replication.rules:
        return None
    targets: list[Text] = [spans(code(r.target.removeprefix("arn:aws:s3:::"))) for r in replication.rules
                           if r.enabled]
    if not targets:
        return f"replication: {len(replication.rules)} rule(s), all switched off"
    return spans("replicates to ", join(targets))


def _lifecycle_text(bucket: BucketProtection) -> Text | None:
    """``lifecycle 2 rule(s) on, next expiry: objects after 30 days, old versions after 7 days``."""
    lifecycle = bucket.lifecycle
    if lifecycle is None or isinstance(lifecycle, ClientError):
        return None
    if not lifecycle.enabled:
        return f"lifecycle: {lifecycle.rules} rule(s), all switched off"
    soonest: list[Text] = []
    if lifecycle.expire_days is not None:
        soonest.append(f"objects after {lifecycle.expire_days} days")
    if lifecycle.expire_date is not None:
        soonest.append(spans("objects on ", when(lifecycle.expire_date, "date")))
    if lifecycle.noncurrent_days is not None:
        soonest.append(f"old versions after {lifecycle.noncurrent_days} days")
    expiry: Text = spans(", next expiry: ", join(soonest, ", ")) if soonest else ", nothing expires"
    return spans(f"lifecycle {lifecycle.enabled} rule(s) on", expiry)


def _backlog_text(bucket: BucketProtection) -> Text | None:
    metrics = bucket.replication_metrics
    if metrics is None or isinstance(metrics, ClientError):
        return None
    total = metrics.total
    said: list[Text] = [spans(f"{total.queued_count:,.0f} waiting (", size(int(total.queued_bytes)),
                              f"), {total.failed_hour_count:,.0f} failed in the last hour")]
    targets = bucket.remote_targets
    if targets is not None and not isinstance(targets, ClientError):
        latencies = [t.latency for t in targets if t.online and t.latency.avg is not None]
        if latencies:
            slowest = max(latencies, key=lambda lat: lat.avg or timedelta(0))
            said.append(spans("link latency ", duration(slowest.avg or timedelta(0)), " average",
                              *((" (max ", duration(slowest.max), ")") if slowest.max else ())))
    return join(said, ", ")


def _quota_text(bucket: BucketProtection) -> Text | None:
    quota = bucket.quota
    if quota is None or isinstance(quota, ClientError) or not quota.limit:
        return None
    return spans("quota ", size(quota.limit), f" ({100 * bucket.size / quota.limit:.0f} % used)")


def bucket_row(bucket: BucketProtection, verdict: BucketVerdict) -> Row:
    """``docs: 1.2 GiB, 3,400 objects · versioning Enabled · object lock · replicates to dr · quota ...``"""
    parts: list[Text] = [spans(size(bucket.size), f", {bucket.objects:,} objects"),
                         f"versioning {verdict.versioning}"]
    parts += [t for t in (_lock_text(bucket), _replication_text(bucket), _backlog_text(bucket),
                          _lifecycle_text(bucket), _quota_text(bucket)) if t is not None]
    parts += list(verdict.problems)
    return Row(status=verdict.status, text=spans(code(bucket.name), ": ", join(parts, " · ")))


def status_report(tenant: str, facts: StatusFacts) -> Report:
    """Every inspected bucket's protection; buckets with data and no versioning are the reasons."""
    verdicts = [judge_bucket(b) for b in facts.buckets]
    rows = [bucket_row(b, v) for b, v in zip(facts.buckets, verdicts, strict=True)]
    reasons: list[Text] = [
        spans(code(v.name), " holds ", size(b.size), " without versioning: deleted or overwritten objects "
              "cannot be restored from MinIO")
        for b, v in zip(facts.buckets, verdicts, strict=True) if v.unprotected and v.versioning == "Off"
    ]
    reasons += [spans(code(v.name), ": versioning is suspended") for v in verdicts
                if v.unprotected and v.versioning == "Suspended"]
    replication = [(b.name, problem) for b in facts.buckets for problem in judge_replication(b)]
    reasons += [spans(code(name), ": ", problem) for name, problem in replication]
    usage = facts.usage
    footer: list[Text] = []
    if facts.named is None:
        shown = {b.name for b in facts.buckets}
        rest = [b for name, b in usage.buckets.items() if name not in shown]
        if rest:
            footer.append(spans(f"{len(rest):,} smaller bucket(s) not inspected (", size(sum(b.size for b in rest)),
                                "); name one: ", code(f"/minio data {tenant} <bucket>"), "."))
    elif facts.named not in usage.buckets:
        footer.append("The scanner has no figures for this bucket yet (new, or its cycle has not reached it).")
    footer.append("Lifecycle: enabled rules are counted; the next expiry is the shortest Expiration (days or "
                  "date) and NoncurrentVersionExpiration among them. Replication: waiting and failed operations "
                  "from each bucket's replication metrics (failed: last hour; a backlog above its running "
                  "average is growing); target online and link latency from the server's remote-target list.")
    footer.append(spans("Sizes from the scanner, as of ", when(usage.last_update), ".") if usage.last_update
                  else "The scanner has not finished a cycle yet: sizes are not known.")
    title = f"Data protection: {tenant}" + (f" / {facts.named}" if facts.named else "")
    status = worst([v.status for v in verdicts]) if verdicts else Status.INFO
    unversioned = sum(1 for v in verdicts if v.unprotected)
    said = [f"{unversioned} bucket(s) hold data without versioning"] if unversioned else []
    said += [f"{len({name for name, _ in replication})} bucket(s) with replication trouble"] if replication else []
    summary: Text = ("; ".join(said) + ".") if said else f"{len(verdicts)} bucket(s) inspected."
    return Report(title=title, status=status, summary=summary, reasons=reasons,
                  sections=[Section(title=f"Buckets (largest first, {len(rows)} shown)", rows=rows)], footer=footer)


def _version_row(version: ObjectVersion) -> Row:
    what: list[Inline | tuple[Inline, ...]] = [code(version.key), " ", code(version.version_id)]
    if version.delete_marker:
        what.append(" delete marker")
    else:
        what += [" ", size(version.size)]
    if version.last_modified is not None:
        what += [", ", when(version.last_modified)]
    if version.is_latest:
        what.append(" (current)" if not version.delete_marker else " (current: the object reads as deleted)")
    status = Status.DEGRADED if version.delete_marker and version.is_latest else None
    return Row(status=status, text=spans(*what))


def versions_report(tenant: str, bucket: str, prefix: str, facts: VersionFacts) -> Report:
    """One page of versions under ``prefix``, newest first per key; how to get the next page and restore."""
    page = facts.page
    rows = [_version_row(v) for v in page.versions]
    footer: list[Text] = []
    versioning = facts.versioning
    state = "unknown" if isinstance(versioning, ClientError) else versioning.status
    if state == "Off":
        footer.append(spans("Versioning is off on ", code(bucket), ": only current versions exist, so nothing "
                            "deleted or overwritten can be restored from MinIO; only a backup can help."))
    if page.truncated:
        token = page_token(page.next_key_marker, page.next_version_marker)
        footer.append(spans("More versions: ", code(f"/minio data {tenant} versions {bucket}/{prefix} --page {token}")))
    deleted = [v for v in page.versions if v.delete_marker and v.is_latest]
    if deleted:
        footer.append(spans("Undelete with ", code(f"/minio data {tenant} restore {bucket}/{deleted[0].key}"),
                            " (needs approval)."))
    summary: Text = (spans(f"{len(rows)} version(s) under ", code(f"{bucket}/{prefix}"),
                           f", {len(deleted)} key(s) currently deleted.") if rows
                     else spans("No version and no delete marker under ", code(f"{bucket}/{prefix}"), "."))
    return Report(title=f"Versions: {tenant} / {bucket}/{prefix}", summary=summary,
                  status=Status.DEGRADED if deleted else Status.INFO,
                  sections=[Section(title="Newest first per key", rows=rows)] if rows else [], footer=footer)
