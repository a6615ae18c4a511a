package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dockercli "github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"

	"github.com/opsmill/docker-infrahubdb/internal/version"
)

// runRoot executes the command tree with args and returns stdout and the error.
func runRoot(t *testing.T, args ...string) (string, error) {
	t.Helper()
	return runRootContext(context.Background(), t, args...)
}

// runRootContext is runRoot with the command context ctx (cancel it for a
// Ctrl-C).
func runRootContext(ctx context.Context, t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	dockerCli, err := command.NewDockerCli(command.WithOutputStream(&out), command.WithErrorStream(&errOut))
	assert.NilError(t, err)
	root := NewRootCommand(dockerCli)
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.ExecuteContext(ctx)
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

// Under --progress json every line on stderr is a JSON object, the final
// error included: {"time":...,"error":"<message>","exit_code":N}, printed
// by plugin.Run in place of the "Error: ..." line, with the same exit code.
func TestErrorsAreJSONUnderProgressJSON(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"a failed run", []string{"list", missing, "--progress", "json"}, ExitEnvironment, missing},
		{"a bad argument", []string{"verify", "--progress", "json"}, ExitUsage, `verify" requires exactly 1 argument`},
		{"a bad flag", []string{"prune", "--progress", "json", "--bogus"}, ExitUsage, "unknown flag: --bogus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runRoot(t, tc.args...)
			var se dockercli.StatusError
			assert.Assert(t, errors.As(err, &se), "got %v", err)
			assert.Check(t, is.Equal(se.StatusCode, tc.code))
			// plugin.Run prints err.Error(), which is the status.
			line := err.Error()
			assert.Check(t, is.Equal(line, se.Status))
			assert.Check(t, !strings.Contains(line, "\n"), "one line: %q", line)
			var ev struct {
				Time     time.Time `json:"time"`
				Error    string    `json:"error"`
				ExitCode int       `json:"exit_code"`
			}
			assert.NilError(t, json.Unmarshal([]byte(line), &ev), line)
			assert.Check(t, is.Contains(ev.Error, tc.msg))
			assert.Check(t, !strings.HasPrefix(ev.Error, "Error: "), ev.Error)
			assert.Check(t, is.Equal(ev.ExitCode, tc.code))
			assert.Check(t, !ev.Time.IsZero())
		})
	}
}

// The other modes keep the docker CLI's "Error: ..." line; --quiet wins
// over --progress json, as it does for the display.
func TestErrorsAreTextOtherwise(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	for _, args := range [][]string{
		{"list", missing},
		{"list", missing, "--progress", "plain"},
		{"list", missing, "--progress", "json", "--quiet"},
	} {
		_, err := runRoot(t, args...)
		assert.Check(t, is.Equal(statusCode(t, err), ExitEnvironment))
		assert.Check(t, strings.HasPrefix(err.Error(), "Error: "), "%v: %q", args, err.Error())
	}
}
