package cli

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/golden"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
)

func TestListTable(t *testing.T) {
	folder := backupFolder(t)
	assert.NilError(t, os.WriteFile(folder.Path("neo4j-2026-11-22T10-00-00.backup.partial"), nil, 0o600))
	out, err := runRoot(t, "list", folder.Dir)
	assert.NilError(t, err)
	golden.Assert(t, anonymize(out, folder), "list.golden")
}

func TestListJSON(t *testing.T) {
	folder := backupFolder(t)
	out, err := runRoot(t, "list", "--format", "json", folder.Dir)
	assert.NilError(t, err)
	var l catalog.Listing
	assert.NilError(t, json.Unmarshal([]byte(out), &l))
	assert.Check(t, is.Equal(l.Manifest, "present"))
	assert.Assert(t, is.Len(l.Databases, 2))
	assert.Check(t, is.Len(l.Databases[0].Chains, 2))
	assert.Check(t, l.Databases[0].Chains[1].Newest)
	assert.Check(t, is.DeepEqual(l.Unexpected, []string{"notes.txt"}))
}

func TestListMissingFolder(t *testing.T) {
	_, err := runRoot(t, "list", t.TempDir()+"/nope")
	assert.ErrorContains(t, err, "does not exist")
	assert.Equal(t, statusCode(t, err), ExitEnvironment)
}

// list shows each run with its Infrahub and Neo4j versions and its files;
// list -q prints the run IDs alone, newest first.
func TestListRuns(t *testing.T) {
	folder := backupFolder(t)
	cat, err := folder.Scan()
	assert.NilError(t, err)
	m := cat.Manifest
	for i, id := range []string{"run-2026-11-20T10-00-00", "run-2026-11-21T10-00-00"} {
		m.UpsertRun(backupset.RunRecord{ID: id, Started: time.Date(2026, 11, 20+i, 10, 0, 0, 0, time.UTC), Components: []string{"graph"}, Complete: true,
			InfrahubVersion: "1.9.3", Neo4jEdition: "community", Neo4jVersion: "2025.10.1"})
	}
	assert.NilError(t, folder.WriteManifest(m))

	out, err := runRoot(t, "list", "-q", folder.Dir)
	assert.NilError(t, err)
	assert.Equal(t, out, "run-2026-11-21T10-00-00\nrun-2026-11-20T10-00-00\n")

	out, err = runRoot(t, "list", folder.Dir)
	assert.NilError(t, err)
	assert.Assert(t, is.Contains(out, "INFRAHUB"))
	assert.Assert(t, is.Contains(out, "1.9.3"))
	assert.Assert(t, is.Contains(out, "2025.10.1 community"))
	assert.Assert(t, is.Contains(out, "run-2026-11-21T10-00-00 files: "))
}

// list shows an empty backup as such and an unknown range as "-", never
// one for the other.
func TestListTxRange(t *testing.T) {
	assert.Check(t, is.Equal(txRange(catalog.FileListing{FromTx: 21, ToTx: 25}), "21-25"))
	assert.Check(t, is.Equal(txRange(catalog.FileListing{Type: backupset.TypeDiff, Empty: true}), "empty"))
	assert.Check(t, is.Equal(txRange(catalog.FileListing{Type: backupset.TypeDiff}), "-"))
}
