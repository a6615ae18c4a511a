package catalog

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// openRun adds to the folder's manifest the open record a backup writes
// when it starts (backup.RunSet), of the process pid on this host.
func openRun(t *testing.T, folder *backupset.Folder, id string, started time.Time, pid int, step string) {
	t.Helper()
	host, err := os.Hostname()
	assert.NilError(t, err)
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	m.UpsertRun(backupset.RunRecord{ID: id, Started: started, Open: true, Host: host, PID: pid, Step: step})
	assert.NilError(t, folder.WriteManifest(m))
}

// A run whose record is still open when its process no longer holds the
// folder (kill -9 of a backup: its lock is left, naming a dead pid) is
// listed as interrupted, with the step it was at; verify warns about it.
func TestListShowsAnInterruptedRun(t *testing.T) {
	folder := makeFolder(t, twoChains()...)
	started := day(23, 10)
	openRun(t, folder, backupset.NewRunID(started), started, 999999999, backupset.ComponentGraph)
	host, _ := os.Hostname()
	lock, _ := json.Marshal(backupset.LockInfo{Host: host, PID: 999999999, Command: "backup", Started: started})
	assert.NilError(t, os.WriteFile(folder.Path(backupset.LockName), lock, 0o600))

	l, err := List(context.Background(), nil, folder, ListOptions{}, progress.Nop)
	assert.NilError(t, err)
	assert.Assert(t, is.Len(l.Runs, 1))
	r := l.Runs[0]
	assert.Check(t, is.Equal(r.State, RunInterrupted))
	assert.Check(t, is.Equal(r.Step, backupset.ComponentGraph))
	assert.Check(t, !r.Complete && !r.Newest)
	assert.Check(t, is.Contains(r.Problem, "interrupted at the graph step, never completed"))
	assert.Check(t, is.Contains(r.Problem, "started 2026-11-23T10:00:00Z"))
	assert.Check(t, is.Contains(r.String(), "NOT RESTORABLE: interrupted"))

	// The lock gone (taken over and released by a later run): still
	// interrupted.
	assert.NilError(t, os.Remove(folder.Path(backupset.LockName)))
	res, err := Verify(context.Background(), nil, folder, VerifyOptions{}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, res.OK, "%v", res.Problems) // the chains still restore
	assert.Assert(t, is.Len(res.Warnings, 1), "%v", res.Warnings)
	w := res.Warnings[0]
	assert.Check(t, is.Equal(w.File, backupset.NewRunID(started)))
	assert.Check(t, is.Equal(w.Kind, ProblemInterrupted))
	assert.Check(t, is.Contains(w.Detail, "never completed"))
	assert.Check(t, is.Contains(w.Detail, "not restorable"))
}

// An open run whose process holds the folder's lock is in progress, not
// interrupted; a run that ended without finishing is incomplete.
func TestListShowsARunInProgress(t *testing.T) {
	folder := makeFolder(t, twoChains()...)
	started := day(23, 10)
	release, err := folder.Lock("backup")
	assert.NilError(t, err)
	defer release()
	openRun(t, folder, backupset.NewRunID(started), started, os.Getpid(), "")
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	m.UpsertRun(backupset.RunRecord{ID: backupset.NewRunID(day(22, 10)), Started: day(22, 10)})
	assert.NilError(t, folder.WriteManifest(m))

	l, err := List(context.Background(), nil, folder, ListOptions{}, progress.Nop)
	assert.NilError(t, err)
	assert.Assert(t, is.Len(l.Runs, 2))
	assert.Check(t, is.Equal(l.Runs[0].State, RunIncomplete))
	assert.Check(t, is.Equal(l.Runs[0].Problem, "the run did not finish"))
	assert.Check(t, is.Equal(l.Runs[1].State, RunInProgress))
	assert.Check(t, is.Contains(l.Runs[1].Problem, "in progress"))
}
