"""`/minio incident security`: default credentials, failed-auth counters, users, public buckets, certificate expiry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from bot.clients.errors import ClientError, CredentialsUnavailable
from bot.clients.kube_models import (
    CertInfo,
)
from bot.clients.minio_models import (
    UserInfo,
)
from bot.commands import escape
from bot.config import TenantConfig
from bot.redact import register_secret
from bot.report import Row, Section, Status, worst
from bot.runtime import Runtime, parse_config_env
from handlers.incidents.facts import (
    MAX_BUCKETS,
    Diagnosis,
    Fact,
    failed_section,
    gather,
    kube_target,
    not_on_kubernetes,
)

DEFAULT_CREDENTIAL = "minioadmin"  # MinIO's documented default root user and password
MAX_USERS = 25
CERT_CRITICAL_DAYS = 7.0
CERT_WARN_DAYS = 30.0
# Prometheus counters that count rejected authentication, where the server exposes them.
AUTH_REJECT_METRICS = ("minio_s3_requests_rejected_auth_total", "minio_s3_requests_rejected_invalid_total")


@dataclass(frozen=True)
class SecurityFacts:
    """Credentials check, auth-failure counters, users, public buckets and certificates."""

    default_credentials: Fact[bool]  # CredentialsUnavailable: the bot has no keys for this tenant
    tenant_root_default: Fact[bool | None] | None  # from the Tenant's configuration Secret
    metrics: Fact[dict[str, float]]
    users: Fact[list[UserInfo]]
    public: Fact[dict[str, Fact[bool]]]
    certificates: Fact[dict[str, Fact[CertInfo]]] | None


def _uses_default_credentials(runtime: Runtime, tenant: TenantConfig) -> bool | CredentialsUnavailable:
    try:
        access, secret = runtime.credentials(tenant)
    except CredentialsUnavailable as exc:
        return exc  # not a failed check: the answer is that the bot has no keys (nothing was sent)
    return access == DEFAULT_CREDENTIAL and secret == DEFAULT_CREDENTIAL


def _tenant_root_default(runtime: Runtime, tenant: TenantConfig) -> bool | None:
    kube = kube_target(runtime, tenant)
    configuration = kube.tenant().raw_spec.get("configuration")
    secret = configuration.get("name") if isinstance(configuration, dict) else None
    if not secret:
        return None
    data = kube.client.read_secret(kube.namespace, str(secret))
    for value in data.values():
        register_secret(value)
    env = parse_config_env(data.get("config.env", ""))
    # Only a yes/no leaves this function; the values are never kept.
    return env.get("MINIO_ROOT_USER") == DEFAULT_CREDENTIAL and env.get("MINIO_ROOT_PASSWORD") == DEFAULT_CREDENTIAL


def _public_buckets(runtime: Runtime, tenant: TenantConfig, until: float) -> dict[str, Fact[bool]]:
    client = runtime.minio(tenant)
    names = [b.name for b in client.list_buckets()][:MAX_BUCKETS]
    return gather({n: partial(client.bucket_policy_public, n) for n in names}, until)


def _certificates(runtime: Runtime, tenant: TenantConfig) -> dict[str, Fact[CertInfo]]:
    kube = kube_target(runtime, tenant)
    spec = kube.tenant().raw_spec
    external = [str(e["name"]) for e in spec.get("externalCertSecret") or [] if isinstance(e, dict) and e.get("name")]
    # The operator issues `<tenant>-tls` itself unless requestAutoCert is off.
    auto = [f"{kube.name}-tls"] if spec.get("requestAutoCert", True) is not False else []
    out: dict[str, Fact[CertInfo]] = {}
    for secret in dict.fromkeys(external + auto):
        try:
            out[secret] = kube.client.tls_certificate(kube.namespace, secret)
        except ClientError as exc:
            out[secret] = exc
    return out


def gather_security(runtime: Runtime, tenant: TenantConfig, until: float) -> SecurityFacts:
    """All security facts in parallel; only yes/no answers about credentials ever leave this module."""
    calls: dict[str, Callable[[], Any]] = {
        "default": partial(_uses_default_credentials, runtime, tenant),
        "metrics": lambda: runtime.minio(tenant).metrics_cluster(),
        "users": lambda: runtime.minio(tenant).list_users(),
        "public": lambda: _public_buckets(runtime, tenant, until),
    }
    if tenant.kubernetes is not None:
        calls["root"] = partial(_tenant_root_default, runtime, tenant)
        calls["certs"] = partial(_certificates, runtime, tenant)
    got = gather(calls, until)
    return SecurityFacts(got["default"], got.get("root"), got["metrics"], got["users"], got["public"], got.get("certs"))


def evaluate_security(facts: SecurityFacts, tenant: str) -> Diagnosis:
    """Default credentials, failed-auth counters, users, anonymous buckets and certificate expiry."""
    sections: list[Section] = []
    actions: list[str] = []
    cred_rows: list[Row] = []
    defaults = False
    if isinstance(facts.default_credentials, CredentialsUnavailable):
        cred_rows.append(Row(status=Status.UNKNOWN, text=str(facts.default_credentials)))
    elif isinstance(facts.default_credentials, ClientError):
        cred_rows.append(
            Row(status=Status.UNKNOWN, text=f"Bot credentials: {escape(str(facts.default_credentials), 200)}")
        )
    elif facts.default_credentials:
        defaults = True
        cred_rows.append(
            Row(status=Status.UNHEALTHY, text="The bot signs in with MinIO's well-known default root credentials.")
        )
    else:
        cred_rows.append(Row(status=Status.HEALTHY, text="The bot's credentials are not MinIO's defaults."))
    root = facts.tenant_root_default
    if isinstance(root, ClientError):
        cred_rows.append(Row(status=Status.UNKNOWN, text=f"Tenant root user: {escape(str(root), 200)}"))
    elif root:
        defaults = True
        cred_rows.append(Row(status=Status.UNHEALTHY, text="The Tenant's root user still has the default credentials."))
    elif root is False:
        cred_rows.append(Row(status=Status.HEALTHY, text="The Tenant's root user does not use the defaults."))
    sections.append(
        Section(title="Credentials", status=worst([r.status for r in cred_rows if r.status]), rows=cred_rows)
    )

    title = "Failed-authentication indicators"
    auth_failures = 0.0
    if isinstance(facts.metrics, ClientError):
        sections.append(failed_section(title, facts.metrics))
    else:
        found = {k: v for k, v in facts.metrics.items() if k.split("{", 1)[0] in AUTH_REJECT_METRICS}
        if found:
            auth_failures = sum(found.values())
            status = Status.DEGRADED if auth_failures else Status.HEALTHY
            sections.append(
                Section(
                    title=title,
                    status=status,
                    lines=[
                        f"{auth_failures:,.0f} S3 request(s) rejected for bad credentials or signatures since start."
                    ],
                )
            )
        else:
            sections.append(
                Section(
                    title=title,
                    status=Status.INFO,
                    lines=[
                        "This MinIO exposes no auth-rejection counter; use its audit log or access logs to find "
                        "failed sign-ins."
                    ],
                )
            )

    if isinstance(facts.users, ClientError):
        sections.append(failed_section("Users", facts.users))
    else:
        users = facts.users
        disabled = [u for u in users if u.status != "enabled"]
        rows = [
            Row(
                status=Status.HEALTHY if u.status == "enabled" else Status.INFO,
                text=f"`{escape(u.access_key, 63)}`: {escape(u.status or 'unknown', 20)}"
                + (f", policy {escape(u.policy_name, 60)}" if u.policy_name else ", no policy"),
            )
            for u in users[:MAX_USERS]
        ]
        lines = [f"{len(users)} user(s), {len(disabled)} disabled."]
        if len(users) > MAX_USERS:
            lines.append(f"… {len(users) - MAX_USERS} more not shown.")
        sections.append(Section(title="Users", status=Status.INFO, lines=lines, rows=rows))

    public: list[str] = []
    if isinstance(facts.public, ClientError):
        sections.append(failed_section("Public buckets", facts.public))
    else:
        public = sorted(b for b, v in facts.public.items() if v is True)
        unknown = sorted(b for b, v in facts.public.items() if isinstance(v, ClientError))
        rows = [Row(status=Status.DEGRADED, text=f"`{escape(b, 63)}` allows anonymous access") for b in public]
        lines = [] if public else [f"None of {len(facts.public)} bucket(s) allows anonymous access."]
        if unknown:
            lines.append("Could not read the policy of: " + ", ".join(f"`{escape(b, 63)}`" for b in unknown[:10]))
        sections.append(
            Section(
                title="Public buckets",
                status=Status.DEGRADED if public else Status.UNKNOWN if unknown else Status.HEALTHY,
                rows=rows,
                lines=lines,
            )
        )

    expiring: list[tuple[str, float]] = []
    if facts.certificates is None:
        sections.append(not_on_kubernetes("Certificates"))
    elif isinstance(facts.certificates, ClientError):
        sections.append(failed_section("Certificates", facts.certificates))
    else:
        rows = []
        for secret, cert in facts.certificates.items():
            if isinstance(cert, ClientError):
                rows.append(Row(status=Status.UNKNOWN, text=f"`{escape(secret, 63)}`: {escape(str(cert), 200)}"))
                continue
            days = cert.days_left
            if cert.expired:
                status, when = Status.UNHEALTHY, f"EXPIRED {abs(days):.0f} day(s) ago"
            else:
                status = (
                    Status.UNHEALTHY
                    if days < CERT_CRITICAL_DAYS
                    else Status.DEGRADED
                    if days < CERT_WARN_DAYS
                    else Status.HEALTHY
                )
                when = f"expires in {days:.0f} day(s) ({cert.not_after:%Y-%m-%d})"
            if status != Status.HEALTHY:
                expiring.append((secret, days))
            rows.append(Row(status=status, text=f"`{escape(secret, 63)}` ({escape(cert.subject, 100)}): {when}"))
        sections.append(
            Section(
                title="Certificates",
                status=worst([r.status for r in rows if r.status], Status.INFO),
                rows=rows,
                lines=[] if rows else ["The Tenant serves no TLS certificate."],
            )
        )

    if isinstance(facts.default_credentials, CredentialsUnavailable):
        actions.append(
            "Give the bot readable keys for this tenant (its credentials in the configuration, or the Secret the "
            "Tenant names): until then users, buckets and the auth counters cannot be checked."
        )
    if defaults:
        actions.append(
            "Rotate the root credentials now: new values in the Tenant's configuration Secret, then a rolling "
            f"restart (`/minio maintenance {tenant} check`); update every client that used them."
        )
    for secret, days in sorted(expiring, key=lambda x: x[1]):
        actions.append(
            f"Renew the certificate in Secret `{escape(secret, 63)}` "
            + ("(it has expired)" if days < 0 else f"(expires in {days:.0f} days)")
            + "; MinIO reloads certificates without a restart."
        )
    if public:
        actions.append(
            "Confirm the public bucket(s) are meant to be public; if not, remove the anonymous policy "
            "(`mc anonymous set none ALIAS/BUCKET`)."
        )
    if auth_failures:
        actions.append("Find the source of the rejected requests in MinIO's audit log; block it at the ingress.")
    if not isinstance(facts.users, ClientError):
        actions.append("Review the users above: disable accounts nobody owns and keys older than your rotation policy.")
    if not actions:
        actions.append(f"Fix what kept the checks above from running, then `/minio incident security {tenant}` again.")
    return Diagnosis(sections, actions)
