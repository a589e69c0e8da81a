"""Build a realistic MinIO tenant world through the Kubernetes API.

Nothing runs controllers on the test control plane, so this module plays the
operator, the StatefulSet controller, the kubelet and the volume binder: it
writes objects and their status (through the status subresources) to describe
the situation a test needs. Mutators below turn a healthy world into the
failure under test.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from sandbox.kube.controlplane import raw_request

DEFAULT_IMAGE = "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z"
OPERATOR_IMAGE = "quay.io/minio/operator:v7.1.1"
OPERATOR_NAMESPACE = "minio-operator"
TENANT_GROUP = "minio.min.io"
TENANT_VERSION = "v2"
TENANT_PLURAL = "tenants"
TENANT_LABEL = "v1.min.io/tenant"
POOL_LABEL = "v1.min.io/pool"
EXPANDABLE_STORAGE_CLASS = "standard"
FIXED_STORAGE_CLASS = "fixed"
MINIO_CONTAINER = "minio"
# A path inside the MinIO container (as the operator sets it), not on this host.
MINIO_ARGS = ["server", "--certs-dir", "/tmp/certs", "--console-address", ":9443"]  # noqa: S108
_MERGE = "application/merge-patch+json"

_UNITS = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}


def quantity_bytes(quantity: str) -> int:
    """Bytes in a Kubernetes storage quantity such as "1Ti" or "500G"."""
    match = re.fullmatch(r"(\d+)([kMGTPE]i?|Ki)?", quantity.strip())
    if not match:
        raise ValueError(f"unsupported quantity {quantity!r}")
    return int(match.group(1)) * _UNITS[match.group(2) or ""]


def erasure_set_size(servers: int, drives_per_server: int) -> int:
    """Largest set size in 2..16 dividing the pool's drives and symmetric with its node count."""
    total = servers * drives_per_server
    for size in range(16, 1, -1):
        if total % size == 0 and (size % servers == 0 or servers % size == 0):
            return size
    return total


def default_parity(set_size: int) -> int:
    """Default standard-class parity for an erasure set size."""
    if set_size >= 8:
        return 4
    return {1: 0, 2: 1, 3: 1, 4: 2, 5: 2, 6: 3, 7: 3}[set_size]


def write_quorum(servers: int, drives_per_server: int) -> int:
    """Write quorum of a pool's erasure sets at default parity (data drives, plus one when data == parity)."""
    size = erasure_set_size(servers, drives_per_server)
    data = size - default_parity(size)
    return data + 1 if data == default_parity(size) else data


def _now(offset_s: float = 0) -> str:
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset_s)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ignore_conflict(create: Callable[[], Any]) -> bool:
    """Run ``create``; return False instead of raising when the object already exists."""
    try:
        create()
    except ApiException as exc:
        if exc.status == 409:
            return False
        raise
    return True


@dataclass(frozen=True)
class PoolSpec:
    """One Tenant pool: ``servers`` pods, each with ``volumes_per_server`` PVCs of ``size``."""

    name: str
    servers: int = 4
    volumes_per_server: int = 2
    size: str = "1Ti"
    storage_class: str = EXPANDABLE_STORAGE_CLASS

    @property
    def drives(self) -> int:
        """Drives in the pool."""
        return self.servers * self.volumes_per_server

    def tenant_pool(self) -> dict[str, Any]:
        """The pool as it appears in ``Tenant.spec.pools``."""
        return {
            "name": self.name,
            "servers": self.servers,
            "volumesPerServer": self.volumes_per_server,
            "volumeClaimTemplate": {
                "metadata": {"name": "data"},
                "spec": {
                    "storageClassName": self.storage_class,
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": self.size}},
                },
            },
        }


