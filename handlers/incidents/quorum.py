"""Would deleting a pod break writes? Which MinIO server a pod is, and the erasure sets without it (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from bot.clients.minio import MinioClient
from bot.clients.minio_models import ServerInfo
from bot.clients.timeouts import split_host_port
from bot.erasure import default_parity, write_quorum


def write_quorum_problems(info: ServerInfo, server_endpoint: str) -> list[str]:
    """Erasure sets that would fall below write quorum if ``server_endpoint``'s drives went offline."""
    backend = info.backend
    online: dict[tuple[int, int], int] = {}
    for server in info.servers:
        if server.endpoint == server_endpoint:
            continue
        for drive in server.drives:
            if drive.state == "ok":
                key = (drive.pool_index, drive.set_index)
                online[key] = online.get(key, 0) + 1
    problems = []
    for pool, (sets, size) in enumerate(zip(backend.total_sets, backend.drives_per_set, strict=False)):
        parity = backend.standard_sc_parity if backend.standard_sc_parity is not None else default_parity(size)
        quorum = write_quorum(size, min(parity, size // 2))
        for index in range(sets):
            left = online.get((pool, index), 0)
            if left < quorum:
                problems.append(
                    f"pool {pool} set {index} would keep {left} online drive(s), below its write quorum of {quorum}"
                )
    return problems


def server_for_pod(info: ServerInfo, pod: str, client: MinioClient, resolve: Mapping[str, str]) -> str | None:
    """The MinIO server endpoint a pod serves, or None when it cannot be told (never guessed from order).

    MinIO names each server as it was started: in a cluster ``<pod>.<tenant>-hl.<namespace>.svc...``.
    A client that reaches the Tenant pod by pod knows each node's pod (``client.node_name``); that node's
    server is the one at the node's address, or at the address ``resolve`` maps it to (a port-forward).
    """
    for server in info.servers:
        host = server.endpoint.split("://", 1)[-1].rsplit(":", 1)[0]
        if host == pod or host.startswith(pod + "."):
            return server.endpoint
    number = next((n for n in client.nodes if client.node_name(n) == pod), None)
    if number is None:
        return None
    address = urlsplit(client.endpoints[number - 1])
    seen_at = {address.netloc, resolved(address.hostname or "", address.port, resolve)}
    return next((s.endpoint for s in info.servers if s.endpoint.split("://", 1)[-1] in seen_at), None)


def resolved(host: str, port: int | None, resolve: Mapping[str, str]) -> str | None:
    """``host:port`` as ``resolve`` maps it (``host:port`` or ``host`` keys, like the client's connections)."""
    lowered = {key.lower(): value for key, value in resolve.items()}
    target = lowered.get(f"{host.lower()}:{port}") or lowered.get(host.lower())
    if target is None:
        return None
    address, new_port = split_host_port(target)
    return f"{address}:{new_port or port}"
