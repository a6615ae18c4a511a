package cli

import (
	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/doctor"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

// backupOutput is backup's --format json document: the graph's result at
// the top, as before runs existed, and the run's components under "run".
type backupOutput struct {
	*backup.Result
	Run    *backup.SetResult `json:"run"`
	Pruned *policyPrune      `json:"pruned,omitempty"` // backup --prune
}

// restoreOutput is restore's --format json document, shaped as backup's.
type restoreOutput struct {
	*restore.Result
	Run *restore.SetResult `json:"run"`
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
	}
}