def make_self_signed_cert(common_name: str, hostnames: list[str], days: float) -> tuple[bytes, bytes]:
    """A real self-signed certificate (PEM cert, PEM key) expiring ``days`` from now (negative = expired)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    not_after = now + dt.timedelta(days=days)
    # Keep the validity window non-empty even for an already-expired cert.
    not_before = min(now, not_after) - dt.timedelta(days=1)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(h) for h in hostnames]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@dataclass
class TenantWorld:
    """A healthy MinIO tenant and its surroundings; ``apply()`` writes it to the cluster."""

    namespace: str = "minio-demo"
    name: str = "demo"
    pools: list[PoolSpec] = field(default_factory=lambda: [PoolSpec("pool-0")])
    image: str = DEFAULT_IMAGE
    cert_days: float = 90.0
    root_user: str = "minio-admin"
    root_password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    with_operator: bool = True
    with_network_policy: bool = True

    # -- names, as the operator would choose them -------------------------
    @property
    def tls_secret(self) -> str:
        """Secret holding the tenant's TLS certificate (kubernetes.io/tls)."""
        return f"{self.name}-tls"

    @property
    def config_secret(self) -> str:
        """Secret holding ``config.env`` with the root credentials (spec.configuration)."""
        return f"{self.name}-env-configuration"

    @property
    def network_policy(self) -> str:
        """NetworkPolicy restricting traffic to the tenant's pods."""
        return f"{self.name}-minio"

    @property
    def headless_service(self) -> str:
        """Headless Service behind the StatefulSets."""
        return f"{self.name}-hl"

    def pool(self, name: str) -> PoolSpec:
        """The pool called ``name``."""
        return next(p for p in self.pools if p.name == name)

    def statefulset_name(self, pool: PoolSpec | str) -> str:
        """``<tenant>-<pool>``."""
        return f"{self.name}-{pool if isinstance(pool, str) else pool.name}"

    def pod_names(self, pool: PoolSpec | str | None = None) -> list[str]:
        """Pod names of one pool, or of every pool."""
        pools = self.pools if pool is None else [self.pool(pool) if isinstance(pool, str) else pool]
        return [f"{self.statefulset_name(p)}-{i}" for p in pools for i in range(p.servers)]

    def pvc_names(self, pool: PoolSpec | str | None = None) -> list[str]:
        """``data<N>-<tenant>-<pool>-<ordinal>`` for one pool, or every pool."""
        pools = self.pools if pool is None else [self.pool(pool) if isinstance(pool, str) else pool]
        return [
            f"data{n}-{self.statefulset_name(p)}-{i}"
            for p in pools
            for i in range(p.servers)
            for n in range(p.volumes_per_server)
        ]

    def hostnames(self) -> list[str]:
        """DNS names the tenant's certificate covers."""
        ns = self.namespace
        return [
            f"minio.{ns}.svc.cluster.local",
            f"minio.{ns}.svc",
            f"*.{self.headless_service}.{ns}.svc.cluster.local",
            f"*.{ns}.svc.cluster.local",
        ]

    # -- derived status ---------------------------------------------------
    def write_quorum(self) -> int:
        """Write quorum of the first pool's erasure sets (what Tenant.status reports)."""
        pool = self.pools[0]
        return write_quorum(pool.servers, pool.volumes_per_server)

    def healthy_status(self) -> dict[str, Any]:
        """Tenant.status of a fully initialised, green tenant."""
        raw = usable = 0
        for pool in self.pools:
            pool_raw = pool.drives * quantity_bytes(pool.size)
            size = erasure_set_size(pool.servers, pool.volumes_per_server)
            raw += pool_raw
            usable += pool_raw * (size - default_parity(size)) // size
        drives = sum(p.drives for p in self.pools)
        return {
            "currentState": "Initialized",
            "availableReplicas": sum(p.servers for p in self.pools),
            "pools": [{"ssName": self.statefulset_name(p), "state": "PoolInitialized"} for p in self.pools],
            "writeQuorum": self.write_quorum(),
            "drivesOnline": drives,
            "drivesOffline": 0,
            "drivesHealing": 0,
            "healthStatus": "green",
            "healthMessage": "",
            "usage": {"capacity": usable, "rawCapacity": raw, "usage": 0, "rawUsage": 0},
        }

    # -- writing ----------------------------------------------------------
    def apply(self, api: client.ApiClient) -> TenantWorld:
        """Create every object of the world (namespace included) and write their status."""
        core = client.CoreV1Api(api)
        _ignore_conflict(
            lambda: core.create_namespace(client.V1Namespace.model_validate({"metadata": {"name": self.namespace}}))
        )
        self._storage_classes(api)
        cert, key = make_self_signed_cert(f"minio.{self.namespace}.svc", self.hostnames(), self.cert_days)
        core.create_namespaced_secret(
            self.namespace,
            client.V1Secret.model_validate(
                {
                    "metadata": {"name": self.tls_secret, "labels": {TENANT_LABEL: self.name}},
                    "type": "kubernetes.io/tls",
                    "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()},
                }
            ),
        )
        env = f'export MINIO_ROOT_USER="{self.root_user}"\nexport MINIO_ROOT_PASSWORD="{self.root_password}"\n'
        core.create_namespaced_secret(
            self.namespace,
            client.V1Secret.model_validate(
                {"metadata": {"name": self.config_secret}, "type": "Opaque", "stringData": {"config.env": env}}
            ),
        )
        tenant = self._tenant(api)
        for pool in self.pools:
            self._pool(api, tenant, pool)
        self._services(core)
        if self.with_network_policy:
            self._network_policy(api)
        if self.with_operator:
            ensure_operator(api)
        add_event(api, self.namespace, tenant, "Normal", "Updated", "Headless Service created")
        add_event(api, self.namespace, tenant, "Normal", "PoolInitialized", "Tenant pools initialized")
        return self

    def _storage_classes(self, api: client.ApiClient) -> None:
        storage = client.StorageV1Api(api)
        # Cluster-scoped and shared by every test: create once, tolerate 409.
        names = {EXPANDABLE_STORAGE_CLASS, FIXED_STORAGE_CLASS} | {p.storage_class for p in self.pools}
        for name in sorted(names):
            body = {
                "metadata": {"name": name},
                "provisioner": "sandbox.minio-chatops.local/hostpath",
                "allowVolumeExpansion": name == EXPANDABLE_STORAGE_CLASS,
                "volumeBindingMode": "WaitForFirstConsumer",
                "reclaimPolicy": "Retain",
            }
            _ignore_conflict(
                functools.partial(storage.create_storage_class, client.V1StorageClass.model_validate(body))
            )

    def _tenant(self, api: client.ApiClient) -> dict[str, Any]:
        objects = client.CustomObjectsApi(api)
        body = {
            "apiVersion": f"{TENANT_GROUP}/{TENANT_VERSION}",
            "kind": "Tenant",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": {
                "image": self.image,
                "pools": [p.tenant_pool() for p in self.pools],
                "configuration": {"name": self.config_secret},
                "requestAutoCert": False,
                "externalCertSecret": [{"name": self.tls_secret, "type": "kubernetes.io/tls"}],
            },
        }
        created = cast(
            dict[str, Any],
            objects.create_namespaced_custom_object(TENANT_GROUP, TENANT_VERSION, self.namespace, TENANT_PLURAL, body),
        )
        set_tenant_status(api, self.namespace, self.name, **self.healthy_status())
        return created

    def _pool(self, api: client.ApiClient, tenant: dict[str, Any], pool: PoolSpec) -> None:
        write_pool(
            api,
            self.namespace,
            tenant,
            pool,
            self.image,
            headless_service=self.headless_service,
            pool_index=self.pools.index(pool),
        )

    def _services(self, core: client.CoreV1Api) -> None:
        selector = {TENANT_LABEL: self.name}
        services: list[tuple[str, dict[str, Any]]] = [
            ("minio", {"ports": [{"name": "https-minio", "port": 443, "targetPort": 9000}]}),
            (f"{self.name}-console", {"ports": [{"name": "https-console", "port": 9443, "targetPort": 9443}]}),
            (
                self.headless_service,
                {
                    "clusterIP": "None",
                    "publishNotReadyAddresses": True,
                    "ports": [{"name": "https-minio", "port": 9000, "targetPort": 9000}],
                },
            ),
        ]
        for name, spec in services:
            core.create_namespaced_service(
                self.namespace,
                client.V1Service.model_validate(
                    {"metadata": {"name": name, "labels": selector}, "spec": {"selector": selector, **spec}}
                ),
            )

    def _network_policy(self, api: client.ApiClient) -> None:
        client.NetworkingV1Api(api).create_namespaced_network_policy(
            self.namespace,
            client.V1NetworkPolicy.model_validate(
                {
                    "metadata": {"name": self.network_policy},
                    "spec": {
                        "podSelector": {"matchLabels": {TENANT_LABEL: self.name}},
                        "policyTypes": ["Ingress"],
                        "ingress": [{"ports": [{"port": 9000, "protocol": "TCP"}, {"port": 9443, "protocol": "TCP"}]}],
                    },
                }
            ),
        )


