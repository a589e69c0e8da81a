"""`/minio incident network-issue`: each node's endpoint, the peer map from `info`, Services and NetworkPolicies."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clients.errors import ClientError
from bot.clients.kube_models import TENANT_LABEL, NetworkPolicyInfo, PodInfo, ServiceInfo
from bot.clients.minio_models import Probe, ServerInfo
from bot.config import TenantConfig
from bot.report import Row, Section, Status, Text, code, join, spans
from handlers.incidents.diagnose.sections import failed_section, ms, not_on_kubernetes, rows_status
from handlers.incidents.model import Diagnosis, Fact, Gathered

NEEDS = ("probes", "info", "services", "policies", "pods")
PEERS_TITLE = "Peer network (from info)"


@dataclass(frozen=True)
class NetworkFacts:
    """Per-node liveness, the peer map from `info`, Services, NetworkPolicies and pods."""

    endpoints: list[str]
    probes: dict[int, Fact[Probe]]
    per_node: ClientError | None  # why there are no per-node probes (load-balanced endpoints)
    info: Fact[ServerInfo]
    services: Fact[list[ServiceInfo]] | None
    policies: Fact[list[NetworkPolicyInfo]] | None
    pods: Fact[list[PodInfo]] | None

    @classmethod
    def of(cls, got: Gathered) -> NetworkFacts:
        probes = {int(n): probe for n, probe in got.items("probe").items()}
        return cls(got.get("endpoints") or [], probes, got.get("per_node"), got.get("info"), got.get("services"),
                   got.get("policies"), got.get("pods"))


def _probe_row(label: str, probe: Fact[Probe]) -> Row:
    if isinstance(probe, ClientError):
        return Row(status=Status.UNHEALTHY, text=spans(label, ": ", str(probe)))
    if not probe.ok:
        why = probe.error or f"HTTP {probe.status}"
        return Row(status=Status.UNHEALTHY, text=spans(label, ": not live (", why, ")"))
    return Row(status=Status.HEALTHY, text=spans(label, f": live in {ms(probe.latency_ms)}"))


def endpoints_section(facts: NetworkFacts) -> tuple[Section, list[int]]:
    """Which nodes answer their liveness probe; with the numbers of those that do not."""
    if facts.per_node is not None:
        return Section(title="Node endpoints", status=Status.INFO, lines=[spans(str(facts.per_node))]), []
    rows: list[Row] = []
    down: list[int] = []
    for n, probe in sorted(facts.probes.items()):
        label = f"node {n}" + (f" ({facts.endpoints[n - 1]})" if 0 < n <= len(facts.endpoints) else "")
        rows.append(_probe_row(label, probe))
        if rows[-1].status is Status.UNHEALTHY:
            down.append(n)
    return Section(title="Node endpoints", status=rows_status(rows, Status.UNKNOWN), rows=rows), down


def peers_section(info: Fact[ServerInfo]) -> tuple[Section, list[str]]:
    """Which peers each server cannot reach; with the peers that are up yet unseen (a partition)."""
    if isinstance(info, ClientError):
        return failed_section(PEERS_TITLE, info), []
    rows: list[Row] = []
    partitioned: list[str] = []
    offline_servers = {s.endpoint for s in info.servers if s.state != "online"}
    for server in info.servers:
        unseen = sorted(peer for peer, state in server.network.items() if state != "online")
        if server.state != "online":
            rows.append(Row(status=Status.UNHEALTHY, text=spans(server.endpoint, ": offline")))
        elif unseen:
            # A peer that is itself reported online but unseen by this node means a partition, not a crash.
            odd = [p for p in unseen if p not in offline_servers]
            partitioned += odd
            text = spans(server.endpoint, " cannot reach: ", ", ".join(unseen))
            rows.append(Row(status=Status.UNHEALTHY if odd else Status.DEGRADED, text=text))
        else:
            rows.append(Row(status=Status.HEALTHY, text=spans(server.endpoint, " reaches all peers")))
    return Section(title=PEERS_TITLE, status=rows_status(rows, Status.UNKNOWN), rows=rows), partitioned


def _service_line(service: ServiceInfo) -> Text:
    address = "headless" if service.cluster_ip == "None" else service.cluster_ip or "-"
    ports = ", ".join(str(p) for p in service.ports) or "-"
    return spans(code(service.name), f" {service.type or '?'} {address} ports {ports}")


def services_section(services: Fact[list[ServiceInfo]] | None, tenant: str) -> tuple[Section, bool]:
    """The Services selecting the tenant's pods; with whether the headless one (peer DNS) is missing."""
    if services is None:
        return not_on_kubernetes("Services"), False
    if isinstance(services, ClientError):
        return failed_section("Services", services), False
    mine = [s for s in services if s.selector.get(TENANT_LABEL) == tenant]
    lines = [_service_line(s) for s in mine]
    headless = any(s.cluster_ip == "None" for s in mine)
    if not headless:
        lines.append("No headless Service selects the tenant's pods: nodes cannot find each other by DNS.")
    status = Status.HEALTHY if mine and headless else Status.DEGRADED
    return Section(title="Services", status=status, lines=lines or ["No Service for this tenant."]), not headless


