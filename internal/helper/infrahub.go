package helper

import (
	"strconv"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

// InfrahubVersion is the version of Infrahub that the infrahub-server
// container runs, "" when it cannot be told. The stock compose file tags
// Infrahub's image with its version (registry.opsmill.io/opsmill/infrahub:
// ${VERSION:-1.9.3}, INFRAHUB.md §1); an image run by digest or as
// "latest" is looked up in the OCI version label of the image (a container
// carries its image's labels), then in INFRAHUB_VERSION of its environment.
// A value is taken only when it reads as a version (ParseInfrahubVersion).
func InfrahubVersion(server docker.Container) string {
	candidates := []string{imageTag(server.Image), server.Labels["org.opencontainers.image.version"]}
	if v, ok := server.EnvValue("INFRAHUB_VERSION"); ok {
		candidates = append(candidates, v)
	}
	for _, c := range candidates {
		if _, ok := ParseInfrahubVersion(c); ok {
			return strings.TrimPrefix(c, "v")
		}
	}
	return ""
}

// imageTag is the tag of an image reference ("" without one).
func imageTag(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	i := strings.LastIndexByte(ref, ':')
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ""
	}
	return ref[i+1:]
}

// ParseInfrahubVersion reads "1.9.3", "v1.9", "1.10.0-rc1" as its numbers
// (major, minor, patch; a suffix after '-' or '+' is ignored).
func ParseInfrahubVersion(s string) ([3]int, bool) {
	var v [3]int
	s = strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

// CompareInfrahubVersions is -1, 0 or 1 as a is older than, the same as or
// newer than b; ok is false when either cannot be read.
func CompareInfrahubVersions(a, b string) (cmp int, ok bool) {
	va, oka := ParseInfrahubVersion(a)
	vb, okb := ParseInfrahubVersion(b)
	if !oka || !okb {
		return 0, false
	}
	for i := range va {
		switch {
		case va[i] < vb[i]:
			return -1, true
		case va[i] > vb[i]:
			return 1, true
		}
	}
	return 0, true
}
