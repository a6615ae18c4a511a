package cli

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

func TestEnvName(t *testing.T) {
	assert.Equal(t, EnvName("database-container"), "INFRAHUBDB_DATABASE_CONTAINER")
}

// An INFRAHUBDB_* variable sets its flag when the command line does not.
func TestEnvSetsAFlag(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("INFRAHUBDB_PROGRESS", "sideways")
	_, err := runRoot(t, "list", dir)
	assert.Equal(t, statusCode(t, err), ExitUsage)
	assert.Assert(t, strings.Contains(err.Error(), `unknown --progress "sideways"`), err.Error())

	// The command line wins.
	_, err = runRoot(t, "list", dir, "--progress", "plain")
	assert.NilError(t, err)
}

func TestEnvBadValueNamesTheVariable(t *testing.T) {
	t.Setenv("INFRAHUBDB_STOP_TIMEOUT", "soon")
	_, err := runRoot(t, "backup", t.TempDir())
	assert.Equal(t, statusCode(t, err), ExitUsage)
	assert.Assert(t, strings.Contains(err.Error(), `INFRAHUBDB_STOP_TIMEOUT="soon"`), err.Error())
}
