# docker-infrahubdb: build, install and test the Docker CLI plugin.
GO        ?= go
BIN       := bin/docker-infrahubdb
PKG       := github.com/opsmill/docker-infrahubdb
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X $(PKG)/internal/version.Version=$(VERSION) -X $(PKG)/internal/version.Commit=$(COMMIT)
PLUGINDIR := $(or $(DOCKER_CONFIG),$(HOME)/.docker)/cli-plugins

.PHONY: all build guardian install test e2e e2e-image lint bench clean docs release versitygw

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

# The command reference (docs/reference: Markdown, and man pages in
# docs/reference/man), generated from the cobra commands with cli-docs-tool,
# and the JSON Schemas of the --format json documents (docs/schema).
# TestReferenceIsUpToDate (internal/docsgen) fails until it is run after a
# change of a command, a flag or a help text.
docs:
	$(GO) run ./cmd/docsgen -dir docs/reference

# Release binaries for linux, darwin and windows on amd64 and arm64, with the
# version stamped in and a SHA256SUMS file, in dist/ (RELEASE_DIR).
RELEASE_DIR ?= dist
release:
	VERSION='$(VERSION)' COMMIT='$(COMMIT)' GO='$(GO)' ./scripts/release.sh '$(RELEASE_DIR)'

# The S3 server of the off-site tests (internal/s3location/s3test):
# versitygw, built once from the Go module proxy into a cache (1-6 minutes
# the first time). The tests use it and fail, never skip, without it.
VERSITYGW_VERSION := v1.8.0
VERSITYGW_DIR     := $(HOME)/.cache/infrahubdb-tools/versitygw-$(VERSITYGW_VERSION)
export INFRAHUBDB_VERSITYGW := $(VERSITYGW_DIR)/versitygw
versitygw: $(VERSITYGW_DIR)/versitygw
$(VERSITYGW_DIR)/versitygw:
	GOBIN='$(VERSITYGW_DIR)' $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)

# Unit tests, with the race detector: no Docker engine needed.
test: versitygw
	INFRAHUBDB_REQUIRE_S3=1 $(GO) test -race -count=1 ./cmd/... ./internal/...

# The Neo4j stand-in images of release $(NEO4J_VERSION) (default 5.26.0, e.g.
# NEO4J_VERSION=2025.10.1 make e2e-image); the last line of output is the
# enterprise image reference.
e2e-image:
	./e2e/standin/build-image.sh

# End-to-end tests: the real plugin through the real docker CLI against the
# real engine, for each Neo4j release of E2E_RELEASES (e2e/run.sh says how
# they are chosen and run side by side; E2E_RELEASE_INDEPENDENT is the
# deny-list of tests run against the first release only).
E2E_RELEASES ?= 2025.10.1 5.26.0
e2e: versitygw
	INFRAHUBDB_REQUIRE_S3=1 GO='$(GO)' E2E_RELEASES='$(E2E_RELEASES)' ./e2e/run.sh

# Benchmark, not part of the tests: seeds a >1 GiB database in the stand-in and
# prints one markdown table (docs/performance.md). The kit builds the plugin.
bench: e2e-image versitygw
	$(GO) test -tags bench -count=1 -run '^TestTunnelMeasure$$' -v ./e2e/engine/ | grep -E '^\s+measure_bench_test.go' || true
	$(GO) test -c -tags bench -o bin/bench.test ./e2e/bench
	cd e2e/bench && ../../bin/bench.test -test.run '^TestBench$$' -test.timeout 40m -test.v >../../bin/bench.log 2>&1 || { tail -60 ../../bin/bench.log; exit 1; }
	@grep -E '^(\||[0-9]+ runs per figure)' bin/bench.log
	@echo "(per-run step timings: bin/bench.log)"

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf bin dist $(GUARDIAN_DIR)

# Images for Compose projects shaped like Infrahub's (the kit builds them on
# demand too): Debian's PostgreSQL 15 (task-manager-db) and a tiny app image
# (infrahub-server, task-worker, task-manager). Last line = the reference.
.PHONY: e2e-postgres-image e2e-app-image
e2e-postgres-image:
	./e2e/postgres/build-image.sh

e2e-app-image:
	./e2e/appimage/build-image.sh
