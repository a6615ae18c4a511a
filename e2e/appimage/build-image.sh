#!/usr/bin/env bash
# Builds infrahubdb-e2e/app:latest offline, FROM scratch: one static Go
# program (e2e/appimage/app) that runs until SIGTERM and exits 0, standing
# for Infrahub's non-database services (infrahub-server, task-worker,
# task-manager) in Compose projects. The image carries a label with a hash of
# its inputs; when it already has the current hash nothing is built.
# Progress goes to stderr; the LAST line of stdout is the image reference.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

image=infrahubdb-e2e/app:latest
label=org.opsmill.infrahubdb-e2e.inputs

log() { echo "build-app-image: $*" >&2; }

inputs_hash() {
	{
		go version
		find e2e/appimage -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
		sha256sum go.mod
	} | sha256sum | cut -c1-32
}
hash=$(inputs_hash)

current=$(docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$image" 2>/dev/null || true)
if [[ "$current" == "$hash" ]]; then
	log "image is up to date (inputs $hash)"
	echo "$image"
	exit 0
fi

start=$SECONDS
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
# /tmp for anyone who writes there; /opt/infrahub/storage is where the
# storage_data volume goes (a new volume copies the image's directory).
mkdir -p "$root/usr/local/bin" "$root/tmp" "$root/opt/infrahub/storage"
chmod 1777 "$root/tmp"
log "building the app"
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$root/usr/local/bin/app" ./e2e/appimage/app >&2
cp e2e/appimage/image/Dockerfile "$ctx/Dockerfile"
log "docker build $image"
docker build -q --label "$label=$hash" -t "$image" "$ctx" >&2
log "built in $((SECONDS - start))s (inputs $hash)"
echo "$image"
