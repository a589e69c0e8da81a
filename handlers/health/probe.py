"""The Performance probe section: a canary PUT/GET/DELETE in the probe bucket, against the thresholds."""

from __future__ import annotations

from bot.clients.errors import ClientError
from bot.clients.minio_models import CanaryResult
from bot.config import TenantConfig
from bot.report import Section, Status, code, spans
from handlers.health.findings import Reason, SectionBuilder, no_credentials

_NO_ANSWER = ("timeout", "unreachable", "unavailable")


def evaluate_probe(
    canary: CanaryResult | ClientError, tenant: TenantConfig, minio_cause: str | None = None
) -> tuple[Section, list[Reason]]:
    """The canary PUT/GET/DELETE in the probe bucket, against the configured thresholds.

    A canary that could not be sent for want of keys was not checked (UNKNOWN),
    never "failed": the cluster was not asked.
    """
    b = SectionBuilder("Performance probe")
    settings = tenant.probe
    b.fact("Thresholds", f"warn {settings.warn_ms:g} ms, critical {settings.critical_ms:g} ms per step")
    if isinstance(canary, ClientError):
        if canary.kind in _NO_ANSWER and not minio_cause:
            b.finding(Status.UNHEALTHY, "canary PUT/GET/DELETE failed on every node", f"canary failed: {canary}")
        else:
            b.not_checked("canary", canary, minio_cause)
        return b.build()
    if not canary.ok:
        _canary_failure(b, canary, settings.bucket)
        return b.build()
    steps = {"PUT": canary.put_ms, "GET": canary.get_ms, "DELETE": canary.delete_ms}
    timings = ", ".join(f"{k} {v:.0f} ms" for k, v in steps.items() if v is not None)
    b.fact("Canary", spans(timings, " (bucket ", code(settings.bucket), f", node {canary.node})"))
    slow = False
    for step, ms in steps.items():
        if ms is None:
            continue
        if ms > settings.critical_ms:
            b.finding(Status.UNHEALTHY, f"canary {step} {ms:.0f} ms (critical {settings.critical_ms:g} ms)")
            slow = True
        elif ms > settings.warn_ms:
            b.finding(Status.DEGRADED, f"canary {step} {ms:.0f} ms (warn {settings.warn_ms:g} ms)")
            slow = True
    if not slow:
        b.ok(f"canary PUT/GET/DELETE within {settings.warn_ms:g} ms each")
    return b.build()


def _canary_failure(b: SectionBuilder, canary: CanaryResult, bucket: str) -> None:
    error = canary.error or "failed"
    if no_credentials(None, canary.error_kind):
        b.without_credentials("canary", error)
    elif canary.error_kind == "not_found" and "NoSuchBucket" in error:
        # A health check never creates buckets: a typo would litter the tenant, and the bot's
        # account should not need CreateBucket. Say how to fix it instead.
        reason = f"probe bucket {bucket} missing"
        fix = spans(reason, ": create it (", code(f"mc mb <alias>/{bucket}"), ") or set ", code("probe.bucket"))
        b.finding(Status.DEGRADED, reason, fix)
    elif canary.error_kind in ("forbidden", "auth", "not_found", "invalid"):
        b.finding(Status.DEGRADED, f"canary cannot use probe bucket {bucket}: {error}")
    else:
        step = "PUT" if canary.put_ms is None else "GET/DELETE"
        b.finding(Status.UNHEALTHY, f"canary {step} failed", f"canary {step} failed: {error}")
