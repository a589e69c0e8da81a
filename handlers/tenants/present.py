"""The `/minio tenants` report: one line per tenant with its status."""

from __future__ import annotations

from bot.clients.errors import ClientError
from bot.report import Inline, Report, Row, Section, Text, bold, code, join, spans, worst
from handlers.health import LoadBalanced
from handlers.tenants.evaluate import tenant_status
from handlers.tenants.facts import NodesLive, TenantFacts, TenantResource


def minio_text(minio: NodesLive | LoadBalanced | ClientError) -> Text:
    """``3/4 nodes live (down: node 2: connection refused)``, or what the load-balanced endpoint said."""
    if isinstance(minio, ClientError):
        return f"MinIO: {minio}"
    if isinstance(minio, LoadBalanced):
        cluster = minio.cluster
        if isinstance(cluster, ClientError):
            answer = f"MinIO: {cluster}"
        else:
            answer = ("cluster write quorum met" if cluster.ok
                      else f"the node that answered is starting ({cluster.server_status or 'offline'}): quorum not "
                      "evaluated yet" if cluster.starting
                      else f"cluster write quorum lost (HTTP {cluster.status})")
        return f"{minio.why}; {answer}"
    text = f"{minio.live}/{minio.total} nodes live"
    if minio.down:
        text += " (down: " + ", ".join(f"node {n}: {why}" for n, why in minio.down.items()) + ")"
    return text


def kube_texts(kube: TenantResource | ClientError) -> list[Text]:
    """``Tenant green``, ``4/4 pods ready``; or why the Kubernetes API could not say."""
    if isinstance(kube, ClientError):
        return [f"Kubernetes: {kube}"]
    return [f"Tenant {kube.health or 'status unknown'}", f"{kube.ready}/{kube.pods} pods ready"]


def tenant_row(facts: TenantFacts) -> Row:
    """One tenant's status line."""
    tenant = facts.tenant
    ref = tenant.kubernetes
    where: Inline = code(f"{ref.namespace}/{tenant.tenant_name}") if ref else "static endpoints"
    parts = [minio_text(facts.minio), *(kube_texts(facts.kube) if facts.kube is not None else [])]
    return Row(status=tenant_status(facts), text=spans(bold(tenant.name), " (", where, "): ", join(parts, " · ")))


def tenants_report(found: list[TenantFacts], discovery_errors: dict[str, str]) -> Report:
    """Every tenant's line; the clusters whose Tenants could not be discovered in the footer."""
    rows = [tenant_row(facts) for facts in found]
    footer: list[Text] = [
        spans("Discovery failed for cluster ", code(cluster), f": {error}")
        for cluster, error in discovery_errors.items()
    ]
    return Report(
        title="Tenants",
        status=worst([r.status for r in rows if r.status is not None]),
        sections=[Section(title=f"{len(found)} tenant(s)", rows=rows)],
        footer=footer,
    )
