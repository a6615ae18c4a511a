package backupset

import (
	"slices"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// runFile is a file of a test catalog: a graph backup of neo4j (component
// "") or a component file, captured at hour h by run (none when "").
type runFile struct {
	run     string
	h       int
	comp    string
	typ     string // graph: TypeFull, TypeDiff
	missing bool
}

// runCatalog builds a catalog of files; runs lists the run IDs ("r<h>"
// started at hour h) with complete set unless listed in incomplete.
func runCatalog(t *testing.T, runs map[string]int, incomplete []string, files ...runFile) *Catalog {
	t.Helper()
	c := &Catalog{Manifest: &Manifest{Version: ManifestVersion}}
	for id, h := range runs {
		c.Manifest.UpsertRun(RunRecord{ID: id, Started: at(h), Complete: !slices.Contains(incomplete, id)})
	}
	for _, f := range files {
		var rec FileRecord
		if f.comp == "" {
			a := art("neo4j", f.h, f.typ)
			rec = *a.Record
		} else {
			name, err := ComponentFileName(f.comp, at(f.h))
			assert.NilError(t, err)
			rec = FileRecord{Name: name, Time: at(f.h), Component: f.comp}
		}
		rec.RunID, rec.Size = f.run, 10
		c.Manifest.Upsert(rec)
		if f.missing {
			c.Missing = append(c.Missing, rec)
			continue
		}
		r := rec
		if f.comp == "" {
			c.Artifacts = append(c.Artifacts, Artifact{Name: r.Name, Database: "neo4j", Time: r.Time, Size: 10, Record: &r})
		} else {
			c.Components = append(c.Components, ComponentFile{Name: r.Name, Component: f.comp, Time: r.Time, Size: 10, Record: &r})
		}
	}
	sortArtifacts(c.Artifacts)
	return c
}

// fullRun is the files of a run at hour h with a graph backup of type typ.
func fullRun(h int, typ string) []runFile {
	id := runID(h)
	return []runFile{{run: id, h: h, typ: typ}, {run: id, h: h, comp: ComponentTaskManager}, {run: id, h: h, comp: ComponentStorage}}
}

func runID(h int) string { return "r" + string(rune('0'+h)) }

func planRuns(t *testing.T, c *Catalog, keep int) (kept, deleted []string, p *RunPrunePlan) {
	t.Helper()
	p, err := SelectPruneRuns(c, keep)
	assert.NilError(t, err)
	names := func(as []Artifact, cs []ComponentFile) []string {
		out := Names(as)
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	// Never a diff without its full, whatever is deleted.
	for _, ch := range Chains(p.KeepFiles)["neo4j"] {
		assert.Assert(t, ch.Files[0].Type() != TypeDiff, "a kept diff lost its full")
	}
	return names(p.KeepFiles, p.KeepComponents), names(p.DeleteFiles, p.DeleteComponents), p
}

func TestSelectPruneRunsKeepsRunsAndTheirChains(t *testing.T) {
	runs := map[string]int{"r0": 0, "r1": 1, "r2": 2, "r3": 3}
	var files []runFile
	for h, typ := range []string{TypeFull, TypeDiff, TypeFull, TypeDiff} {
		files = append(files, fullRun(h, typ)...)
	}
	tests := []struct {
		keep                int
		keptRuns, deleteRun []string
	}{
		// r3 is a diff of r2's full: keeping r3 keeps r2.
		{keep: 1, keptRuns: []string{"r2", "r3"}, deleteRun: []string{"r0", "r1"}},
		{keep: 2, keptRuns: []string{"r2", "r3"}, deleteRun: []string{"r0", "r1"}},
		// r1 is a diff of r0's full.
		{keep: 3, keptRuns: []string{"r0", "r1", "r2", "r3"}},
		{keep: 9, keptRuns: []string{"r0", "r1", "r2", "r3"}},
	}
	for _, tc := range tests {
		c := runCatalog(t, runs, nil, files...)
		kept, deleted, p := planRuns(t, c, tc.keep)
		assert.DeepEqual(t, p.KeepRuns, tc.keptRuns)
		assert.DeepEqual(t, p.DeleteRuns, tc.deleteRun)
		assert.Equal(t, len(kept), 3*len(tc.keptRuns), "keep %d: %v", tc.keep, kept)
		assert.Equal(t, len(deleted), 3*len(tc.deleteRun), "keep %d: %v", tc.keep, deleted)
		if tc.keep == 1 {
			assert.Assert(t, slices.Contains(deleted, ArtifactName("neo4j", at(0))))
			assert.Assert(t, slices.Contains(deleted, "storage-2026-03-01T01-00-00.tar"), "%v", deleted)
			assert.Assert(t, slices.Contains(kept, ArtifactName("neo4j", at(2))))
		}
	}
}

func TestSelectPruneRunsSafety(t *testing.T) {
	t.Run("keep 0 refused", func(t *testing.T) {
		_, err := SelectPruneRuns(runCatalog(t, map[string]int{"r0": 0}, nil, fullRun(0, TypeFull)...), 0)
		assert.ErrorContains(t, err, "--keep must be at least 1")
	})
	t.Run("an incomplete newest run is not counted and stays", func(t *testing.T) {
		files := append(append(fullRun(0, TypeFull), fullRun(1, TypeFull)...), fullRun(2, TypeFull)[:1]...)
		c := runCatalog(t, map[string]int{"r0": 0, "r1": 1, "r2": 2}, []string{"r2"}, files...)
		_, _, p := planRuns(t, c, 1)
		assert.DeepEqual(t, p.KeepRuns, []string{"r1", "r2"})
		assert.DeepEqual(t, p.DeleteRuns, []string{"r0"})
	})
	t.Run("a run with a missing file is not counted", func(t *testing.T) {
		last := fullRun(2, TypeFull)
		last[2].missing = true
		files := append(append(fullRun(0, TypeFull), fullRun(1, TypeFull)...), last...)
		c := runCatalog(t, map[string]int{"r0": 0, "r1": 1, "r2": 2}, nil, files...)
		_, _, p := planRuns(t, c, 1)
		assert.DeepEqual(t, p.KeepRuns, []string{"r1", "r2"})
	})
	t.Run("the newest file of a component stays with its run", func(t *testing.T) {
		// r1 and r2 took the graph alone: r0 holds the only task manager
		// and storage backups.
		files := append(fullRun(0, TypeFull), runFile{run: "r1", h: 1, typ: TypeFull}, runFile{run: "r2", h: 2, typ: TypeFull})
		c := runCatalog(t, map[string]int{"r0": 0, "r1": 1, "r2": 2}, nil, files...)
		_, deleted, p := planRuns(t, c, 1)
		assert.DeepEqual(t, p.KeepRuns, []string{"r0", "r2"})
		assert.DeepEqual(t, deleted, []string{ArtifactName("neo4j", at(1))})
	})
	t.Run("the newest complete graph chain stays with its run", func(t *testing.T) {
		// r2 and r3 took the storage alone.
		files := append(fullRun(0, TypeFull), fullRun(1, TypeFull)...)
		files = append(files, runFile{run: "r2", h: 2, comp: ComponentStorage}, runFile{run: "r3", h: 3, comp: ComponentStorage})
		c := runCatalog(t, map[string]int{"r0": 0, "r1": 1, "r2": 2, "r3": 3}, nil, files...)
		_, _, p := planRuns(t, c, 1)
		assert.DeepEqual(t, p.KeepRuns, []string{"r1", "r3"})
		assert.DeepEqual(t, p.DeleteRuns, []string{"r0", "r2"})
	})
	t.Run("graph files from before runs go with their chain", func(t *testing.T) {
		files := []runFile{{h: 0, typ: TypeFull}, {h: 1, typ: TypeDiff}}
		files = append(append(files, fullRun(2, TypeFull)...), fullRun(3, TypeFull)...)
		c := runCatalog(t, map[string]int{"r2": 2, "r3": 3}, nil, files...)
		_, deleted, p := planRuns(t, c, 1)
		assert.DeepEqual(t, p.DeleteRuns, []string{"r2"})
		assert.Assert(t, slices.Contains(deleted, ArtifactName("neo4j", at(0))))
		assert.Assert(t, slices.Contains(deleted, ArtifactName("neo4j", at(1))))
		assert.Equal(t, len(deleted), 5)
	})
	t.Run("graph files from before runs go when every run is kept", func(t *testing.T) {
		files := []runFile{{h: 0, typ: TypeFull}, {h: 1, typ: TypeDiff}}
		files = append(append(files, fullRun(2, TypeFull)...), fullRun(3, TypeFull)...)
		c := runCatalog(t, map[string]int{"r2": 2, "r3": 3}, nil, files...)
		_, deleted, p := planRuns(t, c, 2)
		assert.Check(t, is.Len(p.DeleteRuns, 0))
		assert.DeepEqual(t, deleted, []string{ArtifactName("neo4j", at(0)), ArtifactName("neo4j", at(1))})
		_, deleted, _ = planRuns(t, c, 3)
		assert.Check(t, is.Len(deleted, 0), "fewer runs than --keep: nothing goes")
	})
	t.Run("the records of a deleted run's missing files go", func(t *testing.T) {
		first := fullRun(0, TypeFull)
		first[1].missing = true
		c := runCatalog(t, map[string]int{"r0": 0, "r1": 1}, nil, append(first, fullRun(1, TypeFull)...)...)
		_, deleted, p := planRuns(t, c, 1)
		assert.DeepEqual(t, p.DeleteRuns, []string{"r0"})
		assert.Check(t, slices.Contains(deleted, "task-manager-2026-03-01T00-00-00.pgdump"), "%v", deleted)
		assert.Check(t, is.Len(deleted, 3))
	})
	t.Run("a diff of a kept run keeps an older full from before runs", func(t *testing.T) {
		files := []runFile{{h: 0, typ: TypeFull}, {run: "r1", h: 1, typ: TypeDiff}}
		c := runCatalog(t, map[string]int{"r1": 1}, nil, files...)
		kept, deleted, _ := planRuns(t, c, 1)
		assert.Equal(t, len(deleted), 0)
		assert.Equal(t, len(kept), 2)
	})
	t.Run("graph files of unknown type are never deleted", func(t *testing.T) {
		c := runCatalog(t, map[string]int{"r1": 1, "r2": 2}, nil, append(fullRun(1, TypeFull), fullRun(2, TypeFull)...)...)
		c.Artifacts = append(c.Artifacts, art("neo4j", 0, "")) // neo4j-admin's, unrecorded
		sortArtifacts(c.Artifacts)
		kept, _, p := planRuns(t, c, 1)
		assert.DeepEqual(t, p.DeleteRuns, []string{"r1"})
		assert.Assert(t, slices.Contains(kept, ArtifactName("neo4j", at(0))))
	})
	t.Run("component files without a run are never deleted", func(t *testing.T) {
		c := runCatalog(t, map[string]int{"r1": 1, "r2": 2}, nil, append(fullRun(1, TypeFull), fullRun(2, TypeFull)...)...)
		c.Components = append(c.Components, ComponentFile{Name: "storage-2026-03-01T00-00-00.tar", Component: ComponentStorage, Time: at(0)})
		kept, _, _ := planRuns(t, c, 1)
		assert.Assert(t, slices.Contains(kept, "storage-2026-03-01T00-00-00.tar"))
	})
}
