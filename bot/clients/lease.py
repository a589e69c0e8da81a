"""The bot's one Kubernetes Lease (`coordination.k8s.io/v1`), read and written through the API.

Only what leader election needs: get, create, and a conditional update. Every
write is conditional (create fails if the Lease exists; update carries the
`resourceVersion` that was read), each call is one attempt bounded by its
timeout, and failures come back as :class:`LeaseConflict` (another writer got
there first) or :class:`LeaseUnavailable` (the API server could not be asked).
The election itself lives in `bot/leader.py`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

LEASE_API_CALLS = [("coordination.k8s.io", "leases", "", verb) for verb in ("get", "create", "update")]
"""What the bot's service account needs on Leases in its namespace (for the deployment's RBAC)."""


_SA_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")

def lease_namespace(configured: str | None, environ: dict[str, str] | None = None) -> str:
    """Where the Lease lives: configured, `$POD_NAMESPACE`, the service account's namespace, or default."""
    env = os.environ if environ is None else environ
    if configured:
        return configured
    if env.get("POD_NAMESPACE"):
        return env["POD_NAMESPACE"]
    try:
        return _SA_NAMESPACE.read_text(encoding="utf-8").strip() or "default"
    except OSError:
        return "default"



class LeaseConflict(Exception):
    """Another writer got there first (HTTP 409, or the Lease vanished under an update)."""


class LeaseUnavailable(Exception):
    """The API server could not be asked (down, timed out, refused, or an unexpected answer)."""


@dataclass(frozen=True)
class LeaseRecord:
    """The parts of a Lease the election reads."""

    holder: str
    duration_s: int
    transitions: int
    acquire_time: str | None
    resource_version: str
    # RFC 3339 with microseconds, as the holder last wrote it; informational (the doctor), not part of equality.
    renew_time: str | None = field(default=None, compare=False)

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> LeaseRecord:
        spec = body.get("spec") or {}
        duration = spec.get("leaseDurationSeconds")
        return cls(
            holder=str(spec.get("holderIdentity") or ""),
            # A Lease edited to have no duration is treated as having ours (see LeaderElector).
            duration_s=int(duration) if isinstance(duration, int) and duration > 0 else 0,
            transitions=int(spec.get("leaseTransitions") or 0),
            acquire_time=spec.get("acquireTime"),
            resource_version=str((body.get("metadata") or {}).get("resourceVersion", "")),
            renew_time=spec.get("renewTime"),
        )


class KubeLeaseStore:
    """One Lease object through the Kubernetes API (no blind retries: the elector decides)."""

    def __init__(self, api_client: client.ApiClient, namespace: str, name: str):
        self.namespace = namespace
        self.name = name
        self._api = client.CoordinationV1Api(api_client)
        # urllib3 would retry a refused connection three times on its own; the elector's deadline
        # arithmetic needs each call to be one attempt, bounded by its timeout.
        pool = getattr(getattr(api_client, "rest_client", None), "pool_manager", None)
        if isinstance(pool, urllib3.PoolManager):
            pool.connection_pool_kw["retries"] = False
            pool.clear()

    @staticmethod
    def _timeout(timeout: float) -> tuple[float, float]:
        half = max(0.1, timeout / 2)
        return half, half

    def _body(self, response: Any) -> LeaseRecord:
        return LeaseRecord.from_json(json.loads(response.data or b"{}"))

    def _fail(self, exc: Exception, verb: str) -> Exception:
        if isinstance(exc, ApiException):
            if exc.status == 409:
                return LeaseConflict(f"{verb}: conflict")
            if exc.status == 404 and verb == "update":
                return LeaseConflict("update: the Lease was deleted")
            return LeaseUnavailable(f"{verb}: HTTP {exc.status} {exc.reason}")
        return LeaseUnavailable(f"{verb}: {type(exc).__name__}")

    def _manifest(self, spec: dict[str, Any], resource_version: str | None = None) -> Any:
        # A plain dict: the client serialises it as-is (Any: its stubs ask for a V1Lease).
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if resource_version is not None:
            metadata["resourceVersion"] = resource_version
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata, "spec": spec}

    def get(self, timeout: float) -> LeaseRecord | None:
        try:
            response = self._api.read_namespaced_lease(
                self.name, self.namespace, _preload_content=False, _request_timeout=self._timeout(timeout)
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise self._fail(exc, "get") from None
        except (urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise self._fail(exc, "get") from None
        return self._body(response)

    def create(self, spec: dict[str, Any], timeout: float) -> LeaseRecord:
        try:
            response = self._api.create_namespaced_lease(
                self.namespace, self._manifest(spec), _preload_content=False, _request_timeout=self._timeout(timeout)
            )
        except (ApiException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise self._fail(exc, "create") from None
        return self._body(response)

    def update(self, spec: dict[str, Any], resource_version: str, timeout: float) -> LeaseRecord:
        try:
            response = self._api.replace_namespaced_lease(
                self.name,
                self.namespace,
                self._manifest(spec, resource_version),
                _preload_content=False,
                _request_timeout=self._timeout(timeout),
            )
        except (ApiException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
            raise self._fail(exc, "update") from None
        return self._body(response)


def micro_time(when: datetime) -> str:
    """A Kubernetes MicroTime (RFC 3339 with microseconds, UTC)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
