package e2e

// The plugin as the docker CLI sees it: installed, listed, versioned.

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

func TestPluginIsListedByDockerHelp(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	res := p.Docker("--help")
	res.Assert(t, icmd.Success)
	out := res.Combined()
	assert.Check(t, is.Contains(out, "infrahubdb*"))
	if i := strings.Index(out, "Invalid Plugins"); i >= 0 {
		assert.Check(t, !strings.Contains(out[i:], "infrahubdb"), "listed as invalid:\n%s", out[i:])
	}
}

func TestPluginVersion(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	res := p.Docker("infrahubdb", "version")
	res.Assert(t, icmd.Expected{ExitCode: 0, Out: "docker-infrahubdb " + p.Version})

	res = p.Docker("infrahubdb", "version", "--format", "json")
	res.Assert(t, icmd.Success)
	var v struct {
		Version   string `json:"version"`
		GoVersion string `json:"go_version"`
	}
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &v))
	assert.Check(t, is.Equal(v.Version, p.Version))
	assert.Check(t, strings.HasPrefix(v.GoVersion, "go"))

	res = p.Docker("infrahubdb", "--version")
	res.Assert(t, icmd.Expected{ExitCode: 0, Out: p.Version})
}

func TestPluginUnknownCommand(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	res := p.Docker("infrahubdb", "frobnicate")
	res.Assert(t, icmd.Expected{ExitCode: 2, Err: `"frobnicate" is not a docker infrahubdb command`})
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

func itoa(n int) string { return strconv.Itoa(n) }
