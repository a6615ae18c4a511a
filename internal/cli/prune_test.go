package cli

import (
	"encoding/json"
	"os"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"

	"github.com/opsmill/docker-infrahubdb/internal/catalog"
)

func TestPruneDryRunThenYes(t *testing.T) {
	folder := backupFolder(t)
	old := "neo4j-2026-11-20T10-00-00.backup"

	out, err := runRoot(t, "prune", "--keep", "1", folder.Dir)
	assert.NilError(t, err)
	golden.Assert(t, anonymize(out, folder), "prune-dry-run.golden")
	_, err = os.Stat(folder.Path(old))
	assert.NilError(t, err, "a dry run deletes nothing")

	out, err = runRoot(t, "prune", "--keep", "1", "--yes", "--format", "json", folder.Dir)
	assert.NilError(t, err)
	var res catalog.PruneResult
	assert.NilError(t, json.Unmarshal([]byte(out), &res))
	assert.Check(t, res.Deleted)
	assert.Check(t, is.Len(res.Delete, 1))
	_, err = os.Stat(folder.Path(old))
	assert.Check(t, os.IsNotExist(err))
}

func TestPruneUsage(t *testing.T) {
	folder := backupFolder(t)
	for _, args := range [][]string{{"prune", folder.Dir}, {"prune", "--keep", "0", folder.Dir}, {"prune", "--keep", "-1", "--yes", folder.Dir}} {
		_, err := runRoot(t, args...)
		assert.Check(t, is.Equal(statusCode(t, err), ExitUsage), "%v: %v", args, err)
	}
}

func TestPruneRefusesUnverifiedFiles(t *testing.T) {
	folder := backupFolder(t)
	assert.NilError(t, os.Remove(folder.Path("infrahubdb-manifest.json")))
	_, err := runRoot(t, "prune", "--keep", "1", "--yes", folder.Dir)
	assert.Check(t, is.Equal(statusCode(t, err), ExitEnvironment))
	assert.Check(t, is.ErrorContains(err, "verify --adopt"))
}

// prune follows docker's prune commands: -f/--force deletes, --dry-run only
// shows, the two together are a usage error.
func TestPruneForceAndDryRun(t *testing.T) {
	folder := backupFolder(t)
	old := "neo4j-2026-11-20T10-00-00.backup"
	_, err := runRoot(t, "prune", "--keep", "1", "--force", "--dry-run", folder.Dir)
	assert.Check(t, is.Equal(statusCode(t, err), ExitUsage))

	out, err := runRoot(t, "prune", "--keep", "1", "--dry-run", folder.Dir)
	assert.NilError(t, err)
	assert.Check(t, is.Contains(out, "would delete"))
	_, err = os.Stat(folder.Path(old))
	assert.NilError(t, err)

	_, err = runRoot(t, "prune", "--keep", "1", "-f", folder.Dir)
	assert.NilError(t, err)
	_, err = os.Stat(folder.Path(old))
	assert.Check(t, os.IsNotExist(err))
}
