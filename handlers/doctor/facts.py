"""What the doctor asks, all at once: Slack, each cluster's API server, each tenant's MinIO, the store, the Lease.

ONE fan-out with ONE deadline (the report deadline) over every question; each
answer is its value or the ClientError that explains its absence. Nothing is
changed anywhere: Kubernetes access is asked with SelfSubjectAccessReviews,
MinIO with ``accountinfo`` (reachability, credentials, the user's effective
policy), the store by reading its schema version (never migrating), and the
Lease by reading it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from bot.clients.errors import ClientError
from bot.clients.fanout import fan_out
from bot.clients.lease import LeaseRecord, LeaseUnavailable, lease_namespace
from bot.clients.minio_models import AccountInfo
from bot.clients.slack import ChannelMembership, SlackIdentity
from bot.config import TenantConfig
from bot.runtime import Runtime
from bot.store.errors import StoreError
from handlers.doctor.evaluate import Access, channels_to_check, groups_to_check, required_access

MAX_IN_FLIGHT = 32


@dataclass(frozen=True)
class Schema:
    """The store's recorded schema versions and the ones this code knows."""

    backend: str
    applied: list[int]
    known: list[int]


@dataclass(frozen=True)
class LeaseState:
    """The leader-election Lease as read (``record`` None: it does not exist)."""

    namespace: str
    name: str
    lease_seconds: int
    record: LeaseRecord | None


@dataclass
class DoctorFacts:
    """Every answer, by question."""

    now: datetime
    slack: SlackIdentity | ClientError | None  # None: no bot token to ask with
    channels: dict[str, ChannelMembership | ClientError] = field(default_factory=dict)
    groups: dict[str, int | ClientError] = field(default_factory=dict)
    access: dict[str, dict[Access, bool | ClientError]] = field(default_factory=dict)  # per cluster
    minio: dict[str, AccountInfo | ClientError] = field(default_factory=dict)  # per tenant name
    tenants: list[TenantConfig] = field(default_factory=list)
    store: Schema | ClientError | None = None
    lease: LeaseState | ClientError | None = None  # None: no leader election configured


def gather(runtime: Runtime) -> DoctorFacts:
    """Ask every question in one fan-out under the report deadline."""
    config = runtime.config
    calls: dict[str, Callable[[], Any]] = {}
    if runtime.slack is not None:
        calls["slack"] = runtime.slack.identity
        for channel in channels_to_check(config):
            calls[f"channel:{channel}"] = partial(runtime.slack.channel, channel)
        for group in groups_to_check(config):
            calls[f"group:{group}"] = partial(runtime.slack.group_size, group)
    bot_ns = lease_namespace(config.leader_election.namespace if config.leader_election else None, runtime.environ)
    wanted: dict[str, list[Access]] = {c.name: required_access(config, c, bot_ns) for c in config.clusters}
    for cluster, accesses in wanted.items():
        for i, access in enumerate(accesses):
            calls[f"access:{cluster}:{i}"] = partial(_may, runtime, cluster, access)
    tenants = list(config.tenants)  # configured ones: discovery would be a call outside the fan-out
    for tenant in tenants:
        calls[f"minio:{tenant.name}"] = partial(_account, runtime, tenant)
    calls["store"] = partial(_schema, runtime)
    if config.leader_election is not None:
        calls["lease"] = partial(_lease, runtime)
    deadline = config.timeouts.report_deadline
    answers = fan_out(calls, deadline_s=deadline, max_workers=MAX_IN_FLIGHT)
    return DoctorFacts(
        now=runtime.clock(),
        slack=answers.get("slack") if runtime.slack is not None else None,
        channels={k.split(":", 1)[1]: v for k, v in answers.items() if k.startswith("channel:")},
        groups={k.split(":", 1)[1]: v for k, v in answers.items() if k.startswith("group:")},
        access={c: {a: answers[f"access:{c}:{i}"] for i, a in enumerate(accesses)} for c, accesses in wanted.items()},
        minio={t.name: answers[f"minio:{t.name}"] for t in tenants},
        tenants=tenants,
        store=answers["store"],
        lease=answers.get("lease"),
    )


def _may(runtime: Runtime, cluster: str, access: Access) -> bool:
    return runtime.kube(cluster).access_review(
        access.verb, access.group, access.resource, access.subresource, access.namespace or None, access.name or None
    )


def _account(runtime: Runtime, tenant: TenantConfig) -> AccountInfo:
    return runtime.minio(tenant).account_info()


def _schema(runtime: Runtime) -> Schema:
    """The store's schema versions, read on a connection of its own (the doctor never migrates)."""
    from bot.store import Store

    try:
        store = Store(runtime.store_url)
        try:
            applied, known = store.schema_versions()
            return Schema(backend=store.backend, applied=applied, known=known)
        finally:
            store.close()
    except StoreError as exc:
        raise ClientError("unreachable", "the store", str(exc)) from None


def _lease(runtime: Runtime) -> LeaseState:
    election = runtime.config.leader_election
    assert election is not None
    lease = runtime.leader_lease()
    try:
        record = lease.get(timeout=runtime.timeouts.connect + runtime.timeouts.read)
    except LeaseUnavailable as exc:
        raise ClientError("unreachable", f"Lease {lease.namespace}/{lease.name}", str(exc)) from None
    return LeaseState(namespace=lease.namespace, name=lease.name, lease_seconds=election.lease_seconds,
                      record=record)
