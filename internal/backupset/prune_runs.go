package backupset

import (
	"fmt"
	"slices"
	"time"
)

// RunPrunePlan is a prune plan by backup runs (see SelectPruneRuns).
type RunPrunePlan struct {
	KeepFiles, DeleteFiles           []Artifact      // graph artifacts
	KeepComponents, DeleteComponents []ComponentFile // task-manager and storage files
	KeepRuns, DeleteRuns             []string        // run IDs, oldest first
}

// SelectPruneRuns plans a prune that keeps the newest keep restorable runs of
// a manifest that records runs (c.Manifest.Runs), and every run after the
// oldest of them. It deletes whole runs only: a run older than that is kept
// all the same when one of its files must stay, that is when
//   - a graph chain holds a file that stays: the chain's full backup and its
//     earlier diffs are never orphaned, whatever run they belong to;
//   - it holds the newest complete graph chain of a database, or the newest
//     file of the task manager or the storage: prune never leaves a
//     component without a backup.
//
// Graph files without a run (written before runs existed) go with their
// chain when every file of it is older than the oldest kept run; files of
// unknown type are never deleted (as SelectPrune), nor component files that
// the manifest does not place in a run. With fewer restorable runs than keep,
// nothing is deleted.
func SelectPruneRuns(c *Catalog, keep int) (*RunPrunePlan, error) {
	if keep < 1 {
		return nil, fmt.Errorf("--keep must be at least 1 (got %d): prune never deletes every backup", keep)
	}
	runs, restorable := sortedRuns(c)
	cut, seen := -1, 0 // runs before cut are deleted
	for i := len(runs) - 1; i >= 0 && cut < 0; i-- {
		if restorable(runs[i]) {
			if seen++; seen == keep {
				cut = i
			}
		}
	}
	deleted := map[string]bool{}
	var cutTime time.Time // legacy graph files before it may go
	for i, r := range runs {
		if cut >= 0 && i < cut {
			deleted[r.ID] = true
		}
	}
	if cut >= 0 {
		cutTime = runs[cut].Started
	}
	return planRunDeletion(c, runs, deleted, cutTime)
}

// sortedRuns returns the manifest's runs by start time, and whether a run
// is restorable: complete, with every file present.
func sortedRuns(c *Catalog) ([]RunRecord, func(RunRecord) bool) {
	missing := map[string]bool{}
	for _, r := range c.Missing {
		missing[r.Name] = true
	}
	runs := slices.Clone(c.Manifest.Runs)
	slices.SortStableFunc(runs, func(a, b RunRecord) int { return a.Started.Compare(b.Started) })
	return runs, func(r RunRecord) bool {
		if !r.Complete {
			return false
		}
		for _, f := range c.Manifest.RunFiles(r.ID) {
			if missing[f.Name] {
				return false
			}
		}
		return true
	}
}

// planRunDeletion turns the runs a policy would delete into a plan, keeping
// every run one of whose files must stay (see SelectPruneRuns). runs are
// sorted by start; graph files without a run go when older than cutTime.
func planRunDeletion(c *Catalog, runs []RunRecord, deleted map[string]bool, cutTime time.Time) (*RunPrunePlan, error) {
	known := map[string]bool{}
	for _, r := range runs {
		known[r.ID] = true
	}
	runOf := func(rec *FileRecord) string {
		if rec != nil && known[rec.RunID] {
			return rec.RunID
		}
		return ""
	}
	goes := func(a Artifact) bool {
		if id := runOf(a.Record); id != "" {
			return deleted[id]
		}
		return a.Record != nil && a.Time.Before(cutTime)
	}
	chains := c.Chains()
	dbs := make([]string, 0, len(chains))
	safe := map[string]int{} // a database's chains from this index on stay
	for db, cs := range chains {
		dbs = append(dbs, db)
		for i := len(cs) - 1; i >= 0; i-- {
			if cs[i].Complete {
				safe[db] = i
				break
			}
		}
	}
	slices.Sort(dbs)
	stays := func(db string, i int) bool {
		return i >= safe[db] || slices.ContainsFunc(chains[db][i].Files, func(a Artifact) bool { return !goes(a) })
	}
	newestComponent := map[string]ComponentFile{}
	for _, cf := range c.Components {
		if n, ok := newestComponent[cf.Component]; !ok || cf.Time.After(n.Time) {
			newestComponent[cf.Component] = cf
		}
	}
	// Keep the runs of files that must stay, until nothing changes.
	for changed := true; changed; {
		changed = false
		spare := func(rec *FileRecord) {
			if id := runOf(rec); id != "" && deleted[id] {
				delete(deleted, id)
				changed = true
			}
		}
		for _, db := range dbs {
			for i, ch := range chains[db] {
				if stays(db, i) {
					for _, a := range ch.Files {
						spare(a.Record)
					}
				}
			}
		}
		for _, cf := range newestComponent {
			spare(cf.Record)
		}
	}
	p := &RunPrunePlan{}
	for _, db := range dbs {
		for i, ch := range chains[db] {
			if stays(db, i) {
				p.KeepFiles = append(p.KeepFiles, ch.Files...)
				continue
			}
			if ch.Unverified {
				return nil, fmt.Errorf("cannot prune %s: the manifest does not say whether %s is a full or a differential backup, so deleting it could break a newer chain; run `docker infrahubdb verify --adopt` first",
					db, ch.Files[0].Name)
			}
			p.DeleteFiles = append(p.DeleteFiles, ch.Files...)
		}
	}
	for _, cf := range c.Components {
		if id := runOf(cf.Record); id != "" && deleted[id] {
			p.DeleteComponents = append(p.DeleteComponents, cf)
		} else {
			p.KeepComponents = append(p.KeepComponents, cf)
		}
	}
	// The records of a deleted run's files that are already gone go too.
	for _, r := range c.Missing {
		if component, t, ok := ParseComponentFileName(r.Name); ok && deleted[runOf(&r)] {
			r := r
			p.DeleteComponents = append(p.DeleteComponents, ComponentFile{Name: r.Name, Component: component, Time: t, Record: &r})
		}
	}
	for _, r := range runs {
		if deleted[r.ID] {
			p.DeleteRuns = append(p.DeleteRuns, r.ID)
		} else {
			p.KeepRuns = append(p.KeepRuns, r.ID)
		}
	}
	if len(p.KeepFiles)+len(p.KeepComponents) == 0 && len(p.DeleteFiles)+len(p.DeleteComponents) > 0 {
		return nil, fmt.Errorf("refusing to prune: the plan would delete every backup")
	}
	sortArtifacts(p.KeepFiles)
	sortArtifacts(p.DeleteFiles)
	return p, nil
}

// RemoveRuns drops the records of the given runs.
func (m *Manifest) RemoveRuns(ids ...string) {
	m.Runs = slices.DeleteFunc(m.Runs, func(r RunRecord) bool { return slices.Contains(ids, r.ID) })
}