def _selects_tenant(policy: NetworkPolicyInfo, tenant: str) -> bool:
    # An empty selector selects every pod in the namespace.
    return not policy.pod_selector or policy.pod_selector.get(TENANT_LABEL) == tenant


def _policy_row(policy: NetworkPolicyInfo) -> tuple[Row, bool]:
    denied = [way for way, kind, rules in (("ingress", "Ingress", policy.ingress_rules),
                                           ("egress", "Egress", policy.egress_rules))
              if kind in policy.policy_types and rules == 0]
    text = spans(code(policy.name), f": {', '.join(policy.policy_types) or 'Ingress'}; "
                 f"{policy.ingress_rules} ingress / {policy.egress_rules} egress rule(s)")
    if denied:
        text = spans(text, f" (denies ALL {' and '.join(denied)}, node-to-node traffic included)")
    return Row(status=Status.UNHEALTHY if denied else Status.HEALTHY, text=text), bool(denied)


def policies_section(policies: Fact[list[NetworkPolicyInfo]] | None, tenant: str) -> tuple[Section, list[str]]:
    """The NetworkPolicies that apply to the tenant's pods; with those that deny all traffic."""
    if policies is None:
        return not_on_kubernetes("NetworkPolicies"), []
    if isinstance(policies, ClientError):
        return failed_section("NetworkPolicies", policies), []
    applying = [p for p in policies if _selects_tenant(p, tenant)]
    judged = [_policy_row(p) for p in applying]
    rows = [row for row, _ in judged]
    blocking = [p.name for p, (_, denies) in zip(applying, judged, strict=True) if denies]
    lines = [] if applying else ["No NetworkPolicy selects the tenant's pods: traffic is not restricted."]
    section = Section(title="NetworkPolicies", status=rows_status(rows, Status.INFO), rows=rows, lines=lines)
    return section, blocking


def unready_pods_section(pods: Fact[list[PodInfo]] | None) -> list[Section]:
    """Pods without an IP or not ready: they have no network endpoint for their peers (none: no section)."""
    no_ip = [p.name for p in pods if not p.ip or not p.ready] if isinstance(pods, list) else []
    if not no_ip:
        return []
    line = join([spans(code(n)) for n in no_ip])
    return [Section(title="Pods without a ready network endpoint", status=Status.DEGRADED, lines=[line])]


def network_actions(
    tenant: TenantConfig, blocking: list[str], no_headless: bool, partitioned: bool, down: list[int]
) -> list[Text]:
    """What to fix first: a deny-all policy, the headless Service, a partition, nodes that do not answer."""
    name, headless = tenant.name, f"{tenant.tenant_name}-hl"
    actions: list[Text] = []
    if blocking:
        names = join([spans(code(b)) for b in blocking])
        actions.append(spans("Fix the NetworkPolicy that denies all traffic (", names,
                             "): allow port 9000 between the tenant's pods and from its clients."))
    if no_headless:
        actions.append(spans("Recreate the headless Service ", code(headless),
                             " (the operator does this on reconcile)."))
    if partitioned:
        actions.append(spans("Nodes that are up cannot reach each other (partition): check the CNI, node firewalls "
                             "and DNS for ", code(f"*.{headless}"), "."))
    if down:
        actions.append(spans(f"Nodes {', '.join(str(n) for n in down)} do not answer: ",
                             code(f"/minio incident pod-crash {name}"), "."))
    if not actions:
        actions.append(spans("No network fault found; if clients still fail, check from their side and ",
                             code(f"/minio health {name}"), "."))
    return actions


def evaluate_network(facts: NetworkFacts, tenant: TenantConfig) -> Diagnosis:
    """Which nodes answer, which peers each node sees offline, and what in Kubernetes could block traffic."""
    endpoints, down = endpoints_section(facts)
    peers, partitioned = peers_section(facts.info)
    services, no_headless = services_section(facts.services, tenant.tenant_name)
    policies, blocking = policies_section(facts.policies, tenant.tenant_name)
    sections = [endpoints, peers, services, policies, *unready_pods_section(facts.pods)]
    return Diagnosis(sections, network_actions(tenant, blocking, no_headless, bool(partitioned), down))
