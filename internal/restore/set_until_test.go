package restore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
)

// A run's graph is restored whole: its time chooses the chain but never
// reaches neo4j-admin as --restore-until, which (in whole seconds) would drop
// what the backup took after the second its name says. With --until too,
// --until only chooses the run.
func TestRunSetRestoresTheRunsGraphWhole(t *testing.T) {
	for _, until := range []time.Time{{}, time.Now().Add(time.Hour)} {
		f, _ := setFixture(t)
		f.opts.Until = until
		_, err := f.runSet(context.Background())
		assert.NilError(t, err)
		restores := helpertest.CallsWith(f.eng.CallLog(), "exec neo4j-admin database restore")
		assert.Assert(t, len(restores) > 0)
		for _, r := range restores {
			assert.Check(t, !strings.Contains(r, "--restore-until"), r)
		}
		assert.Check(t, is.Contains(f.eng.Server.Content("neo4j"), "live data"))
	}
}

// --keep-helper-container keeps the helper of the restore, not the one of
// the checks before it, which would hold the database against the restore.
func TestRunSetKeepsOnlyTheRestoresHelper(t *testing.T) {
	f, _ := setFixture(t)
	f.opts.KeepHelper = true
	res, err := f.runSet(context.Background())
	assert.NilError(t, err)
	assert.Check(t, res.Graph != nil && res.Graph.Helper != "", "the restore's helper is named as kept")
}
