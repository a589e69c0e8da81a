"""The runtime: configuration, access rules and lazily built clients for each tenant.

Handlers reach MinIO and Kubernetes only through here, so credentials are
resolved in one place (environment or a Kubernetes Secret) and registered with
the redactor the moment they are read.
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

from pydantic import SecretStr

from bot.access import Access, GroupMembers, no_groups
from bot.clients.errors import ClientError, KubeError, MinioError
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

if TYPE_CHECKING:
    from bot.clients.kube import KubeClient
    from bot.clients.minio import MinioClient
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
    ):
        self.config = config
        # An open incident's channel sees that incident's tenant (incident channels are not in the config).
        self.access = Access(config, groups, linked=self._incident_tenants)
        self.clock = clock
        self.metrics = metrics or BotMetrics()
        self.environ = environ if environ is not None else dict(os.environ)
        self.timeouts = Timeouts(connect=config.timeouts.connect, read=config.timeouts.read)
        self._lock = threading.Lock()
        self._minio: dict[str, MinioClient] = {}
        self._kube: dict[str, KubeClient] = {}
        self._discovered: tuple[float, list[TenantConfig]] = (0.0, [])
        self.discovery_errors: dict[str, str] = {}
        self._store: Store | None = None
        self._store_lock = threading.Lock()

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

    def _incident_tenants(self, channel: str) -> frozenset[str]:
        """The tenant of the open incident that owns `channel`, if any."""
        incident = self.store.incidents.open_in_channel(channel)
        return frozenset([incident.tenant]) if incident is not None and incident.tenant else frozenset()

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

    def kube_for(self, tenant: TenantConfig) -> KubeClient | None:
        """The Kubernetes client of the tenant's cluster, or None for static-only tenants."""
        return self.kube(tenant.kubernetes.cluster) if tenant.kubernetes else None

    def minio(self, tenant: TenantConfig) -> MinioClient:
        """The MinIO client for a tenant (built once; credentials resolved on first use)."""
        from bot.clients.minio import MinioClient

        with self._lock:
            if tenant.name in self._minio:
                return self._minio[tenant.name]
        endpoints = tenant.endpoints or self._service_endpoints(tenant)
        access_key, secret_key = self.credentials(tenant)
        client = MinioClient(
            endpoints=endpoints,
            access_key=access_key,
            secret_key=SecretStr(secret_key),
            region=tenant.region,
            timeouts=self.timeouts,
            ca_file=tenant.ca_file,
        )
        with self._lock:
            self._minio.setdefault(tenant.name, client)
            return self._minio[tenant.name]

    def _service_endpoints(self, tenant: TenantConfig) -> list[str]:
        if tenant.kubernetes is None:
            raise MinioError("invalid", f"tenant {tenant.name}", "has neither endpoints nor a Kubernetes Tenant")
        cluster = self.config.cluster(tenant.kubernetes.cluster)
        template = cluster.minio_url if cluster else ClusterConfig.model_fields["minio_url"].default
        return [template.format(namespace=tenant.kubernetes.namespace, tenant=tenant.tenant_name)]

    def credentials(self, tenant: TenantConfig) -> tuple[str, str]:
        """(access key, secret key) for a tenant, from the environment or a Kubernetes Secret."""
        ref = tenant.credentials
        if ref is None:
            raise MinioError("auth", f"tenant {tenant.name}", "no credentials configured")
        if isinstance(ref, EnvCredentials):
            access, secret = self.environ.get(ref.access_key_env), self.environ.get(ref.secret_key_env)
            if not access or not secret:
                raise MinioError(
                    "auth",
                    f"tenant {tenant.name}",
                    f"environment variables {ref.access_key_env} / {ref.secret_key_env} are not set",
                )
        elif isinstance(ref, FileCredentials):
            try:
                access = Path(ref.access_key_file).read_text(encoding="utf-8").strip()
                secret = Path(ref.secret_key_file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise MinioError("auth", f"tenant {tenant.name}", f"cannot read key file ({exc.strerror})") from None
        else:
            access, secret = self._secret_credentials(tenant, ref)
        register_secret(secret)
        register_secret(access)
        return access, secret

    def _secret_credentials(self, tenant: TenantConfig, ref: SecretCredentials) -> tuple[str, str]:
        kube = self.kube_for(tenant)
        if kube is None or tenant.kubernetes is None:
            raise MinioError("auth", f"tenant {tenant.name}", "Secret credentials need a Kubernetes cluster")
        namespace = ref.namespace or tenant.kubernetes.namespace
        data = kube.read_secret(namespace, ref.secret)
        for value in data.values():
            register_secret(value)
        if ref.format == "config.env":
            env = parse_config_env(data.get("config.env", ""))
            access, secret = env.get("MINIO_ROOT_USER"), env.get("MINIO_ROOT_PASSWORD")
        else:
            access, secret = data.get(ref.access_key_key), data.get(ref.secret_key_key)
        if not access or not secret:
            raise MinioError("auth", f"tenant {tenant.name}", f"Secret {namespace}/{ref.secret} lacks the keys")
        return access, secret

    def close(self) -> None:
        """Release pooled connections."""
        with self._lock:
            clients = list(self._minio.values())
            self._minio.clear()
        if self._store is not None:
            self._store.close()
            self._store = None
        for client in clients:
            close = getattr(client, "close", None)
            if callable(close):
                close()
