"""Test Kubernetes control plane (kube-apiserver + etcd, no controllers) and a MinIO tenant world builder."""

from sandbox.kube.controlplane import (
    BinariesMissing,
    ControlPlane,
    ControlPlaneError,
    apiserver_version,
    find_binaries,
    raw_request,
)
from sandbox.kube.crds import install_crds

__all__ = [
    "BinariesMissing",
    "ControlPlane",
    "ControlPlaneError",
    "apiserver_version",
    "find_binaries",
    "install_crds",
    "raw_request",
]
