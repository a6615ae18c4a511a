package restore_test

import (
	"context"
	"errors"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

// The full safety backup is taken while the applications run; what they
// write until they stop goes into a differential one on top. A failed
// restore rolls back to the end of that chain: nothing they wrote is lost.
func TestRollbackKeepsWhatTheAppsWroteBeforeTheyStopped(t *testing.T) {
	for _, transfer := range []string{helper.TransferBind, helper.TransferStream} {
		t.Run(transfer, func(t *testing.T) {
			f := newFixture(t)
			f.opts.Transfer = transfer
			g := &guardLog{}
			f.opts.Guard = g
			appsWrite(f)
			f.eng.Faults["restore"] = &helpertest.Fault{Times: 1, Code: 1, Stderr: "Restore failed"}

			res, err := f.run(context.Background())

			var rb *restore.RolledBackError
			assert.Assert(t, errors.As(err, &rb), "got %v", err)
			assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 17"), "rolled back to the data at STOP")
			assert.Assert(t, is.Len(res.Databases, 1))
			assert.Check(t, is.Equal(res.Databases[0].SafetyBackup, rb.Safety))
			diff := assertSafetyChain(t, rb.Safety)
			// A guardian would restore the same chain.
			assert.Check(t, is.Contains(putBackCommand(g), "--from-path=/backups/safety/neo4j/"+diff))
		})
	}
}

// The same inside a whole-deployment restore: the full safety backup is
// taken in the checks' helper before the applications stop.
func TestRunSetRollbackKeepsWhatTheAppsWroteBeforeTheyStopped(t *testing.T) {
	f, pg := setFixture(t)
	appsWrite(f)
	f.eng.Faults["restore"] = &helpertest.Fault{Times: 1, Code: 1, Stderr: "Restore failed"}

	res, err := f.runSet(context.Background())

	assert.Check(t, err != nil)
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 17"), "rolled back to the data at STOP")
	assert.Check(t, is.Equal(pg.rows, "rows damaged"), "the task manager rolled back too")
	assert.Assert(t, res.Graph != nil && len(res.Graph.Databases) == 1)
	assertSafetyChain(t, res.Graph.Databases[0].SafetyBackup)
	calls := f.eng.CallLog()
	assert.Check(t, firstIndex(calls, "exec neo4j-admin database backup") < firstIndex(calls, "stop-container"), "the full backup comes before the outage")
}

// The helper is removed from outside after the differential safety backup
// reached the folder: the new helper is given the whole chain, and the
// rollback restores it.
func TestHelperLostAfterTheSafetyChainArrived(t *testing.T) {
	f := newFixture(t)
	f.opts.Transfer = helper.TransferStream
	appsWrite(f)
	f.eng.Faults["restore"] = &helpertest.Fault{Code: 137, Times: 1, Hook: func() { f.eng.Helpers[0].Lose() }}

	_, err := f.run(context.Background())

	var rb *restore.RolledBackError
	assert.Assert(t, errors.As(err, &rb), "got %v", err)
	diff := assertSafetyChain(t, rb.Safety)
	calls := f.eng.CallLog()
	assert.Check(t, helpertest.CallsWith(calls, "copy-to /backups/safety/neo4j "+safetyName+" "+diff) != nil, "the chain went into the new helper: %v", calls)
	assert.Check(t, is.Equal(f.eng.Server.Content("neo4j"), "live data at tx 17"), "rolled back")
	assert.Check(t, is.Equal(f.admin.status["neo4j"], "online"))
}

// appsWrite makes the first application that stops write two transactions
// as it goes (the fake server is at transaction 15).
func appsWrite(f *fixture) {
	f.eng.Faults["stop-container"] = &helpertest.Fault{Times: 1, Hook: func() { f.eng.Server.Write("neo4j", 2) }}
}

// assertSafetyChain checks that the safety backup p ends a chain of two in
// its folder, which verify passes: the full backup of transactions 1-15
// and the differential one of 16-17, p. It returns p's name.
func assertSafetyChain(t *testing.T, p string) string {
	t.Helper()
	safety, err := backupset.Open(filepath.Dir(p))
	assert.NilError(t, err)
	m, err := safety.ReadManifest()
	assert.NilError(t, err)
	var graph []backupset.FileRecord
	for _, rec := range m.Files {
		if rec.Component == backupset.ComponentGraph || rec.Component == "" {
			graph = append(graph, rec)
		}
	}
	assert.Assert(t, is.Len(graph, 2), "%+v", m.Files)
	full, diff := graph[0], graph[1]
	assert.Check(t, is.Equal(full.Type, backupset.TypeFull))
	assert.Check(t, is.Equal(full.ToTx, int64(15)))
	assert.Check(t, is.Equal(diff.Type, backupset.TypeDiff))
	assert.Check(t, is.Equal(diff.FromTx, int64(16)))
	assert.Check(t, is.Equal(diff.ToTx, int64(17)))
	assert.Check(t, is.Equal(path.Base(p), diff.Name), "the chain's end is reported")
	v, err := catalog.Verify(context.Background(), nil, safety, catalog.VerifyOptions{}, progress.Nop)
	assert.NilError(t, err)
	assert.Check(t, v.OK, "verify of the safety folder: %+v", v.Problems)
	return diff.Name
}

func putBackCommand(g *guardLog) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var cmds []string
	for _, c := range g.putBack {
		cmds = append(cmds, strings.Join(c.Cmd, " "))
	}
	return strings.Join(cmds, "\n")
}
