package restore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

const fullSafetyBackup = "exec neo4j-admin database backup --from=127.0.0.1:6362 --to-path=/backups/safety/neo4j --type=FULL"

// When nobody is asked (--yes), neo4j-admin takes the full safety backup
// while the chain is uploaded: its exec starts first (Docker 20.10 makes an
// exec wait for an archive transfer into its container). When the operator
// is asked, it waits for the answer.
func TestFullSafetyBackupRunsBesideTheUpload(t *testing.T) {
	for _, tc := range []struct {
		name    string
		confirm bool
	}{{name: "--yes"}, {name: "confirmed", confirm: true}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.opts.Transfer = helper.TransferStream
			asked := -1
			if tc.confirm {
				f.opts.Confirm = func(*restore.Plan) (bool, error) {
					asked = len(f.eng.CallLog())
					return true, nil
				}
			}

			_, err := f.run(context.Background())
			assert.NilError(t, err)

			calls := f.eng.CallLog()
			backup, upload := firstIndex(calls, fullSafetyBackup), firstIndex(calls, "copy-to /backups "+neo4j1)
			assert.Assert(t, backup >= 0 && upload >= 0, "%v", calls)
			if tc.confirm {
				assert.Check(t, upload < asked && asked <= backup, "asked after the upload, backup after the answer:\n%v", calls)
			} else {
				assert.Check(t, backup < upload, "the backup starts before the upload:\n%v", calls)
			}
			assertOrder(t, calls, fullSafetyBackup, "stop-container server-id", "cypher STOP neo4j")
		})
	}
}

// A chain that fails its check on the upload stops the run: the full
// safety backup taken beside it goes again, with its folder.
func TestFailedCheckRemovesTheSafetyBackupTakenBeside(t *testing.T) {
	f := newFixture(t)
	f.opts.Transfer = helper.TransferStream
	f.changeArtifact(t)
	// The upload fails only once the safety backup is recorded in its folder.
	f.eng.Faults["copy-to"] = &helpertest.Fault{Hook: func() { waitForSafetyRecord(t, f) }}

	_, err := f.run(context.Background())

	var verr *restore.VerifyError
	assert.Assert(t, errors.As(err, &verr), "got %v", err)
	assert.Check(t, helpertest.CallsWith(f.eng.CallLog(), fullSafetyBackup) != nil, "the safety backup was taken")
	f.assertUntouched(t) // no safety folder either
	assert.Check(t, is.Len(f.eng.Running(), 0), "helper removed")
}

// waitForSafetyRecord waits until a safety folder's manifest records the
// full safety backup.
func waitForSafetyRecord(t *testing.T, f *fixture) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		dirs, _ := filepath.Glob(filepath.Join(f.folder.Dir, "safety-*"))
		for _, dir := range dirs {
			if s, err := backupset.Open(dir); err == nil {
				if m, err := s.ReadManifest(); err == nil {
					if _, ok := m.Lookup(safetyName); ok {
						return
					}
				}
			}
		}
		time.Sleep(time.Millisecond)
	}
	t.Error("the safety backup was never recorded")
}
