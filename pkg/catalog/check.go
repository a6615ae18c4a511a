package catalog

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/pkg/backupset"
	"github.com/opsmill/docker-infrahubdb/pkg/helper"
)

// reportExt ends the consistency reports verify --check keeps in the folder.
const reportExt = ".report"

// CheckResult is neo4j-admin database check on one database's newest chain.
type CheckResult struct {
	Database string   `json:"database"`
	Files    []string `json:"files"` // the chain, full first
	// Aggregated is set when the chain had differentials and was aggregated
	// (on a copy in the helper) first: check reads full backups only.
	Aggregated bool `json:"aggregated"`
	Consistent bool `json:"consistent"`
	// Report is the file, kept in the folder, where Neo4j describes the
	// inconsistencies it found.
	Report string `json:"report,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// checkNewestChains runs the check on the newest chain of each database
// (only dbs, when given) and adds a problem per failed check. A database
// whose newest chain is incomplete is not checked: verify already reports
// why it cannot be restored.
func checkNewestChains(ctx context.Context, s *helper.Session, folder *backupset.Folder, dbs []string, res *VerifyResult) error {
	cat, err := folder.Scan()
	if err != nil {
		return err
	}
	chains := cat.Chains()
	names := make([]string, 0, len(chains))
	for db := range chains {
		if len(dbs) == 0 || slices.Contains(dbs, db) {
			names = append(names, db)
		}
	}
	slices.Sort(names)
	for _, db := range names {
		chain, err := backupset.ChooseChain(chains[db], time.Time{})
		if err != nil {
			res.Checks = append(res.Checks, CheckResult{Database: db, Detail: "not checked: " + err.Error()})
			continue
		}
		cr, err := checkChain(ctx, s, folder, chain)
		if err != nil {
			return err
		}
		res.Checks = append(res.Checks, cr)
		if !cr.Consistent {
			detail := "neo4j-admin database check failed: " + cr.Detail
			if cr.Report != "" {
				detail += "; Neo4j's report is kept as " + cr.Report
			}
			res.Problems = append(res.Problems, backupset.Problem{File: chain.Last().Name, Kind: ProblemInconsistent, Detail: detail})
		}
	}
	return nil
}

// checkChain copies the chain into its own directory in the helper,
// aggregates it there when it has differentials, and runs
// `neo4j-admin database check --from-path`. When Neo4j writes a report, it is
// brought into the folder next to the backups.
func checkChain(ctx context.Context, s *helper.Session, folder *backupset.Folder, chain backupset.Chain) (CheckResult, error) {
	db := chain.Database
	cr := CheckResult{Database: db, Files: backupset.Names(chain.Files)}
	sub := "check-" + db
	dir := path.Join(helper.WorkDir, sub)
	if err := s.Seed(ctx, folder, sub, cr.Files); err != nil {
		return cr, err
	}
	if len(chain.Files) > 1 {
		cr.Aggregated = true
		_, err := s.Admin(ctx, helper.AdminRun{ID: "aggregate-" + db, Text: "neo4j-admin database aggregate-backup " + db + " (on a copy)",
			Args: []string{"database", "aggregate-backup", "--from-path=" + dir, db}})
		if ae, ok := errAdminFailed(err); ok {
			cr.Detail = "the chain could not be aggregated: " + lastLine(ae.Output)
			return cr, nil
		}
		if err != nil {
			return cr, err
		}
	}
	report := fmt.Sprintf("%s-inconsistencies-%s%s", db, time.Now().UTC().Format("2006-01-02T15-04-05"), reportExt)
	_, err := s.Admin(ctx, helper.AdminRun{ID: "check-" + db, Text: "neo4j-admin database check " + db,
		Args: []string{"database", "check", "--from-path=" + dir, "--report-path=" + path.Join(dir, report), db}})
	if err == nil {
		cr.Consistent = true
		return cr, nil
	}
	ae, ok := errAdminFailed(err)
	if !ok {
		return cr, err
	}
	cr.Detail = lastLine(ae.Output)
	if _, _, exists, err := s.Helper.Stat(ctx, path.Join(dir, report)); err == nil && exists {
		if _, err := s.Fetch(ctx, folder, sub, report); err == nil {
			cr.Report = report
		}
	}
	return cr, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[i+1:])
	}
	return s
}
