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
