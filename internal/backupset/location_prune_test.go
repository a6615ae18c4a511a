package backupset_test

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

func TestPruneLocation(t *testing.T) {
	ctx := t.Context()
	loc, err := backupset.NewFolderLocation(t.TempDir())
	assert.NilError(t, err)
	start := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	var ids []string
	for day := range 5 {
		id := backupset.NewLocationRunID(start.AddDate(0, 0, day))
		rec, err := backupset.WriteObject(ctx, loc, backupset.ArtifactKey(id, "neo4j.dump"), []byte(id))
		assert.NilError(t, err)
		rec.Name = "neo4j.dump"
		assert.NilError(t, backupset.CommitRun(ctx, loc, backupset.RunManifest{
			Run: backupset.RunRecord{ID: id, Started: start.AddDate(0, 0, day), Complete: true}, Files: []backupset.RunFile{{FileRecord: rec}},
		}))
		ids = append(ids, id)
	}
	// A run that died before its manifest, and an interrupted write.
	_, err = backupset.WriteObject(ctx, loc, backupset.ArtifactKey("run-dead", "neo4j.dump"), []byte("x"))
	assert.NilError(t, err)
	w, err := loc.Create(ctx, backupset.ArtifactKey("run-dead2", "storage.tar"), backupset.CreateOptions{Size: -1})
	assert.NilError(t, err)
	_, err = w.Write([]byte("partial"))
	assert.NilError(t, err)

	now := start.AddDate(0, 1, 0)
	res, err := backupset.PruneLocation(ctx, loc, backupset.KeepPolicy{Daily: 2}, now, true)
	assert.NilError(t, err)
	assert.Check(t, is.Len(res.Plan.Remove, 3), "daily 2 keeps the two newest days")
	assert.Check(t, is.Len(res.Removed, 0), "dry run")
	listing, err := backupset.ListRuns(ctx, loc)
	assert.NilError(t, err)
	assert.Check(t, is.Len(listing.Runs, 5))

	res, err = backupset.PruneLocation(ctx, loc, backupset.KeepPolicy{Daily: 2}, now, false)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(res.Removed, ids[:3]))
	assert.Check(t, is.Len(res.Leftovers, 1))
	listing, err = backupset.ListRuns(ctx, loc)
	assert.NilError(t, err)
	assert.Check(t, is.Len(listing.Runs, 2))
	assert.Check(t, is.Len(listing.Orphans, 0))
	lo, err := loc.Leftovers(ctx)
	assert.NilError(t, err)
	assert.Check(t, is.Len(lo, 0))
	w.Abort()

	// The lock is released.
	lease, err := loc.Lock(ctx, "backup")
	assert.NilError(t, err)
	assert.NilError(t, lease.Release(ctx))
}
