#!/usr/bin/env bash
# Builds the Neo4j stand-in images of one release offline, FROM scratch, from
# the Go programs under e2e/standin/cmd and a few tools copied from the host
# with their shared libraries:
#   infrahubdb-e2e/neo4j:<version>-enterprise   (NEO4J_EDITION=enterprise)
#   infrahubdb-e2e/neo4j:<version>-community    (NEO4J_EDITION=community)
# <version> is $NEO4J_VERSION (default 5.26.0, the 5.x LTS; 2025.10.1 is what
# Infrahub ships). It is baked into the binaries (package version, set with
# -ldflags -X), so every per-release behaviour follows the tag.
# The images carry a label with a hash of every input (the version included);
# when both tags already have the current hash nothing is built. Progress goes
# to stderr; the LAST line of stdout is the enterprise image reference.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

version=${NEO4J_VERSION:-5.26.0}
if [[ ! $version =~ ^(5\.[0-9]+|20[0-9]{2}\.[0-9]{2})\.[0-9]+$ ]]; then
	echo "build-image: NEO4J_VERSION=$version is not a Neo4j release like 5.26.0 or 2025.10.1" >&2
	exit 64
fi
# INFRAHUBDB_E2E_STANDIN_REPO names another repository for the images, so
# two checkouts with different stand-in sources can test on one engine
# without rebuilding each other's images.
repo_name=${INFRAHUBDB_E2E_STANDIN_REPO:-infrahubdb-e2e/neo4j}
enterprise=$repo_name:$version-enterprise
community=$repo_name:$version-community
label=org.opsmill.infrahubdb-e2e.inputs
required=(bash sh cat sleep ls stat find rm mkdir cp mv id chown chmod env test head tail wc sha256sum tar timeout)
optional=(gzip grep sed true date ln)
tools=("${required[@]}" "${optional[@]}")

log() { echo "build-image: $*" >&2; }

# Host tools: absolute paths of the binaries that exist here.
tool_paths=()
for t in "${required[@]}"; do
	p=$(type -P "$t") || { log "required tool $t not found on the host"; exit 1; }
	tool_paths+=("$(readlink -f "$p")")
done
for t in "${optional[@]}"; do
	if p=$(type -P "$t"); then tool_paths+=("$(readlink -f "$p")"); else log "optional tool $t not found, skipped"; fi
done

# The hash of the inputs: Go sources of the stand-in, the module files, this
# script and its image files, the host binaries and the Go toolchain.
inputs_hash() {
	{
		echo "neo4j $version"
		go version
		find e2e/standin -type f \( -name '*.go' -o -path 'e2e/standin/image/*' \) ! -name '*_test.go' -print0 |
			LC_ALL=C sort -z | xargs -0 sha256sum
		sha256sum go.mod go.sum e2e/standin/build-image.sh "${tool_paths[@]}"
	} | sha256sum | cut -c1-32
}
hash=$(inputs_hash)

current() { docker image inspect -f "{{ index .Config.Labels \"$label\" }}" "$1" 2>/dev/null || true; }
if [[ "$(current "$enterprise")" == "$hash" && "$(current "$community")" == "$hash" ]]; then
	log "images are up to date (inputs $hash)"
	echo "$enterprise"
	exit 0
fi

start=$SECONDS
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
root="$ctx/rootfs"
home="$root/var/lib/neo4j"
mkdir -p "$home/bin" "$root/usr/bin" "$root/bin" "$root/etc" "$root/tmp" "$ctx/owned/data" "$ctx/owned/logs"
chmod 1777 "$root/tmp"

log "building the stand-in programs"
for cmd in neo4j neo4j-admin cypher-shell; do
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/opsmill/docker-infrahubdb/e2e/standin/version.current=$version" -o "$home/bin/$cmd" "./e2e/standin/cmd/$cmd" >&2
	ln -s "/var/lib/neo4j/bin/$cmd" "$root/usr/bin/$cmd"
done

log "copying host tools and their libraries"
copy_with_path() { # copy a file to the same absolute path inside the image
	mkdir -p "$root$(dirname "$2")"
	cp -L "$1" "$root$2"
}
for t in "${tools[@]}"; do
	p=$(type -P "$t") || continue
	copy_with_path "$p" "/usr/bin/$t"
	[[ -e "$root/bin/$t" ]] || ln -s "/usr/bin/$t" "$root/bin/$t"
	while read -r lib; do
		[[ -n "$lib" ]] || continue
		[[ -e "$root$lib" ]] || copy_with_path "$lib" "$lib"
	done < <(ldd "$p" 2>/dev/null | grep -o '/[^ ]*' || true)
done

cp e2e/standin/image/passwd e2e/standin/image/group e2e/standin/image/nsswitch.conf "$root/etc/"
mkdir -p "$ctx/owned/var/lib/neo4j/conf"
cp e2e/standin/image/neo4j.conf "$ctx/owned/var/lib/neo4j/conf/neo4j.conf"
cp e2e/standin/image/Dockerfile "$ctx/Dockerfile"

for edition in enterprise community; do
	tag=$enterprise
	[[ $edition == community ]] && tag=$community
	log "docker build $tag"
	docker build -q --build-arg "EDITION=$edition" --build-arg "VERSION=$version" --label "$label=$hash" -t "$tag" "$ctx" >&2
done
log "built in $((SECONDS - start))s (inputs $hash)"
echo "$enterprise"
