package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/contentcheck"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Kinds of problems verify adds to backupset's.
const (
	ProblemNoManifest = "no manifest" // nothing to verify the files against
	ProblemMalformed  = "malformed"   // the manifest cannot be read
	ProblemUnreadable = "unreadable"  // neo4j-admin backup inspect rejected the artifacts
	ProblemEmpty      = "empty"       // no complete run or chain: nothing to restore
)

// VerifyOptions of a verify run.
type VerifyOptions struct {
	// Check runs neo4j-admin database check on the newest chain of each
	// database, in a helper container.
	Check bool
	// Adopt writes a manifest for a folder that has none, after
	// neo4j-admin backup inspect read every artifact.
	Adopt  bool
	Tool   string // "docker-infrahubdb <version>", recorded by Adopt
	Helper HelperOptions
	// AllowEmpty accepts a folder with no complete run or chain (a new,
	// empty backup location); without it such a folder fails verification.
	AllowEmpty bool
}

// VerifyResult is what verify found.
type VerifyResult struct {
	Folder   string                    `json:"folder"`
	OK       bool                      `json:"ok"`
	Adopted  []string                  `json:"adopted,omitempty"`
	Checked  []string                  `json:"checked"` // files whose checksum matched
	Problems []backupset.Problem       `json:"problems"`
	Warnings []backupset.Problem       `json:"warnings"`
	Checks   []neo4jbackup.CheckResult `json:"checks,omitempty"`
	// Contents is what restore's content check read in each task-manager
	// and storage file that passed it.
	Contents []contentcheck.Result `json:"contents,omitempty"`
}

// Err is a *backupset.VerifyError when the result has problems, else nil.
func (r *VerifyResult) Err() error {
	if r.OK {
		return nil
	}
	return &backupset.VerifyError{Problems: r.Problems}
}

// Verify proves the folder restorable: it re-hashes every file the manifest
// lists, checks chain continuity, reports every file the manifest does not
// record, runs the restore preflight's content checks on task-manager and
// storage files, and fails a folder that holds no complete run or chain.
// With the options it adopts the folder and runs neo4j-admin database
// check. It needs Docker only for --check and for adopting graph files. The
// caller holds the folder lock. Problems are in the result (see
// VerifyResult.Err); the error is for failures to run at all, and for a
// malformed or newer manifest (as in every command).
func Verify(ctx context.Context, eng helper.Engine, folder *backupset.Folder, opts VerifyOptions, pw progress.Writer) (*VerifyResult, error) {
	res := &VerifyResult{Folder: folder.Dir, Checked: []string{}, Problems: []backupset.Problem{}, Warnings: []backupset.Problem{}}
	cat, err := folder.Scan()
	if err != nil {
		return nil, err
	}
	if cat.ManifestErr != nil {
		return nil, cat.ManifestErr
	}
	// The folder is judged before anything touches the engine: no image
	// pull and no helper for a folder that already has a manifest or
	// holds nothing to adopt.
	if opts.Adopt {
		if cat.HasManifest {
			return nil, fmt.Errorf("%w: %s; run verify without --adopt (move the manifest away first to rebuild it from the files)", ErrHasManifest, folder.Path(backupset.ManifestName))
		}
		if len(cat.Artifacts) == 0 && len(cat.Components) == 0 {
			res.Problems = append(res.Problems, emptyProblem(folder, "holds no backup file to adopt"))
			return res, nil
		}
	}
	var s *helper.Session
	if opts.Check || (opts.Adopt && len(cat.Artifacts) > 0) {
		hopts := opts.Helper
		hopts.dumpsOnly = !opts.Adopt && newestAreDumps(cat)
		if s, err = openHelper(ctx, eng, folder, hopts, true, pw); err != nil {
			return nil, err
		}
		defer s.Close(ctx)
	}
	if opts.Adopt {
		adopted, problems, err := adopt(ctx, s, folder, cat, opts.Tool)
		if err != nil {
			return nil, err
		}
		res.Adopted = adopted
		if len(problems) > 0 {
			res.Problems = problems
			return res, nil // nothing was written: checking further adds nothing
		}
	}
	if err := checksums(ctx, folder, res, pw); err != nil {
		return nil, err
	}
	if cat, err = folder.Scan(); err != nil { // adopt may have written the manifest
		return nil, err
	}
	contents, problems, warnings := contentProblems(folder, cat.Manifest, res.Checked)
	res.Contents = contents
	res.Problems = append(res.Problems, problems...)
	res.Warnings = append(res.Warnings, warnings...)
	// A run that died is not a damaged file: the rest of the folder may
	// restore. It is said, as partial files are.
	for _, r := range cat.Manifest.Runs {
		if r.Open && cat.Interrupted[r.ID] {
			res.Warnings = append(res.Warnings, backupset.Problem{File: r.ID, Kind: ProblemInterrupted, Detail: interruptedProblem(r) + "; not restorable"})
		}
	}
	if !opts.AllowEmpty && !restorable(cat) {
		res.Problems = append(res.Problems, emptyProblem(folder, "holds no complete backup run or chain"))
	}
	if opts.Check {
		checks, problems, err := neo4jbackup.CheckNewestChains(ctx, s, folder, nil)
		if err != nil {
			return nil, err
		}
		res.Checks, res.Problems = checks, append(res.Problems, problems...)
	}
	res.OK = len(res.Problems) == 0
	return res, nil
}

