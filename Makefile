# docker-infrahubdb: build, install and test the Docker CLI plugin.
GO        ?= go
BIN       := bin/docker-infrahubdb
PKG       := github.com/opsmill/docker-infrahubdb
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS   := -s -w -X $(PKG)/pkg/version.Version=$(VERSION) -X $(PKG)/pkg/version.Commit=$(COMMIT)
PLUGINDIR := $(or $(DOCKER_CONFIG),$(HOME)/.docker)/cli-plugins

.PHONY: all build install test e2e e2e-image lint bench clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/docker-infrahubdb

install: build
	mkdir -p '$(PLUGINDIR)'
	install -m 0755 $(BIN) '$(PLUGINDIR)/docker-infrahubdb'
	@echo "installed $(PLUGINDIR)/docker-infrahubdb"

# Unit tests, with the race detector: no Docker engine needed.
test:
	$(GO) test -race -count=1 ./cmd/... ./pkg/...

# The Neo4j Enterprise stand-in image; its last line of output is the image reference.
e2e-image:
	./e2e/standin/build-image.sh

# End-to-end tests: the real plugin through the real docker CLI against the real engine.
e2e: e2e-image
	$(GO) test -count=1 -timeout 40m ./e2e/...

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
	rm -rf bin