# -- a pool's workload, as the operator, the StatefulSet controller, the
# -- volume binder and the kubelet would leave it -----------------------------
def pool_labels(tenant: str, pool: str) -> dict[str, str]:
    """Labels the operator puts on a pool's StatefulSet, pods and PVCs."""
    return {TENANT_LABEL: tenant, POOL_LABEL: pool}


def pool_revision(sts_name: str, image: str) -> str:
    """A ControllerRevision name for the pool's pod template (it only depends on the image here)."""
    return f"{sts_name}-{hashlib.sha256(image.encode()).hexdigest()[:10]}"


def minio_container(image: str, volumes_per_server: int) -> dict[str, Any]:
    """The MinIO container of a pool's pod template."""
    return {
        "name": MINIO_CONTAINER,
        "image": image,
        "args": MINIO_ARGS,
        "ports": [{"containerPort": 9000, "name": "https-minio"}, {"containerPort": 9443, "name": "https-console"}],
        "volumeMounts": [{"name": f"data{n}", "mountPath": f"/export{n}"} for n in range(volumes_per_server)],
    }


def _tenant_owner(tenant: dict[str, Any]) -> dict[str, Any]:
    meta = tenant["metadata"]
    return {
        "apiVersion": f"{TENANT_GROUP}/{TENANT_VERSION}",
        "kind": "Tenant",
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def write_pool(
    api: client.ApiClient,
    namespace: str,
    tenant: dict[str, Any],
    pool: PoolSpec,
    image: str,
    *,
    headless_service: str,
    pool_index: int,
    started_s_ago: float = 3600,
    timeout_s: float | None = None,
) -> None:
    """Create a pool's StatefulSet (owned by ``tenant``, a Tenant object dict), its Bound PVCs and Ready pods.

    ``timeout_s`` bounds each API call (the operator stand-in sets it; test set-up may leave it unset).
    """
    apps = client.AppsV1Api(api)
    name = str(tenant["metadata"]["name"])
    sts_name = f"{name}-{pool.name}"
    labels = pool_labels(name, pool.name)
    sts = apps.create_namespaced_stateful_set(
        namespace,
        client.V1StatefulSet.model_validate(
            {
                "metadata": {"name": sts_name, "labels": labels, "ownerReferences": [_tenant_owner(tenant)]},
                "spec": {
                    "replicas": pool.servers,
                    "serviceName": headless_service,
                    "podManagementPolicy": "Parallel",
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [minio_container(image, pool.volumes_per_server)]},
                    },
                    "volumeClaimTemplates": [
                        {
                            "metadata": {"name": f"data{n}"},
                            "spec": {
                                "accessModes": ["ReadWriteOnce"],
                                "storageClassName": pool.storage_class,
                                "resources": {"requests": {"storage": pool.size}},
                            },
                        }
                        for n in range(pool.volumes_per_server)
                    ],
                },
            }
        ),
        _request_timeout=timeout_s,
    )
    assert sts.metadata is not None
    for ordinal in range(pool.servers):
        _write_claims(api, namespace, sts_name, labels, pool, ordinal, timeout_s)
        write_pool_pod(
            api,
            namespace,
            sts_name,
            str(sts.metadata.uid),
            pool,
            ordinal,
            image,
            headless_service=headless_service,
            ip=f"10.244.{pool_index}.{ordinal + 10}",
            started_s_ago=started_s_ago,
            timeout_s=timeout_s,
        )
    revision = pool_revision(sts_name, image)
    apps.patch_namespaced_stateful_set_status(
        sts_name,
        namespace,
        {
            "status": {
                "observedGeneration": sts.metadata.generation,
                "replicas": pool.servers,
                "readyReplicas": pool.servers,
                "currentReplicas": pool.servers,
                "updatedReplicas": pool.servers,
                "availableReplicas": pool.servers,
                "currentRevision": revision,
                "updateRevision": revision,
            }
        },
        _content_type=_MERGE,
        _request_timeout=timeout_s,
    )


