# docker-infrahubdb: build, install and test the Docker CLI plugin.
GO        ?= go
BIN       := bin/docker-infrahubdb
PKG       := github.com/opsmill/docker-infrahubdb
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X $(PKG)/internal/version.Version=$(VERSION) -X $(PKG)/internal/version.Commit=$(COMMIT)
PLUGINDIR := $(or $(DOCKER_CONFIG),$(HOME)/.docker)/cli-plugins

.PHONY: all build guardian install test e2e e2e-image lint bench clean

all: build

# The guardian (internal/guardian/agent), a small static binary per
# architecture that the plugin embeds (build tag guardian_embed) and copies
# into a container on the Docker host. A plain `go build` works without
# them: the plugin then runs its own binary as the guardian when the daemon
# has the client's architecture.
GUARDIAN_ARCHES := amd64 arm64
GUARDIAN_DIR    := internal/guardian/bin
guardian:
	@for a in $(GUARDIAN_ARCHES); do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$a $(GO) build -trimpath -ldflags '-s -w' -o $(GUARDIAN_DIR)/guardian-linux-$$a ./cmd/infrahubdb-guardian || exit 1; \
	done

build: guardian
	CGO_ENABLED=0 $(GO) build -trimpath -tags guardian_embed -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/docker-infrahubdb

install: build
	mkdir -p '$(PLUGINDIR)'
	install -m 0755 $(BIN) '$(PLUGINDIR)/docker-infrahubdb'
	@echo "installed $(PLUGINDIR)/docker-infrahubdb"

# Unit tests, with the race detector: no Docker engine needed.
test:
	$(GO) test -race -count=1 ./cmd/... ./internal/...

# The Neo4j stand-in images of release $(NEO4J_VERSION) (default 5.26.0, e.g.
# NEO4J_VERSION=2025.10.1 make e2e-image); the last line of output is the
# enterprise image reference.
e2e-image:
	./e2e/standin/build-image.sh

# End-to-end tests: the real plugin through the real docker CLI against the
# real engine, for each Neo4j release of E2E_RELEASES: the whole suite against
# the first (the release Infrahub ships), and every scenario whose behaviour
# differs between releases (backup, restore, catalog, faults, the stand-in
# itself) against the others.
E2E_RELEASES    ?= 2025.10.1 5.26.0
E2E_PER_RELEASE ?= Standin|Backup|Restore|Catalog|Fault|Infrahub|Community|Symlink
e2e:
	@set -e; first=1; for v in $(E2E_RELEASES); do \
	  echo "== end-to-end tests against Neo4j $$v"; \
	  NEO4J_VERSION=$$v ./e2e/standin/build-image.sh >/dev/null; \
	  if [ $$first = 1 ]; then NEO4J_VERSION=$$v $(GO) test -count=1 -timeout 40m ./e2e/...; first=0; \
	  else NEO4J_VERSION=$$v $(GO) test -count=1 -timeout 40m ./e2e/ -run '$(E2E_PER_RELEASE)'; fi; \
	done

# Benchmark, not part of the tests: seeds a >1 GiB database in the stand-in and
# prints one markdown table (README "Performance"). The kit builds the plugin.
bench: e2e-image
	$(GO) test -c -tags bench -o bin/bench.test ./e2e/bench
	cd e2e/bench && ../../bin/bench.test -test.run '^TestBench$$' -test.timeout 40m -test.v >../../bin/bench.log 2>&1 || { tail -60 ../../bin/bench.log; exit 1; }
	@grep -E '^(\||[0-9]+ runs per figure)' bin/bench.log
	@echo "(per-run step timings: bin/bench.log)"

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin $(GUARDIAN_DIR)

# Images for Compose projects shaped like Infrahub's (the kit builds them on
# demand too): Debian's PostgreSQL 15 (task-manager-db) and a tiny app image
# (infrahub-server, task-worker, task-manager). Last line = the reference.
.PHONY: e2e-postgres-image e2e-app-image
e2e-postgres-image:
	./e2e/postgres/build-image.sh

e2e-app-image:
	./e2e/appimage/build-image.sh
