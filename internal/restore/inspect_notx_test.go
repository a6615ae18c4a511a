package restore_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// backup inspect may print no transaction columns (research NEO4J.md §7):
// a differential backup holding writes is then recorded with an unknown
// range, never as empty; prune keeps it and restore applies it. A really
// empty one, whose 0 to 0 range inspect printed, is still skipped.
func TestDiffWithoutTransactionRangeIsRestored(t *testing.T) {
	f := newFixture(t) // neo4j1: a full backup; then 5 writes
	f.eng.Server.Variants.Inspect = helpertest.InspectNoTx
	f.backup(t, func(o *backup.Options) { o.Aggregate = false })
	f.eng.Server.Variants.Inspect = helpertest.InspectTable
	f.backup(t, func(o *backup.Options) { o.Aggregate = false }) // nothing written since: empty
	f.eng.Calls = nil

	m, err := f.folder.ReadManifest()
	assert.NilError(t, err)
	diff, ok := m.Lookup(neo4j2)
	assert.Assert(t, ok)
	assert.Check(t, is.Equal(diff.Type, backupset.TypeDiff))
	assert.Check(t, !diff.Empty, "a diff whose range inspect did not print is not empty")
	assert.Check(t, is.Equal(diff.FromTx, int64(0)))
	assert.Check(t, is.Equal(diff.ToTx, int64(0)))
	empty, ok := m.Lookup(neo4j3)
	assert.Assert(t, ok)
	assert.Check(t, empty.Empty, "a diff inspect printed as 0 to 0 is empty")

	res, err := catalog.Prune(f.folder, 1, true, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, is.Len(res.Delete, 0), "%+v", res.Delete)
	assert.Check(t, is.Contains(helpertest.FolderFiles(t, f.folder), neo4j2), "prune keeps the diff")

	f.before = helpertest.FolderState(t, f.folder)
	f.eng.Server.Write("neo4j", 3) // changed after the backups: replaced
	rr, err := f.run(context.Background())
	assert.NilError(t, err)
	assert.Assert(t, is.Len(rr.Databases, 1))
	assert.Check(t, is.Equal(rr.Databases[0].Restored, neo4j2), "the restore point is the diff that holds the writes, not the empty one after it")
	assert.Check(t, f.hasCall("exec neo4j-admin database restore --from-path=/backups/"+neo4j2+" "))
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"), "the diff's writes are back")
}

// Without a manifest the chain comes from backup inspect: printed without
// its transaction columns, a diff is not taken for an empty one, and is
// restored.
func TestUnverifiedDiffWithoutTransactionRangeIsRestored(t *testing.T) {
	f := newFixture(t)
	f.backup(t, func(o *backup.Options) { o.Aggregate = false; o.Databases = []string{"neo4j"} }) // a diff of the 5 writes
	assert.NilError(t, os.Remove(f.folder.Path(backupset.ManifestName)))
	var neo4jFiles []string
	for _, n := range helpertest.FolderFiles(t, f.folder) {
		if strings.HasPrefix(n, "neo4j-") {
			neo4jFiles = append(neo4jFiles, n)
		}
	}
	assert.Assert(t, is.Len(neo4jFiles, 2))
	f.eng.Server.Variants.Inspect = helpertest.InspectNoTx
	f.eng.Server.Write("neo4j", 2)
	f.opts.Databases = []string{"neo4j"}

	res, err := f.run(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.Equal(res.Databases[0].Restored, neo4jFiles[1]), "the diff, whose range inspect does not print")
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"))
}
