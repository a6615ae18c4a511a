package backupset

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func TestComponentFileNames(t *testing.T) {
	at := time.Date(2026, 11, 29, 15, 4, 5, 0, time.UTC)
	name, err := ComponentFileName(ComponentTaskManager, at)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(name, "task-manager-2026-11-29T15-04-05.pgdump"))
	c, tm, ok := ParseComponentFileName(name)
	assert.Check(t, ok)
	assert.Check(t, is.Equal(c, ComponentTaskManager))
	assert.Check(t, tm.Equal(at))
	name, _ = ComponentFileName(ComponentStorage, at)
	assert.Check(t, is.Equal(name, "storage-2026-11-29T15-04-05.tar"))
	_, _, ok = ParseComponentFileName("storage-yesterday.tar")
	assert.Check(t, !ok)
	_, err = ComponentFileName(ComponentGraph, at)
	assert.Check(t, err != nil)
	assert.Check(t, is.ErrorContains(CheckComponents([]string{"graph", "files"}), `unknown component "files"`))
}

// A manifest without runs (written before runs existed) reads as before;
// runs survive a write.
func TestManifestRuns(t *testing.T) {
	f, err := Create(t.TempDir())
	assert.NilError(t, err)
	m, err := f.ReadManifest()
	assert.NilError(t, err)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m.Upsert(FileRecord{Name: "task-manager-2026-01-01T00-00-00.pgdump", SHA256: "0000000000000000000000000000000000000000000000000000000000000000", RunID: NewRunID(at), Component: ComponentTaskManager},
		FileRecord{Name: "neo4j-2026-01-01T00-00-00.backup", Database: "neo4j", SHA256: "0000000000000000000000000000000000000000000000000000000000000000", RunID: NewRunID(at)})
	m.UpsertRun(RunRecord{ID: NewRunID(at), Started: at, Components: []string{ComponentGraph, ComponentTaskManager}, Complete: true})
	assert.NilError(t, f.WriteManifest(m))
	m, err = f.ReadManifest()
	assert.NilError(t, err)
	r, ok := m.Run("run-2026-01-01T00-00-00")
	assert.Check(t, ok && r.Complete)
	files := m.RunFiles(r.ID)
	assert.Check(t, is.Len(files, 2))
	assert.Check(t, is.Equal(files[0].Component, ComponentTaskManager)) // restore order
}
