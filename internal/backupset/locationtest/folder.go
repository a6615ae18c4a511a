package locationtest

import (
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// FolderWithRuns makes a backup folder holding one complete run of the whole
// deployment per start time: a graph dump of about 600 kB, a task-manager
// dump and a storage archive, with their manifest. It returns the folder and
// the run IDs.
func FolderWithRuns(t testing.TB, starts ...time.Time) (*backupset.Folder, []string) {
	t.Helper()
	f, err := backupset.Create(t.TempDir())
	assert.NilError(t, err)
	m, err := f.ReadManifest()
	assert.NilError(t, err)
	var ids []string
	for _, started := range starts {
		id := backupset.NewRunID(started)
		ids = append(ids, id)
		all := []string{backupset.ComponentGraph, backupset.ComponentTaskManager, backupset.ComponentStorage}
		for _, c := range all {
			name, content := backupset.DumpName("neo4j", started), strings.Repeat("graph "+id, 20_000)
			if c != backupset.ComponentGraph {
				name, err = backupset.ComponentFileName(c, started)
				assert.NilError(t, err)
				content = c + " " + id
			}
			pf, err := f.NewFile(name)
			assert.NilError(t, err)
			_, err = pf.Write([]byte(content))
			assert.NilError(t, err)
			rec, err := pf.Commit()
			assert.NilError(t, err)
			rec.RunID, rec.Component = id, c
			if c == backupset.ComponentGraph {
				rec.Type = backupset.TypeDump
			}
			m.Upsert(rec)
		}
		m.UpsertRun(backupset.RunRecord{ID: id, Started: started, Complete: true, Components: all})
	}
	assert.NilError(t, f.WriteManifest(m))
	return f, ids
}
