package backup

import (
	"context"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Verification is what backup --verify found in the files it just wrote.
// Its JSON has the shape of the verify command's result.
type Verification struct {
	Folder   string                    `json:"folder"`
	OK       bool                      `json:"ok"`
	Checked  []string                  `json:"checked"` // files whose checksum matched
	Problems []backupset.Problem       `json:"problems"`
	Warnings []backupset.Problem       `json:"warnings"`
	Checks   []neo4jbackup.CheckResult `json:"checks,omitempty"`
}

// verifyWritten re-hashes the files just written and checks their chains,
// and with check runs neo4j-admin database check on those chains in the
// backup's own helper, before the backup reports success.
func verifyWritten(ctx context.Context, s *helper.Session, folder *backupset.Folder, written []backupset.FileRecord, check bool, pw progress.Writer) (*Verification, error) {
	rep, err := folder.VerifyWritten(ctx, written, progress.Files(pw, "hash-", "Verify checksum of"))
	if err != nil {
		return nil, err
	}
	v := &Verification{Folder: folder.Dir, Checked: rep.Checked, Problems: rep.Problems, Warnings: []backupset.Problem{}}
	if v.Checked == nil {
		v.Checked = []string{}
	}
	if v.Problems == nil {
		v.Problems = []backupset.Problem{}
	}
	if check {
		dbs := neo4jbackup.Fetched{Records: written}.Databases()
		checks, problems, err := neo4jbackup.CheckNewestChains(ctx, s, folder, dbs)
		if err != nil {
			return nil, err
		}
		v.Checks, v.Problems = checks, append(v.Problems, problems...)
	}
	v.OK = len(v.Problems) == 0
	return v, nil
}