def _write_claims(
    api: client.ApiClient,
    namespace: str,
    sts_name: str,
    labels: dict[str, str],
    pool: PoolSpec,
    ordinal: int,
    timeout_s: float | None,
) -> None:
    core = client.CoreV1Api(api)
    for n in range(pool.volumes_per_server):
        pvc = f"data{n}-{sts_name}-{ordinal}"
        body = client.V1PersistentVolumeClaim.model_validate(
            {
                "metadata": {"name": pvc, "labels": labels},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": pool.storage_class,
                    "resources": {"requests": {"storage": pool.size}},
                },
            }
        )
        created = _ignore_conflict(
            functools.partial(
                core.create_namespaced_persistent_volume_claim, namespace, body, _request_timeout=timeout_s
            )
        )
        if not created:
            continue  # a StatefulSet keeps its claims when pods (or the set) are recreated
        core.patch_namespaced_persistent_volume_claim_status(
            pvc,
            namespace,
            {"status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": pool.size}}},
            _content_type=_MERGE,
            _request_timeout=timeout_s,
        )


def write_pool_pod(
    api: client.ApiClient,
    namespace: str,
    sts_name: str,
    sts_uid: str,
    pool: PoolSpec,
    ordinal: int,
    image: str,
    *,
    headless_service: str,
    ip: str,
    started_s_ago: float = 0,
    timeout_s: float | None = None,
) -> None:
    """Create pod ``<sts>-<ordinal>`` running ``image``, owned by its StatefulSet, and write it Running and Ready."""
    tenant = sts_name[: -len(pool.name) - 1]
    labels = pool_labels(tenant, pool.name)
    pod_name = f"{sts_name}-{ordinal}"
    owner = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "name": sts_name,
        "uid": sts_uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }
    volumes = [
        {"name": f"data{n}", "persistentVolumeClaim": {"claimName": f"data{n}-{pod_name}"}}
        for n in range(pool.volumes_per_server)
    ]
    client.CoreV1Api(api).create_namespaced_pod(
        namespace,
        client.V1Pod.model_validate(
            {
                "metadata": {
                    "name": pod_name,
                    "labels": {**labels, "controller-revision-hash": pool_revision(sts_name, image)},
                    "ownerReferences": [owner],
                },
                "spec": {
                    "hostname": pod_name,
                    "subdomain": headless_service,
                    "containers": [minio_container(image, pool.volumes_per_server)],
                    "volumes": volumes,
                },
            }
        ),
        _request_timeout=timeout_s,
    )
    _write_pod_status(api, namespace, pod_name, _running_status(image, ip, started_s_ago=started_s_ago), timeout_s)


