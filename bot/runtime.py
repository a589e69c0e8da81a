"""The runtime: configuration, access rules and lazily built clients for each tenant.

Handlers reach MinIO and Kubernetes only through here, so credentials are
resolved in one place (environment, files or a Kubernetes Secret) and
registered with the redactor the moment they are read. Credentials are read
again after a short TTL and at once after the server rejects them, so a key
rotation needs no restart. A Kubernetes Tenant's MinIO is reached pod by pod
(see ``bot.clients.minio_addresses``); its pod list is re-read with discovery's TTL.
"""

from __future__ import annotations

import logging
import os
import shlex
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bot.access import NOT_LINKED, Access, ChannelLink, ChannelMembers, GroupMembers, no_groups
from bot.clients.errors import ClientError, CredentialsUnavailable, KubeError, MinioError
from bot.clients.minio_addresses import MinioAddresses, pod_addresses, service_addresses, static_addresses
from bot.clients.minio_credentials import CREDENTIALS_TTL_S, RefreshingCredentials
from bot.clients.timeouts import Timeouts
from bot.config import (
    ClusterConfig,
    Config,
    EnvCredentials,
    FileCredentials,
    KubernetesTenantRef,
    SecretCredentials,
    TenantConfig,
)
from bot.metrics import BotMetrics
from bot.redact import register_secret
from bot.report import code, join, mention, spans

if TYPE_CHECKING:
    from bot.approval_engine.executor import ChangeExecutor
    from bot.clients.alertmanager import AlertmanagerClient
    from bot.clients.kube import KubeClient
    from bot.clients.kube_models import TenantInfo
    from bot.clients.lease import KubeLeaseStore
    from bot.clients.minio import MinioClient
    from bot.clients.slack import SlackProbe
    from bot.store import Store

log = logging.getLogger("minio_chatops.runtime")

DISCOVERY_TTL_S = 30.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def _url_password(url: str) -> str | None:
    """The password in a database URL, if any (so the redactor knows it)."""
    from urllib.parse import urlsplit

    try:
        return urlsplit(url).password
    except ValueError:
        return None


