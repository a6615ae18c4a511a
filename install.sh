#!/usr/bin/env bash
# Install (or with --uninstall remove) the docker-infrahubdb CLI plugin.
#
#   ./install.sh                     build it from this checkout (needs Go) and install it
#   ./install.sh FILE                install a downloaded release binary (no Go needed);
#                                    checked against the SHA256SUMS beside it, if any
#   ./install.sh --system [FILE]     for all users: /usr/local/lib/docker/cli-plugins
#                                    (what cron jobs and CI runners of other users see)
#   ./install.sh [--system] --uninstall
#
# Per user it installs into ${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins. Idempotent.
set -euo pipefail

die() { echo "install.sh: $*" >&2; exit 1; }
usage() { sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }

plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
action=install binary=""
while (($#)); do
  case "$1" in
    --system) plugin_dir=/usr/local/lib/docker/cli-plugins ;;
    --uninstall) action=uninstall ;;
    --install) ;;
    -h|--help) usage; exit 0 ;;
    -*) die "unknown option '$1' (see ./install.sh --help)" ;;
    *) [[ -z $binary ]] || die "one binary at a time"; binary=$1 ;;
  esac
  shift
done
target="$plugin_dir/docker-infrahubdb"

if [[ $action == uninstall ]]; then
  rm -f "$target"
  echo "removed $target"
  exit 0
fi

command -v docker >/dev/null 2>&1 || die "the docker CLI is not installed: install Docker (https://docs.docker.com/engine/install/) first"

if [[ -n $binary ]]; then
  [[ -f $binary ]] || die "$binary: no such file"
  sums="$(dirname "$binary")/SHA256SUMS"
  if [[ -f $sums ]]; then
    name=$(basename "$binary")
    want=$(awk -v n="$name" '$2 == n || $2 == "*" n { print $1 }' "$sums")
    [[ -n $want ]] || die "$sums has no line for $name"
    if command -v sha256sum >/dev/null 2>&1; then got=$(sha256sum "$binary"); else got=$(shasum -a 256 "$binary"); fi
    [[ ${got%% *} == "$want" ]] || die "$binary does not match its SHA256SUMS line: download it again"
    echo "checked $name against $sums"
  fi
  src=$binary
else
  cd "$(dirname "${BASH_SOURCE[0]}")"
  [[ -f go.mod ]] || die "no checkout here to build from: give the downloaded binary, e.g. ./install.sh docker-infrahubdb-linux-amd64"
  if ! command -v go >/dev/null 2>&1; then
    if [ -x /usr/local/go/bin/go ]; then
      export PATH="$PATH:/usr/local/go/bin"
    else
      die "Go is not installed: install Go 1.26 or newer (https://go.dev/dl/) to build the plugin, or install a release binary: ./install.sh docker-infrahubdb-<os>-<arch>"
    fi
  fi
  version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  pkg=github.com/opsmill/docker-infrahubdb/internal/version
  mkdir -p bin
  # The guardian binaries the plugin embeds (make guardian does the same).
  for arch in amd64 arm64; do
    CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags '-s -w' \
      -o internal/guardian/bin/guardian-linux-$arch ./cmd/infrahubdb-guardian
  done
  CGO_ENABLED=0 go build -trimpath -tags guardian_embed \
    -ldflags "-s -w -X $pkg.Version=$version -X $pkg.Commit=$commit" \
    -o bin/docker-infrahubdb ./cmd/docker-infrahubdb
  src=bin/docker-infrahubdb
fi

mkdir -p "$plugin_dir" || die "cannot create $plugin_dir (for --system, run as root: sudo ./install.sh --system ...)"
install -m 0755 "$src" "$target.tmp"
mv -f "$target.tmp" "$target"

echo "installed $("$target" docker-cli-plugin-metadata | sed -n 's/.*"Version": *"\([^"]*\)".*/docker-infrahubdb \1/p') in $target"
echo "check it with: docker infrahubdb version"
