"""The Security section: NetworkPolicy, TLS and certificate expiry, default root credentials, public buckets."""

from __future__ import annotations

from datetime import datetime

from bot import humanize
from bot.clients.errors import ClientError
from bot.clients.kube_models import CertInfo
from bot.report import Section, Status, code, join, spans, when
from handlers.health.facts import BucketExposure, KubeFacts, MinioFacts, TlsFacts
from handlers.health.findings import Reason, SectionBuilder, plural

CERT_WARN_DAYS = 14.0
CERT_CRITICAL_DAYS = 1.0
MAX_NAMES = 10  # bucket or policy names listed in one row


def evaluate_security(
    minio: MinioFacts,
    kube: KubeFacts | None,
    now: datetime,
    minio_cause: str | None = None,
    kube_cause: str | None = None,
) -> tuple[Section, list[Reason]]:
    """NetworkPolicy, TLS and certificate expiry, default root credentials, public buckets."""
    b = SectionBuilder("Security")
    _network_policy(b, kube, kube_cause)
    tls: TlsFacts | ClientError = (
        kube.tls
        if kube is not None
        else TlsFacts(enabled=minio.https, source="endpoint scheme" + ("" if minio.https else " (http)"))
    )
    _tls(b, tls, now, kube_cause)
    root_default = kube.root_default if kube is not None and not kube_cause else None
    _credentials(b, minio.default_credentials, root_default)
    _public_buckets(b, minio.buckets, minio_cause)
    return b.build()


def _network_policy(b: SectionBuilder, kube: KubeFacts | None, cause: str | None) -> None:
    if kube is None:
        b.info("NetworkPolicy: not applicable (no Kubernetes Tenant)")
        return
    policies = kube.network_policies
    if isinstance(policies, ClientError):
        b.not_checked("NetworkPolicy", policies, cause)
    elif policies:
        b.ok(spans("NetworkPolicy present: ", join([spans(code(p.name)) for p in policies[:5]])))
    else:
        b.info(spans(
            "no NetworkPolicy in namespace ", code(kube.namespace), ": any pod in the cluster can reach MinIO"
        ))


def certificate_status(days_left: float) -> Status:
    """Expired or within a day: UNHEALTHY; within 14 days: DEGRADED; else HEALTHY."""
    if days_left < CERT_CRITICAL_DAYS:
        return Status.UNHEALTHY
    if days_left < CERT_WARN_DAYS:
        return Status.DEGRADED
    return Status.HEALTHY


def _tls(b: SectionBuilder, tls: TlsFacts | ClientError, now: datetime, cause: str | None) -> None:
    if isinstance(tls, ClientError):
        b.not_checked("TLS", tls, cause)
        return
    if not tls.enabled:
        # Often terminated in front of MinIO (ingress, mesh), which the bot cannot see.
        b.info(f"TLS not enabled ({tls.source}): traffic and keys travel in clear text unless terminated in front")
        return
    b.fact("TLS", f"enabled ({tls.source})")
    for cert in tls.certificates:
        _certificate(b, cert, now)
    for secret, why in tls.unreadable.items():
        b.not_checked(f"certificate in Secret {secret}", why)


def _certificate(b: SectionBuilder, cert: CertInfo, now: datetime) -> None:
    left = (cert.not_after - now).total_seconds()
    status = certificate_status(left / 86400)
    if left < 0:
        text = f"TLS certificate {cert.secret} expired {humanize.duration(-left)} ago"
    else:
        text = f"TLS certificate {cert.secret} expires in {humanize.duration(left)}"
    if status is Status.HEALTHY:
        b.ok(spans(text, " (", when(cert.not_after, "date"), ")"))
    else:
        b.finding(status, text, spans(text, " (", when(cert.not_after), "): renew it"))


def _credentials(b: SectionBuilder, bot_default: bool | ClientError, root_default: bool | ClientError | None) -> None:
    # Never name the value: it is registered as a secret and would be masked anyway.
    text = "default root credentials in use (MinIO's documented default user and password): change them"
    if bot_default is True or root_default is True:
        b.finding(Status.UNHEALTHY, "default root credentials in use", text)
    elif isinstance(bot_default, ClientError):
        # The bot's keys are read here, not from MinIO: a MinIO outage is never the reason.
        b.not_checked("credentials", bot_default)
    else:
        checked = "the bot's" + (" and the Tenant's root" if root_default is False else "")
        b.ok(f"no default credentials ({checked} credentials checked)")
    if isinstance(root_default, ClientError):
        # Reading the root Secret needs an extra RBAC grant; without it the bot's own keys were still checked.
        b.info(f"Tenant root credentials not checked: {root_default}")


def _public_buckets(b: SectionBuilder, buckets: BucketExposure | ClientError, cause: str | None) -> None:
    if isinstance(buckets, ClientError):
        b.not_checked("bucket policies", buckets, cause)
        return
    if buckets.public:
        names = join([spans(code(n)) for n in buckets.public[:MAX_NAMES]])
        more = f" and {len(buckets.public) - MAX_NAMES} more" if len(buckets.public) > MAX_NAMES else ""
        b.info(spans(f"anonymous access allowed on {plural(len(buckets.public), 'bucket')}: ", names, more))
    else:
        b.ok(f"no public buckets ({buckets.checked} checked)")
    if buckets.checked < buckets.total:
        b.line(f"only {buckets.checked} of {buckets.total} bucket policies checked")
    if buckets.failed:
        first = next(iter(buckets.failed.items()))
        b.not_checked(f"policy of {plural(len(buckets.failed), 'bucket')}", f"{first[0]}: {first[1]}")
