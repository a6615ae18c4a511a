package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/opsmill/docker-infrahubdb/pkg/backupset"
	"github.com/opsmill/docker-infrahubdb/pkg/helper"
	"github.com/opsmill/docker-infrahubdb/pkg/progress"
)

// Kinds of problems verify adds to backupset's.
const (
	ProblemNoManifest   = "no manifest"  // nothing to verify the files against
	ProblemMalformed    = "malformed"    // the manifest cannot be read
	ProblemInconsistent = "inconsistent" // neo4j-admin database check failed
	ProblemUnreadable   = "unreadable"   // neo4j-admin backup inspect rejected the artifacts
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
	Folder   string              `json:"folder"`
	OK       bool                `json:"ok"`
	Adopted  []string            `json:"adopted,omitempty"`
	Checked  []string            `json:"checked"` // files whose checksum matched
	Problems []backupset.Problem `json:"problems"`
	Warnings []backupset.Problem `json:"warnings"`
	Checks   []CheckResult       `json:"checks,omitempty"`
}

// VerifyError says verification failed; the CLI maps it to its own exit
// code. The result (with every problem) is printed separately.
type VerifyError struct{ Problems []backupset.Problem }

func (e *VerifyError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("verification failed: %d problem(s):\n  %s", len(e.Problems), strings.Join(lines, "\n  "))
}

// Err is a *VerifyError when the result has problems, else nil.
func (r *VerifyResult) Err() error {
	if r.OK {
		return nil
	}
	return &VerifyError{Problems: r.Problems}
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
		if err := checkNewestChains(ctx, s, folder, nil, res); err != nil {
			return nil, err
		}
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
	rep, err := folder.VerifyContext(ctx, nil, hashProgress(pw))
	if err != nil {
		return err
	}
	res.Checked = append(res.Checked, rep.Checked...)
	res.Problems = append(res.Problems, rep.Problems...)
	for _, w := range rep.Warnings {
		if !strings.HasSuffix(w.File, reportExt) { // our own check reports
			res.Warnings = append(res.Warnings, w)
		}
	}
	return nil
}

// VerifyWritten verifies the files a backup just wrote (backup --verify):
// their checksums and the chains they belong to, and with check, runs
// neo4j-admin database check on those chains in the backup's own helper.
func VerifyWritten(ctx context.Context, s *helper.Session, folder *backupset.Folder, written []backupset.FileRecord, check bool, pw progress.Writer) (*VerifyResult, error) {
	res := &VerifyResult{Folder: folder.Dir, Checked: []string{}, Problems: []backupset.Problem{}, Warnings: []backupset.Problem{}}
	m, err := folder.ReadManifest()
	if err != nil {
		return nil, err
	}
	sub := &backupset.Manifest{Version: m.Version}
	var names, dbs []string
	for _, w := range written {
		names = append(names, w.Name)
		if !slices.Contains(dbs, w.Database) {
			dbs = append(dbs, w.Database)
		}
		rec, ok := m.Lookup(w.Name)
		if !ok {
			res.Problems = append(res.Problems, backupset.Problem{File: w.Name, Kind: backupset.ProblemMissing, Detail: "written by this backup but not recorded in the manifest"})
			continue
		}
		sub.Files = append(sub.Files, rec)
	}
	rep, err := folder.VerifyContext(ctx, sub, hashProgress(pw))
	if err != nil {
		return nil, err
	}
	res.Checked = rep.Checked
	for _, p := range rep.Problems {
		// Other files of the folder are not this run's business, but the
		// chains of the databases just backed up are.
		if slices.Contains(names, p.File) || (p.Kind == backupset.ProblemChain && slices.ContainsFunc(dbs, func(db string) bool { return fileOf(p.File, db) })) {
			res.Problems = append(res.Problems, p)
		}
	}
	if check {
		if err := checkNewestChains(ctx, s, folder, dbs, res); err != nil {
			return nil, err
		}
	}
	res.OK = len(res.Problems) == 0
	return res, nil
}

// fileOf reports whether an artifact name belongs to db.
func fileOf(name, db string) bool {
	d, _, ok := backupset.ParseArtifactName(name)
	return ok && d == db
}

func hashProgress(pw progress.Writer) func(name string, done, total int64) {
	return func(name string, done, total int64) {
		status := progress.Working
		if done == total {
			status = progress.Done
		}
		pw.Event(progress.Event{ID: "hash-" + name, Text: "Verify checksum of " + name, Status: status, Current: done, Total: total})
	}
}

// errAdminFailed tells a neo4j-admin failure (a finding) from a failure to
// run it (an error).
func errAdminFailed(err error) (*helper.AdminError, bool) {
	var ae *helper.AdminError
	ok := errors.As(err, &ae)
	return ae, ok
}
