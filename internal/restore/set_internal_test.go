package restore

import (
	"context"
	"errors"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

const zeroSum = "0000000000000000000000000000000000000000000000000000000000000000"

func runsManifest() *backupset.Manifest {
	m := &backupset.Manifest{Version: backupset.ManifestVersion}
	add := func(at time.Time, complete bool, components ...string) {
		id := backupset.NewRunID(at)
		for _, c := range components {
			rec := backupset.FileRecord{SHA256: zeroSum, RunID: id, Component: c, Time: at}
			switch c {
			case backupset.ComponentGraph:
				rec.Name, rec.Database = backupset.DumpName("neo4j", at), "neo4j"
			default:
				rec.Name, _ = backupset.ComponentFileName(c, at)
			}
			m.Upsert(rec)
		}
		m.UpsertRun(backupset.RunRecord{ID: id, Started: at, Components: components, Complete: complete})
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	add(t0, true, backupset.ComponentGraph, backupset.ComponentTaskManager, backupset.ComponentStorage)
	add(t0.Add(time.Hour), true, backupset.ComponentGraph, backupset.ComponentTaskManager)
	add(t0.Add(2*time.Hour), false, backupset.ComponentGraph, backupset.ComponentTaskManager, backupset.ComponentStorage)
	return m
}

var (
	graphOnlyDeployment = []string{backupset.ComponentGraph}
	wholeDeployment     = []string{backupset.ComponentTaskManager, backupset.ComponentStorage, backupset.ComponentGraph}
)

func TestChooseRunTakesTheNewestCompleteRunHoldingWhatTheDeploymentHas(t *testing.T) {
	plan := &SetPlan{}
	assert.NilError(t, chooseRun(runsManifest(), SetOptions{}, graphOnlyDeployment, plan))
	assert.Check(t, is.Equal(plan.RunID, "run-2026-01-01T01-00-00"))
	// Restore order: task manager, then graph.
	assert.Check(t, is.DeepEqual(plan.Components, []string{backupset.ComponentTaskManager, backupset.ComponentGraph}))
	assert.Check(t, plan.Storage == nil)
	assert.Check(t, is.Equal(plan.until, time.Date(2026, 1, 1, 1, 0, 0, 0, time.UTC)))
	assert.Check(t, is.Len(plan.Unchanged, 0))

	// The deployment has storage too: the newer run without it is passed
	// over for the older whole one.
	plan = &SetPlan{}
	assert.NilError(t, chooseRun(runsManifest(), SetOptions{}, wholeDeployment, plan))
	assert.Check(t, is.Equal(plan.RunID, "run-2026-01-01T00-00-00"))
	assert.Check(t, is.DeepEqual(plan.Components, wholeDeployment))
	assert.Check(t, is.Len(plan.Unchanged, 0))
}

// A graph-only run (backup --component graph) is never the default on a
// deployment with more: restored when named with --run, with what stays
// as it is said.
func TestChooseRunPassesOverAGraphOnlyRun(t *testing.T) {
	m := runsManifest()
	at := time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)
	id := backupset.NewRunID(at)
	m.Upsert(backupset.FileRecord{Name: backupset.DumpName("neo4j", at), Database: "neo4j", SHA256: zeroSum, RunID: id, Component: backupset.ComponentGraph, Time: at})
	m.UpsertRun(backupset.RunRecord{ID: id, Started: at, Components: []string{backupset.ComponentGraph}, Complete: true})

	plan := &SetPlan{}
	assert.NilError(t, chooseRun(m, SetOptions{}, wholeDeployment, plan))
	assert.Check(t, is.Equal(plan.RunID, "run-2026-01-01T00-00-00"))

	for _, run := range []string{id, RunLatest} {
		plan = &SetPlan{}
		assert.NilError(t, chooseRun(m, SetOptions{Run: run}, wholeDeployment, plan), run)
		assert.Check(t, is.Equal(plan.RunID, id))
		assert.Check(t, is.DeepEqual(plan.Components, []string{backupset.ComponentGraph}))
		assert.Check(t, is.DeepEqual(plan.Unchanged, []string{backupset.ComponentTaskManager, backupset.ComponentStorage}))
	}

	plan = &SetPlan{}
	assert.NilError(t, chooseRun(m, SetOptions{Components: []string{backupset.ComponentGraph}}, wholeDeployment, plan))
	assert.Check(t, is.Equal(plan.RunID, id))
	assert.Check(t, is.DeepEqual(plan.Unchanged, []string{backupset.ComponentTaskManager, backupset.ComponentStorage}))
}

func TestChooseRunRefusesToLeaveComponentsBehindUnasked(t *testing.T) {
	m := runsManifest()
	m.Runs = m.Runs[1:] // no run holds the storage
	err := chooseRun(m, SetOptions{}, wholeDeployment, &SetPlan{})
	assert.Check(t, is.ErrorContains(err, "pass --run run-2026-01-01T01-00-00"))
	assert.Check(t, is.ErrorContains(err, "leave its storage as it is"))
	var env *helper.EnvironmentError
	assert.Check(t, errors.As(err, &env), "exit 3")
}

func TestChooseRunByID(t *testing.T) {
	err := chooseRun(runsManifest(), SetOptions{Run: "run-2026-01-01T02-00-00"}, wholeDeployment, &SetPlan{})
	assert.Check(t, is.ErrorContains(err, "is incomplete"))
	err = chooseRun(runsManifest(), SetOptions{Run: "run-2020-01-01T02-00-00"}, wholeDeployment, &SetPlan{})
	assert.Check(t, is.ErrorContains(err, "has no backup run run-2020-01-01T02-00-00"))
	err = chooseRun(runsManifest(), SetOptions{Run: "run-2026-01-01T01-00-00", Components: []string{backupset.ComponentStorage}}, wholeDeployment, &SetPlan{})
	assert.Check(t, is.ErrorContains(err, "has no storage"))
	plan := &SetPlan{}
	assert.NilError(t, chooseRun(runsManifest(), SetOptions{Run: "run-2026-01-01T01-00-00"}, wholeDeployment, plan))
	assert.Check(t, is.DeepEqual(plan.Unchanged, []string{backupset.ComponentStorage}))
}

func TestChooseRunWithComponentsAndUntil(t *testing.T) {
	plan := &SetPlan{}
	assert.NilError(t, chooseRun(runsManifest(), SetOptions{Components: []string{backupset.ComponentStorage}}, graphOnlyDeployment, plan))
	assert.Check(t, is.Equal(plan.RunID, "run-2026-01-01T00-00-00"))
	assert.Check(t, is.DeepEqual(plan.Components, []string{backupset.ComponentStorage}))
	assert.Check(t, plan.Storage != nil)

	plan = &SetPlan{}
	opts := SetOptions{}
	opts.Until = time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC)
	assert.NilError(t, chooseRun(runsManifest(), opts, graphOnlyDeployment, plan))
	assert.Check(t, is.Equal(plan.RunID, "run-2026-01-01T00-00-00"))

	opts.Until = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	err := chooseRun(runsManifest(), opts, graphOnlyDeployment, &SetPlan{})
	assert.Check(t, is.ErrorContains(err, "no complete backup run taken before 2025-01-01T00:00:00Z"))
}

