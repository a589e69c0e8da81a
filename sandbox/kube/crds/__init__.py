"""The project's own CRDs for the test control plane, and their installer."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from sandbox.kube.controlplane import ControlPlaneError, raw_request

CRD_DIR = Path(__file__).resolve().parent
TENANT_CRD = CRD_DIR / "tenants.minio.min.io.yaml"
FIELD_MANAGER = "minio-chatops-sandbox"

# The first create of a new resource type stalls ~2 s inside the apiserver
# (admission sets up per-resource state); a dry-run create of a sample pays
# that once at install time instead of in whichever test comes first.
_WARMUP_SAMPLES: dict[str, dict[str, Any]] = {
    "tenants.minio.min.io": {
        "apiVersion": "minio.min.io/v2",
        "kind": "Tenant",
        "metadata": {"name": "warmup", "namespace": "default"},
        "spec": {"pools": [{"name": "pool-0", "servers": 4, "volumesPerServer": 1, "volumeClaimTemplate": {}}]},
    }
}


def load_crds() -> list[dict[str, Any]]:
    """Every CRD manifest in this folder, parsed."""
    docs: list[dict[str, Any]] = []
    for path in sorted(CRD_DIR.glob("*.yaml")):
        docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    return docs


def install_crds(api: client.ApiClient, timeout_s: float = 30.0) -> list[str]:
    """Server-side apply every CRD, wait until each is Established and served; return their names."""
    names = []
    for crd in load_crds():
        name = crd["metadata"]["name"]
        # Server-side apply creates or updates in one idempotent request.
        status, body = raw_request(
            api,
            "PATCH",
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}",
            crd,
            content_type="application/apply-patch+yaml",
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")],
        )
        if status not in (200, 201):
            raise ControlPlaneError(f"applying CRD {name} failed with HTTP {status}: {body}")
        _wait_served(api, crd, timeout_s)
        if name in _WARMUP_SAMPLES:
            spec = crd["spec"]
            raw_request(
                api,
                "POST",
                f"/apis/{spec['group']}/{_storage_version(crd)}/namespaces/default/{spec['names']['plural']}",
                _WARMUP_SAMPLES[name],
                query=[("dryRun", "All")],
            )
        names.append(name)
    return names


def _wait_served(api: client.ApiClient, crd: dict[str, Any], timeout_s: float) -> None:
    name = crd["metadata"]["name"]
    spec = crd["spec"]
    list_path = f"/apis/{spec['group']}/{_storage_version(crd)}/{spec['names']['plural']}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _, body = raw_request(api, "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
        conditions = ((body or {}).get("status") or {}).get("conditions") or []
        established = any(c["type"] == "Established" and c["status"] == "True" for c in conditions)
        # Established can precede the REST handler by a moment; a list proves it serves.
        if established and raw_request(api, "GET", list_path, query=[("limit", "1")])[0] == 200:
            return
        time.sleep(0.1)
    raise ControlPlaneError(f"CRD {name} not established after {timeout_s:.0f} s")


def _storage_version(crd: dict[str, Any]) -> str:
    return str(next(v["name"] for v in crd["spec"]["versions"] if v.get("storage")))
