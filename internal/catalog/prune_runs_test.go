package catalog

import (
	"os"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// runFolder writes three runs of graph, task manager and storage on days
// 20, 21 and 22: a full on day 20, a diff of it on 21, a full on 22.
func runFolder(t *testing.T) *backupset.Folder {
	t.Helper()
	folder, err := backupset.Create(t.TempDir())
	assert.NilError(t, err)
	m := &backupset.Manifest{Version: backupset.ManifestVersion, Tool: "test"}
	write := func(name string, rec func(*backupset.FileRecord)) {
		pf, err := folder.NewFile(name)
		assert.NilError(t, err)
		content := []byte("content of " + name)
		if c, _, ok := backupset.ParseComponentFileName(name); ok {
			content = componentContent(t, c, false)
		}
		_, err = pf.Write(content)
		assert.NilError(t, err)
		r, err := pf.Commit()
		assert.NilError(t, err)
		rec(&r)
		m.Upsert(r)
	}
	for d, typ := range map[int]string{20: backupset.TypeFull, 21: backupset.TypeDiff, 22: backupset.TypeFull} {
		id := backupset.NewRunID(day(d, 10))
		m.UpsertRun(backupset.RunRecord{ID: id, Started: day(d, 10), Complete: true,
			Components: []string{backupset.ComponentTaskManager, backupset.ComponentStorage, backupset.ComponentGraph}})
		write(name("neo4j", d, 10), func(r *backupset.FileRecord) {
			r.Type, r.RunID, r.Component, r.Captured = typ, id, backupset.ComponentGraph, day(d, 10)
		})
		for _, c := range []string{backupset.ComponentTaskManager, backupset.ComponentStorage} {
			n, err := backupset.ComponentFileName(c, day(d, 10))
			assert.NilError(t, err)
			write(n, func(r *backupset.FileRecord) { r.RunID, r.Component, r.Captured = id, c, day(d, 10) })
		}
	}
	assert.NilError(t, folder.WriteManifest(m))
	return folder
}

func TestPruneRunsDryRun(t *testing.T) {
	folder := runFolder(t)
	res, err := Prune(folder, 1, false, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, !res.Deleted)
	assert.Check(t, is.DeepEqual(res.DeleteRuns, []string{backupset.NewRunID(day(20, 10)), backupset.NewRunID(day(21, 10))}))
	assert.Check(t, is.Len(res.Delete, 6))
	assert.Check(t, is.Len(res.Kept, 3))
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	assert.Check(t, is.Len(m.Runs, 3), "a dry run changes nothing")
}

func TestPruneRunsDeletesWholeRuns(t *testing.T) {
	folder := runFolder(t)
	res, err := Prune(folder, 1, true, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, res.Deleted)
	for _, f := range res.Delete {
		_, err := os.Stat(folder.Path(f.Name))
		assert.Check(t, os.IsNotExist(err), f.Name)
	}
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	assert.Assert(t, is.Len(m.Runs, 1))
	assert.Check(t, is.Equal(m.Runs[0].ID, backupset.NewRunID(day(22, 10))))
	assert.Check(t, is.Len(m.Files, 3))
	again := verifyOffline(t, folder)
	assert.Check(t, again.OK, "%+v", again.Problems)
}

func TestPruneRunsNeverOrphansADiff(t *testing.T) {
	folder := runFolder(t)
	// keep 2: the runs of days 21 and 22; the diff of day 21 needs the full
	// of day 20, so its run stays too.
	res, err := Prune(folder, 2, true, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, is.Len(res.Delete, 0))
	assert.Check(t, is.Len(res.KeptRuns, 3))
	_, err = os.Stat(folder.Path(name("neo4j", 20, 10)))
	assert.Check(t, err)
}
