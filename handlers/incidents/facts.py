"""The client calls of the incident diagnostics: named facts, gathered in parallel under one deadline.

A diagnostic names the facts it needs (``NEEDS`` in its module); :func:`gather`
calls each needed fact once, also when several diagnostics need it (the
evidence of a declared incident). Facts that depend on another fact (pod logs
on the pods, per-bucket settings on the bucket list, certificates and the root
credentials on the Tenant, the access keys of the users a security finding names
on the user list) form a second stage under the same deadline: one
fan-out per stage, never one inside another. A fact that could not be gathered
is its ClientError; a Kubernetes fact of a static tenant is absent.

Nothing here lists objects to measure anything (sizes come from the scanner's
data-usage result), and only yes/no answers about credentials leave this module.

MinIO's rejected-request counters count from process start, so only a rate says
anything about now: the first stage takes one sample, the second stage another
(:data:`AUTH_SAMPLE_S` later at most, within the deadline), or, where the tenant
has Prometheus, its ``rate()`` is read instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from bot.clients.errors import ClientError, CredentialsUnavailable, PerNodeUnavailable
from bot.clients.fanout import fan_out
from bot.clients.kube import KubeClient
from bot.clients.kube_models import TenantInfo
from bot.clients.minio_models import REJECTION_METRICS, BackupFreshness, BucketInfo, UserInfo
from bot.clients.prometheus import PrometheusClient
from bot.config import TenantConfig
from bot.redact import register_secret
from bot.runtime import Runtime, parse_config_env
from handlers.capacity.history import prometheus_token
from handlers.health import backup_tenant
from handlers.incidents.model import AuthRejectionRate, Gathered, RejectionSample
from handlers.incidents.pods import log_targets
from handlers.security.buttons import MAX_RESPONSE_USERS
from handlers.security.evaluate import response_candidates

EVENTS_WINDOW = timedelta(hours=1)
LOG_TAIL_LINES = 20
MAX_BUCKETS = 100  # per-bucket S3 calls per diagnosis; more buckets are reported as unchecked
DEFAULT_CREDENTIAL = "minioadmin"  # MinIO's documented default root user and password
# MinIO caches its HTTP metrics (the rejected-request counters among them) for 10 s: two samples
# further apart than that always see a refresh between them. Shorter when the deadline says so.
AUTH_SAMPLE_S = 11.0
SECOND_SAMPLE_RESERVE_S = 1.0  # kept back from the deadline for the second sample itself
PROMETHEUS_RATE_WINDOW = timedelta(minutes=5)

Calls = dict[str, Callable[[], Any]]

# Second-stage facts and the first-stage fact each one needs.
_DEPENDS_ON = {
    "logs": "pods",
    "public": "buckets",
    "protection": "buckets",
    "root_default": "tenant",
    "certificates": "tenant",
    "auth_rate": "auth_first",
    "user_keys": "users",
}


def time_left(until: float) -> float:
    """Seconds until ``until`` (monotonic), never less than a sliver so a late call still gets a chance."""
    return max(0.05, until - time.monotonic())


def _run(calls: Calls, until: float) -> dict[str, Any]:
    return fan_out(calls, deadline_s=time_left(until), max_workers=max(1, len(calls)))


def gather(
    runtime: Runtime, tenant: TenantConfig, needs: Collection[str], until: float, extra: Calls | None = None
) -> Gathered:
    """Every fact in ``needs`` (plus the ``extra`` calls, e.g. another capability's check), by ``until``."""
    first_needs = {_DEPENDS_ON.get(name, name) for name in needs}
    known: dict[str, Any] = {}
    calls = {**_first_stage(runtime, tenant, first_needs, known), **(extra or {})}
    got = {**known, **_run(calls, until)}
    second = _second_stage(runtime, tenant, set(needs) & _DEPENDS_ON.keys(), got, until)
    if second:
        got.update(_run(second, until))
    return Gathered(got)


def _first_stage(runtime: Runtime, tenant: TenantConfig, needs: set[str], known: dict[str, Any]) -> Calls:
    """The calls that need nothing gathered before them; ``known`` gets facts settled without a call."""
    minio = partial(runtime.minio, tenant)
    catalogue: Calls = {
        "info": lambda: minio().server_info(),
        "usage": lambda: minio().data_usage(),
        "write_quorum": lambda: minio().cluster_health(),
        "read_quorum": lambda: minio().cluster_health(read=True),
        "heal": lambda: minio().heal_status(),
        "canary": lambda: minio().canary(tenant.probe.bucket),
        "locks": lambda: minio().top_locks(),
        "auth_first": partial(first_rejection_sample, runtime, tenant),
        "users": lambda: minio().list_users(),
        "buckets": lambda: minio().list_buckets(),
        "default_credentials": partial(uses_default_credentials, runtime, tenant),
    }
    if tenant.backup is not None:
        catalogue["backup"] = partial(backup_freshness, runtime, tenant)
    if tenant.kubernetes is not None:
        catalogue.update(_kubernetes_calls(runtime, tenant))
    calls = {name: call for name, call in catalogue.items() if name in needs}
    if "probes" in needs:
        calls.update(liveness_probes(runtime, tenant, known))
    return calls


def _kubernetes_calls(runtime: Runtime, tenant: TenantConfig) -> Calls:
    assert tenant.kubernetes is not None  # only asked for Kubernetes tenants
    namespace, name = tenant.kubernetes.namespace, tenant.tenant_name

    def kube() -> KubeClient:
        client = runtime.kube_for(tenant)  # inside the call: a cluster that cannot be reached is that fact's error
        assert client is not None
        return client

    return {
        "pods": lambda: kube().list_pods(namespace, name),
        "events": lambda: kube().list_events(namespace, warning_only=True, since=EVENTS_WINDOW),
        "pvcs": lambda: kube().list_pvcs(namespace, name),
        "storage_classes": lambda: kube().list_storage_classes(),
        "services": lambda: kube().list_services(namespace),
        "policies": lambda: kube().list_network_policies(namespace),
        "pod_metrics": lambda: kube().pod_metrics(namespace, name),
        "tenant": lambda: kube().get_tenant(namespace, name),
    }


def liveness_probes(runtime: Runtime, tenant: TenantConfig, known: dict[str, Any]) -> Calls:
    """A ``probe:<node>`` liveness call per MinIO node; ``known`` gets the node ``endpoints``.

    Behind a load balancer no answer belongs to a node: no probe is sent, and ``per_node`` says why.
    When the client cannot be built, ``probe:0`` carries that error.
    """
    try:
        client = runtime.minio(tenant)
    except ClientError as exc:
        known.update({"endpoints": [], "probe:0": exc})
        return {}
    known["endpoints"] = list(client.endpoints)
    if not client.per_node:
        known["per_node"] = PerNodeUnavailable.asked("liveness of each node")
        return {}
    return {f"probe:{n}": partial(client.liveness, n) for n in client.nodes}


def _second_stage(
    runtime: Runtime, tenant: TenantConfig, needs: set[str], got: dict[str, Any], until: float
) -> Calls:
    """The calls that need a first-stage fact. A need whose fact failed gets that error (it says why)."""
    for need in needs:
        if isinstance(got.get(_DEPENDS_ON[need]), ClientError):
            got[need] = got[_DEPENDS_ON[need]]
    calls: Calls = {}
    first = got.get("auth_first")
    if "auth_rate" in needs and not isinstance(first, ClientError):
        calls["auth_rate"] = partial(auth_rejection_rate, runtime, tenant, first, until)
    pods, buckets, info = got.get("pods"), got.get("buckets"), got.get("tenant")
    if isinstance(pods, list) or isinstance(info, TenantInfo):
        kube = runtime.kube_for(tenant)  # the first stage just used it: built and cached
        assert kube is not None
        if "logs" in needs and isinstance(pods, list):
            calls.update({f"log:{p.name}": partial(kube.pod_logs, p.namespace, p.name, LOG_TAIL_LINES)
                          for p in log_targets(pods)})
        if "root_default" in needs and isinstance(info, TenantInfo):
            calls["root_default"] = partial(tenant_root_is_default, kube, info)
        if "certificates" in needs and isinstance(info, TenantInfo):
            calls.update({f"cert:{s}": partial(kube.tls_certificate, info.namespace, s) for s in tls_secrets(info)})
    if isinstance(buckets, list):
        calls.update(_bucket_calls(runtime, tenant, needs, _names(buckets)))
    users = got.get("users")
    if "user_keys" in needs and isinstance(users, list):
        calls.update(_user_key_calls(runtime, tenant, users, got))
    return calls


def _user_key_calls(runtime: Runtime, tenant: TenantConfig, users: list[UserInfo], got: dict[str, Any]) -> Calls:
    """``keys:<user>``: the service accounts of the users a security finding offers responses for (bounded);
    ``got`` gets ``bot_user``, the access key the bot signs with."""
    try:
        client = runtime.minio(tenant)
    except ClientError as exc:
        got["bot_user"] = exc
        return {}
    got["bot_user"] = client.signing_user()
    picked = response_candidates(users, client.signing_user(), MAX_RESPONSE_USERS)
    return {f"keys:{u.access_key}": partial(client.list_service_accounts, u.access_key) for u in picked}


def _names(buckets: Iterable[BucketInfo]) -> list[str]:
    return [b.name for b in buckets][:MAX_BUCKETS]


def _bucket_calls(runtime: Runtime, tenant: TenantConfig, needs: set[str], names: list[str]) -> Calls:
    try:
        client = runtime.minio(tenant)
    except ClientError:
        return {}  # the bucket list came from this client a moment ago; a failure now leaves buckets unchecked
    calls: Calls = {}
    for name in names:
        if "public" in needs:
            calls[f"public:{name}"] = partial(client.bucket_policy_public, name)
        if "protection" in needs:
            calls[f"versioning:{name}"] = partial(client.bucket_versioning, name)
            calls[f"lock:{name}"] = partial(client.object_lock, name)
            calls[f"replication:{name}"] = partial(client.bucket_replication, name)
    return calls


def first_rejection_sample(runtime: Runtime, tenant: TenantConfig) -> RejectionSample | None:
    """MinIO's rejected-request counters now; None where the tenant's Prometheus keeps their history."""
    if tenant.prometheus_url:
        return None
    counters = runtime.minio(tenant).request_rejections()
    return RejectionSample(counters, time.monotonic())


def auth_rejection_rate(
    runtime: Runtime, tenant: TenantConfig, first: RejectionSample | None, until: float
) -> AuthRejectionRate:
    """Requests refused for an unsupported authorization scheme, per minute: from Prometheus when the
    tenant has it, else from ``first`` and a second sample taken as late as the deadline allows."""
    if first is None:
        assert tenant.prometheus_url is not None  # no first sample only where Prometheus is configured
        client = PrometheusClient(tenant.prometheus_url, runtime.timeouts, token=prometheus_token(runtime, tenant))
        return prometheus_auth_rate(client, tenant.prometheus_selector, runtime.clock())
    second_at = min(first.at + AUTH_SAMPLE_S, until - SECOND_SAMPLE_RESERVE_S)
    time.sleep(max(0.0, second_at - time.monotonic()))
    second = runtime.minio(tenant).request_rejections()
    window_s = max(time.monotonic() - first.at, 0.001)
    increase = second.since(first.counters).auth
    per_minute = None if increase is None else increase * 60 / window_s
    return AuthRejectionRate(per_minute, window_s, "two samples of MinIO's counters", from_samples=True)


def prometheus_auth_rate(client: PrometheusClient, selector: str, now: datetime) -> AuthRejectionRate:
    """The auth-rejection rate over the last five minutes, summed over the tenant's servers (None: no series)."""
    window = PROMETHEUS_RATE_WINDOW
    query = f"sum(rate({REJECTION_METRICS['auth']}{{{selector}}}[{int(window.total_seconds())}s]))"
    values = client.query_range(query, now - timedelta(minutes=1), now, timedelta(minutes=1))
    per_second = values[max(values)] if values else None
    return AuthRejectionRate(None if per_second is None else per_second * 60, window.total_seconds(),
                             "Prometheus rate()", from_samples=False)


def uses_default_credentials(runtime: Runtime, tenant: TenantConfig) -> bool | CredentialsUnavailable:
    """Whether the bot signs in with MinIO's default root keys; CredentialsUnavailable when it has no keys."""
    try:
        access, secret = runtime.credentials(tenant)
    except CredentialsUnavailable as exc:
        return exc  # not a failed check: the answer is that the bot has no keys (nothing was sent)
    return access == DEFAULT_CREDENTIAL and secret == DEFAULT_CREDENTIAL


def tenant_root_is_default(kube: KubeClient, info: TenantInfo) -> bool | None:
    """Whether the Tenant's configuration Secret keeps the default root user and password (None: no Secret)."""
    configuration = info.raw_spec.get("configuration")
    secret = configuration.get("name") if isinstance(configuration, dict) else None
    if not secret:
        return None
    data = kube.read_secret(info.namespace, str(secret))
    for value in data.values():
        register_secret(value)
    env = parse_config_env(data.get("config.env", ""))
    # Only a yes/no leaves this function; the values are never kept.
    return env.get("MINIO_ROOT_USER") == DEFAULT_CREDENTIAL and env.get("MINIO_ROOT_PASSWORD") == DEFAULT_CREDENTIAL


def tls_secrets(info: TenantInfo) -> list[str]:
    """The Secrets holding the Tenant's certificates: its external ones, and `<tenant>-tls` unless auto-cert is off."""
    spec = info.raw_spec
    external = [str(e["name"]) for e in spec.get("externalCertSecret") or [] if isinstance(e, dict) and e.get("name")]
    auto = [f"{info.name}-tls"] if spec.get("requestAutoCert", True) is not False else []
    return list(dict.fromkeys(external + auto))


def backup_freshness(runtime: Runtime, tenant: TenantConfig) -> BackupFreshness:
    """The age of the newest backup under the tenant's backup target."""
    target = tenant.backup
    assert target is not None  # only gathered for tenants with a backup target
    client = runtime.minio(tenant if target.endpoint is None else backup_tenant(tenant, target))
    return client.backup_freshness(target.bucket, target.prefix)
