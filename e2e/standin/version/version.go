// Package version is the Neo4j release the stand-in behaves like. It is
// baked into the binaries at image build time (build-image.sh passes
// -ldflags "-X .../version.current=<NEO4J_VERSION>"), so one image is one
// release: `neo4j-admin --version`, the Bolt agent "Neo4j/<version>",
// CALL dbms.components() and every per-release behaviour follow it.
package version

import (
	"strconv"
	"strings"
)

// current is set by the linker; 5.26.0 (the 5.x LTS) by default.
var current = "5.26.0"

// Current is the release the stand-in claims to be.
func Current() string { return current }

// AtLeast reports whether release v is min or later. Versions are compared
// as numbers part by part (5.26.0 < 2025.01.0 < 2025.10.1); missing parts
// are 0, so AtLeast(v, "2025.06") means "2025.06.0 or later".
func AtLeast(v, min string) bool {
	a, b := parts(v), parts(min)
	for i := 0; i < 3; i++ {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return true
}

func parts(v string) [3]int {
	var out [3]int
	v, _, _ = strings.Cut(v, "-") // 2025.10.1-enterprise
	for i, p := range strings.SplitN(v, ".", 3) {
		n, _ := strconv.Atoi(p)
		out[i] = n
	}
	return out
}

// Calver reports whether v is a calendar release (2025.01 onwards), the
// releases after the 5.x line.
func Calver(v string) bool { return AtLeast(v, "2025.01") }
