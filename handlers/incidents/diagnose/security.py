"""`/minio incident security`: default credentials, requests refused for their authorization scheme (a rate, now),
users, public buckets, certificate expiry.

One finding offers responses as buttons (built by handlers.security): enabled users with an admin-grade policy
(MinIO's consoleAdmin), not the bot's own user, at most three by name, each get "Disable user X", and their
access keys that are on get "Revoke key K" (two per user, five in all). These are the identities whose misuse
costs most and whose keys a responder wants off first; any other user or key is one command away (the users
report names the commands). A press requests the same approved plan as the command.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clients.errors import ClientError, CredentialsUnavailable
from bot.clients.kube_models import CertInfo
from bot.clients.minio_models import ServiceAccountInfo, UserInfo
from bot.report import Row, Section, Status, Text, code, duration, join, spans, when
from handlers.incidents.diagnose.sections import failed_section, not_on_kubernetes, rows_status
from handlers.incidents.model import AuthRejectionRate, Diagnosis, Fact, Gathered, Sensitive
from handlers.security.buttons import MAX_RESPONSE_USERS, response_actions
from handlers.security.evaluate import response_candidates

NEEDS = ("default_credentials", "root_default", "auth_rate", "users", "user_keys", "public", "certificates")
MAX_USERS = 25
MAX_UNKNOWN_BUCKETS = 10
CERT_CRITICAL_DAYS = 7.0
CERT_WARN_DAYS = 30.0
AUTH_TITLE = "Requests refused for their authorization scheme"
# MinIO refreshes the counters behind a sampled rate every 10 s: a shorter window is rough.
COUNTER_REFRESH_S = 10.0
# What MinIO's `minio_s3_requests_rejected_auth_total` counts, and what it does not (from the server's sources).
AUTH_COUNTER_MEANING = ("MinIO counts here requests whose Authorization is of a kind it does not support (not "
                        "SigV4, SigV2, a JWT or STS): scanners and misconfigured clients. Wrong keys and bad "
                        "signatures are ordinary 403 answers, not counted here: MinIO's audit log shows them.")


@dataclass(frozen=True)
class SecurityFacts:
    """Credentials check, auth-failure counters, users, public buckets and certificates."""

    default_credentials: Fact[bool]  # CredentialsUnavailable: the bot has no keys for this tenant
    tenant_root_default: Fact[bool | None] | None  # from the Tenant's configuration Secret
    auth: Fact[AuthRejectionRate]
    users: Fact[list[UserInfo]]
    public: Fact[dict[str, Fact[bool]]]
    certificates: Fact[dict[str, Fact[CertInfo]]] | None  # None: not on Kubernetes
    bot_user: Fact[str] | None = None  # the access key the bot signs with (None: not gathered)
    user_keys: dict[str, Fact[list[ServiceAccountInfo]]] | None = None  # access keys of the users findings name

    @classmethod
    def of(cls, got: Gathered) -> SecurityFacts:
        on_kubernetes = got.get("tenant") is not None
        public, certificates = got.get("public"), got.get("certificates")
        return cls(
            default_credentials=got.get("default_credentials"),
            tenant_root_default=got.get("root_default"),
            auth=got.get("auth_rate"),
            users=got.get("users"),
            public=public if isinstance(public, ClientError) else got.items("public"),
            certificates=certificates if isinstance(certificates, ClientError)
            else got.items("cert") if on_kubernetes else None,
            bot_user=got.get("bot_user"),
            user_keys=got.items("keys"),
        )


def _bot_credentials_row(fact: Fact[bool]) -> Row:
    if isinstance(fact, CredentialsUnavailable):
        return Row(status=Status.UNKNOWN, text=spans(str(fact)))  # as it is: why the bot has no keys
    if isinstance(fact, ClientError):
        return Row(status=Status.UNKNOWN, text=spans("Bot credentials: ", str(fact)))
    if fact:
        return Row(status=Status.UNHEALTHY, text="The bot signs in with MinIO's well-known default root credentials.")
    return Row(status=Status.HEALTHY, text="The bot's credentials are not MinIO's defaults.")


def credentials_section(facts: SecurityFacts) -> tuple[Section, bool]:
    """Whether the bot or the Tenant's root user keeps MinIO's default keys; with whether any does."""
    rows = [_bot_credentials_row(facts.default_credentials)]
    root = facts.tenant_root_default
    if isinstance(root, ClientError):
        rows.append(Row(status=Status.UNKNOWN, text=spans("Tenant root user: ", str(root))))
    elif root:
        rows.append(Row(status=Status.UNHEALTHY, text="The Tenant's root user still has the default credentials."))
    elif root is False:
        rows.append(Row(status=Status.HEALTHY, text="The Tenant's root user does not use the defaults."))
    defaults = facts.default_credentials is True or root is True
    return Section(title="Credentials", status=rows_status(rows, Status.HEALTHY), rows=rows), defaults


def auth_section(rate: Fact[AuthRejectionRate]) -> tuple[Section, float]:
    """Requests MinIO refuses now for an authorization scheme it does not support; with their rate per minute.

    Only a rate says anything about now (the counter counts from process start), and only this
    counter: ``rejected_invalid`` counts unsupported API calls, not credentials.
    """
    if isinstance(rate, ClientError):
        return failed_section(AUTH_TITLE, rate), 0.0
    if rate.per_minute is None:
        line = ("This MinIO exposes no counter of refused authorization schemes; MinIO's audit log shows refused "
                "requests.")
        return Section(title=AUTH_TITLE, status=Status.INFO, lines=[line]), 0.0
    over = spans(" over the last ", duration(rate.window_s), f" ({rate.source}).")
    if rate.per_minute > 0:
        head = spans(f"About {rate.per_minute:,.1f} per minute", over)
    else:
        head = spans("None", over)
    lines: list[Text] = [head, AUTH_COUNTER_MEANING]
    if rate.from_samples and rate.window_s < COUNTER_REFRESH_S:
        lines.append("MinIO refreshes this counter every 10 s: over a shorter window the figure is rough.")
    status = Status.DEGRADED if rate.per_minute > 0 else Status.HEALTHY
    return Section(title=AUTH_TITLE, status=status, lines=lines), rate.per_minute


def users_section(users: Fact[list[UserInfo]], tenant: str = "", facts: SecurityFacts | None = None) -> Section:
    """The users, their status and policy; with the response buttons for admin-grade users (see the module)."""
    if isinstance(users, ClientError):
        return failed_section("Users", users)
    rows = [
        Row(
            status=Status.HEALTHY if u.status == "enabled" else Status.INFO,
            text=spans(code(u.access_key), f": {u.status or 'unknown'}",
                       f", policy {u.policy_name}" if u.policy_name else ", no policy"),
        )
        for u in users[:MAX_USERS]
    ]
    lines: list[Text] = [f"{len(users)} user(s), {sum(1 for u in users if u.status != 'enabled')} disabled."]
    if len(users) > MAX_USERS:
        lines.append(f"… {len(users) - MAX_USERS} more not shown.")
    actions = []
    if tenant and facts is not None and isinstance(facts.bot_user, str):
        named = response_candidates(users, facts.bot_user, MAX_RESPONSE_USERS)
        if named:
            lines.append(spans("Admin-grade users (consoleAdmin): ", join([spans(code(u.access_key)) for u in named]),
                               ". If one may be compromised, disable it or revoke its keys below (needs approval)."))
            actions = response_actions(tenant, named, facts.user_keys or {})
    return Section(title="Users", status=Status.INFO, lines=lines, rows=rows, actions=actions)


def public_section(public: Fact[dict[str, Fact[bool]]]) -> tuple[Section, list[str]]:
    """Buckets that allow anonymous access; with their names."""
    if isinstance(public, ClientError):
        return failed_section("Public buckets", public), []
    open_ = sorted(b for b, v in public.items() if v is True)
    unknown = sorted(b for b, v in public.items() if isinstance(v, ClientError))
    rows = [Row(status=Status.DEGRADED, text=spans(code(b), " allows anonymous access")) for b in open_]
    lines: list[Text] = [] if open_ else [f"None of {len(public)} bucket(s) allows anonymous access."]
    if unknown:
        lines.append(spans("Could not read the policy of: ",
                           join([spans(code(b)) for b in unknown[:MAX_UNKNOWN_BUCKETS]])))
    status = Status.DEGRADED if open_ else Status.UNKNOWN if unknown else Status.HEALTHY
    return Section(title="Public buckets", status=status, rows=rows, lines=lines), open_


def certificate_status(cert: CertInfo) -> Status:
    """Expired or within a week: UNHEALTHY; within a month: DEGRADED."""
    if cert.expired or cert.days_left < CERT_CRITICAL_DAYS:
        return Status.UNHEALTHY
    return Status.DEGRADED if cert.days_left < CERT_WARN_DAYS else Status.HEALTHY


def _certificate_row(secret: str, cert: Fact[CertInfo]) -> Row:
    if isinstance(cert, ClientError):
        return Row(status=Status.UNKNOWN, text=spans(code(secret), ": ", str(cert)))
    if cert.expired:
        expiry: Text = f"EXPIRED {abs(cert.days_left):.0f} day(s) ago"
    else:
        expiry = spans(f"expires in {cert.days_left:.0f} day(s) (", when(cert.not_after, "date"), ")")
    return Row(status=certificate_status(cert), text=spans(code(secret), " (", cert.subject, "): ", expiry))


def certificates_section(certificates: Fact[dict[str, Fact[CertInfo]]] | None) -> tuple[Section, list[CertInfo]]:
    """The Tenant's certificates and when each expires; with those expiring soon or expired."""
    if certificates is None:
        return not_on_kubernetes("Certificates"), []
    if isinstance(certificates, ClientError):
        return failed_section("Certificates", certificates), []
    rows = [_certificate_row(secret, cert) for secret, cert in certificates.items()]
    expiring = [c for c in certificates.values() if isinstance(c, CertInfo) and certificate_status(c) != Status.HEALTHY]
    section = Section(title="Certificates", status=rows_status(rows, Status.INFO), rows=rows,
                      lines=[] if rows else ["The Tenant serves no TLS certificate."])
    return section, sorted(expiring, key=lambda c: c.days_left)


