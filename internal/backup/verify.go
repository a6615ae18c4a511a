package backup

import (
	"context"
	"slices"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Verification is what backup --verify found in the files the run just
// wrote: every file's checksum against its manifest record and the chains
// of its databases, the content checks verify FOLDER runs (restore's
// preflight on the task-manager dump and the storage archive), and with
// --check neo4j-admin database check on each database's online chain or
// Community dump. Its JSON has the shape of the verify command's result.
type Verification struct {
	Folder  string   `json:"folder"`
	OK      bool     `json:"ok"`
	Checked []string `json:"checked"` // files whose checksum matched
	// Content lists the files whose content was read as verify FOLDER
	// reads it, and what was checked.
	Content  []ContentCheck            `json:"content"`
	Problems []backupset.Problem       `json:"problems"`
	Warnings []backupset.Problem       `json:"warnings"`
	Checks   []neo4jbackup.CheckResult `json:"checks,omitempty"`
}

// ContentCheck is one file's content check (catalog.ContentProblems).
type ContentCheck struct {
	File      string `json:"file"`
	Component string `json:"component"`
	Check     string `json:"check"` // what was read
	OK        bool   `json:"ok"`
}

// graphCheck is what --check found on the graph files a run wrote; it runs
// in the run's own helper, before that goes.
type graphCheck struct {
	checks   []neo4jbackup.CheckResult
	problems []backupset.Problem
}

// checkWritten runs neo4j-admin database check in s on the newest chain (an
// online backup's chain or a Community dump) of each of dbs.
func checkWritten(ctx context.Context, s *helper.Session, folder *backupset.Folder, dbs []string) (*graphCheck, error) {
	checks, problems, err := neo4jbackup.CheckNewestChains(ctx, s, folder, dbs)
	if err != nil {
		return nil, err
	}
	return &graphCheck{checks: checks, problems: problems}, nil
}

// verifyWritten re-hashes the files just written (every component's),
// checks their chains, runs verify's content checks on the task-manager and
// storage files, and adds the result of --check (gc, nil without it). The
// files must be recorded in the manifest.
func verifyWritten(ctx context.Context, folder *backupset.Folder, written []backupset.FileRecord, gc *graphCheck, pw progress.Writer) (*Verification, error) {
	rep, err := folder.VerifyWritten(ctx, written, progress.Files(pw, "hash-", "Verify checksum of"))
	if err != nil {
		return nil, err
	}
	v := &Verification{Folder: folder.Dir, Checked: rep.Checked, Content: []ContentCheck{}, Problems: rep.Problems, Warnings: []backupset.Problem{}}
	if v.Checked == nil {
		v.Checked = []string{}
	}
	if v.Problems == nil {
		v.Problems = []backupset.Problem{}
	}
	m, err := folder.ReadManifest()
	if err != nil {
		return nil, err
	}
	content := catalog.ContentProblems(folder, m, rep.Checked)
	for _, w := range written {
		check := catalog.ContentCheckOf(w.Component)
		if check == "" || !slices.Contains(rep.Checked, w.Name) {
			continue
		}
		ok := !slices.ContainsFunc(content, func(p backupset.Problem) bool { return p.File == w.Name })
		v.Content = append(v.Content, ContentCheck{File: w.Name, Component: w.Component, Check: check, OK: ok})
	}
	v.Problems = append(v.Problems, content...)
	if gc != nil {
		v.Checks, v.Problems = gc.checks, append(v.Problems, gc.problems...)
	}
	v.OK = len(v.Problems) == 0
	return v, nil
}
