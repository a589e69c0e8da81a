"""The specs a rollback restores: saved in ``store.specs`` before every upgrade and every rollback.

A tenant's snapshots are stored under the tenant's name with the Tenant's
``spec``. Operator snapshots live under ``operator:<cluster>`` (tenant names
are DNS labels, so they never contain ``:``) with the spec ``{"kind":
"Deployment", "namespace", "name", "images": [...], "resourceVersion"}``, where
``images`` lists the container images in container order (the Deployment as
the bot reads it carries no container names).
"""

from __future__ import annotations

import json
from typing import Any

from bot.changes.tenant import TenantObject
from bot.clients.kube_models import DeploymentInfo
from bot.runtime import Runtime

SNAPSHOT_PREFIX = "operator:"


def snapshot_key(cluster: str) -> str:
    """The ``store.specs`` key of a cluster's operator snapshots (cannot collide with a tenant name)."""
    return f"{SNAPSHOT_PREFIX}{cluster}"


def snapshot_cluster(key: str) -> str | None:
    """The cluster of an operator snapshot key, or None for a tenant's snapshot."""
    return key[len(SNAPSHOT_PREFIX):] if key.startswith(SNAPSHOT_PREFIX) else None


def deployment_spec(deployment: DeploymentInfo) -> dict[str, Any]:
    """What a rollback of the operator needs: where it is and each container's image, in container order."""
    return {"kind": "Deployment", "namespace": deployment.namespace, "name": deployment.name,
            "images": list(deployment.images), "resourceVersion": deployment.resource_version}


def snapshot_images(spec: Any) -> list[str]:
    """The container images an operator snapshot holds."""
    images = spec.get("images") if isinstance(spec, dict) else None
    return [str(i) for i in images] if isinstance(images, list) else []


def images_fingerprint(images: list[str]) -> str:
    """The operator's images as one comparable string."""
    return json.dumps(images, separators=(",", ":"))


def store_tenant_snapshot(runtime: Runtime, tenant: str, obj: TenantObject, reason: str, by: str | None) -> int:
    """Save the Tenant's spec as it is now; returns the snapshot id."""
    snapshot = runtime.store.specs.add(tenant, obj.info.raw_spec, reason=reason,
                                       resource_version=obj.resource_version, taken_by=by, at=runtime.clock())
    return snapshot.id


def store_operator_snapshot(runtime: Runtime, cluster: str, deployment: DeploymentInfo, reason: str,
                            by: str | None) -> int:
    """Save the operator Deployment's container images as they are now; returns the snapshot id."""
    snapshot = runtime.store.specs.add(snapshot_key(cluster), deployment_spec(deployment), reason=reason,
                                       resource_version=deployment.resource_version, taken_by=by,
                                       at=runtime.clock())
    return snapshot.id