def ensure_operator(api: client.ApiClient, namespace: str = OPERATOR_NAMESPACE) -> None:
    """Create the operator namespace, Deployment and one Ready pod unless they exist (shared by tests)."""
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    _ignore_conflict(
        lambda: core.create_namespace(client.V1Namespace.model_validate({"metadata": {"name": namespace}}))
    )
    labels = {"name": "minio-operator", "app.kubernetes.io/name": "operator"}
    container = {"name": "operator", "image": OPERATOR_IMAGE, "args": ["controller"]}
    body = {
        "metadata": {"name": "minio-operator", "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }
    if not _ignore_conflict(
        lambda: apps.create_namespaced_deployment(namespace, client.V1Deployment.model_validate(body))
    ):
        return
    template_hash = "6c7d9b5f4d"
    pod = f"minio-operator-{template_hash}-x7k2p"
    core.create_namespaced_pod(
        namespace,
        client.V1Pod.model_validate(
            {
                "metadata": {"name": pod, "labels": {**labels, "pod-template-hash": template_hash}},
                "spec": {"containers": [container]},
            }
        ),
    )
    _write_pod_status(api, namespace, pod, _running_status(OPERATOR_IMAGE, "10.244.250.2", "operator"))
    apps.patch_namespaced_deployment_status(
        "minio-operator",
        namespace,
        {
            "status": {
                "observedGeneration": 1,
                "replicas": 1,
                "readyReplicas": 1,
                "availableReplicas": 1,
                "updatedReplicas": 1,
                "conditions": [
                    {
                        "type": "Available",
                        "status": "True",
                        "reason": "MinimumReplicasAvailable",
                        "message": "Deployment has minimum availability.",
                        "lastTransitionTime": _now(-3600),
                        "lastUpdateTime": _now(-3600),
                    }
                ],
            }
        },
        _content_type=_MERGE,
    )


# -- pod status, as a kubelet would write it ------------------------------
def _conditions(ready: bool, container: str = MINIO_CONTAINER) -> list[dict[str, Any]]:
    since = _now(-3600)
    out = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": since}]
    out.append({"type": "Initialized", "status": "True", "lastTransitionTime": since})
    for kind in ("ContainersReady", "Ready"):
        cond: dict[str, Any] = {"type": kind, "status": "True" if ready else "False", "lastTransitionTime": _now()}
        if not ready:
            cond |= {"reason": "ContainersNotReady", "message": f"containers with unready status: [{container}]"}
        out.append(cond)
    return out


def _running_status(
    image: str, ip: str, container: str = MINIO_CONTAINER, started_s_ago: float = 3600
) -> dict[str, Any]:
    started = _now(-started_s_ago)
    return {
        "phase": "Running",
        "conditions": _conditions(True, container),
        "podIP": ip,
        "podIPs": [{"ip": ip}],
        "startTime": started,
        "qosClass": "BestEffort",
        "containerStatuses": [
            {
                "name": container,
                "image": image,
                "imageID": f"{image.split(':')[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}",
                "containerID": f"containerd://{secrets.token_hex(32)}",
                "ready": True,
                "started": True,
                "restartCount": 0,
                "state": {"running": {"startedAt": started}},
            }
        ],
    }


def _write_pod_status(
    api: client.ApiClient, namespace: str, pod: str, status: dict[str, Any], timeout_s: float | None = None
) -> None:
    client.CoreV1Api(api).patch_namespaced_pod_status(
        pod, namespace, {"status": status}, _content_type=_MERGE, _request_timeout=timeout_s
    )


def _read(api: client.ApiClient, path: str) -> dict[str, Any]:
    status, body = raw_request(api, "GET", path)
    if status != 200:
        raise ApiException(status=status, reason=f"GET {path}: {body}")
    result: dict[str, Any] = body
    return result


def _is_ready(pod: client.V1Pod) -> bool:
    conditions = (pod.status.conditions if pod.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def _sync_statefulset_ready(api: client.ApiClient, namespace: str, pod: dict[str, Any]) -> None:
    """Recount readyReplicas of the pod's StatefulSet, as its controller would."""
    owner = next((o for o in pod["metadata"].get("ownerReferences", []) if o["kind"] == "StatefulSet"), None)
    if owner is None:
        return
    sts = client.AppsV1Api(api).read_namespaced_stateful_set(owner["name"], namespace)
    selector = ",".join(f"{k}={v}" for k, v in (sts.spec.selector.match_labels or {}).items())
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=selector).items
    ready = sum(1 for p in pods if _is_ready(p))
    client.AppsV1Api(api).patch_namespaced_stateful_set_status(
        owner["name"], namespace, {"status": {"readyReplicas": ready, "availableReplicas": ready}}, _content_type=_MERGE
    )


def _update_container(
    api: client.ApiClient, namespace: str, pod: str, container: str, ready: bool, change: dict[str, Any]
) -> None:
    current = _read(api, f"/api/v1/namespaces/{namespace}/pods/{pod}")
    statuses = current.get("status", {}).get("containerStatuses") or []
    if not any(cs["name"] == container for cs in statuses):
        raise ValueError(f"pod {namespace}/{pod} has no status for container {container!r}")
    # Merge patch replaces lists wholesale, so send the full edited lists.
    statuses = [cs | change if cs["name"] == container else cs for cs in statuses]
    status = {"phase": "Running", "conditions": _conditions(ready, container), "containerStatuses": statuses}
    _write_pod_status(api, namespace, pod, status)
    _sync_statefulset_ready(api, namespace, current)


# -- mutators for test situations -----------------------------------------
def crashloop_pod(
    api: client.ApiClient,
    namespace: str,
    pod: str,
    reason: str = "CrashLoopBackOff",
    last_reason: str = "OOMKilled",
    restarts: int = 7,
    exit_code: int = 137,
    container: str = MINIO_CONTAINER,
) -> None:
    """Make a container wait in ``reason`` after ``restarts`` restarts that ended with ``last_reason``.

    Also marks the pod not Ready, recounts its StatefulSet and records the
    kubelet's BackOff warning event.
    """
    change = {
        "ready": False,
        "started": False,
        "restartCount": restarts,
        "state": {
            "waiting": {
                "reason": reason,
                "message": f"back-off 5m0s restarting failed container={container} pod={pod}",
            }
        },
        "lastState": {
            "terminated": {
                "exitCode": exit_code,
                "reason": last_reason,
                "startedAt": _now(-120),
                "finishedAt": _now(-60),
            }
        },
    }
    _update_container(api, namespace, pod, container, False, change)
    add_warning_event(
        api,
        namespace,
        "Pod",
        pod,
        "BackOff",
        f"Back-off restarting failed container {container} in pod {pod}",
        count=restarts,
    )


def mark_pod_ready(api: client.ApiClient, namespace: str, pod: str, container: str = MINIO_CONTAINER) -> None:
    """Make a container Running and Ready again (restart count kept), e.g. after a rollout step."""
    change = {"ready": True, "started": True, "state": {"running": {"startedAt": _now()}}}
    _update_container(api, namespace, pod, container, True, change)


def set_pvc_pending(
    api: client.ApiClient,
    namespace: str,
    pvc: str,
    message: str | None = "failed to provision volume: insufficient capacity on the node",
) -> None:
    """Put a PVC back to Pending without capacity; with ``message``, add a ProvisioningFailed warning."""
    client.CoreV1Api(api).patch_namespaced_persistent_volume_claim_status(
        pvc, namespace, {"status": {"phase": "Pending", "capacity": None, "accessModes": None}}, _content_type=_MERGE
    )
    if message:
        add_warning_event(api, namespace, "PersistentVolumeClaim", pvc, "ProvisioningFailed", message)


def add_event(
    api: client.ApiClient,
    namespace: str,
    involved: dict[str, Any],
    type_: str,
    reason: str,
    message: str,
    count: int = 1,
    component: str = "minio-operator",
    timeout_s: float | None = None,
) -> str:
    """Record an Event about ``involved`` (an object dict with apiVersion, kind, metadata); return its name."""
    meta = involved["metadata"]
    name = f"{meta['name']}.{secrets.token_hex(8)}"
    client.CoreV1Api(api).create_namespaced_event(
        namespace,
        client.CoreV1Event.model_validate(
            {
                "metadata": {"name": name, "namespace": namespace},
                "involvedObject": {
                    "apiVersion": involved.get("apiVersion", "v1"),
                    "kind": involved["kind"],
                    "name": meta["name"],
                    "namespace": namespace,
                    **({"uid": meta["uid"]} if meta.get("uid") else {}),
                },
                "type": type_,
                "reason": reason,
                "message": message,
                "count": count,
                "firstTimestamp": _now(-600 if count > 1 else 0),
                "lastTimestamp": _now(),
                "source": {"component": component},
                "reportingComponent": component,
            }
        ),
        _request_timeout=timeout_s,
    )
    return name


def add_warning_event(
    api: client.ApiClient,
    namespace: str,
    kind: str,
    name: str,
    reason: str,
    message: str,
    count: int = 1,
    api_version: str = "v1",
) -> str:
    """Record a Warning event about ``kind``/``name`` in ``namespace``; return the event's name."""
    component = "kubelet" if kind == "Pod" else "minio-operator"
    involved = {"apiVersion": api_version, "kind": kind, "metadata": {"name": name}}
    return add_event(api, namespace, involved, "Warning", reason, message, count, component)


def set_tenant_status(api: client.ApiClient, namespace: str, name: str, **status: Any) -> dict[str, Any]:
    """Merge ``status`` (CRD field names, e.g. ``healthStatus="red"``) into Tenant.status; return the Tenant."""
    result = client.CustomObjectsApi(api).patch_namespaced_custom_object_status(
        TENANT_GROUP, TENANT_VERSION, namespace, TENANT_PLURAL, name, {"status": status}, _content_type=_MERGE
    )
    return cast(dict[str, Any], result)


def set_cert_expiry(api: client.ApiClient, namespace: str, secret: str, days: float) -> bytes:
    """Re-issue the certificate in TLS secret ``secret`` with the same names, expiring in ``days``; return its PEM."""
    current = client.CoreV1Api(api).read_namespaced_secret(secret, namespace)
    old = x509.load_pem_x509_certificate(base64.b64decode((current.data or {})["tls.crt"]))
    common_name = str(old.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)
    try:
        names = old.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
    except x509.ExtensionNotFound:
        names = [common_name]
    cert, key = make_self_signed_cert(common_name, names, days)
    client.CoreV1Api(api).patch_namespaced_secret(
        secret,
        namespace,
        {"data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()}},
        _content_type=_MERGE,
    )
    return cert


def remove_network_policy(api: client.ApiClient, namespace: str, name: str) -> None:
    """Delete a NetworkPolicy (a missing one is not an error)."""
    try:
        client.NetworkingV1Api(api).delete_namespaced_network_policy(name, namespace)
    except ApiException as exc:
        if exc.status != 404:
            raise
