"""`/minio incident network-issue`: each node's endpoint, the peer map from `info`, Services and NetworkPolicies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.clients.errors import ClientError
from bot.clients.kube_models import (
    TENANT_LABEL,
    NetworkPolicyInfo,
    PodInfo,
    ServiceInfo,
)
from bot.clients.minio_models import (
    Probe,
    ServerInfo,
)
from bot.commands import escape
from bot.config import TenantConfig
from bot.report import Row, Section, Status, worst
from bot.runtime import Runtime
from handlers.incidents.facts import (
    Diagnosis,
    Fact,
    add_liveness_probes,
    failed_section,
    gather,
    kube_target,
    ms,
    not_on_kubernetes,
    per_node_unavailable,
    probes_of,
    server_label,
)


@dataclass(frozen=True)
class NetworkFacts:
    """Per-node liveness, the peer map from `info`, Services, NetworkPolicies and pods."""

    tenant: str
    endpoints: list[str]
    probes: dict[int, Fact[Probe]]
    per_node_unavailable: str | None  # why there are no per-node probes (load-balanced endpoints)
    info: Fact[ServerInfo]
    services: Fact[list[ServiceInfo]] | None
    policies: Fact[list[NetworkPolicyInfo]] | None
    pods: Fact[list[PodInfo]] | None


def gather_network(runtime: Runtime, tenant: TenantConfig, until: float) -> NetworkFacts:
    """Probe each node's liveness and read `info`, Services, NetworkPolicies and pods, all at once."""
    calls: dict[str, Callable[[], Any]] = {"info": lambda: runtime.minio(tenant).server_info()}
    endpoints = add_liveness_probes(calls, runtime, tenant)
    if tenant.kubernetes is not None:
        calls["services"] = lambda: kube_target(runtime, tenant).services()
        calls["policies"] = lambda: kube_target(runtime, tenant).policies()
        calls["pods"] = lambda: kube_target(runtime, tenant).pods()
    got = gather(calls, until)
    probes = probes_of(got)
    return NetworkFacts(
        tenant=tenant.tenant_name,
        endpoints=endpoints,
        probes=probes,
        per_node_unavailable=per_node_unavailable(got),
        info=got["info"],
        services=got.get("services"),
        policies=got.get("policies"),
        pods=got.get("pods"),
    )


def _selects_tenant(policy: NetworkPolicyInfo, tenant: str) -> bool:
    # An empty selector selects every pod in the namespace.
    return not policy.pod_selector or policy.pod_selector.get(TENANT_LABEL) == tenant


