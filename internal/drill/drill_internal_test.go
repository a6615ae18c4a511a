package drill

import (
	"errors"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
)

func runs() *backupset.Manifest {
	m := &backupset.Manifest{Version: backupset.ManifestVersion}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, complete := range []bool{true, true, false} {
		at := t0.Add(time.Duration(i) * time.Hour)
		m.UpsertRun(backupset.RunRecord{ID: backupset.NewRunID(at), Started: at, Complete: complete, Components: []string{backupset.ComponentGraph}})
	}
	return m
}

func TestChooseRun(t *testing.T) {
	r, err := chooseRun(runs(), "")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(r.ID, "run-2026-01-01T01-00-00"), "the newest complete run")
	r, err = chooseRun(runs(), "latest")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(r.ID, "run-2026-01-01T01-00-00"))
	r, err = chooseRun(runs(), "run-2026-01-01T00-00-00")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(r.ID, "run-2026-01-01T00-00-00"))

	var env *helper.EnvironmentError
	_, err = chooseRun(runs(), "run-2026-01-01T02-00-00")
	assert.Check(t, errors.As(err, &env), "exit 3")
	assert.Check(t, is.ErrorContains(err, "incomplete"))
	_, err = chooseRun(runs(), "run-2020-01-01T00-00-00")
	assert.Check(t, is.ErrorContains(err, "has no backup run"))
	_, err = chooseRun(&backupset.Manifest{}, "")
	assert.Check(t, is.ErrorContains(err, "no complete backup run"))
}

func TestCompareAndVerdict(t *testing.T) {
	ok := ComponentReport{Component: "storage", Figures: map[string]int64{"files": 2, "bytes": 10}, Expected: map[string]int64{"files": 2, "bytes": 10}}
	ok.compare()
	ok.OK = len(ok.Mismatches) == 0
	bad := ComponentReport{Component: "task-manager", Figures: map[string]int64{"rows:flow_run": 6}, Expected: map[string]int64{"rows:flow_run": 7, "rows:log": 1}}
	bad.compare()
	assert.Check(t, is.Len(bad.Mismatches, 2))
	notLoaded := ComponentReport{Component: "graph", Problem: "neo4j.dump does not restore"}

	r := &Report{RunID: "run-x", Components: []ComponentReport{ok}}
	r.finish()
	assert.Check(t, is.Equal(r.Verdict, VerdictPass))

	r = &Report{RunID: "run-x", Components: []ComponentReport{ok, bad, notLoaded}}
	r.finish()
	assert.Check(t, is.Equal(r.Verdict, VerdictFail))
	assert.Check(t, is.Len(r.Problems, 3))
	err := &FailedError{Report: r}
	assert.Check(t, is.ErrorContains(err, "graph: neo4j.dump does not restore"))
	assert.Check(t, is.ErrorContains(err, "rows:flow_run: expected 7, restored 6"))
}

func TestCompareRootIDs(t *testing.T) {
	c := ComponentReport{Component: "graph", RootIDs: map[string]string{"neo4j": "b"}, ExpectedRootIDs: map[string]string{"neo4j": "a"}}
	c.compare()
	assert.Check(t, is.DeepEqual(c.Mismatches, []string{`Root node of neo4j: expected id "a", restored "b"`}))
	c = ComponentReport{Component: "graph", RootIDs: map[string]string{"neo4j": "a"}, ExpectedRootIDs: map[string]string{"neo4j": "a"}}
	c.compare()
	assert.Check(t, is.Len(c.Mismatches, 0))
}

// The expected figures of a database are those of the chain's last file
// (the run's): an older file's describe an older state. A last file
// without figures compares none and says why.
func TestExpectedGraphFiguresAreThoseOfTheRunsFile(t *testing.T) {
	full := &backupset.FileRecord{Name: "neo4j-full", Figures: map[string]int64{"nodes:neo4j": 5, "nodes:neo4j:Old": 1}, RootID: "root"}
	diff := &backupset.FileRecord{Name: "neo4j-diff", Figures: map[string]int64{"nodes:neo4j": 7}, RootID: "root"}
	cr := &ComponentReport{Expected: map[string]int64{}}
	expectGraph(cr, "neo4j", backupset.Chain{Files: []backupset.Artifact{{Record: full}, {Record: diff}}})
	assert.Check(t, is.DeepEqual(cr.Expected, map[string]int64{"nodes:neo4j": 7}))
	assert.Check(t, is.DeepEqual(cr.ExpectedRootIDs, map[string]string{"neo4j": "root"}))
	assert.Check(t, is.Len(cr.NotCompared, 0))

	written := &backupset.FileRecord{Name: "neo4j-diff", FiguresNotRecorded: "the graph of database neo4j was written during the backup"}
	cr = &ComponentReport{Expected: map[string]int64{}}
	expectGraph(cr, "neo4j", backupset.Chain{Files: []backupset.Artifact{{Record: full}, {Record: written}}})
	assert.Check(t, is.Len(cr.Expected, 0), "the full backup's figures are not the run's")
	assert.Check(t, is.Len(cr.ExpectedRootIDs, 0))
	assert.Check(t, is.DeepEqual(cr.NotCompared, []string{"the figures of database neo4j are not compared: the graph of database neo4j was written during the backup"}))

	cr = &ComponentReport{Expected: map[string]int64{}}
	expectGraph(cr, "neo4j", backupset.Chain{Files: []backupset.Artifact{{Record: full}, {Record: &backupset.FileRecord{Name: "neo4j-diff"}}}})
	assert.Check(t, is.DeepEqual(cr.NotCompared, []string{"the figures of database neo4j are not compared: the backup recorded none"}))
}
