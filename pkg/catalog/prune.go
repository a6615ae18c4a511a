package catalog

import (
	"fmt"

	"github.com/opsmill/docker-infrahubdb/pkg/backupset"
	"github.com/opsmill/docker-infrahubdb/pkg/progress"
)

// PruneResult is what a prune would delete, or deleted.
type PruneResult struct {
	Folder  string       `json:"folder"`
	Keep    int          `json:"keep"`
	Kept    []PrunedFile `json:"kept"`
	Delete  []PrunedFile `json:"delete"`
	Freed   int64        `json:"freed"`   // bytes of the files to delete
	Deleted bool         `json:"deleted"` // false: a dry run (no --yes), or nothing to delete
}

// PrunedFile is one artifact of a prune plan.
type PrunedFile struct {
	Name     string `json:"name"`
	Database string `json:"database"`
	Type     string `json:"type"`
	Size     int64  `json:"size"`
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
// everything.
func Prune(folder *backupset.Folder, keep int, apply bool, pw progress.Writer) (*PruneResult, error) {
	cat, err := folder.Scan()
	if err != nil {
		return nil, err
	}
	if cat.ManifestErr != nil {
		return nil, &PruneRefusedError{Err: cat.ManifestErr}
	}
	keepFiles, deleteFiles, err := backupset.SelectPrune(cat.Chains(), keep)
	if err != nil {
		return nil, &PruneRefusedError{Err: err}
	}
	res := &PruneResult{Folder: folder.Dir, Keep: keep, Kept: prunedFiles(keepFiles), Delete: prunedFiles(deleteFiles)}
	for _, f := range deleteFiles {
		res.Freed += f.Size
	}
	if !apply || len(deleteFiles) == 0 {
		return res, nil
	}
	id, text := "prune", fmt.Sprintf("Delete %d file(s)", len(deleteFiles))
	pw.Event(progress.Event{ID: id, Text: text, Status: progress.Working})
	if err := folder.Delete(cat.Manifest, backupset.Names(deleteFiles)...); err != nil {
		pw.Event(progress.Event{ID: id, Text: text, Status: progress.Error, Detail: err.Error()})
		return nil, err
	}
	pw.Event(progress.Event{ID: id, Text: text, Status: progress.Done})
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
		out = append(out, PrunedFile{Name: a.Name, Database: a.Database, Type: t, Size: a.Size})
	}
	return out
}
