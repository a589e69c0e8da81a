"""Test Kubernetes control plane (kube-apiserver + etcd, no controllers), a MinIO tenant world builder and an
operator stand-in that reconciles Tenants (see OPERATOR.md)."""

from sandbox.kube.controlplane import (
    BinariesMissing,
    ControlPlane,
    ControlPlaneError,
    apiserver_version,
    find_binaries,
    raw_request,
)
from sandbox.kube.crds import install_crds
from sandbox.kube.operator import OperatorStandIn

__all__ = [
    "BinariesMissing",
    "ControlPlane",
    "ControlPlaneError",
    "OperatorStandIn",
    "apiserver_version",
    "find_binaries",
    "install_crds",
    "raw_request",
]
