package catalog

import (
	"errors"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// PrunePolicy is Prune with calendar rules (backupset.KeepPolicy, restic's
// semantics) instead of a count, for folders whose manifest records runs of
// the whole deployment (backupset.SelectPruneRunsPolicy). Reasons says why
// each kept run stays.
func PrunePolicy(folder *backupset.Folder, policy backupset.KeepPolicy, now time.Time, apply bool, pw progress.Writer) (*PruneResult, map[string][]string, error) {
	cat, err := folder.Scan()
	if err != nil {
		return nil, nil, err
	}
	if cat.ManifestErr != nil {
		return nil, nil, &PruneRefusedError{Err: cat.ManifestErr}
	}
	if !cat.Manifest.HasComponentRuns() {
		return nil, nil, &PruneRefusedError{Err: errors.New("calendar rules (--keep-daily …) need a folder whose manifest records backup runs; this one holds graph chains only: use --keep N")}
	}
	plan, reasons, err := backupset.SelectPruneRunsPolicy(cat, policy, now)
	if err != nil {
		return nil, nil, &PruneRefusedError{Err: err}
	}
	res := &PruneResult{Folder: folder.Dir,
		Kept:     append(prunedFiles(plan.KeepFiles), prunedComponents(plan.KeepComponents)...),
		Delete:   append(prunedFiles(plan.DeleteFiles), prunedComponents(plan.DeleteComponents)...),
		KeptRuns: plan.KeepRuns, DeleteRuns: plan.DeleteRuns}
	cat.Manifest.RemoveRuns(plan.DeleteRuns...)
	res, err = deletePlanned(folder, cat, res, apply, pw)
	return res, reasons, err
}
