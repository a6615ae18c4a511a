#!/usr/bin/env bash
# Install (or with --uninstall remove) the docker-infrahubdb CLI plugin from
# this checkout into ${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins. Idempotent.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
target="$plugin_dir/docker-infrahubdb"

die() { echo "install.sh: $*" >&2; exit 1; }

case "${1:-}" in
  --uninstall)
    rm -f "$target"
    echo "removed $target"
    exit 0 ;;
  ""|--install) ;;
  -h|--help)
    echo "usage: ./install.sh [--uninstall]   (honours DOCKER_CONFIG)"; exit 0 ;;
  *) die "unknown option '$1' (use --uninstall or nothing)" ;;
esac

command -v docker >/dev/null 2>&1 || die "the docker CLI is not installed: install Docker (https://docs.docker.com/engine/install/) first"
if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then
    export PATH="$PATH:/usr/local/go/bin"
  else
    die "Go is not installed: install Go 1.26 or newer (https://go.dev/dl/) to build the plugin"
  fi
fi

version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
pkg=github.com/opsmill/docker-infrahubdb/internal/version
mkdir -p bin "$plugin_dir"
CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X $pkg.Version=$version -X $pkg.Commit=$commit" \
  -o bin/docker-infrahubdb ./cmd/docker-infrahubdb
install -m 0755 bin/docker-infrahubdb "$target.tmp"
mv -f "$target.tmp" "$target"

echo "installed docker-infrahubdb $version in $target"
echo "check it with: docker infrahubdb version"