// newestAreDumps reports a folder whose newest chain of each database, the
// one --check reads, is a dump (Neo4j Community's backup).
func newestAreDumps(cat *backupset.Catalog) bool {
	chains := cat.Chains()
	for _, cs := range chains {
		c, err := backupset.ChooseChain(cs, time.Time{})
		if err != nil || c.Files[0].Type() != backupset.TypeDump {
			return false
		}
	}
	return len(chains) > 0
}

func emptyProblem(folder *backupset.Folder, what string) backupset.Problem {
	return backupset.Problem{File: folder.Dir, Kind: ProblemEmpty,
		Detail: "the folder " + what + ": nothing in it can be restored (check the path and the mount; --allow-empty accepts an empty folder)"}
}

// restorable reports a complete run whose files are all in the folder, or
// a complete chain whose files the manifest records: something restore can
// take.
func restorable(cat *backupset.Catalog) bool {
	missing := map[string]bool{}
	for _, r := range cat.Missing {
		missing[r.Name] = true
	}
	for _, r := range cat.Manifest.Runs {
		files := cat.Manifest.RunFiles(r.ID)
		if r.Complete && len(files) > 0 && !slices.ContainsFunc(files, func(f backupset.FileRecord) bool { return missing[f.Name] }) {
			return true
		}
	}
	for _, chains := range cat.Chains() {
		for _, c := range chains {
			if c.Complete && !slices.ContainsFunc(c.Files, func(a backupset.Artifact) bool { return a.Record == nil || a.Missing }) {
				return true
			}
		}
	}
	return false
}

// checksums runs backupset's verification of the whole folder.
func checksums(ctx context.Context, folder *backupset.Folder, res *VerifyResult, pw progress.Writer) error {
	cat, err := folder.Scan()
	if err != nil {
		return err
	}
	switch {
	case cat.ManifestErr != nil:
		res.Problems = append(res.Problems, backupset.Problem{File: backupset.ManifestName, Kind: ProblemMalformed, Detail: cat.ManifestErr.Error()})
		return nil
	case !cat.HasManifest && len(cat.Artifacts) > 0:
		res.Problems = append(res.Problems, backupset.Problem{File: backupset.ManifestName, Kind: ProblemNoManifest,
			Detail: fmt.Sprintf("the folder has no manifest, so its %d backup file(s) cannot be verified; run 'docker infrahubdb verify --adopt' to write one", len(cat.Artifacts))})
		return nil
	}
	rep, err := folder.VerifyContext(ctx, nil, progress.Files(pw, "hash-", "Verify checksum of"))
	if err != nil {
		return err
	}
	res.Checked = append(res.Checked, rep.Checked...)
	res.Problems = append(res.Problems, rep.Problems...)
	for _, w := range rep.Warnings {
		if !strings.HasSuffix(w.File, neo4jbackup.ReportExt) { // our own check reports
			res.Warnings = append(res.Warnings, w)
		}
	}
	return nil
}
