#!/usr/bin/env bash
# Cross-compile the plugin for every platform Docker's CLI runs on, with the
# version stamped in, and write SHA256SUMS beside the binaries:
#   scripts/release.sh [DIR]        (default dist; `make release` runs it)
# Names follow docker's plugin releases (compose, buildx):
# docker-infrahubdb-<os>-<arch>[.exe]. PLATFORMS overrides the list.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

dir=${1:-dist}
go=${GO:-go}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
platforms=${PLATFORMS:-linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64}
pkg=github.com/opsmill/docker-infrahubdb/internal/version

rm -rf "$dir"
mkdir -p "$dir"
# The guardian each binary embeds: a macOS or Windows client (or a Linux one
# of another architecture) cannot copy itself into the Linux Docker host.
for arch in amd64 arm64; do
  CGO_ENABLED=0 GOOS=linux GOARCH=$arch "$go" build -trimpath -ldflags '-s -w' \
    -o internal/guardian/bin/guardian-linux-$arch ./cmd/infrahubdb-guardian
done
for p in $platforms; do
  os=${p%/*} arch=${p#*/}
  out="$dir/docker-infrahubdb-$os-$arch"
  [[ $os == windows ]] && out+=.exe
  echo "building $out ($version)"
  CGO_ENABLED=0 GOOS=$os GOARCH=$arch "$go" build -trimpath -tags guardian_embed \
    -ldflags "-s -w -X $pkg.Version=$version -X $pkg.Commit=$commit" \
    -o "$out" ./cmd/docker-infrahubdb
done
sum=(sha256sum); command -v sha256sum >/dev/null || sum=(shasum -a 256) # macOS
(cd "$dir" && "${sum[@]}" docker-infrahubdb-* >SHA256SUMS)
echo "wrote $dir/SHA256SUMS"