def parse_config_env(text: str) -> dict[str, str]:
    """Parse the operator's `config.env` (`export KEY="value"` lines)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep:
            continue
        try:
            parts = shlex.split(value)
        except ValueError:
            parts = [value]
        values[key.strip()] = parts[0] if parts else ""
    return values


class Runtime:
    """Everything a handler needs besides its arguments."""

    def __init__(
        self,
        config: Config,
        groups: GroupMembers = no_groups,
        clock: Callable[[], datetime] = utcnow,
        environ: dict[str, str] | None = None,
        metrics: BotMetrics | None = None,
        channel_members: ChannelMembers | None = None,
        slack: SlackProbe | None = None,
        *,
        recovers: bool = True,
    ):
        self.config = config
        # Read-only questions about the Slack installation (the doctor); None without a bot token.
        self.slack = slack
        # False in the shell: it never closes or resumes executions that another process may still be running.
        self.recovers = recovers
        # An open incident's channel shows that incident's tenant to the people the bot let in (incident
        # channels are not in the config). `channel_members` (Slack) tells who else is in a private one;
        # without it (the shell) answers go to the caller's terminal only.
        self.channel_members = channel_members
        self.access = Access(config, groups, links=self._incident_link)
        self.clock = clock
        self.metrics = metrics or BotMetrics()
        self.environ = environ if environ is not None else dict(os.environ)
        self.timeouts = Timeouts(connect=config.timeouts.connect, read=config.timeouts.read)
        self._lock = threading.Lock()
        self._minio: dict[str, tuple[MinioAddresses, MinioClient]] = {}
        self._credentials: dict[str, RefreshingCredentials] = {}
        self._addresses: dict[str, tuple[float, MinioAddresses]] = {}  # Kubernetes tenants: (read at, pods)
        self.credentials_ttl_s = CREDENTIALS_TTL_S
        self._kube: dict[str, KubeClient] = {}
        self._alertmanager: AlertmanagerClient | None = None
        self._discovered: tuple[float, list[TenantConfig]] = (0.0, [])
        self.discovery_errors: dict[str, str] = {}
        self._store: Store | None = None
        self._store_lock = threading.Lock()
        self._executor: ChangeExecutor | None = None

    # ----- state ---------------------------------------------------------------------

    @property
    def store_url(self) -> str:
        """`MINIO_CHATOPS_STORE_URL` (a PostgreSQL URL carries a password) or the config's `store_url`."""
        url = self.environ.get("MINIO_CHATOPS_STORE_URL") or self.config.store_url
        register_secret(_url_password(url))
        return url

    @property
    def store(self) -> Store:
        """The state store, connected and migrated on first use (thread-safe)."""
        if self._store is not None:
            return self._store
        with self._store_lock:
            if self._store is None:
                from bot.store import Store

                store = Store(self.store_url)
                store.migrate()
                self._store = store
        return self._store

    @property
    def executor(self) -> ChangeExecutor:
        """Where approved changes run: threads of their own (``executions.workers``), leases kept in the store."""
        if self._executor is not None:
            return self._executor
        with self._store_lock:
            if self._executor is None:
                from bot.approval_engine.executor import ChangeExecutor

                settings = self.config.executions
                self._executor = ChangeExecutor(
                    lambda: self.store, self.clock, workers=settings.workers, lease_s=settings.lease_seconds,
                    on_held=self.metrics.executions.set,
                )
        return self._executor

    def _incident_link(self, channel: str, user: str) -> ChannelLink:
        """The tenant of the open incident that owns `channel`, for a person the bot let in.

        Never for someone who joined by themselves or was added from Slack itself. In a private channel,
        also only while everyone in it was let in by the bot: whatever is posted there, they all read.
        """
        incident = self.store.incidents.open_in_channel(channel)
        if incident is None or not incident.tenant:
            return NOT_LINKED
        allowed = self.store.incidents.member_ids(incident.id)
        if user not in allowed:
            return ChannelLink(refusal=spans(
                "Only the people the bot invited to this incident see its tenant here. A responder can bring you "
                "in with ", code(f"/minio incident invite {user}"), "."))
        if incident.is_private and self.channel_members is not None:
            strangers = sorted(self.channel_members(channel) - allowed)
            if strangers:
                return ChannelLink(admitted=True, refusal=spans(
                    "Not everyone here was invited through the bot (", join([spans(mention(u)) for u in strangers]),
                    "), so I show nothing about the tenant in this channel. A responder can bring them in with ",
                    code("/minio incident invite <member id>"), ", or remove them from the channel."))
        return ChannelLink(tenants=frozenset([incident.tenant]), admitted=True)

    # ----- tenants -----------------------------------------------------------------

    def tenants(self) -> list[TenantConfig]:
        """Configured tenants, then Tenants discovered in the configured clusters."""
        return [*self.config.tenants, *self._discover()]

    def find_tenant(self, name: str) -> TenantConfig | None:
        """The tenant called ``name`` (configured or discovered), whoever asks; access is checked elsewhere."""
        return next((t for t in self.tenants() if t.name == name), None)

    def _discover(self) -> list[TenantConfig]:
        stamp, cached = self._discovered
        if time.monotonic() - stamp < DISCOVERY_TTL_S:
            return cached
        found: list[TenantConfig] = []
        known = {
            (t.kubernetes.cluster, t.kubernetes.namespace, t.tenant_name) for t in self.config.tenants if t.kubernetes
        }
        names = {t.name for t in self.config.tenants}
        errors: dict[str, str] = {}
        for cluster in self.config.clusters:
            if not cluster.discover:
                continue
            try:
                infos = self.kube(cluster.name).list_tenants(cluster.namespaces)
            except ClientError as exc:
                errors[cluster.name] = str(exc)
                continue
            for info in infos:
                if (cluster.name, info.namespace, info.name) in known:
                    continue
                name = info.name if info.name not in names else f"{info.name}-{info.namespace}"[:63]
                names.add(name)
                found.append(self._discovered_tenant(cluster, name, info.namespace, info.name, info.raw_spec))
                if cluster.minio_url is None:
                    # The listing already holds each Tenant's pools: its pod addresses need no second read.
                    self._remember_pods(name, pod_addresses(info, cluster.pod_url))
        self.discovery_errors = errors
        self._discovered = (time.monotonic(), found)
        return found

    @staticmethod
    def _discovered_tenant(
        cluster: ClusterConfig, name: str, namespace: str, tenant: str, spec: dict[str, object]
    ) -> TenantConfig:
        configuration = spec.get("configuration")
        secret = configuration.get("name") if isinstance(configuration, dict) else None
        return TenantConfig(
            name=name,
            kubernetes=KubernetesTenantRef(cluster=cluster.name, namespace=namespace, tenant=tenant),
            credentials=SecretCredentials(secret=str(secret), namespace=namespace) if secret else None,
            channels=cluster.channels,
        )

    # ----- clients -------------------------------------------------------------------

    def kube(self, cluster: str) -> KubeClient:
        """The Kubernetes client for a configured cluster (built once)."""
        from bot.clients.kube import KubeClient

        with self._lock:
            if cluster in self._kube:
                return self._kube[cluster]
        settings = self.config.cluster(cluster)
        if settings is None:
            raise KubeError("invalid", f"Kubernetes cluster {cluster}", "not configured")
        if settings.in_cluster:
            client = KubeClient.in_cluster(self.timeouts)
        else:
            client = KubeClient.from_kubeconfig(settings.kubeconfig, settings.context, self.timeouts)
        with self._lock:
            self._kube.setdefault(cluster, client)
            return self._kube[cluster]

    def alertmanager(self) -> AlertmanagerClient:
        """The client for `alertmanager.url` (built once); AlertmanagerError when none is configured."""
        from bot.clients.alertmanager import AlertmanagerClient, AlertmanagerError

        settings = self.config.alertmanager
        if settings.url is None:
            raise AlertmanagerError("invalid", "Alertmanager", "no `alertmanager.url` is configured", not_sent=True)
        with self._lock:
            if self._alertmanager is None:
                token = self.environ.get(settings.token_env) if settings.token_env else None
                self._alertmanager = AlertmanagerClient(settings.url, self.timeouts, token=token or None)
            return self._alertmanager

    def leader_lease(self) -> KubeLeaseStore:
        """The leader-election Lease (config ``leader_election``, which must be set) on its cluster."""
        from bot.clients.lease import KubeLeaseStore, lease_namespace

        election = self.config.leader_election
        assert election is not None, "no leader_election configured"
        cluster = election.cluster or self.config.clusters[0].name
        namespace = lease_namespace(election.namespace, self.environ)
        return KubeLeaseStore(self.kube(cluster).api_client, namespace, election.name)

    def kube_for(self, tenant: TenantConfig) -> KubeClient | None:
        """The Kubernetes client of the tenant's cluster, or None for static-only tenants."""
        return self.kube(tenant.kubernetes.cluster) if tenant.kubernetes else None

    def minio(self, tenant: TenantConfig) -> MinioClient:
        """The MinIO client for a tenant: built once per set of addresses; keys are read when first needed.

        Static tenants use their `endpoints` (per node or load-balanced, see
        `endpoints_mode`); Kubernetes tenants are reached pod by pod (or through
        the cluster's `minio_url`). A missing credential does not stop the
        client: unsigned probes still run, signed calls raise CredentialsUnavailable.
        """
        from bot.clients.minio import MinioClient

        addresses = self.minio_addresses(tenant)
        with self._lock:
            built = self._minio.get(tenant.name)
            if built is not None and built[0] == addresses:
                return built[1]
        client = MinioClient(
            endpoints=list(addresses.endpoints),
            region=tenant.region,
            timeouts=self.timeouts,
            ca_file=tenant.ca_file,
            credentials=self._credential_source(tenant),
            per_node=addresses.per_node,
            node_names=addresses.node_names,
            resolve=self.config.resolve or None,
        )
        with self._lock:
            built = self._minio.get(tenant.name)
            if built is not None and built[0] == addresses:
                return built[1]
            # A client for older addresses (a pool was added) is dropped, not closed: calls may still use it.
            self._minio[tenant.name] = (addresses, client)
            return client

    def minio_addresses(self, tenant: TenantConfig) -> MinioAddresses:
        """The endpoints the tenant's MinIO client uses, and whether each one is a single node."""
        if tenant.endpoints:
            return static_addresses(tenant.endpoints, tenant.per_node_endpoints)
        if tenant.kubernetes is None:
            raise MinioError("invalid", f"tenant {tenant.name}", "has neither endpoints nor a Kubernetes Tenant")
        cluster = self.config.cluster(tenant.kubernetes.cluster) or ClusterConfig(name=tenant.kubernetes.cluster)
        if cluster.minio_url is not None:
            return service_addresses(tenant.kubernetes.namespace, tenant.tenant_name, cluster.minio_url)
        with self._lock:
            known = self._addresses.get(tenant.name)
        if known is not None and time.monotonic() - known[0] < DISCOVERY_TTL_S:
            return known[1]
        try:
            info = self.kube(cluster.name).get_tenant(tenant.kubernetes.namespace, tenant.tenant_name)
        except ClientError:
            if known is not None:
                return known[1]  # the pods did not move because the API server is unreachable
            raise
        addresses = pod_addresses(info, cluster.pod_url)
        if not addresses.endpoints:
            raise MinioError(
                "invalid", f"tenant {tenant.name}", f"the Tenant {info.namespace}/{info.name} has no pools"
            )
        self._remember_pods(tenant.name, addresses)
        return addresses

    def _remember_pods(self, tenant: str, addresses: MinioAddresses) -> None:
        if addresses.endpoints:
            with self._lock:
                self._addresses[tenant] = (time.monotonic(), addresses)

    def _credential_source(self, tenant: TenantConfig) -> RefreshingCredentials:
        with self._lock:
            source = self._credentials.get(tenant.name)
            if source is None:
                source = RefreshingCredentials(lambda: self._read_credentials(tenant), ttl_s=self.credentials_ttl_s)
                self._credentials[tenant.name] = source
            return source

    def credentials(self, tenant: TenantConfig) -> tuple[str, str]:
        """(access key, secret key) for a tenant, re-read after a short TTL.

        Raises CredentialsUnavailable ("no credentials configured/readable for
        tenant X (reason)") when none can be had: distinct from a rejection.
        """
        return self._credential_source(tenant).keys()

    def _read_credentials(self, tenant: TenantConfig) -> tuple[str, str]:
        """Read the keys from their source now: the environment, files or a Kubernetes Secret."""
        ref = tenant.credentials
        if ref is None:
            ref = self._tenant_configuration_secret(tenant)
        if isinstance(ref, EnvCredentials):
            access, secret = self.environ.get(ref.access_key_env), self.environ.get(ref.secret_key_env)
            if not access or not secret:
                raise CredentialsUnavailable.for_tenant(
                    tenant.name, f"environment variables {ref.access_key_env} / {ref.secret_key_env} are not set"
                )
        elif isinstance(ref, FileCredentials):
            try:
                access = Path(ref.access_key_file).read_text(encoding="utf-8").strip()
                secret = Path(ref.secret_key_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise CredentialsUnavailable.for_tenant(tenant.name, f"cannot read key file ({exc.strerror})") from None
            if not access or not secret:
                raise CredentialsUnavailable.for_tenant(tenant.name, "a key file is empty")
        else:
            access, secret = self._secret_credentials(tenant, ref)
        register_secret(secret)
        register_secret(access)
        return access, secret

    def _tenant_configuration_secret(self, tenant: TenantConfig) -> SecretCredentials:
        """No `credentials` configured: the operator's credentials Secret named by the Tenant (config.env)."""
        if tenant.kubernetes is None:
            raise CredentialsUnavailable.for_tenant(tenant.name, "the config names no credentials")
        namespace, name = tenant.kubernetes.namespace, tenant.tenant_name
        try:
            info = self.kube(tenant.kubernetes.cluster).get_tenant(namespace, name)
        except ClientError as exc:
            reason = f"cannot read Tenant {namespace}/{name}: {exc}"
            raise CredentialsUnavailable.for_tenant(tenant.name, reason) from None
        return self._secret_ref_of(tenant.name, info)

    @staticmethod
    def _secret_ref_of(tenant: str, info: TenantInfo) -> SecretCredentials:
        configuration = info.raw_spec.get("configuration")
        secret = configuration.get("name") if isinstance(configuration, dict) else None
        if not secret:
            raise CredentialsUnavailable.for_tenant(
                tenant,
                f"no credentials in the config and Tenant {info.namespace}/{info.name} "
                "names no spec.configuration Secret",
            )
        return SecretCredentials(secret=str(secret), namespace=info.namespace)

    def _secret_credentials(self, tenant: TenantConfig, ref: SecretCredentials) -> tuple[str, str]:
        if tenant.kubernetes is None:
            raise CredentialsUnavailable.for_tenant(tenant.name, "Secret credentials need a Kubernetes cluster")
        namespace = ref.namespace or tenant.kubernetes.namespace
        try:
            data = self.kube(tenant.kubernetes.cluster).read_secret(namespace, ref.secret)
        except ClientError as exc:
            raise CredentialsUnavailable.for_tenant(tenant.name, f"Secret {namespace}/{ref.secret}: {exc}") from None
        for value in data.values():
            register_secret(value)
        if ref.format == "config.env":
            env = parse_config_env(data.get("config.env", ""))
            access, secret = env.get("MINIO_ROOT_USER"), env.get("MINIO_ROOT_PASSWORD")
            wanted = "config.env with MINIO_ROOT_USER and MINIO_ROOT_PASSWORD"
        else:
            access, secret = data.get(ref.access_key_key), data.get(ref.secret_key_key)
            wanted = f"keys {ref.access_key_key} and {ref.secret_key_key}"
        if not access or not secret:
            raise CredentialsUnavailable.for_tenant(tenant.name, f"Secret {namespace}/{ref.secret} lacks {wanted}")
        return access, secret

    def close(self) -> None:
        """Hand running changes over (their leases end now), then release pooled connections."""
        if self._executor is not None:
            self._executor.shutdown(release=True)
            self._executor = None
        with self._lock:
            clients = [client for _addresses, client in self._minio.values()]
            self._minio.clear()
        if self._store is not None:
            self._store.close()
            self._store = None
        for client in clients:
            close = getattr(client, "close", None)
            if callable(close):
                close()
