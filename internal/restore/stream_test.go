package restore_test

import (
	"context"
	"errors"
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
	f.changeArtifact(t)

	_, err := f.run(context.Background())

	var verr *restore.VerifyError
	assert.Assert(t, errors.As(err, &verr), "got %v", err)
	assert.Check(t, is.ErrorContains(err, neo4j1+": changed: SHA-256"))
	assert.Check(t, is.ErrorContains(err, "nothing was changed"))
	assert.Check(t, is.Len(helpertest.CallsWith(f.eng.CallLog(), "copy-to"), 0), "no complete upload: %v", f.eng.CallLog())
	f.assertUntouched(t)
	assert.Check(t, is.Len(f.eng.Running(), 0), "helper removed")
}

// The safety backup is in the folder before STOP, in stream mode as in
// bind: a download that fails stops the run before the database is
// touched (a helper lost later must not take the only copy with it). The
// full one fails before the applications stop; the differential one on top
// inside their outage, before STOP DATABASE.
func TestStreamSafetyDownloadFailingChangesNothing(t *testing.T) {
	for _, tc := range []struct {
		name      string
		skip      int // downloads that go through
		appsFirst bool
	}{
		{name: "the full backup, before the applications stop"},
		{name: "the differential backup, while they are stopped", skip: 1, appsFirst: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.opts.Transfer = helper.TransferStream
			f.eng.Faults["copy-from"] = &helpertest.Fault{Skip: tc.skip, Err: errors.New("connection reset by peer")}
			// Something to put into the differential backup.
			f.eng.Faults["stop-container"] = &helpertest.Fault{Times: 1, Hook: func() { f.eng.Server.Write("neo4j", 2) }}

			res, err := f.run(context.Background())

			assert.Check(t, is.ErrorContains(err, "safety backup of database neo4j failed, nothing was changed"))
			assert.Check(t, is.ErrorContains(err, "connection reset by peer"))
			for _, c := range f.eng.CallLog() {
				for _, p := range []string{"cypher STOP", "exec neo4j-admin database restore"} {
					assert.Check(t, !strings.HasPrefix(c, p), c)
				}
			}
			assert.Check(t, is.Equal(f.hasCall("stop-container server-id"), tc.appsFirst))
			assert.Check(t, is.Equal(f.eng.Server.Content("neo4j") == "live data at tx 15", !tc.appsFirst), "not restored")
			assert.Check(t, is.Equal(f.admin.status["neo4j"], "online"))
			assert.Check(t, f.eng.AppRunning("server-id"))
			for _, db := range res.Databases {
				assert.Check(t, is.Equal(db.SafetyBackup, ""), "no safety backup reported")
			}
			if !tc.appsFirst {
				assertNoSafetyFile(t, f)
			}
		})
	}
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

// waitForSafetyFile checks that the safety backup's download put the file
// in the safety folder (before the restore: at once).
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
