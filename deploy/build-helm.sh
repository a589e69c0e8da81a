#!/usr/bin/env bash
# Builds Helm 4 (Apache-2.0), the renderer of deploy/helm/minio-chatops, from
# the Go module proxy into a cache folder outside the work tree, keyed by
# version. Skips the build when the binary is already there. Prints the
# binary's path on its last line. The version is the one pinned in
# deploy/tools/go.mod.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/tools"
version="$(sed -n 's|^[[:space:]]*helm.sh/helm/v4 \(v[0-9.]*\).*|\1|p' go.mod)"
[[ -n "$version" ]] || { echo "no helm version pinned in $here/tools/go.mod" >&2; exit 1; }
dest="${MINIO_CHATOPS_HELM_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/minio-chatops/tools/helm-$version}"
if [[ -x "$dest/helm" ]]; then
  echo "$dest/helm"
  exit 0
fi
command -v go >/dev/null || { echo "go is required to build helm" >&2; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0
echo "building helm $version into $dest (a few minutes, once)" >&2
rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
pkg=helm.sh/helm/v4/internal/version
go build -trimpath -ldflags "-s -w -X $pkg.version=$version -X $pkg.gitTreeState=clean" \
  -o "$dest.tmp/helm" helm.sh/helm/v4/cmd/helm
rm -rf "$dest" && mv "$dest.tmp" "$dest"
echo "$dest/helm"
