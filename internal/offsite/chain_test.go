package offsite_test

import (
	"context"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/offsite"
)

// putRun commits a run of one graph artifact into loc, on base.
func putRun(t *testing.T, loc backupset.Location, started time.Time, typ, base string) string {
	t.Helper()
	ctx := context.Background()
	id := backupset.NewLocationRunID(started)
	name := backupset.ArtifactName("neo4j", started)
	rec, err := backupset.WriteObject(ctx, loc, backupset.ArtifactKey(id, name), []byte(typ+" backup at "+started.String()))
	assert.NilError(t, err)
	rec.Name, rec.Database, rec.Type, rec.Component, rec.Neo4jVersion = name, "neo4j", typ, backupset.ComponentGraph, "5.26.0"
	m := backupset.RunManifest{Tool: "test", Base: base, Run: backupset.RunRecord{ID: id, Started: started, Complete: true, Components: []string{backupset.ComponentGraph}}, Files: []backupset.RunFile{{FileRecord: rec}}}
	assert.NilError(t, backupset.CommitRun(ctx, loc, m))
	return id
}

func folderLocation(t *testing.T) backupset.Location {
	loc, err := backupset.NewFolderLocation(t.TempDir())
	assert.NilError(t, err)
	return loc
}

// A chain of runs: each differential run names its base; RunChain walks
// it, ChooseBase continues the newest run, and a copy between locations
// keeps the chain (or refuses a run without its base).
func TestRunChainsInALocation(t *testing.T) {
	ctx := context.Background()
	loc := folderLocation(t)
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	full := putRun(t, loc, t0, backupset.TypeFull, "")
	d1 := putRun(t, loc, t0.Add(time.Hour), backupset.TypeDiff, full)
	d2 := putRun(t, loc, t0.Add(2*time.Hour), backupset.TypeDiff, d1)

	chain, err := offsite.RunChain(ctx, loc, d2)
	assert.NilError(t, err)
	var ids []string
	for _, m := range chain {
		ids = append(ids, m.Run.ID)
	}
	assert.Check(t, is.DeepEqual(ids, []string{full, d1, d2}))

	listing, err := backupset.ListRuns(ctx, loc)
	assert.NilError(t, err)
	base, why := offsite.ChooseBase(ctx, loc, listing, offsite.BaseRules{Databases: []string{"neo4j"}})
	assert.Check(t, is.Equal(base, d2), why)
	base, why = offsite.ChooseBase(ctx, loc, listing, offsite.BaseRules{Databases: []string{"neo4j", "other"}})
	assert.Check(t, is.Equal(base, ""))
	assert.Check(t, is.Contains(why, "no backup of other"))

	// A chain is continued while it is shorter than MaxRuns: the newest
	// ends a chain of 3 runs, so a limit of 3 starts a new one, 4 does not.
	base, why = offsite.ChooseBase(ctx, loc, listing, offsite.BaseRules{MaxRuns: 4})
	assert.Check(t, is.Equal(base, d2), why)
	base, why = offsite.ChooseBase(ctx, loc, listing, offsite.BaseRules{MaxRuns: 3})
	assert.Check(t, is.Equal(base, ""))
	assert.Check(t, is.Equal(why, "the newest chain, up to run "+d2+", holds 3 runs already (--full-every 3): a new one starts"))

	// Prune keeps the whole chain of the newest run.
	plan, err := backupset.PlanLocationPrune(listing, backupset.KeepPolicy{Last: 1}, t0.Add(3*time.Hour))
	assert.NilError(t, err)
	assert.Check(t, is.Len(plan.Remove, 0))
	assert.Check(t, is.Len(plan.Keep, 3))

	// Between locations: the bases come along and are named by their
	// new IDs; one run alone is refused.
	dst := folderLocation(t)
	_, err = offsite.BetweenLocations(ctx, loc, dst, []string{d2}, false, nil)
	assert.Check(t, is.ErrorContains(err, "depends on run "+d1))
	res, err := offsite.BetweenLocations(ctx, loc, dst, nil, false, nil)
	assert.NilError(t, err)
	assert.Assert(t, is.Len(res.Copied, 3))
	chain, err = offsite.RunChain(ctx, dst, res.Copied[2].ID)
	assert.NilError(t, err)
	assert.Assert(t, is.Len(chain, 3))
	assert.Check(t, is.Equal(chain[0].Run.ID, res.Copied[0].ID))
	assert.Check(t, is.Equal(chain[1].Run.ID, res.Copied[1].ID))
	_, err = offsite.Verify(ctx, dst, nil, nil, nil)
	assert.NilError(t, err)

	// Into a folder: the bases' graph, then the run; the folder's chain
	// ends at the run's differential backup.
	folder, err := backupset.Create(t.TempDir())
	assert.NilError(t, err)
	_, staged, err := offsite.ChainToFolder(ctx, loc, d2, folder, nil, nil)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(staged, []string{full, d1, d2}))
	cat, err := folder.Scan()
	assert.NilError(t, err)
	c, err := backupset.ChooseChain(cat.Chains()["neo4j"], time.Time{})
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(backupset.Names(c.Files), []string{
		backupset.ArtifactName("neo4j", t0), backupset.ArtifactName("neo4j", t0.Add(time.Hour)), backupset.ArtifactName("neo4j", t0.Add(2*time.Hour)),
	}))

	// A missing base: not restorable, verify says so.
	assert.NilError(t, backupset.DeleteRun(ctx, loc, d1))
	_, err = offsite.RunChain(ctx, loc, d2)
	assert.Check(t, is.ErrorContains(err, "depends on run "+d1))
	_, err = offsite.Verify(ctx, loc, nil, nil, nil)
	assert.Check(t, is.ErrorContains(err, "depends on run "+d1))
}
