package restore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

// With stream transfer the chain is hashed while it is uploaded, not read
// a second time beforehand: a changed file still stops the run before
// anything stops, and the helper never holds a whole copy of it.
func TestStreamChecksumMismatchStopsBeforeAnything(t *testing.T) {
	f := newFixture(t)
	f.opts.Transfer = helper.TransferStream
	p := f.folder.Path(neo4j1)
	data, err := os.ReadFile(p)
	assert.NilError(t, err)
	data[len(data)-2] ^= 0x20 // same size, other content
	assert.NilError(t, os.WriteFile(p, data, 0o600))
	f.before = helpertest.FolderState(t, f.folder)

	_, err = f.run(context.Background())

	var verr *restore.VerifyError
	assert.Assert(t, errors.As(err, &verr), "got %v", err)
	assert.Check(t, is.ErrorContains(err, neo4j1+": changed: SHA-256"))
	assert.Check(t, is.ErrorContains(err, "nothing was changed"))
	assert.Check(t, is.Len(helpertest.CallsWith(f.eng.CallLog(), "copy-to"), 0), "no complete upload: %v", f.eng.CallLog())
	f.assertUntouched(t)
	assert.Check(t, is.Len(f.eng.Running(), 0), "helper removed")
}

// The safety backup's download goes on while the database is replaced; a
// download that fails leaves a restored database, but the run does not say
// success: it has no safety backup to show.
func TestStreamSafetyDownloadFailingFailsTheRun(t *testing.T) {
	f := newFixture(t)
	f.opts.Transfer = helper.TransferStream
	f.eng.Faults["copy-from"] = &helpertest.Fault{Err: errors.New("connection reset by peer")}

	res, err := f.run(context.Background())

	assert.Check(t, is.ErrorContains(err, "database neo4j was restored and is online, but its safety backup could not be saved in "+res.Plan.SafetyDir))
	assert.Check(t, is.ErrorContains(err, "connection reset by peer"))
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data"), "restored")
	assert.Check(t, is.Equal(f.admin.status["neo4j"], "online"))
	assert.Check(t, f.eng.AppRunning("server-id"))
	assert.Assert(t, is.Len(res.Databases, 1))
	assert.Check(t, is.Equal(res.Databases[0].SafetyBackup, ""), "no safety backup reported")
	assertNoSafetyFile(t, f)
}

// The helper is removed from outside while the safety backup is still on
// its way: the only copy went with it, so there is nothing to roll back
// to; the database is started again and the error says so.
func TestStreamHelperLostBeforeTheSafetyBackupArrived(t *testing.T) {
	f := newFixture(t)
	f.opts.Transfer = helper.TransferStream
	lost := make(chan struct{})
	f.eng.Faults["restore"] = &helpertest.Fault{Code: 137, Times: 1, Hook: func() { f.eng.Helpers[0].Lose(); close(lost) }}
	// Every download from it fails once it is gone (the fake helper's
	// files stay readable).
	f.eng.Faults["copy-from"] = &helpertest.Fault{Err: errors.New("No such container"), Hook: func() { <-lost }}

	res, err := f.run(context.Background())

	var deg *restore.DegradedError
	assert.Assert(t, errors.As(err, &deg), "got %v", err)
	assert.Check(t, is.ErrorContains(err, "could not be rolled back"))
	assert.Check(t, is.ErrorContains(err, "the safety backup was lost with the helper container before it reached the safety folder"))
	assert.Check(t, is.Equal(deg.Safety, ""))
	assert.Check(t, is.Equal(deg.State, "online (requested online)"))
	assert.Check(t, is.Equal(f.admin.status["neo4j"], "online"), "started again")
	assert.Check(t, f.eng.AppRunning("server-id"))
	assert.Check(t, is.Len(f.eng.Running(), 0))
	assert.Assert(t, is.Len(res.Databases, 1))
	assert.Check(t, !res.Databases[0].RolledBack)
	assertNoSafetyFile(t, f)
}

