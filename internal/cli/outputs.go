package cli

import (
	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/doctor"
	"github.com/opsmill/docker-infrahubdb/internal/offsite"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

// backupOutput is backup's --format json document: the graph's result at
// the top, as before runs existed, and the run's components under "run".
type backupOutput struct {
	*backup.Result
	Run    *backup.SetResult `json:"run"`
	Pruned *policyPrune      `json:"pruned,omitempty"` // backup --prune
	// Location is where backup s3:// copied the run (and what its --prune
	// did there); the run was staged in the folder the document names.
	Location *locationRun `json:"location,omitempty"`
}

// restoreOutput is restore's --format json document, shaped as backup's.
type restoreOutput struct {
	*restore.Result
	Run *restore.SetResult `json:"run"`
	// Location is the run restore s3:// restored, staged in the folder
	// the plan names.
	Location *locationRun `json:"location,omitempty"`
}

// locationRun is the s3:// location part of backup's and restore's
// documents.
type locationRun struct {
	Location  string `json:"location"` // s3://bucket/prefix/ at the endpoint
	RunID     string `json:"run_id"`   // the location's ID of the run
	Encrypted bool   `json:"encrypted"`
	Files     int    `json:"files,omitempty"` // backup: files uploaded
	Bytes     int64  `json:"bytes,omitempty"` // backup: stored bytes uploaded
	// Base is the location's run a differential backup s3:// depends on.
	Base string `json:"base,omitempty"`
	// Pruned is what backup s3:// --prune did in the location.
	Pruned *locationPruned `json:"pruned,omitempty"`
}

// locationPruned is the outcome of --prune in a location: run IDs.
type locationPruned struct {
	Policy  string   `json:"policy"`
	Kept    []string `json:"kept"`
	Removed []string `json:"removed"`
}

// ResultTypes are the documents each command prints with --format json, by
// command name: docs/schema is generated from them (internal/docsgen), so
// the published schemas follow the code.
func ResultTypes() map[string]any {
	return map[string]any{
		"backup":         backupOutput{},
		"restore":        restoreOutput{},
		"list":           catalog.Listing{},
		"verify":         catalog.VerifyResult{},
		"prune":          catalog.PruneResult{},
		"doctor":         doctor.Report{},
		"backup-dry-run": backupDryRun{},
		"version":        versionInfo{},
		"copy":           offsite.CopyResult{},
	}
}
