"""A multi-node MinIO cluster simulator at the HTTP level (S3, admin, health, metrics, fault injection).

Written from MinIO's public interface facts; no MinIO server code is used.
"""

from sandbox.minio_sim.cluster import SimCluster
from sandbox.minio_sim.jwt_hs512 import make_prometheus_token
from sandbox.minio_sim.model import DEFAULT_VERSION

__all__ = ["DEFAULT_VERSION", "SimCluster", "make_prometheus_token"]