// The helper is removed from outside once the safety backup reached the
// folder: the new helper is given the folder's copy, and the rollback
// restores it.
func TestStreamHelperLostAfterTheSafetyBackupArrived(t *testing.T) {
	f := newFixture(t)
	f.opts.Transfer = helper.TransferStream
	f.eng.Faults["restore"] = &helpertest.Fault{Code: 137, Times: 1, Hook: func() {
		waitForSafetyFile(t, f)
		f.eng.Helpers[0].Lose()
	}}

	res, err := f.run(context.Background())

	var rb *restore.RolledBackError
	assert.Assert(t, errors.As(err, &rb), "got %v", err)
	assert.Check(t, is.Equal(rb.Safety, filepath.Join(res.Plan.SafetyDir, safetyName)))
	assert.Check(t, is.Len(f.eng.Helpers, 3), "the cache's helper, then a new helper for the rollback")
	assert.Check(t, helpertest.CallsWith(f.eng.CallLog(), "copy-to /backups/safety/neo4j "+safetyName) != nil, "the folder's copy went into the new helper")
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 15"), "rolled back")
	assert.Check(t, is.Equal(f.admin.status["neo4j"], "online"))
	assertSafetyBackup(t, f, rb.Safety, "live data at tx 15")
}

func safetyFiles(t *testing.T, f *fixture) []string {
	t.Helper()
	found, err := filepath.Glob(filepath.Join(f.folder.Dir, "safety-*", "*"))
	assert.NilError(t, err)
	return found
}

func assertNoSafetyFile(t *testing.T, f *fixture) {
	t.Helper()
	for _, p := range safetyFiles(t, f) {
		assert.Check(t, !strings.HasSuffix(p, backupset.ArtifactExt) && !strings.HasSuffix(p, backupset.PartialExt), "left in the safety folder: %s", p)
	}
}

// waitForSafetyFile waits until the safety backup's download put the file
// in the safety folder.
func waitForSafetyFile(t *testing.T, f *fixture) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, p := range safetyFiles(t, f) {
			if filepath.Base(p) == safetyName {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Error("the safety backup never reached the folder")
}

// A safety download slower than neo4j-admin restore (a remote engine on a
// slow link) would hold back the execs that start the database: it stops
// when the restore ends, and runs again once the database is back.
func TestStreamSafetyDownloadSlowerThanTheRestoreYields(t *testing.T) {
	f := newFixture(t)
	f.opts.Transfer = helper.TransferStream
	f.eng.Faults["copy-from"] = &helpertest.Fault{Block: true, Times: 1}
	// neo4j-admin restore ends only once the download is under way (and
	// blocked), so that it is the download the restore's end stops.
	f.eng.Faults["restore"] = &helpertest.Fault{Times: 1, Hook: func() {
		deadline := time.Now().Add(10 * time.Second)
		for helpertest.CallsWith(f.eng.CallLog(), "copy-from /backups/safety/") == nil && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}}

	res, err := f.run(context.Background())

	assert.NilError(t, err)
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data"), "restored")
	safetyCopies := helpertest.CallsWith(f.eng.CallLog(), "copy-from /backups/safety/neo4j/"+safetyName)
	assert.Check(t, is.Len(safetyCopies, 2), "stopped, then fetched again: %v", f.eng.CallLog())
	assert.Assert(t, is.Len(res.Databases, 1))
	assertSafetyBackup(t, f, res.Databases[0].SafetyBackup, "live data at tx 15")
	helpertest.AssertNoLeftovers(t, f.folder)
	assertNoPartial(t, f)
}

func assertNoPartial(t *testing.T, f *fixture) {
	t.Helper()
	for _, p := range safetyFiles(t, f) {
		assert.Check(t, !strings.HasSuffix(p, backupset.PartialExt), p)
	}
}
