"""The Tenant as a change sees it: where it lives, whether it moved since the preview, its dry run, the guarded write.

Every Tenant write of ``scale``, ``update`` and ``maintenance`` is checked
against the Tenant as previewed: :func:`tenant_unchanged` compares the
``resourceVersion`` first, then a fingerprint of spec + labels + annotations
(the operator rewrites ``status`` every few minutes, which bumps the
``resourceVersion`` but changes nothing a plan relies on).

:func:`apply_guarded` re-reads the Tenant, refuses when it moved since the
preview, and sends a JSON patch with the ``resourceVersion`` just read, so a
write racing ours makes ours fail instead of silently overwriting it. JSON
patches also carry ``test`` operations on the values the change relies on (the
pool list, the image), which the API server checks atomically with the write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field

from bot.changes.plan import ChangePlan, DryRun, Finding, Target
from bot.clients.errors import ClientError, KubeError
from bot.clients.kube import KubeClient
from bot.clients.kube_models import TenantInfo
from bot.config import TenantConfig
from bot.invocation import UserError
from bot.models import Frozen
from bot.report import code, spans

if TYPE_CHECKING:
    from bot.runtime import Runtime

JsonPatch = list[dict[str, Any]]
# The API server's answer when a JSON patch `test` operation fails (HTTP 422).
_TEST_FAILED = "the server rejected our request due to an error in our request"
_GUARD_ATTEMPTS = 3


# ----------------------------------------------------------------------------- the Tenant and its fingerprint


class TenantObject(Frozen):
    """A Tenant with the metadata plans need: annotations, labels and a change fingerprint."""

    info: TenantInfo
    annotations: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    fingerprint: str

    @property
    def resource_version(self) -> str:
        return self.info.resource_version

    def target(self) -> Target:
        """This Tenant as a plan target."""
        return Target(
            kind="Tenant",
            namespace=self.info.namespace,
            name=self.info.name,
            resource_version=self.info.resource_version,
            fingerprint=self.fingerprint,
        )


def read_tenant(kube: KubeClient, namespace: str, name: str) -> TenantObject:
    """Read a Tenant with its metadata (KubeError on failure, e.g. not_found or forbidden)."""
    obj = kube.get_tenant_object(namespace, name)
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    assert isinstance(meta, dict)
    annotations = {str(k): str(v) for k, v in (meta.get("annotations") or {}).items()}
    labels = {str(k): str(v) for k, v in (meta.get("labels") or {}).items()}
    basis = {
        "spec": obj.get("spec") or {},
        "annotations": annotations,
        "labels": labels,
        "deleting": bool(meta.get("deletionTimestamp")),
    }
    digest = hashlib.sha256(json.dumps(basis, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return TenantObject(info=TenantInfo.from_api(obj), annotations=annotations, labels=labels, fingerprint=digest)


def tenant_unchanged(planned: Target, current: TenantObject) -> Finding:
    """Is the Tenant still the one previewed? resourceVersion first, then spec + labels + annotations.

    A moved resourceVersion with an equal fingerprint means only ``status``
    changed (the operator refreshes it every few minutes): the plan still holds.
    """
    check = "target unchanged"
    if current.resource_version == planned.resource_version:
        return Finding(check=check, ok=True, detail=f"{planned.label()} is unchanged since the preview "
                       f"(resourceVersion {planned.resource_version}).")
    if planned.fingerprint is not None and current.fingerprint == planned.fingerprint:
        return Finding(
            check=check,
            ok=True,
            detail=f"{planned.label()}: only its status changed since the preview (resourceVersion "
            f"{planned.resource_version} -> {current.resource_version}); spec, labels and annotations are as "
            "previewed.",
        )
    return Finding(
        check=check,
        ok=False,
        detail=f"{planned.label()} changed since the preview (resourceVersion {planned.resource_version} -> "
        f"{current.resource_version}). The plan is refused: request the change again to see a fresh preview.",
    )


# ----------------------------------------------------------------------------- where a tenant's Tenant lives


class TargetChanged(Exception):
    """The Tenant changed (spec, labels or annotations) since the preview: nothing was written."""


@dataclass(frozen=True)
class TenantHandle:
    """A configured tenant with its Kubernetes client and Tenant coordinates."""

    config: TenantConfig
    kube: KubeClient
    namespace: str
    name: str

    def read(self) -> TenantObject:
        """The Tenant now, with its fingerprint (KubeError on failure)."""
        return read_tenant(self.kube, self.namespace, self.name)


def kube_handle(runtime: Runtime, tenant: TenantConfig) -> TenantHandle | None:
    """The tenant's Kubernetes handle, or None for tenants known only by static endpoints."""
    kube = runtime.kube_for(tenant)
    if kube is None or tenant.kubernetes is None:
        return None
    return TenantHandle(tenant, kube, tenant.kubernetes.namespace, tenant.tenant_name)


def handle_for(runtime: Runtime, tenant: TenantConfig) -> TenantHandle:
    """The tenant's Kubernetes handle; a UserError for tenants known only by static endpoints."""
    handle = kube_handle(runtime, tenant)
    if handle is None:
        raise UserError(spans(
            code(tenant.name), " has no Kubernetes Tenant configured (static endpoints only): scaling and upgrades "
            "change the Tenant resource, so add ", code("kubernetes:"), " to its configuration.",
        ))
    return handle