func TestRollbackUndoesReplacedComponentsNewestFirst(t *testing.T) {
	var order []string
	s := &setRunner{pw: progress.Nop, plan: &SetPlan{}}
	s.undo = []undoStep{
		{component: backupset.ComponentTaskManager, do: func(context.Context) error { order = append(order, "tm"); return nil }},
		{component: backupset.ComponentStorage, do: func(context.Context) error { order = append(order, "storage"); return nil }},
	}
	cause := errors.New("neo4j-admin load failed")
	err := s.rollback(context.Background(), backupset.ComponentGraph, cause)
	var rb *ComponentsRolledBackError
	assert.Assert(t, errors.As(err, &rb))
	assert.Check(t, is.DeepEqual(order, []string{"storage", "tm"}))
	assert.Check(t, is.DeepEqual(rb.RolledBack, []string{"storage", "task-manager"}))
	assert.Check(t, errors.Is(err, cause))
}

func TestRollbackThatFailsSaysWhatIsLeft(t *testing.T) {
	s := &setRunner{pw: progress.Nop, plan: &SetPlan{}}
	s.undo = []undoStep{
		{component: backupset.ComponentTaskManager, where: "/b/safety/tm.pgdump", do: func(context.Context) error { return nil }},
		{component: backupset.ComponentStorage, where: "/b/safety/storage.tar", do: func(context.Context) error { return errors.New("helper gone") }},
	}
	err := s.rollback(context.Background(), backupset.ComponentGraph, errors.New("boom"))
	var dg *ComponentsDegradedError
	assert.Assert(t, errors.As(err, &dg))
	assert.Check(t, is.Contains(err.Error(), "COULD NOT BE ROLLED BACK: the storage (its previous content is in /b/safety/storage.tar: helper gone)"))
	assert.Check(t, is.DeepEqual(dg.RolledBack, []string{"task-manager"}))
}

// A cancelled run still rolls back: the undo steps get a live context.
func TestRollbackRunsAfterCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &setRunner{pw: progress.Nop, plan: &SetPlan{}}
	var live bool
	s.undo = []undoStep{{component: backupset.ComponentStorage, do: func(ctx context.Context) error { live = ctx.Err() == nil; return nil }}}
	err := s.rollback(ctx, backupset.ComponentStorage, context.Canceled)
	assert.Check(t, live)
	assert.Check(t, errors.Is(err, context.Canceled))
}
