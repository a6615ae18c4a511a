package catalog

import (
	"fmt"
	"path"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// PruneResult is what a prune would delete, or deleted.
type PruneResult struct {
	Folder  string       `json:"folder"`
	Keep    int          `json:"keep"`
	Kept    []PrunedFile `json:"kept"`
	Delete  []PrunedFile `json:"delete"`
	Freed   int64        `json:"freed"`   // bytes of the files to delete
	Deleted bool         `json:"deleted"` // false: a dry run (no --yes), or nothing to delete
	// KeptRuns and DeleteRuns are the backup runs kept and deleted, when
	// the manifest records runs (prune then keeps runs, not chains).
	KeptRuns   []string `json:"kept_runs,omitempty"`
	DeleteRuns []string `json:"delete_runs,omitempty"`
}

// PrunedFile is one artifact of a prune plan.
type PrunedFile struct {
	Name     string `json:"name"`
	Database string `json:"database"`
	Type     string `json:"type"`
	Size     int64  `json:"size"`
	Run      string `json:"run,omitempty"`
}

// PruneRefusedError is a retention policy that prune will not apply:
// nothing was deleted, and the message says why.
type PruneRefusedError struct{ Err error }

func (e *PruneRefusedError) Error() string { return e.Err.Error() }
func (e *PruneRefusedError) Unwrap() error { return e.Err }

// Prune keeps the newest keep complete chains of each database and, with
// apply, deletes the rest (files first, then the manifest, atomically), under
// the folder lock, which the caller holds. The selection is backupset.SelectPrune's: whole chains
// only, never the newest chain, never a file of unknown type, never
// everything. When the manifest records runs of the whole deployment (more
// than the graph: Manifest.HasComponentRuns), it keeps the newest
// keep restorable runs instead (backupset.SelectPruneRuns): whole runs only,
// and never a differential backup without its full.
func Prune(folder *backupset.Folder, keep int, apply bool, pw progress.Writer) (*PruneResult, error) {
	cat, err := folder.Scan()
	if err != nil {
		return nil, err
	}
	if cat.ManifestErr != nil {
		return nil, &PruneRefusedError{Err: cat.ManifestErr}
	}
	var res *PruneResult
	if cat.Manifest.HasComponentRuns() {
		plan, err := backupset.SelectPruneRuns(cat, keep)
		if err != nil {
			return nil, &PruneRefusedError{Err: err}
		}
		res = &PruneResult{Folder: folder.Dir, Keep: keep,
			Kept:     append(prunedFiles(plan.KeepFiles), prunedComponents(plan.KeepComponents)...),
			Delete:   append(prunedFiles(plan.DeleteFiles), prunedComponents(plan.DeleteComponents)...),
			KeptRuns: plan.KeepRuns, DeleteRuns: plan.DeleteRuns}
		cat.Manifest.RemoveRuns(plan.DeleteRuns...)
	} else {
		keepFiles, deleteFiles, err := backupset.SelectPrune(cat.Chains(), keep)
		if err != nil {
			return nil, &PruneRefusedError{Err: err}
		}
		res = &PruneResult{Folder: folder.Dir, Keep: keep, Kept: prunedFiles(keepFiles), Delete: prunedFiles(deleteFiles)}
	}
	return deletePlanned(folder, cat, res, apply, pw)
}

// deletePlanned counts what the plan res frees and, with apply, deletes its
// files and writes the manifest (from which the caller removed the deleted
// runs).
func deletePlanned(folder *backupset.Folder, cat *backupset.Catalog, res *PruneResult, apply bool, pw progress.Writer) (*PruneResult, error) {
	deleteNames := make([]string, 0, len(res.Delete))
	for _, f := range res.Delete {
		res.Freed += f.Size
		deleteNames = append(deleteNames, f.Name)
	}
	if !apply || len(deleteNames) == 0 {
		return res, nil
	}
	step := progress.Event{ID: "prune", Text: fmt.Sprintf("Delete %d file(s)", len(deleteNames))}
	if err := progress.Run(pw, step, func() error { return folder.Delete(cat.Manifest, deleteNames...) }); err != nil {
		return nil, err
	}
	res.Deleted = true
	return res, nil
}

func prunedFiles(as []backupset.Artifact) []PrunedFile {
	out := []PrunedFile{}
	for _, a := range as {
		t := a.Type()
		if t == "" {
			t = "unknown"
		}
		pf := PrunedFile{Name: a.Name, Database: a.Database, Type: t, Size: a.Size}
		if a.Record != nil {
			pf.Run = a.Record.RunID
		}
		out = append(out, pf)
	}
	return out
}

// prunedComponents lists task-manager and storage files, the component in
// place of the database.
func prunedComponents(cs []backupset.ComponentFile) []PrunedFile {
	out := []PrunedFile{}
	for _, c := range cs {
		pf := PrunedFile{Name: c.Name, Database: c.Component, Type: strings.TrimPrefix(path.Ext(c.Name), "."), Size: c.Size}
		if c.Record != nil {
			pf.Run = c.Record.RunID
		}
		out = append(out, pf)
	}
	return out
}
