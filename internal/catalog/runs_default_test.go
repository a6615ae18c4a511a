package catalog

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// The run marked as restore's default holds every component: a newer
// graph-only run is not it.
func TestDescribeRunsMarksTheWholeRunAsRestoreDefault(t *testing.T) {
	m := &backupset.Manifest{Version: backupset.ManifestVersion}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m.UpsertRun(backupset.RunRecord{ID: backupset.NewRunID(t0), Started: t0, Complete: true,
		Components: []string{backupset.ComponentGraph, backupset.ComponentTaskManager, backupset.ComponentStorage}})
	t1 := t0.Add(time.Hour)
	m.UpsertRun(backupset.RunRecord{ID: backupset.NewRunID(t1), Started: t1, Complete: true, Components: []string{backupset.ComponentGraph}})
	runs := describeRuns(&backupset.Catalog{Manifest: m})
	assert.Assert(t, is.Len(runs, 2))
	assert.Check(t, runs[0].Newest)
	assert.Check(t, !runs[1].Newest)
}

func TestAddDrillsReadsTheLastDrillOfEachRun(t *testing.T) {
	folder, err := backupset.Create(filepath.Join(t.TempDir(), "b"))
	assert.NilError(t, err)
	assert.NilError(t, folder.WriteDrillReport("run-2026-01-01T00-00-00", []byte(`{"run_id":"run-2026-01-01T00-00-00","started":"2026-01-02T00:00:00Z","verdict":"pass","rto_ns":1500000000}`)))
	assert.NilError(t, os.WriteFile(folder.Path(backupset.DrillReportName("run-2026-01-01T01-00-00")), []byte("{"), 0o600))
	runs := []RunListing{{ID: "run-2026-01-01T00-00-00"}, {ID: "run-2026-01-01T01-00-00"}, {ID: "run-2026-01-01T02-00-00"}}
	addDrills(folder, runs)
	assert.Assert(t, runs[0].LastDrill != nil)
	assert.Check(t, is.Equal(runs[0].LastDrill.Verdict, "pass"))
	assert.Check(t, is.Equal(runs[0].LastDrill.RTO, 1500*time.Millisecond))
	assert.Assert(t, runs[1].LastDrill != nil)
	assert.Check(t, is.Equal(runs[1].LastDrill.Verdict, "unreadable report"))
	assert.Check(t, runs[2].LastDrill == nil)
	cat, err := folder.Scan()
	assert.NilError(t, err)
	assert.Check(t, is.Len(cat.Unexpected, 0), "drill reports are not unexpected files")
	assert.Check(t, is.Len(cat.DrillReports, 2))
}
