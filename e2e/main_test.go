// Package e2e holds the end-to-end tests: the real plugin, through the real
// docker CLI, against the real Docker engine and a Neo4j image (the stand-in
// built from e2e/standin, or a real one named by INFRAHUBDB_E2E_NEO4J_IMAGE).
// The kit (package e2e/kit) builds, starts and cleans up everything.
package e2e

import (
	"testing"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

func TestMain(m *testing.M) { kit.Main(m) }
