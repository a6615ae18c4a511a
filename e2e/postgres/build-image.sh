#!/usr/bin/env bash
# Builds infrahubdb-e2e/postgres:latest offline, FROM scratch: the REAL
# PostgreSQL 15 server and client tools from the host's Debian packages
# (postgresql-15, postgresql-client-15) with their shared libraries and share
# files, bash and a few coreutils, and a Go entrypoint
# (e2e/postgres/entrypoint) that starts the server the way the official
# `postgres` image does (POSTGRES_USER/PASSWORD/DB, initdb into PGDATA on
# first start, password auth from other hosts, runs as postgres).
# The image carries a label with a hash of every input; when it already has
# the current hash nothing is built. Progress goes to stderr; the LAST line of
# stdout is the image reference.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

image=infrahubdb-e2e/postgres:latest
label=org.opsmill.infrahubdb-e2e.inputs
major=15
pgbin=/usr/lib/postgresql/$major/bin
pglib=/usr/lib/postgresql/$major/lib
pgshare=/usr/share/postgresql/$major
tools=(bash sh cat ls rm mkdir cp mv id env head tail wc sleep chown chmod grep sed gzip)

log() { echo "build-postgres-image: $*" >&2; }

if [[ ! -x $pgbin/postgres || ! -x $pgbin/pg_dump ]]; then
	log "PostgreSQL $major is not installed on the host: apt-get install -y postgresql-$major postgresql-client-$major"
	exit 1
fi

# Server and client programs (all of bin/), the server's loadable modules
# except LLVM JIT (it would pull in libLLVM; without it JIT is just off), and
# the host tools.
programs=("$pgbin"/*)
modules=()
for m in "$pglib"/*.so; do
	[[ $(basename "$m") == llvmjit* ]] || modules+=("$m")
done
tool_paths=()
for t in "${tools[@]}"; do
	p=$(type -P "$t") || { log "tool $t not found on the host"; exit 1; }
	tool_paths+=("$p")
done

# The hash of the inputs: the entrypoint's source, this script and its image
# files, the installed package versions, the host tools and the Go toolchain.
inputs_hash() {
	{
		go version
		dpkg-query -W -f '${Package} ${Version}\n' "postgresql-$major" "postgresql-client-$major" 2>/dev/null || true
		find e2e/postgres -type f \( -name '*.go' -o -path 'e2e/postgres/image/*' \) ! -name '*_test.go' -print0 |
			LC_ALL=C sort -z | xargs -0 sha256sum
		sha256sum go.mod e2e/postgres/build-image.sh "${programs[@]}" "${tool_paths[@]}"
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
mkdir -p "$root/usr/local/bin" "$root/usr/bin" "$root/bin" "$root/etc" "$root/tmp" "$root/docker-entrypoint-initdb.d" \
	"$ctx/owned/var/lib/postgresql/data" "$ctx/owned/var/run/postgresql"
chmod 1777 "$root/tmp"
chmod 700 "$ctx/owned/var/lib/postgresql/data"
chmod 3777 "$ctx/owned/var/run/postgresql"

log "building the entrypoint"
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$root/usr/local/bin/docker-entrypoint.sh" ./e2e/postgres/entrypoint >&2

copy_with_path() { # copy a file to the same absolute path inside the image
	mkdir -p "$root$(dirname "$2")"
	cp -L "$1" "$root$2"
}
copy_libs() { # the shared libraries of an ELF file, at their paths
	local lib
	while read -r lib; do
		[[ -n "$lib" && ! -e "$root$lib" ]] || continue
		copy_with_path "$lib" "$lib"
	done < <(ldd "$1" 2>/dev/null | grep -o '/[^ ]*' || true)
}

log "copying PostgreSQL $major and its libraries"
for p in "${programs[@]}" "${modules[@]}"; do
	copy_with_path "$p" "$p"
	copy_libs "$p"
done
# Share files (catalog bootstrap, extensions, tsearch, timezone sets), minus
# the man pages. listen_addresses='*' in the sample postgresql.conf, as the
# official image does, so initdb's postgresql.conf listens everywhere.
mkdir -p "$root$pgshare"
(cd "$pgshare" && tar --exclude=./man -cf - .) | (cd "$root$pgshare" && tar -xf -)
sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" "$root$pgshare/postgresql.conf.sample"
grep -q "^listen_addresses = '\*'" "$root$pgshare/postgresql.conf.sample" || { log "could not set listen_addresses"; exit 1; }
# Debian builds with --with-system-tzdata; initdb and the server need it.
copy_tree() { mkdir -p "$root$(dirname "$1")"; cp -a "$1" "$root$1"; }
copy_tree /usr/share/zoneinfo
# /etc/localtime as in the official image (Etc/UTC): initdb takes the default
# timezone from this link instead of probing every zone file (~20 s).
ln -s /usr/share/zoneinfo/Etc/UTC "$root/etc/localtime"
# LANG=C.UTF-8 (initdb: encoding UTF8, like the official image's en_US.utf8).
copy_tree /usr/lib/locale/C.utf8

log "copying host tools and their libraries"
for t in "${tools[@]}"; do
	p=$(type -P "$t")
	copy_with_path "$p" "/usr/bin/$t"
	[[ -e "$root/bin/$t" ]] || ln -s "/usr/bin/$t" "$root/bin/$t"
	copy_libs "$p"
done

cp e2e/postgres/image/passwd e2e/postgres/image/group e2e/postgres/image/nsswitch.conf "$root/etc/"
cp e2e/postgres/image/Dockerfile "$ctx/Dockerfile"

log "docker build $image"
docker build -q --label "$label=$hash" -t "$image" "$ctx" >&2
log "built in $((SECONDS - start))s (inputs $hash)"
echo "$image"
