package restore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

// chainUpload is the call of the graph chain's upload into a helper.
const chainUpload = "copy-to /backups neo4j-"

// graphHelpers are the restore's own helpers for the graph (not the
// components' helpers).
func graphHelpers(e *helpertest.Engine) []*helpertest.Helper {
	var out []*helpertest.Helper
	for _, h := range e.Helpers {
		if !strings.Contains(h.Name(), "-cache-") && !strings.Contains(h.Name(), "-storage-") {
			out = append(out, h)
		}
	}
	return out
}

// A whole-deployment restore puts the graph's chain into a helper once,
// checked, while its checks run and before anything stops; the graph's run
// goes on in that helper: nothing is uploaded inside the outage.
func TestRunSetUploadsTheChainOnceBeforeAnythingStops(t *testing.T) {
	f, pg := setFixture(t)
	f.opts.Transfer = helper.TransferStream
	_, err := f.runSet(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.Equal(pg.rows, "rows at backup"))
	calls := f.eng.CallLog()
	assert.Check(t, is.Len(helpertest.CallsWith(calls, chainUpload), 1), strings.Join(calls, "\n"))
	assert.Check(t, firstIndex(calls, chainUpload) < firstIndex(calls, "stop-container"), "the chain is uploaded before anything stops")
	hs := graphHelpers(f.eng)
	assert.Assert(t, is.Len(hs, 1), "one helper for the graph's checks and its run")
	assert.Check(t, hs[0].Removed(), "the helper is removed at the end")
}

// The checks' helper, removed from outside while the components are
// restored, is replaced: the graph's run starts its own, puts the chain in
// again (checked), and the restore succeeds; nothing is left behind.
func TestRunSetReplacesTheChecksHelperLostMeanwhile(t *testing.T) {
	f, pg := setFixture(t)
	f.opts.Transfer = helper.TransferStream
	loseChecksHelperAtPgRestore(f, func() {})
	_, err := f.runSet(context.Background())
	assert.NilError(t, err)
	assert.Check(t, is.Equal(pg.rows, "rows at backup"))
	calls := f.eng.CallLog()
	assert.Check(t, is.Len(helpertest.CallsWith(calls, chainUpload), 2), strings.Join(calls, "\n"))
	assert.Check(t, firstIndex(calls, "exec-in task-manager-db-id pg_restore") < lastIndex(calls, chainUpload), "the chain goes into the new helper")
	hs := graphHelpers(f.eng)
	assert.Assert(t, is.Len(hs, 2))
	for _, h := range hs {
		assert.Check(t, h.Removed(), h.Name())
	}
}

// The same in bind transfer: the checks hashed the chain; the new helper's
// chain is hashed again before it goes in, as the run's plan left it to
// the checks.
func TestRunSetReplacingTheChecksHelperHashesTheChainAgain(t *testing.T) {
	f, _ := setFixture(t)
	f.opts.Transfer = helper.TransferBind
	// The folder's chain changed since the checks.
	loseChecksHelperAtPgRestore(f, func() { damageChain(t, f) })
	_, err := f.runSet(context.Background())
	var verr *restore.VerifyError
	assert.Assert(t, errors.As(err, &verr), "got %v", err)
	var rolled *restore.ComponentsRolledBackError
	assert.Check(t, errors.As(err, &rolled), "the components replaced are put back: %v", err)
	for _, h := range graphHelpers(f.eng) {
		assert.Check(t, h.Removed(), h.Name())
	}
}

// A restore declined at its confirmation removes the checks' helper.
func TestRunSetDeclinedRemovesTheChecksHelper(t *testing.T) {
	f, _ := setFixture(t)
	f.opts.Transfer = helper.TransferStream
	connect := func(ctx context.Context, address string, creds neo4j.Credentials) (restore.Admin, error) {
		return f.admin, nil
	}
	_, err := restore.RunSet(context.Background(), f.eng, connect, f.folder, restore.SetOptions{Options: f.opts,
		ConfirmSet: func(*restore.SetPlan) (bool, error) { return false, nil }}, progress.Nop)
	assert.Check(t, is.ErrorIs(err, restore.ErrNotConfirmed))
	hs := graphHelpers(f.eng)
	assert.Assert(t, is.Len(hs, 1))
	assert.Check(t, hs[0].Removed())
	assert.Check(t, !hasPrefix(f.eng.CallLog(), "stop-container"))
}

func lastIndex(calls []string, prefix string) int {
	for i := len(calls) - 1; i >= 0; i-- {
		if strings.HasPrefix(calls[i], prefix) {
			return i
		}
	}
	return -1
}

// damageChain flips a byte of every graph backup in the fixture's folder.
func damageChain(t *testing.T, f *fixture) {
	t.Helper()
	names, err := filepath.Glob(f.folder.Path("neo4j-*.backup"))
	assert.NilError(t, err)
	assert.Assert(t, len(names) > 0)
	for _, p := range names {
		data, err := os.ReadFile(p)
		assert.NilError(t, err)
		data[len(data)-2] ^= 0x20
		assert.NilError(t, os.WriteFile(p, data, 0o600))
	}
}

// loseChecksHelperAtPgRestore removes the graph checks' helper from outside
// when the task manager's pg_restore starts (the components are restored
// between the checks and the graph's run), then runs also.
func loseChecksHelperAtPgRestore(f *fixture, also func()) {
	inner := f.eng.ExecInHook
	f.eng.ExecInHook = func(ctx context.Context, id string, spec docker.ExecSpec) (int, bool, error) {
		if len(spec.Cmd) > 0 && spec.Cmd[0] == "pg_restore" {
			graphHelpers(f.eng)[0].Lose()
			also()
		}
		return inner(ctx, id, spec)
	}
}
