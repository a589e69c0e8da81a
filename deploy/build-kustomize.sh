#!/usr/bin/env bash
# Builds kustomize (Apache-2.0), the renderer of deploy/, from the Go module
# proxy into a cache folder outside the work tree, keyed by version. Skips the
# build when the binary is already there. Prints the binary's path on its last
# line. The version is the one pinned in deploy/tools/go.mod.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/tools"
version="$(sed -n 's|^[[:space:]]*sigs.k8s.io/kustomize/kustomize/v5 \(v[0-9.]*\).*|\1|p' go.mod)"
[[ -n "$version" ]] || { echo "no kustomize version pinned in $here/tools/go.mod" >&2; exit 1; }
dest="${MINIO_CHATOPS_KUSTOMIZE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/minio-chatops/tools/kustomize-$version}"
if [[ -x "$dest/kustomize" ]]; then
  echo "$dest/kustomize"
  exit 0
fi
command -v go >/dev/null || { echo "go is required to build kustomize" >&2; exit 1; }
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
echo "building kustomize $version into $dest" >&2
rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
pkg=sigs.k8s.io/kustomize/api/provenance
go build -trimpath -ldflags "-s -w -X $pkg.version=$version -X $pkg.buildDate=1970-01-01T00:00:00Z" \
  -o "$dest.tmp/kustomize" sigs.k8s.io/kustomize/kustomize/v5
rm -rf "$dest" && mv "$dest.tmp" "$dest"
echo "$dest/kustomize"
