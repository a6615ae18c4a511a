package helper

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

func TestInfrahubVersion(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    docker.Container
		want string
	}{
		{"tag", docker.Container{Image: "registry.opsmill.io/opsmill/infrahub:1.9.3"}, "1.9.3"},
		{"registry port, no tag", docker.Container{Image: "localhost:5000/infrahub"}, ""},
		{"latest, label", docker.Container{Image: "opsmill/infrahub:latest", Labels: map[string]string{"org.opencontainers.image.version": "v1.10.0"}}, "1.10.0"},
		{"digest, env", docker.Container{Image: "opsmill/infrahub@sha256:abc", Env: []string{"INFRAHUB_VERSION=1.8.2"}}, "1.8.2"},
		{"nothing", docker.Container{Image: "opsmill/infrahub:stable"}, ""},
	} {
		assert.Check(t, is.Equal(InfrahubVersion(tc.c), tc.want), tc.name)
	}
}

func TestCompareInfrahubVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
		ok   bool
	}{
		{"1.9.3", "1.9.3", 0, true},
		{"1.9.3", "1.10.0", -1, true},
		{"1.10", "1.9.9", 1, true},
		{"2.0.0-rc1", "1.99.0", 1, true},
		{"", "1.0.0", 0, false},
		{"latest", "1.0.0", 0, false},
	} {
		got, ok := CompareInfrahubVersions(tc.a, tc.b)
		assert.Check(t, is.Equal(ok, tc.ok), "%s %s", tc.a, tc.b)
		assert.Check(t, is.Equal(got, tc.want), "%s %s", tc.a, tc.b)
	}
}
