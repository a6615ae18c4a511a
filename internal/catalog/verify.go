package catalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Kinds of problems verify adds to backupset's.
const (
	ProblemNoManifest = "no manifest" // nothing to verify the files against
	ProblemMalformed  = "malformed"   // the manifest cannot be read
	ProblemUnreadable = "unreadable"  // neo4j-admin backup inspect rejected the artifacts
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
}

// Err is a *backupset.VerifyError when the result has problems, else nil.
func (r *VerifyResult) Err() error {
	if r.OK {
		return nil
	}
	return &backupset.VerifyError{Problems: r.Problems}
}

// Verify re-hashes every file the manifest lists, checks chain continuity,
// and with the options adopts the folder and runs neo4j-admin database
// check. The caller holds the folder lock. Problems are in the result (see
// VerifyResult.Err); the error is for failures to run at all.
func Verify(ctx context.Context, eng helper.Engine, folder *backupset.Folder, opts VerifyOptions, pw progress.Writer) (*VerifyResult, error) {
	res := &VerifyResult{Folder: folder.Dir, Checked: []string{}, Problems: []backupset.Problem{}, Warnings: []backupset.Problem{}}
	var s *helper.Session
	if opts.Check || opts.Adopt {
		var err error
		if s, err = openHelper(ctx, eng, folder, opts.Helper, true, pw); err != nil {
			return nil, err
		}
		defer s.Close(ctx)
	}
	if opts.Adopt {
		adopted, problems, err := adopt(ctx, s, folder, opts.Tool)
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
