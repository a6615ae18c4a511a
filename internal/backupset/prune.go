package backupset

import (
	"errors"
	"fmt"
	"os"
	"sort"
)

// SelectPrune plans a prune that keeps the newest keep complete chains of
// each database. It deletes whole chains only (never a full backup whose
// diffs stay), never the newest chain, nothing newer than a kept chain, and
// nothing of a database that has no complete chain. It refuses to delete
// files whose type is unknown (they may be the full backup of a kept diff)
// and any plan that would delete everything.
func SelectPrune(chains map[string][]Chain, keep int) (keepFiles, deleteFiles []Artifact, err error) {
	if keep < 1 {
		return nil, nil, fmt.Errorf("--keep must be at least 1 (got %d): prune never deletes every backup", keep)
	}
	dbs := make([]string, 0, len(chains))
	for db := range chains {
		dbs = append(dbs, db)
	}
	sort.Strings(dbs)
	for _, db := range dbs {
		cs := chains[db]
		cut := oldestKept(cs, keep) // chains before cut are deleted
		kept := 0
		for i, c := range cs {
			if i >= cut {
				keepFiles = append(keepFiles, c.Files...)
				kept += len(c.Files)
				continue
			}
			if c.Unverified {
				return nil, nil, fmt.Errorf("cannot prune %s: the manifest does not say whether %s is a full or a differential backup, so deleting it could break a newer chain; run `docker infrahubdb verify --adopt` first",
					db, c.Files[0].Name)
			}
			deleteFiles = append(deleteFiles, c.Files...)
		}
		if kept == 0 && len(cs) > 0 { // cannot happen by construction; never trust that
			return nil, nil, fmt.Errorf("refusing to prune: the plan would delete every backup of %s", db)
		}
	}
	if len(keepFiles) == 0 && len(deleteFiles) > 0 {
		return nil, nil, fmt.Errorf("refusing to prune: the plan would delete every backup")
	}
	sortArtifacts(keepFiles)
	sortArtifacts(deleteFiles)
	return keepFiles, deleteFiles, nil
}

// oldestKept is the index of the oldest chain to keep: the keep-th newest
// complete chain. With fewer complete chains, everything is kept.
func oldestKept(cs []Chain, keep int) int {
	seen := 0
	for i := len(cs) - 1; i >= 0; i-- {
		if cs[i].Complete {
			seen++
			if seen == keep {
				return i
			}
		}
	}
	return 0
}

// Delete removes the named files from the folder and their records from m,
// then writes m. Files go first: a crash in between leaves records of missing
// files (which verify reports), never unrecorded files of unknown type.
func (f *Folder) Delete(m *Manifest, names ...string) error {
	for _, name := range names {
		if err := checkBaseName(name); err != nil {
			return err
		}
		if err := os.Remove(f.Path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("delete %s: %w", f.Path(name), err)
		}
	}
	if err := f.syncDir(); err != nil {
		return err
	}
	m.Remove(names...)
	return f.WriteManifest(m)
}

// Names lists the names of artifacts.
func Names(as []Artifact) []string {
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = a.Name
	}
	return names
}