def security_actions(
    tenant: str, facts: SecurityFacts, defaults: bool, expiring: list[CertInfo], public: list[str], failures: float
) -> list[Text]:
    """Keys first, then default credentials, certificates, public buckets, rejected requests, users."""
    actions: list[Text] = []
    if isinstance(facts.default_credentials, CredentialsUnavailable):
        actions.append("Give the bot readable keys for this tenant (its credentials in the configuration, or the "
                       "Secret the Tenant names): until then users, buckets and the auth counters cannot be checked.")
    if defaults:
        actions.append(spans("Rotate the root credentials now: new values in the Tenant's configuration Secret, then "
                             "a rolling restart (", code(f"/minio maintenance {tenant} check"),
                             "); update every client that used them."))
    for cert in expiring:
        state = "(it has expired)" if cert.expired else f"(expires in {cert.days_left:.0f} days)"
        actions.append(spans("Renew the certificate in Secret ", code(cert.secret),
                             f" {state}; MinIO reloads certificates without a restart."))
    if public:
        actions.append(spans("Confirm the public bucket(s) are meant to be public; if not, remove the anonymous "
                             "policy (", code("mc anonymous set none ALIAS/BUCKET"), ")."))
    if failures:
        actions.append(f"Requests with an authorization scheme MinIO does not support are arriving now (about "
                       f"{failures:,.1f} per minute): find their source in MinIO's audit log or the ingress logs, "
                       "and block it there if nobody owns it.")
    if not isinstance(facts.users, ClientError):
        actions.append(spans("Review the users above: disable accounts nobody owns (",
                             code(f"/minio security {tenant} disable-user <name>"), ") and revoke keys nobody "
                             "uses or older than your rotation policy (", code(f"/minio security {tenant} users"),
                             " lists them; ", code(f"/minio security {tenant} revoke-key <access key>"), ")."))
    if not actions:
        actions.append(spans("Fix what kept the checks above from running, then ",
                             code(f"/minio incident security {tenant}"), " again."))
    return actions


def evaluate_security(facts: SecurityFacts, tenant: str) -> Diagnosis:
    """Default credentials, refused authorization schemes now, users, anonymous buckets and certificate expiry."""
    credentials, defaults = credentials_section(facts)
    auth, failures = auth_section(facts.auth)
    public, open_buckets = public_section(facts.public)
    certificates, expiring = certificates_section(facts.certificates)
    users = users_section(facts.users, tenant, facts)
    sections = [credentials, auth, users, public, certificates]
    actions = security_actions(tenant, facts, defaults, expiring, open_buckets, failures)
    return Diagnosis(sections, actions, sensitive={users.title: Sensitive.IAM})
