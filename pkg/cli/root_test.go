package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	dockercli "github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"

	"github.com/opsmill/docker-infrahubdb/pkg/version"
)

// runRoot executes the command tree with args and returns stdout and the error.
func runRoot(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	dockerCli, err := command.NewDockerCli(command.WithOutputStream(&out), command.WithErrorStream(&errOut))
	assert.NilError(t, err)
	root := NewRootCommand(dockerCli)
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.Execute()
	return out.String(), err
}

func statusCode(t *testing.T, err error) int {
	t.Helper()
	var st dockercli.StatusError
	assert.Assert(t, errors.As(err, &st), "error %v is not a StatusError", err)
	return st.StatusCode
}

func TestMetadataGolden(t *testing.T) {
	old := version.Version
	version.Version = "v1.2.3"
	t.Cleanup(func() { version.Version = old })

	// Encoded the way the plugin framework prints it for `docker-cli-plugin-metadata`.
	b, err := json.MarshalIndent(Metadata(), "", "     ")
	assert.NilError(t, err)
	golden.Assert(t, string(b)+"\n", "metadata.golden")
}

func TestVersionJSON(t *testing.T) {
	out, err := runRoot(t, "version", "--format", "json")
	assert.NilError(t, err)
	var info versionInfo
	assert.NilError(t, json.Unmarshal([]byte(out), &info))
	assert.Check(t, is.Equal(info.Version, version.Version))
	assert.Check(t, is.Equal(info.DefaultHelperImage, version.DefaultHelperImage))
	assert.Check(t, info.GoVersion != "")
}

func TestVersionFlag(t *testing.T) {
	out, err := runRoot(t, "--version")
	assert.NilError(t, err)
	assert.Check(t, is.Contains(out, "docker-infrahubdb "+version.Version))
}

func TestUnknownCommandIsUsageError(t *testing.T) {
	_, err := runRoot(t, "bogus")
	assert.ErrorContains(t, err, `"bogus" is not a docker infrahubdb command`)
	assert.Equal(t, statusCode(t, err), ExitUsage)
}

func TestUnknownFlagIsUsageError(t *testing.T) {
	_, err := runRoot(t, "version", "--bogus")
	assert.ErrorContains(t, err, "unknown flag: --bogus")
	assert.Equal(t, statusCode(t, err), ExitUsage)
}

func TestBadVersionFormat(t *testing.T) {
	_, err := runRoot(t, "version", "--format", "yaml")
	assert.ErrorContains(t, err, `unknown --format "yaml"`)
	assert.Equal(t, statusCode(t, err), ExitUsage)
}
