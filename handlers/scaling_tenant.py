"""The Tenant as scaling and upgrades see it: where it lives, its dry run, and the guarded write.

Every Tenant write of ``scale`` and ``update`` goes through :func:`apply_guarded`:
it re-reads the Tenant, refuses when its spec, labels or annotations moved
since the preview (a status refresh by the operator is fine), and sends a JSON
patch whose first operation tests the ``resourceVersion`` just read, so a write
racing ours makes ours fail instead of silently overwriting it. JSON patches
also carry ``test`` operations on the values the change relies on (the pool
list, the image), which the API server checks atomically with the write.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.changes import ChangePlan, DryRun, Finding, Target, TenantObject, read_tenant, tenant_unchanged
from bot.clients.errors import ClientError, KubeError
from bot.clients.fanout import fan_out
from bot.clients.kube import KubeClient
from bot.clients.kube_models import TenantInfo
from bot.commands import escape
from bot.config import TenantConfig
from bot.invocation import UserError
from bot.runtime import Runtime

JsonPatch = list[dict[str, Any]]
# The API server's answer when a JSON patch `test` operation fails (HTTP 422).
_TEST_FAILED = "the server rejected our request due to an error in our request"
_GUARD_ATTEMPTS = 3


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


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901) from path parts, escaping ``~`` and ``/`` in keys."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def tenant_config(runtime: Runtime, name: str) -> TenantConfig | None:
    """The tenant called ``name`` (configured or discovered), if any."""
    return next((t for t in runtime.tenants() if t.name == name), None)


def handle_for(runtime: Runtime, tenant: TenantConfig) -> TenantHandle:
    """The tenant's Kubernetes handle; a UserError for tenants known only by static endpoints."""
    kube = runtime.kube_for(tenant)
    if kube is None or tenant.kubernetes is None:
        raise UserError(
            f"`{escape(tenant.name, 63)}` has no Kubernetes Tenant configured (static endpoints only): "
            "scaling and upgrades change the Tenant resource, so add `kubernetes:` to its configuration."
        )
    return TenantHandle(tenant, kube, tenant.kubernetes.namespace, tenant.tenant_name)


def handle_by_name(runtime: Runtime, name: str) -> TenantHandle:
    """Like :func:`handle_for` for a tenant name stored in a plan (UserError when it is gone)."""
    config = tenant_config(runtime, name)
    if config is None:
        raise UserError(f"Tenant `{escape(name, 63)}` is no longer configured.")
    return handle_for(runtime, config)


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


def gather(runtime: Runtime, calls: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run independent reads in parallel under the report deadline; each key holds a result or a ClientError."""
    return fan_out(calls, deadline_s=runtime.config.timeouts.report_deadline)


def gathered_tenant(facts: Mapping[str, object]) -> TenantObject:
    """The Tenant that :func:`gather` read under ``"tenant"``; its read error is raised (no plan without it)."""
    tenant = facts["tenant"]
    if isinstance(tenant, ClientError):
        raise tenant
    assert isinstance(tenant, TenantObject)
    return tenant


def pool_position(info: TenantInfo, pool: str) -> int | None:
    """Index of the pool called ``pool`` in ``spec.pools``, if present."""
    return next((i for i, p in enumerate(info.pools) if p.name == pool), None)


def raw_pools(info: TenantInfo) -> list[dict[str, Any]]:
    """``spec.pools`` exactly as stored (for ``test`` operations)."""
    pools = info.raw_spec.get("pools")
    return [p for p in pools if isinstance(p, dict)] if isinstance(pools, list) else []


def statefulset_name(handle: TenantHandle, pool: str) -> str:
    """``<tenant>-<pool>``: the StatefulSet (and ``status.pools[].ssName``) of a pool."""
    return f"{handle.name}-{pool}"


def canonical_json(value: Any) -> str:
    """Stable JSON for comparing and hashing spec fragments."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
