package restore_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

// safetyFolder is the one safety folder a restore left in the backup
// folder.
func safetyFolder(t *testing.T, f *fixture) *backupset.Folder {
	t.Helper()
	entries, err := os.ReadDir(f.folder.Dir)
	assert.NilError(t, err)
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && backupset.IsSafetyDirName(e.Name()) {
			dirs = append(dirs, e.Name())
		}
	}
	assert.Assert(t, is.Len(dirs, 1), "safety folders: %v", dirs)
	s, err := backupset.Open(filepath.Join(f.folder.Dir, dirs[0]))
	assert.NilError(t, err)
	return s
}

// A restore's safety folder is a complete run of the copies it holds:
// verify says OK, and restore takes it back, whichever components the
// restore replaced.
func TestSafetyFolderIsARestorableRun(t *testing.T) {
	for _, tc := range []struct {
		name       string
		components []string // what the first restore replaces
	}{
		{name: "task manager only", components: []string{backupset.ComponentTaskManager}},
		{name: "storage only", components: []string{backupset.ComponentStorage}},
		{name: "graph only", components: []string{backupset.ComponentGraph}},
		{name: "task manager and graph", components: []string{backupset.ComponentTaskManager, backupset.ComponentGraph}},
		{name: "every component"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, pg := setFixture(t)
			_, err := f.runSet(context.Background(), tc.components...)
			assert.NilError(t, err)
			safety := safetyFolder(t, f)

			v, err := catalog.Verify(context.Background(), nil, safety, catalog.VerifyOptions{}, progress.Nop)
			assert.NilError(t, err)
			assert.Check(t, v.OK, "verify of the safety folder: %+v", v.Problems)

			m, err := safety.ReadManifest()
			assert.NilError(t, err)
			assert.Assert(t, is.Len(m.Runs, 1), "%+v", m)
			run := m.Runs[0]
			assert.Check(t, run.Complete)
			want := tc.components
			if len(want) == 0 {
				want = backupset.Components
			}
			assert.Check(t, is.DeepEqual(run.Components, inOrder(want)))
			for _, rec := range m.Files {
				assert.Check(t, is.Equal(rec.RunID, run.ID), "%s is in the run", rec.Name)
			}

			// Restore the safety copy: what was there before comes back.
			pg.rows = "rows after"
			f.eng.Calls = nil
			connect := func(ctx context.Context, address string, creds neo4j.Credentials) (restore.Admin, error) {
				return f.admin, nil
			}
			opts := f.opts
			opts.SafetyBackup = false
			res, err := restore.RunSet(context.Background(), f.eng, connect, safety, restore.SetOptions{Options: opts, Run: restore.RunLatest}, progress.Nop)
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(res.Restored, inOrder(want)))
			if len(tc.components) == 0 || contains(tc.components, backupset.ComponentTaskManager) {
				assert.Check(t, is.Equal(pg.rows, "rows damaged"), "the task manager as it was before the first restore")
			}
			// --component takes it too.
			res, err = restore.RunSet(context.Background(), f.eng, connect, safety, restore.SetOptions{Options: opts, Components: want[:1]}, progress.Nop)
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(res.Restored, want[:1]))
		})
	}
}

func inOrder(list []string) []string {
	var out []string
	for _, c := range backupset.Components {
		if contains(list, c) {
			out = append(out, c)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A --safety-dir used again: the run of the second restore holds its own
// copies, not the first restore's.
func TestSafetyRunHoldsOnlyItsOwnCopies(t *testing.T) {
	f, _ := setFixture(t)
	dir := filepath.Join(t.TempDir(), "safety")
	f.opts.SafetyDir = dir
	_, err := f.runSet(context.Background(), backupset.ComponentTaskManager)
	assert.NilError(t, err)
	_, err = f.runSet(context.Background(), backupset.ComponentStorage)
	assert.NilError(t, err)
	safety, err := backupset.Open(dir)
	assert.NilError(t, err)
	m, err := safety.ReadManifest()
	assert.NilError(t, err)
	assert.Assert(t, is.Len(m.Runs, 2), "%+v", m.Runs)
	for _, r := range m.Runs {
		files := m.RunFiles(r.ID)
		assert.Check(t, is.Len(files, 1), r.ID)
		assert.Check(t, is.DeepEqual(r.Components, []string{files[0].Component}))
	}
}

// A restore whose first safety copy failed leaves no safety folder: an
// empty one would be a folder verify fails as empty. (With the graph, its
// full safety backup, taken before the applications stop, comes first:
// TestSafetyFolderIsARestorableRun covers what it leaves.)
func TestNoSafetyFolderWithoutACopy(t *testing.T) {
	f, _ := setFixture(t)
	f.eng.ExecInHook = func(ctx context.Context, id string, spec docker.ExecSpec) (int, bool, error) {
		if id == "task-manager-db-id" && len(spec.Cmd) > 0 && spec.Cmd[0] == "pg_dump" {
			return 1, true, nil
		}
		return 0, false, nil
	}
	_, err := f.runSet(context.Background(), backupset.ComponentTaskManager, backupset.ComponentStorage)
	assert.Check(t, is.ErrorContains(err, "safety dump of the task manager failed"))
	entries, err := os.ReadDir(f.folder.Dir)
	assert.NilError(t, err)
	for _, e := range entries {
		assert.Check(t, !backupset.IsSafetyDirName(e.Name()), "left %s", e.Name())
	}
}
