#!/usr/bin/env bash
# Builds kube-apiserver and etcd (Apache-2.0) from the Go module proxy into a
# cache folder outside the work tree. Skips the build when both are present.
# Prints the folder holding the binaries on its last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="${KUBE_VERSION:-v1.35.4}"
dest="${MINIO_CHATOPS_TESTBIN:-${XDG_CACHE_HOME:-$HOME/.cache}/minio-chatops/testbin/$version}"
if [[ -x "$dest/kube-apiserver" && -x "$dest/etcd" ]]; then
  echo "$dest"
  exit 0
fi
command -v go >/dev/null || { echo "go is required to build the test control plane" >&2; exit 1; }
mkdir -p "$dest.tmp"
cd "$here/testbin"
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
etcd_version="$(go list -m -f '{{.Version}}' go.etcd.io/etcd/server/v3)"
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$version" | cut -d. -f2) -X $pkg.gitTreeState=clean"
echo "building kube-apiserver $version and etcd $etcd_version into $dest (first build takes 10-20 min)" >&2
go build -trimpath -ldflags "$ldflags" -o "$dest.tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
go build -trimpath -ldflags "-s -w" -o "$dest.tmp/etcd" go.etcd.io/etcd/server/v3
rm -rf "$dest" && mv "$dest.tmp" "$dest"
echo "$dest"
