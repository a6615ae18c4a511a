package neo4jbackup

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
)

// ReportExt ends the consistency reports a check keeps in the folder.
const ReportExt = ".report"

// ProblemInconsistent is the kind of problem a failed check adds to a
// verification: neo4j-admin database check found the backup inconsistent.
const ProblemInconsistent = "inconsistent"

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

// CheckNewestChains runs neo4j-admin database check in the session's helper
// on the newest chain of each database of the folder (only dbs, when given)
// and returns a problem per failed check. A database whose newest chain is
// incomplete is not checked: verification already reports why it cannot be
// restored. Used by verify --check and backup --check.
func CheckNewestChains(ctx context.Context, s *helper.Session, folder *backupset.Folder, dbs []string) (checks []CheckResult, problems []backupset.Problem, err error) {
	cat, err := folder.Scan()
	if err != nil {
		return nil, nil, err
	}
	chains := cat.Chains()
	names := make([]string, 0, len(chains))
	for db := range chains {
		if len(dbs) == 0 || slices.Contains(dbs, db) {
			names = append(names, db)
		}
	}
	slices.Sort(names)
	release, _, err := AdminRelease(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	for _, db := range names {
		chain, err := backupset.ChooseChain(chains[db], time.Time{})
		if err != nil {
			checks = append(checks, CheckResult{Database: db, Detail: "not checked: " + err.Error()})
			continue
		}
		cr, err := checkChain(ctx, s, folder, chain, release)
		if err != nil {
			return nil, nil, err
		}
		checks = append(checks, cr)
		if !cr.Consistent {
			detail := "neo4j-admin database check failed: " + cr.Detail
			if cr.Report != "" {
				detail += "; Neo4j's report is kept as " + cr.Report
			}
			problems = append(problems, backupset.Problem{File: chain.Last().Name, Kind: ProblemInconsistent, Detail: detail})
		}
	}
	return checks, problems, nil
}

// checkChain copies the chain into its own directory in the helper,
// aggregates it there when it has differentials, and runs
// `neo4j-admin database check --from-path`. A chain that is a dump (Neo4j
// Community's backup) is checked as it is, staged as <database>.dump. When
// Neo4j writes a report, it is brought into the folder next to the backups.
func checkChain(ctx context.Context, s *helper.Session, folder *backupset.Folder, chain backupset.Chain, release neo4j.Release) (CheckResult, error) {
	db := chain.Database
	cr := CheckResult{Database: db, Files: backupset.Names(chain.Files)}
	sub := "check-" + db
	dir := path.Join(helper.WorkDir, sub)
	if err := s.Seed(ctx, folder, sub, cr.Files); err != nil {
		return cr, err
	}
	if dump := chain.Files[0]; dump.Type() == backupset.TypeDump {
		// check picks a dump in its --from-path folder by the file name
		// <database>.dump, as load does [S7a][S20b].
		if err := s.Run(ctx, "mv", "-f", path.Join(dir, dump.Name), path.Join(dir, db+backupset.DumpExt)); err != nil {
			return cr, err
		}
	}
	aggregate, err := needsAggregate(ctx, s, chain, dir, release)
	if err != nil {
		return cr, err
	}
	if aggregate {
		cr.Aggregated = true
		args, text := AggregateArgs(release, dir, db)
		_, err := s.Admin(ctx, helper.AdminRun{ID: "aggregate-" + db, Text: text + " " + db + " (on a copy)", Args: args})
		if ae, ok := AdminFailed(err); ok {
			return cr, &CheckNotRunError{Database: db, Reason: "the chain could not be aggregated: " + LastLine(ae.Output), AdminExit: ae.ExitCode}
		}
		if err != nil {
			return cr, err
		}
	}
	report := fmt.Sprintf("%s-inconsistencies-%s%s", db, time.Now().UTC().Format("2006-01-02T15-04-05"), ReportExt)
	// Bounded, since the check runs next to a live server: by default it
	// takes 90 % of free memory and every CPU [S7a].
	out, err := s.Admin(ctx, helper.AdminRun{ID: "check-" + db, Text: "neo4j-admin database check " + db,
		Args: []string{"database", "check", "--max-off-heap-memory=" + checkMemory, "--threads=" + checkThreads,
			"--from-path=" + dir, "--report-path=" + path.Join(dir, report), db}})
	ae, failed := AdminFailed(err)
	if err != nil && !failed {
		return cr, err
	}
	if failed {
		// The summary may be on either stream, early or late: all of it.
		out += "\n" + ae.Stderr + "\n" + ae.Output
	}
	// Whether and where Neo4j writes a report is not documented in detail
	// (research NEO4J.md §7): the exit status and the printed summary
	// decide; the report is only kept when it is where it was asked for.
	// "If the consistency checker finds errors, it exits with an exit code
	// other than 0" [S7a], and it says "Inconsistencies found": a failure
	// without that summary and without a report is a check that could not
	// run, not an inconsistency.
	found := FoundInconsistencies(out)
	if !failed && !found {
		cr.Consistent = true
		return cr, nil
	}
	cr.Detail = LastLine(out)
	_, _, exists, serr := s.Helper.Stat(ctx, path.Join(dir, report))
	exists = serr == nil && exists
	if !found && !exists {
		return cr, &CheckNotRunError{Database: db, Reason: cr.Detail, AdminExit: ae.ExitCode}
	}
	if exists {
		if _, err := s.Fetch(ctx, folder, sub, report); err == nil {
			cr.Report = report
		}
	}
	return cr, nil
}

// Resource bounds of neo4j-admin database check.
const (
	checkMemory  = "25%"
	checkThreads = "2"
)

// needsAggregate: check reads only full, recovered backups. A chain with
// differentials (or empty backups) is aggregated on its copy first (both
// releases, [S7a][S7b]). From 2025.01 a single full backup must also be
// recovered [S7b], which aggregate does [S5b]; inspect's RECOVERED column
// (2025.06+) says when it already is, and without it aggregate runs anyway.
func needsAggregate(ctx context.Context, s *helper.Session, chain backupset.Chain, dir string, release neo4j.Release) (bool, error) {
	if len(chain.Files) > 1 {
		return true, nil
	}
	if chain.Files[0].Type() == backupset.TypeDump {
		return false, nil // a dump is checked as it is; aggregate reads backups only
	}
	if !release.AtLeast(2025, 1) {
		return false, nil
	}
	info, err := Inspect(ctx, s, dir)
	if err != nil && ctx.Err() != nil {
		return false, err
	}
	i, ok := info[chain.Files[0].Name]
	return !ok || i.Recovered == nil || !*i.Recovered, nil
}

// CheckNotRunError: neo4j-admin database check could not run on a backup
// (it refused the input, or aggregating it failed). It says nothing about
// the backup's consistency.
type CheckNotRunError struct {
	Database  string
	Reason    string
	AdminExit int
}

func (e *CheckNotRunError) Error() string {
	return fmt.Sprintf("the consistency check of database %s could not run (this says nothing about the backup's consistency): %s", e.Database, e.Reason)
}

// LastLine is the last line of a tool's output, where neo4j-admin says why
// it failed.
func LastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.TrimSpace(s[i+1:])
	}
	return s
}

// AdminFailed tells a neo4j-admin failure (a finding) from a failure to run
// it (an error).
func AdminFailed(err error) (*helper.AdminError, bool) {
	var ae *helper.AdminError
	ok := errors.As(err, &ae)
	return ae, ok
}
