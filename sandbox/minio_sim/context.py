"""What a request handler on one node can see: the shared model, the scanner and its own identity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sandbox.minio_sim.model import ClusterModel
from sandbox.minio_sim.scanner import Scanner


@dataclass
class NodeContext:
    """Per-node view handed to the S3/admin/health/metrics handlers."""

    model: ClusterModel
    scanner: Scanner
    node: int
    # Process-level actions (restart/stop of node processes) live in SimCluster.
    restart_nodes: Callable[[list[int]], None]
    stop_nodes: Callable[[list[int]], None]

    @property
    def endpoint(self) -> str:
        """This node's host:port."""
        return self.model.node_endpoint(self.node)
