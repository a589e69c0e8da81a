"""Typed client for the Kubernetes API: MinIO Tenants and the objects around them.

Every call carries ``_request_timeout=(connect, read)``, runs without blind
retries, reads the raw JSON (no heavyweight model deserialisation) and returns
pydantic models from ``kube_models``. Failures raise :class:`KubeError` with a
kind (auth, forbidden, not_found, conflict, invalid, unreachable, timeout,
unavailable) and the API server's own message where it helps (RBAC verb and
resource, CEL rule text). List calls are paginated with ``limit``/``continue``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import urllib3
from cryptography import x509
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from bot.clients.errors import ErrorKind, KubeError, classify_transport_error
from bot.clients.kube_models import (
    TENANT_LABEL,
    CertInfo,
    DeploymentInfo,
    EventInfo,
    NetworkPolicyInfo,
    PodInfo,
    PodLog,
    PodMetrics,
    PvcInfo,
    ServiceInfo,
    StatefulSetInfo,
    StorageClassInfo,
    TenantInfo,
)
from bot.clients.timeouts import Timeouts
from bot.redact import MASK, contains_redaction

TENANT_GROUP = "minio.min.io"
TENANT_VERSION = "v2"
TENANT_PLURAL = "tenants"
METRICS_GROUP = "metrics.k8s.io"
METRICS_VERSION = "v1beta1"

MERGE_PATCH = "application/merge-patch+json"
POOL_SIZE = 32  # connections kept per API server: the widest fan-out (the doctor's) runs 32 calls at once
JSON_PATCH = "application/json-patch+json"

Patch = dict[str, Any] | list[dict[str, Any]]

ApiCall = tuple[str, str, str, str]
"""(API group, resource, subresource or "", verb) of one Kubernetes API request."""

# Every request each public KubeClient method can make. The deployment's RBAC
# (deploy/) grants exactly these; tests/test_rbac.py fails when a public method
# is missing here or a call has no matching rule. Add a method? Add its row.
API_CALLS: dict[str, list[ApiCall]] = {
    "from_kubeconfig": [],
    "in_cluster": [],
    "close": [],
    "list_tenants": [(TENANT_GROUP, TENANT_PLURAL, "", "list")],
    "get_tenant": [(TENANT_GROUP, TENANT_PLURAL, "", "get")],
    "get_tenant_object": [(TENANT_GROUP, TENANT_PLURAL, "", "get")],
    "patch_tenant": [(TENANT_GROUP, TENANT_PLURAL, "", "patch")],
    "list_pods": [("", "pods", "", "list")],
    "list_pvcs": [("", "persistentvolumeclaims", "", "list")],
    "list_statefulsets": [("apps", "statefulsets", "", "list")],
    "get_deployment": [("apps", "deployments", "", "get")],
    "patch_deployment": [("apps", "deployments", "", "patch")],
    "patch_pvc": [("", "persistentvolumeclaims", "", "patch")],
    "delete_pod": [("", "pods", "", "delete")],
    "pod_logs": [("", "pods", "log", "get")],
    "pod_metrics": [(METRICS_GROUP, "pods", "", "list")],
    "list_events": [("", "events", "", "list")],
    "list_network_policies": [("networking.k8s.io", "networkpolicies", "", "list")],
    "list_storage_classes": [("storage.k8s.io", "storageclasses", "", "list")],
    "list_services": [("", "services", "", "list")],
    "read_secret": [("", "secrets", "", "get")],
    "tls_certificate": [("", "secrets", "", "get")],
    # The doctor asks the API server what the bot's own token may do (every
    # authenticated user may by default; the chart grants it explicitly).
    "access_review": [("authorization.k8s.io", "selfsubjectaccessreviews", "", "create")],
}


class KubeClient:
    """Reads and changes the Kubernetes objects of MinIO tenants.

    Build it from an existing ``ApiClient`` (tests, custom auth), from a
    kubeconfig (:meth:`from_kubeconfig`) or from the pod's service account
    (:meth:`in_cluster`).
    """

    target = "Kubernetes API"

    def __init__(
        self,
        api_client: client.ApiClient,
        request_timeout: Timeouts | None = None,
        page_size: int = 500,
    ) -> None:
        self.api_client = api_client
        self.timeouts = request_timeout or Timeouts()
        self.page_size = page_size
        self._core = client.CoreV1Api(api_client)
        self._apps = client.AppsV1Api(api_client)
        self._custom = client.CustomObjectsApi(api_client)
        self._networking = client.NetworkingV1Api(api_client)
        self._storage = client.StorageV1Api(api_client)
        self._authorization = client.AuthorizationV1Api(api_client)
        _disable_blind_retries(api_client)

    @classmethod
    def from_kubeconfig(
        cls, path: str | None = None, context: str | None = None, request_timeout: Timeouts | None = None
    ) -> KubeClient:
        """Client for a kubeconfig file (default: ``$KUBECONFIG`` or ``~/.kube/config``) and context."""
        try:
            api = config.new_client_from_config(config_file=path, context=context)
        except (ConfigException, OSError, ValueError) as exc:
            raise KubeError("invalid", "Kubernetes API", f"cannot load kubeconfig: {exc}") from None
        return cls(api, request_timeout)

    @classmethod
    def in_cluster(cls, request_timeout: Timeouts | None = None) -> KubeClient:
        """Client for the pod's own service account (token and CA mounted by Kubernetes)."""
        conf = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=conf)
        except ConfigException as exc:
            raise KubeError("invalid", "Kubernetes API", f"not running in a cluster: {exc}") from None
        return cls(client.ApiClient(conf), request_timeout)

    def __repr__(self) -> str:
        return f"KubeClient(host={self.host!r})"

    __str__ = __repr__

    @property
    def host(self) -> str:
        """The API server URL."""
        return str(self.api_client.configuration.host)

    def close(self) -> None:
        """Release the underlying connections."""
        self.api_client.close()

    # ------------------------------------------------------------ plumbing

    @property
    def _rt(self) -> tuple[float, float]:
        return self.timeouts.as_tuple()

    def _secrets(self) -> list[str]:
        keys = getattr(self.api_client.configuration, "api_key", None) or {}
        return [str(v) for v in keys.values() if v]

    def _error(self, kind: ErrorKind, detail: str, status: int | None = None) -> KubeError:
        return KubeError(kind, self.target, detail, address=_netloc(self.host), status=status, secrets=self._secrets())

    def _call(self, verb: str, resource: str, fn: Callable[[], Any]) -> Any:
        """Run one API call (``_preload_content=False``) and return its decoded JSON body."""
        raw = self._call_raw(verb, resource, fn)[1]
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            raise self._error("bad_response", f"{verb} {resource}: the answer is not JSON") from None

    def _call_raw(self, verb: str, resource: str, fn: Callable[[], Any]) -> tuple[int, bytes]:
        """Run one API call; return its HTTP status and body, or raise KubeError."""
        try:
            response = fn()
            return int(response.status), bytes(response.data)
        except ApiException as exc:
            raise self._api_error(exc, verb, resource) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            failure = classify_transport_error(exc, self.timeouts.connect, self.timeouts.read)
            raise self._error(failure.kind, f"{verb} {resource}: {failure.detail}") from None

    def _api_error(self, exc: ApiException, verb: str, resource: str) -> KubeError:
        status = int(exc.status or 0)
        message = _status_message(exc)
        kind: ErrorKind
        if status == 0:
            # The REST layer reports TLS failures as status 0.
            return self._error("unreachable", f"{verb} {resource}: {(exc.reason or 'TLS error').splitlines()[0]}")
        if status == 401:
            kind, detail = "auth", "the API server rejected the credentials (token invalid or expired)"
        elif status == 403:
            kind, detail = "forbidden", f"cannot {verb} {resource}: {message}"
        elif status == 404:
            kind, detail = "not_found", message or f"{resource} not found"
        elif status == 409:
            kind, detail = "conflict", f"{verb} {resource}: {message}"
        elif status == 410:
            kind, detail = "conflict", f"{verb} {resource}: the list snapshot expired, start again ({message})"
        elif status in (400, 415, 422):
            kind, detail = "invalid", f"{verb} {resource}: {message}"
        elif status == 429 or status >= 500:
            kind, detail = "unavailable", f"{verb} {resource}: HTTP {status} {message}".rstrip()
        else:
            kind, detail = "bad_response", f"{verb} {resource}: HTTP {status} {message}".rstrip()
        return self._error(kind, detail, status)

    def _list(self, resource: str, page: Callable[[str | None], Any]) -> list[dict[str, Any]]:
        """Follow ``metadata.continue`` until the list is complete."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            body = self._call("list", resource, partial(page, token))
            items.extend(i for i in body.get("items") or [] if isinstance(i, dict))
            token = (body.get("metadata") or {}).get("continue") or None
            if not token:
                return items

    # ------------------------------------------------------------ Tenants

    def list_tenants(self, namespaces: list[str] | None = None) -> list[TenantInfo]:
        """Tenants in ``namespaces`` (None: every namespace), sorted by namespace and name."""
        if namespaces is None:
            raw = self._list(
                "tenants.minio.min.io",
                lambda token: self._custom.list_cluster_custom_object(
                    TENANT_GROUP,
                    TENANT_VERSION,
                    TENANT_PLURAL,
                    limit=self.page_size,
                    _continue=token,
                    _preload_content=False,
                    _request_timeout=self._rt,
                ),
            )
        else:
            raw = [obj for ns in namespaces for obj in self._tenants_in(ns)]
        tenants = [TenantInfo.from_api(obj) for obj in raw]
        return sorted(tenants, key=lambda t: (t.namespace, t.name))

    def _tenants_in(self, namespace: str) -> list[dict[str, Any]]:
        return self._list(
            f"tenants.minio.min.io in {namespace}",
            lambda token: self._custom.list_namespaced_custom_object(
                TENANT_GROUP,
                TENANT_VERSION,
                namespace,
                TENANT_PLURAL,
                limit=self.page_size,
                _continue=token,
                _preload_content=False,
                _request_timeout=self._rt,
            ),
        )

    def get_tenant(self, namespace: str, name: str) -> TenantInfo:
        """One Tenant; KubeError(not_found) when it does not exist."""
        return TenantInfo.from_api(self.get_tenant_object(namespace, name))

    def get_tenant_object(self, namespace: str, name: str) -> dict[str, Any]:
        """One Tenant as the API returns it (metadata included), for change plans that hash it."""
        obj: dict[str, Any] = self._call(
            "get",
            f"tenant {namespace}/{name}",
            lambda: self._custom.get_namespaced_custom_object(
                TENANT_GROUP,
                TENANT_VERSION,
                namespace,
                TENANT_PLURAL,
                name,
                _preload_content=False,
                _request_timeout=self._rt,
            ),
        )
        return obj

    def patch_tenant(
        self,
        namespace: str,
        name: str,
        patch: Patch,
        dry_run: bool = False,
        json_patch: bool = False,
        resource_version: str | None = None,
    ) -> TenantInfo:
        """Patch a Tenant with a JSON merge patch (dict) or, with ``json_patch``, a JSON patch (list).

        Never strategic merge: custom resources answer 415 to it. With
        ``resource_version`` the patch applies only if the Tenant is unchanged
        since it was read (KubeError(conflict) otherwise). ``dry_run`` runs
        admission and validation (CEL rules included) without persisting.
        """
        send = partial(self._custom.patch_namespaced_custom_object, TENANT_GROUP, TENANT_VERSION, namespace,
                       TENANT_PLURAL, name)
        obj = self._patch(f"tenant {namespace}/{name}", send, patch, dry_run, json_patch, resource_version)
        return TenantInfo.from_api(obj)

    def _patch(self, what: str, send: Callable[..., Any], patch: Patch, dry_run: bool, json_patch: bool,
               resource_version: str | None) -> Any:
        """One PATCH: ``send(body, **options)`` with the content type, dry run and timeout every patch takes."""
        body = self._guarded_patch(patch, json_patch, resource_version)
        return self._call("patch", what, lambda: send(
            body, dry_run="All" if dry_run else None, _content_type=JSON_PATCH if json_patch else MERGE_PATCH,
            _preload_content=False, _request_timeout=self._rt))

    def _guarded_patch(self, patch: Patch, json_patch: bool, resource_version: str | None) -> Patch:
        if json_patch != isinstance(patch, list):
            shape = "a list of operations" if json_patch else "an object"
            raise self._error("invalid", f"patch: a {'JSON' if json_patch else 'merge'} patch must be {shape}")
        if contains_redaction(patch):
            # Built from a stored (redacted) snapshot or plan without putting the live values back:
            # writing it would replace a secret with the placeholder.
            raise self._error("invalid", f"patch: refusing to write the redaction placeholder {MASK}")
        if resource_version is None:
            return patch
        if isinstance(patch, list):
            # A failed "test" makes the whole JSON patch fail: optimistic concurrency.
            return [{"op": "test", "path": "/metadata/resourceVersion", "value": resource_version}, *patch]
        metadata = {**(patch.get("metadata") or {}), "resourceVersion": resource_version}
        return {**patch, "metadata": metadata}

    # ------------------------------------------------------------ workloads

    def _list_labelled(self, resource: str, namespace: str, tenant: str | None, call: Callable[..., Any]) -> list[Any]:
        """Every object of a namespaced list call, filtered by the tenant label when one is given."""
        selector = f"{TENANT_LABEL}={tenant}" if tenant else None
        return self._list(
            f"{resource} in {namespace}",
            lambda token: call(
                namespace,
                label_selector=selector,
                limit=self.page_size,
                _continue=token,
                _preload_content=False,
                _request_timeout=self._rt,
            ),
        )

    def list_pods(self, namespace: str, tenant: str | None = None) -> list[PodInfo]:
        """Pods of ``tenant`` (label ``v1.min.io/tenant``), or every pod in the namespace."""
        raw = self._list_labelled("pods", namespace, tenant, self._core.list_namespaced_pod)
        return sorted((PodInfo.from_api(o) for o in raw), key=lambda p: p.name)

    def list_pvcs(self, namespace: str, tenant: str | None = None) -> list[PvcInfo]:
        """PVCs of ``tenant`` (label ``v1.min.io/tenant``), or every PVC in the namespace."""
        raw = self._list_labelled(
            "persistentvolumeclaims", namespace, tenant, self._core.list_namespaced_persistent_volume_claim
        )
        return sorted((PvcInfo.from_api(o) for o in raw), key=lambda p: p.name)

    def list_statefulsets(self, namespace: str, tenant: str | None = None) -> list[StatefulSetInfo]:
        """StatefulSets of ``tenant`` (one per pool), or every StatefulSet in the namespace."""
        raw = self._list_labelled("statefulsets", namespace, tenant, self._apps.list_namespaced_stateful_set)
        return sorted((StatefulSetInfo.from_api(o) for o in raw), key=lambda s: s.name)

    def get_deployment(self, namespace: str, name: str) -> DeploymentInfo:
        """One Deployment (e.g. the MinIO Operator)."""
        obj = self._call(
            "get",
            f"deployment {namespace}/{name}",
            lambda: self._apps.read_namespaced_deployment(
                name, namespace, _preload_content=False, _request_timeout=self._rt
            ),
        )
        return DeploymentInfo.from_api(obj)

    def patch_deployment(
        self,
        namespace: str,
        name: str,
        patch: Patch,
        dry_run: bool = False,
        json_patch: bool = False,
        resource_version: str | None = None,
    ) -> DeploymentInfo:
        """Patch a Deployment (merge patch, or JSON patch with ``json_patch``); see :meth:`patch_tenant`."""
        send = partial(self._apps.patch_namespaced_deployment, name, namespace)
        obj = self._patch(f"deployment {namespace}/{name}", send, patch, dry_run, json_patch, resource_version)
        return DeploymentInfo.from_api(obj)

    def patch_pvc(
        self,
        namespace: str,
        name: str,
        patch: Patch,
        dry_run: bool = False,
        json_patch: bool = False,
        resource_version: str | None = None,
    ) -> PvcInfo:
        """Patch a PVC (e.g. grow ``spec.resources.requests.storage``); see :meth:`patch_tenant`."""
        send = partial(self._core.patch_namespaced_persistent_volume_claim, name, namespace)
        obj = self._patch(f"persistentvolumeclaim {namespace}/{name}", send, patch, dry_run, json_patch,
                          resource_version)
        return PvcInfo.from_api(obj)

    def delete_pod(self, namespace: str, name: str, dry_run: bool = False) -> None:
        """Delete a pod (its StatefulSet recreates it); ``dry_run`` checks permission and existence only."""
        self._call(
            "delete",
            f"pod {namespace}/{name}",
            lambda: self._core.delete_namespaced_pod(
                name, namespace, dry_run="All" if dry_run else None, _preload_content=False, _request_timeout=self._rt
            ),
        )

    def pod_logs(self, namespace: str, pod: str, tail_lines: int = 50, container: str | None = None) -> PodLog:
        """The last ``tail_lines`` lines of a container's log.

        Logs come from the kubelet through the API server; when that path is
        unavailable (no kubelet, node gone) the error is KubeError(unavailable)
        "pod logs unavailable: ...", distinct from a missing pod (not_found).
        """
        resource = f"pods/log {namespace}/{pod}"
        try:
            status, raw = self._call_raw(
                "get",
                resource,
                lambda: self._core.read_namespaced_pod_log(
                    pod,
                    namespace,
                    container=container,
                    tail_lines=tail_lines,
                    _preload_content=False,
                    _request_timeout=self._rt,
                ),
            )
        except KubeError as exc:
            pod_missing = exc.kind == "not_found" and f'pods "{pod}" not found' in exc.detail
            if exc.kind in ("auth", "forbidden", "unreachable", "timeout") or pod_missing:
                raise
            raise self._error("unavailable", f"pod logs unavailable: {exc.detail}", exc.status) from None
        if status == 204:
            # The API server streams nothing when the pod is on no node (unscheduled).
            raise self._error("unavailable", f"pod logs unavailable: {namespace}/{pod} is not running on a node", 204)
        lines = raw.decode("utf-8", "replace").splitlines()
        return PodLog(namespace=namespace, pod=pod, container=container, lines=lines[-tail_lines:])

    def pod_metrics(self, namespace: str, tenant: str | None = None) -> list[PodMetrics]:
        """CPU/memory of the tenant's pods from metrics.k8s.io.

        KubeError(unavailable) "metrics API not available ..." when the cluster
        serves no metrics API (no metrics-server) or it does not answer.
        """
        selector = f"{TENANT_LABEL}={tenant}" if tenant else None
        try:
            raw = self._list(
                f"pods.metrics.k8s.io in {namespace}",
                lambda token: self._custom.list_namespaced_custom_object(
                    METRICS_GROUP,
                    METRICS_VERSION,
                    namespace,
                    "pods",
                    label_selector=selector,
                    limit=self.page_size,
                    _continue=token,
                    _preload_content=False,
                    _request_timeout=self._rt,
                ),
            )
        except KubeError as exc:
            if exc.kind == "not_found":
                raise self._error(
                    "unavailable", "metrics API not available (metrics.k8s.io is not served)", exc.status
                ) from None
            if exc.kind == "unavailable":
                raise self._error("unavailable", f"metrics API not available: {exc.detail}", exc.status) from None
            raise
        return sorted((PodMetrics.from_api(o) for o in raw), key=lambda m: m.name)

    # ------------------------------------------------------------ events, network, storage, TLS

    def list_events(self, namespace: str, warning_only: bool = True, since: timedelta | None = None) -> list[EventInfo]:
        """Events in a namespace, newest first; only Warnings by default; only the last ``since`` if given."""
        selector = "type=Warning" if warning_only else None
        raw = self._list(
            f"events in {namespace}",
            lambda token: self._core.list_namespaced_event(
                namespace,
                field_selector=selector,
                limit=self.page_size,
                _continue=token,
                _preload_content=False,
                _request_timeout=self._rt,
            ),
        )
        events = [EventInfo.from_api(o) for o in raw]
        if since is not None:
            cutoff = datetime.now(UTC) - since
            events = [e for e in events if e.last_seen is not None and e.last_seen >= cutoff]
        oldest = datetime.min.replace(tzinfo=UTC)
        return sorted(events, key=lambda e: e.last_seen or oldest, reverse=True)

    def list_network_policies(self, namespace: str) -> list[NetworkPolicyInfo]:
        """NetworkPolicies in a namespace."""
        raw = self._list(
            f"networkpolicies in {namespace}",
            lambda token: self._networking.list_namespaced_network_policy(
                namespace, limit=self.page_size, _continue=token, _preload_content=False, _request_timeout=self._rt
            ),
        )
        return sorted((NetworkPolicyInfo.from_api(o) for o in raw), key=lambda n: n.name)

    def list_storage_classes(self) -> list[StorageClassInfo]:
        """All StorageClasses (cluster-scoped)."""
        raw = self._list(
            "storageclasses",
            lambda token: self._storage.list_storage_class(
                limit=self.page_size, _continue=token, _preload_content=False, _request_timeout=self._rt
            ),
        )
        return sorted((StorageClassInfo.from_api(o) for o in raw), key=lambda s: s.name)

    def list_services(self, namespace: str) -> list[ServiceInfo]:
        """Services in a namespace."""
        raw = self._list(
            f"services in {namespace}",
            lambda token: self._core.list_namespaced_service(
                namespace, limit=self.page_size, _continue=token, _preload_content=False, _request_timeout=self._rt
            ),
        )
        return sorted((ServiceInfo.from_api(o) for o in raw), key=lambda s: s.name)

    def read_secret(self, namespace: str, name: str) -> dict[str, str]:
        """The decoded data of a Secret (credentials). Callers register the values with the redactor."""
        obj = self._call(
            "get",
            f"secret {namespace}/{name}",
            lambda: self._core.read_namespaced_secret(
                name, namespace, _preload_content=False, _request_timeout=self._rt
            ),
        )
        out: dict[str, str] = {}
        for key, encoded in (obj.get("data") or {}).items():
            try:
                out[key] = base64.b64decode(encoded).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                continue  # binary values are never credentials we can use
        return out

    def access_review(
        self, verb: str, group: str, resource: str, subresource: str = "", namespace: str | None = None,
        name: str | None = None,
    ) -> bool:
        """May this client's own identity make the call? (a SelfSubjectAccessReview; nothing else happens)."""
        attributes: dict[str, Any] = {"verb": verb, "group": group, "resource": resource}
        for key, value in (("subresource", subresource), ("namespace", namespace), ("name", name)):
            if value:
                attributes[key] = value
        body: Any = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                     "spec": {"resourceAttributes": attributes}}
        answer = self._call(
            "create",
            "selfsubjectaccessreviews.authorization.k8s.io",
            lambda: self._authorization.create_self_subject_access_review(
                body, _preload_content=False, _request_timeout=self._rt
            ),
        )
        return bool((answer.get("status") or {}).get("allowed"))

    def tls_certificate(self, namespace: str, secret: str) -> CertInfo:
        """Subject, issuer and expiry of the certificate in a TLS Secret (``tls.crt`` or ``public.crt``).

        Only the certificate is decoded; the private key and any other data
        in the Secret are dropped unread.
        """
        obj = self._call(
            "get",
            f"secret {namespace}/{secret}",
            lambda: self._core.read_namespaced_secret(
                secret, namespace, _preload_content=False, _request_timeout=self._rt
            ),
        )
        data = obj.get("data") or {}
        encoded = data.get("tls.crt") or data.get("public.crt")
        if not encoded:
            raise self._error("invalid", f"secret {namespace}/{secret} holds no tls.crt or public.crt")
        try:
            cert = x509.load_pem_x509_certificate(base64.b64decode(encoded))
        except ValueError:
            raise self._error("invalid", f"secret {namespace}/{secret}: the certificate is not valid PEM") from None
        not_after = cert.not_valid_after_utc
        try:
            names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            dns_names = [str(n) for n in names.get_values_for_type(x509.DNSName)]
        except x509.ExtensionNotFound:
            dns_names = []
        return CertInfo(
            namespace=namespace,
            secret=secret,
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            not_after=not_after,
            days_left=(not_after - datetime.now(UTC)).total_seconds() / 86400,
            dns_names=dns_names,
        )


# ---------------------------------------------------------------- helpers


def _disable_blind_retries(api_client: client.ApiClient) -> None:
    # urllib3's default (3 retries) would multiply every read timeout by four
    # against a hung API server; the one policy is: fail fast, report, let the
    # caller decide. Existing pooled connections are dropped so the setting applies.
    # The pool keeps as many connections as a fan-out runs calls at once (the
    # client's default, 5 per CPU, would open and discard the rest every time).
    rest = getattr(api_client, "rest_client", None)
    pool = getattr(rest, "pool_manager", None)
    if isinstance(pool, urllib3.PoolManager):
        pool.connection_pool_kw["retries"] = False
        pool.connection_pool_kw["maxsize"] = max(int(pool.connection_pool_kw.get("maxsize") or 1), POOL_SIZE)
        pool.clear()


def _status_message(exc: ApiException) -> str:
    """The ``message`` of the API server's Status body, else the HTTP reason."""
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body.strip().startswith("{"):
        try:
            status = json.loads(body)
        except ValueError:
            status = None
        if isinstance(status, dict) and status.get("message"):
            return str(status["message"])
    return str(exc.reason or "")


def _netloc(url: str) -> str:
    return url.split("://", 1)[-1].rstrip("/")