def configured(runtime: Runtime, name: str) -> TenantConfig:
    """The tenant a stored plan names; a ClientError (a failed re-check, a failed execution) when it is gone."""
    tenant = runtime.find_tenant(name)
    if tenant is None:
        raise ClientError("invalid", f"tenant {name}", "is no longer configured")
    return tenant


def handle_by_name(runtime: Runtime, name: str) -> TenantHandle:
    """Like :func:`handle_for` for a tenant name stored in a plan (ClientError when it is gone)."""
    return handle_for(runtime, configured(runtime, name))


# ----------------------------------------------------------------------------- dry runs and the guarded write


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) from path parts, escaping ``~`` and ``/`` in keys."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def refusal_text(exc: KubeError) -> str:
    """Why the API server refused a (dry-run) write, in words that say what to fix."""
    if exc.kind == "forbidden":
        return f"Kubernetes RBAC denies the bot this write (grant it in the bot's Role): {exc.detail}"
    if exc.kind == "invalid":
        return f"The API server rejected the change (schema or CEL rule): {exc.detail}"
    return f"The API server did not accept the change: {exc}"


def dry_run(handle: TenantHandle, ops: JsonPatch) -> DryRun:
    """What the API server says to the patch with ``dryRun=All`` (admission, schema and CEL rules included)."""
    try:
        handle.kube.patch_tenant(handle.namespace, handle.name, ops, dry_run=True, json_patch=True)
    except KubeError as exc:
        return DryRun(ok=False, detail=refusal_text(exc))
    return DryRun(ok=True, detail="The API server accepted the patch (dryRun=All): schema, CEL rules and RBAC pass.")


def dry_run_deployment(kube: KubeClient, namespace: str, name: str, ops: JsonPatch) -> DryRun:
    """Server-side dry run of a Deployment JSON patch."""
    try:
        kube.patch_deployment(namespace, name, ops, dry_run=True, json_patch=True)
    except KubeError as exc:
        return DryRun(ok=False, detail=refusal_text(exc))
    return DryRun(ok=True, detail="The API server accepted the patch (dryRun=All): schema and RBAC pass.")


def unchanged_finding(handle: TenantHandle, planned: Target) -> tuple[TenantObject | None, Finding]:
    """Re-read the Tenant and compare it with the previewed target."""
    try:
        current = handle.read()
    except KubeError as exc:
        return None, Finding(check="target unchanged", ok=False, detail=f"Could not read the Tenant: {exc}")
    return current, tenant_unchanged(planned, current)


def recheck_target(runtime: Runtime, plan: ChangePlan) -> tuple[TenantHandle, TenantObject | None, Finding]:
    """The first step of every recheck: the plan's tenant, its Tenant re-read (None if unreadable) and compared."""
    handle = handle_by_name(runtime, plan.tenant)
    current, unchanged = unchanged_finding(handle, plan.targets[0])
    return handle, current, unchanged


def apply_guarded(
    handle: TenantHandle,
    planned: Target,
    ops: JsonPatch,
    before_write: Callable[[TenantObject], None] | None = None,
) -> TenantInfo:
    """Apply ``ops`` to the Tenant only if it is still the one previewed; raise TargetChanged otherwise.

    A failed resourceVersion test caused by a concurrent *status* write is
    retried (a fresh read, the same fingerprint check); any spec change stops.
    ``before_write`` runs once, with the Tenant exactly as it is about to be
    changed (e.g. to snapshot its spec). KubeError from the write itself
    (RBAC, CEL, unreachable) propagates.
    """
    prepared = False
    for _attempt in range(_GUARD_ATTEMPTS):
        current = handle.read()
        if not tenant_unchanged(planned, current).ok:
            raise TargetChanged(
                f"Tenant {handle.namespace}/{handle.name} changed since the preview (resourceVersion "
                f"{planned.resource_version} -> {current.resource_version}); nothing was written."
            )
        if before_write is not None and not prepared:
            # Retries only follow status-only writes (same fingerprint), so the spec seen here is the one replaced.
            before_write(current)
            prepared = True
        try:
            return handle.kube.patch_tenant(
                handle.namespace, handle.name, ops, json_patch=True, resource_version=current.resource_version
            )
        except KubeError as exc:
            if exc.kind == "invalid" and _TEST_FAILED in exc.detail:
                continue  # someone wrote in between: look again
            raise
    raise TargetChanged(
        f"Tenant {handle.namespace}/{handle.name} kept changing while the bot tried to write it; nothing was written."
    )


# ----------------------------------------------------------------------------- the Tenant's pools


def raw_pools(info: TenantInfo) -> list[dict[str, Any]]:
    """``spec.pools`` exactly as stored (for ``test`` operations)."""
    pools = info.raw_spec.get("pools")
    return [p for p in pools if isinstance(p, dict)] if isinstance(pools, list) else []


def statefulset_name(handle: TenantHandle, pool: str) -> str:
    """``<tenant>-<pool>``: the StatefulSet (and ``status.pools[].ssName``) of a pool."""
    return f"{handle.name}-{pool}"