def evaluate_network(facts: NetworkFacts, tenant: str) -> Diagnosis:
    """Which nodes answer, which peers each node sees offline, and what in Kubernetes could block traffic."""
    sections: list[Section] = []
    actions: list[str] = []
    down: list[int] = []
    rows: list[Row] = []
    for n, probe in sorted(facts.probes.items()):
        label = f"node {n}" + (f" ({escape(facts.endpoints[n - 1], 80)})" if 0 < n <= len(facts.endpoints) else "")
        if isinstance(probe, ClientError):
            down.append(n)
            rows.append(Row(status=Status.UNHEALTHY, text=f"{label}: {escape(str(probe), 200)}"))
        elif not probe.ok:
            down.append(n)
            why = probe.error or f"HTTP {probe.status}"
            rows.append(Row(status=Status.UNHEALTHY, text=f"{label}: not live ({escape(why, 120)})"))
        else:
            rows.append(Row(status=Status.HEALTHY, text=f"{label}: live in {ms(probe.latency_ms)}"))
    if facts.per_node_unavailable:
        sections.append(Section(title="Node endpoints", status=Status.INFO, lines=[facts.per_node_unavailable]))
    else:
        status = worst([r.status for r in rows if r.status], Status.UNKNOWN)
        sections.append(Section(title="Node endpoints", status=status, rows=rows))

    partitioned: list[str] = []
    if isinstance(facts.info, ClientError):
        sections.append(failed_section("Peer network (from `info`)", facts.info))
    else:
        peer_rows: list[Row] = []
        offline_servers = {s.endpoint for s in facts.info.servers if s.state != "online"}
        for server in facts.info.servers:
            unseen = sorted(peer for peer, state in server.network.items() if state != "online")
            if server.state != "online":
                peer_rows.append(Row(status=Status.UNHEALTHY, text=f"{server_label(server.endpoint)}: offline"))
            elif unseen:
                # A peer that is itself reported online but unseen by this node means a partition, not a crash.
                odd = [p for p in unseen if p not in offline_servers]
                partitioned += odd
                text = f"{server_label(server.endpoint)} cannot reach: " + ", ".join(escape(p, 80) for p in unseen)
                peer_rows.append(Row(status=Status.UNHEALTHY if odd else Status.DEGRADED, text=text))
            else:
                peer_rows.append(Row(status=Status.HEALTHY, text=f"{server_label(server.endpoint)} reaches all peers"))
        sections.append(
            Section(
                title="Peer network (from `info`)",
                status=worst([r.status for r in peer_rows if r.status], Status.UNKNOWN),
                rows=peer_rows,
            )
        )

    blocking: list[str] = []
    if facts.services is None:
        sections.append(not_on_kubernetes("Services"))
    elif isinstance(facts.services, ClientError):
        sections.append(failed_section("Services", facts.services))
    else:
        mine = [s for s in facts.services if s.selector.get(TENANT_LABEL) == tenant]
        svc_lines = [
            f"`{escape(s.name, 63)}` {escape(s.type or '?', 20)}"
            f" {'headless' if s.cluster_ip == 'None' else escape(s.cluster_ip or '-', 40)}"
            f" ports {', '.join(str(p) for p in s.ports) or '-'}"
            for s in mine
        ]
        has_headless = any(s.cluster_ip == "None" for s in mine)
        status = Status.HEALTHY if mine and has_headless else Status.DEGRADED
        if not has_headless:
            svc_lines.append("No headless Service selects the tenant's pods: nodes cannot find each other by DNS.")
            actions.append(f"Recreate the headless Service `{tenant}-hl` (the operator does this on reconcile).")
        sections.append(Section(title="Services", status=status, lines=svc_lines or ["No Service for this tenant."]))

    if facts.policies is None:
        sections.append(not_on_kubernetes("NetworkPolicies"))
    elif isinstance(facts.policies, ClientError):
        sections.append(failed_section("NetworkPolicies", facts.policies))
    else:
        applying = [p for p in facts.policies if _selects_tenant(p, tenant)]
        pol_rows: list[Row] = []
        for p in applying:
            deny_in = "Ingress" in p.policy_types and p.ingress_rules == 0
            deny_out = "Egress" in p.policy_types and p.egress_rules == 0
            text = (
                f"`{escape(p.name, 63)}`: {', '.join(p.policy_types) or 'Ingress'}; "
                f"{p.ingress_rules} ingress / {p.egress_rules} egress rule(s)"
            )
            if deny_in or deny_out:
                blocking.append(p.name)
                text += " (denies ALL " + " and ".join(x for x, d in (("ingress", deny_in), ("egress", deny_out)) if d)
                text += ", node-to-node traffic included)"
            pol_rows.append(Row(status=Status.UNHEALTHY if deny_in or deny_out else Status.HEALTHY, text=text))
        lines = [] if applying else ["No NetworkPolicy selects the tenant's pods: traffic is not restricted."]
        sections.append(
            Section(
                title="NetworkPolicies",
                status=worst([r.status for r in pol_rows if r.status], Status.INFO),
                rows=pol_rows,
                lines=lines,
            )
        )

    if isinstance(facts.pods, list):
        no_ip = [p.name for p in facts.pods if not p.ip or not p.ready]
        if no_ip:
            sections.append(
                Section(
                    title="Pods without a ready network endpoint",
                    status=Status.DEGRADED,
                    lines=[", ".join(f"`{escape(n, 63)}`" for n in no_ip)],
                )
            )

    if blocking:
        actions.insert(
            0,
            "Fix the NetworkPolicy that denies all traffic ("
            + ", ".join(f"`{escape(b, 63)}`" for b in blocking)
            + "): allow port 9000 between the tenant's pods and from its clients.",
        )
    if partitioned:
        actions.append(
            "Nodes that are up cannot reach each other (partition): check the CNI, node firewalls and DNS for "
            f"`*.{tenant}-hl`."
        )
    if down:
        actions.append(
            "Nodes " + ", ".join(str(n) for n in down) + f" do not answer: `/minio incident pod-crash {tenant}`."
        )
    if not actions:
        actions.append(
            f"No network fault found; if clients still fail, check from their side and `/minio health {tenant}`."
        )
    return Diagnosis(sections, actions)
