package restore_test

import (
	"context"
	"errors"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
)

// recordNeo4jVersion makes the manifest say the folder's graph artifacts
// were written by Neo4j version.
func (f *fixture) recordNeo4jVersion(t *testing.T, version string) {
	t.Helper()
	m, err := f.folder.ReadManifest()
	assert.NilError(t, err)
	for i := range m.Files {
		if m.Files[i].Database != "" {
			m.Files[i].Neo4jVersion = version
		}
	}
	assert.NilError(t, f.folder.WriteManifest(m))
	f.before = helpertest.FolderState(t, f.folder)
}

// An online backup from a newer Neo4j than the server is refused before
// anything stops (NEO4J.md §5.8: no downgrade), as a dump is.
func TestOnlineBackupFromANewerNeo4jIsRefusedBeforeAnythingStops(t *testing.T) {
	f := newFixture(t)
	f.recordNeo4jVersion(t, "2025.10.1") // the server is 5.26.0

	_, err := f.run(context.Background())

	var env *helper.EnvironmentError
	assert.Assert(t, errors.As(err, &env), "exit 3, got %v", err)
	assert.Check(t, is.ErrorContains(err, "written by Neo4j 2025.10.1, newer than the database's Neo4j 5.26.0"))
	assert.Check(t, !f.hasCall("stop-container"), "nothing stopped")
	assert.Check(t, !f.hasCall("cypher STOP"), "nothing stopped")
	f.assertUntouched(t)
}

func TestOnlineBackupFromTheSameOrAnOlderNeo4jIsRestored(t *testing.T) {
	f := newFixture(t)
	f.recordNeo4jVersion(t, "5.20.0")
	_, err := f.run(context.Background())
	assert.NilError(t, err)
}
