package catalog

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Manifest states of a listed file. They come from names, sizes and the
// manifest only; verify re-hashes the files.
const (
	StateOK         = "ok"           // recorded, and the size matches
	StateSize       = "size differs" // recorded with another size: changed or truncated
	StateMissing    = "missing"      // recorded, but not in the folder
	StateUnverified = "unverified"   // not recorded (neo4j-admin or the old tool made it)
)

// Listing is what a backup folder holds.
type Listing struct {
	Folder string `json:"folder"`
	// Manifest is "present", "none" or "malformed" (ManifestError says
	// why): one of three words a script can compare.
	Manifest      string            `json:"manifest"`
	ManifestError string            `json:"manifest_error,omitempty"`
	Locked        bool              `json:"locked"`
	Databases     []DatabaseListing `json:"databases"`
	Partials      []string          `json:"partials"`    // leftovers of interrupted runs
	Reports       []string          `json:"reports"`     // kept by verify --check
	SafetyDirs    []string          `json:"safety_dirs"` // restore's safety backups
	Unexpected    []string          `json:"unexpected"`  // anything else
	Inspected     bool              `json:"inspected"`
	// ManifestErr is the manifest's error (malformed, newer), for the
	// exit code; Manifest and ManifestError say it in words.
	ManifestErr  error  `json:"-"`
	InspectError string `json:"inspect_error,omitempty"`
	// Runs are the backup runs, oldest first (see runs.go).
	Runs []RunListing `json:"runs,omitempty"`
	// Components are the task-manager and storage files, by name; those
	// the manifest does not record are unverified (see verify --adopt).
	Components []FileListing `json:"components,omitempty"`
}

// DatabaseListing is the chains of one database, oldest first.
type DatabaseListing struct {
	Name   string         `json:"name"`
	Chains []ChainListing `json:"chains"`
}

// ChainListing is one chain: a full backup and the differentials after it.
type ChainListing struct {
	// Newest is the chain restore would use.
	Newest bool `json:"newest"`
	// Complete is false when the chain cannot be restored: Problem says why.
	// Diffs that follow no full backup form an incomplete chain of their own.
	Complete bool   `json:"complete"`
	Problem  string `json:"problem,omitempty"`
	// Unverified is set when the type of its first file is unknown.
	Unverified bool          `json:"unverified"`
	Size       int64         `json:"size"`
	Files      []FileListing `json:"files"`
}

// FileListing is one artifact.
type FileListing struct {
	Name     string    `json:"name"`
	Time     time.Time `json:"time"`
	Type     string    `json:"type"` // full, diff or unknown
	Size     int64     `json:"size"`
	Manifest string    `json:"manifest"`          // one of the State constants
	FromTx   int64     `json:"from_tx,omitempty"` // 0 and 0: not known, unless Empty
	ToTx     int64     `json:"to_tx,omitempty"`
	// Empty marks an empty differential backup (no transaction): only when
	// inspect printed its range as 0 to 0, never for an unknown range.
	Empty bool              `json:"empty,omitempty"`
	Neo4j *neo4jbackup.Info `json:"neo4j,omitempty"` // with --inspect
}

// ListOptions of a list run.
type ListOptions struct {
	// Inspect runs neo4j-admin backup inspect in a helper container.
	Inspect bool
	Helper  HelperOptions
}

// List describes the folder. Without Inspect it needs no Docker: it works
// from file names, sizes and the manifest. With it, a failed inspect is
// reported in the listing rather than as an error, so the rest still shows.
func List(ctx context.Context, eng helper.Engine, folder *backupset.Folder, opts ListOptions, pw progress.Writer) (*Listing, error) {
	cat, err := folder.Scan()
	if err != nil {
		return nil, err
	}
	var infos map[string]neo4jbackup.Info
	var inspectErr error
	if opts.Inspect && len(cat.Artifacts) > 0 {
		s, err := openHelper(ctx, eng, folder, opts.Helper, false, pw)
		if err != nil {
			return nil, err
		}
		infos, inspectErr = inspect(ctx, s, folder, backupset.Names(cat.Artifacts))
		s.Close(ctx)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	l := describeFolder(cat, infos)
	addDrills(folder, l.Runs)
	l.Inspected = opts.Inspect
	if inspectErr != nil {
		l.InspectError = inspectErr.Error()
	}
	return l, nil
}

// describeFolder builds the listing. Inspect's view fills in the type and
// transaction range of files the manifest does not describe, so that their
// chains are grouped as Neo4j sees them.
func describeFolder(cat *backupset.Catalog, infos map[string]neo4jbackup.Info) *Listing {
	l := &Listing{Folder: cat.Dir, Manifest: "none", Locked: cat.Locked, SafetyDirs: cat.SafetyDirs, Partials: cat.Partials}
	switch {
	case cat.ManifestErr != nil:
		l.Manifest, l.ManifestError = "malformed", cat.ManifestErr.Error()
		l.ManifestErr = cat.ManifestErr
	case cat.HasManifest:
		l.Manifest = "present"
	}
	for _, name := range cat.Unexpected {
		if strings.HasSuffix(name, neo4jbackup.ReportExt) {
			l.Reports = append(l.Reports, name)
		} else {
			l.Unexpected = append(l.Unexpected, name)
		}
	}

	recorded := map[string]bool{}
	for i := range cat.Artifacts {
		a := &cat.Artifacts[i]
		recorded[a.Name] = a.Record != nil
		if info, ok := infos[a.Name]; ok && a.Type() == "" && info.Type() != "" {
			rec := backupset.FileRecord{Name: a.Name, Type: info.Type(), FromTx: info.LowestTx, ToTx: info.HighestTx, Empty: info.Empty()}
			if a.Record != nil {
				rec = *a.Record
				rec.Type = info.Type()
			}
			a.Record = &rec
		}
	}
	chains := cat.Chains()
	dbs := make([]string, 0, len(chains))
	for db := range chains {
		dbs = append(dbs, db)
	}
	sort.Strings(dbs)
	for _, db := range dbs {
		dl := DatabaseListing{Name: db}
		for i, c := range chains[db] {
			cl := ChainListing{Newest: i == len(chains[db])-1, Complete: c.Complete, Problem: c.Problem, Unverified: c.Unverified, Size: c.Size()}
			for _, a := range c.Files {
				cl.Files = append(cl.Files, describeFile(a, recorded[a.Name], infos))
			}
			dl.Chains = append(dl.Chains, cl)
		}
		l.Databases = append(l.Databases, dl)
	}
	l.Runs = describeRuns(cat)
	for _, cf := range cat.Components {
		f := FileListing{Name: cf.Name, Time: cf.Time, Type: cf.Component, Size: cf.Size, Manifest: StateUnverified}
		switch {
		case cf.Record != nil && cf.Record.Size != cf.Size:
			f.Manifest = StateSize
		case cf.Record != nil:
			f.Manifest = StateOK
		}
		l.Components = append(l.Components, f)
	}
	return l
}

func describeFile(a backupset.Artifact, recorded bool, infos map[string]neo4jbackup.Info) FileListing {
	f := FileListing{Name: a.Name, Time: a.Time, Type: "unknown", Size: a.Size, Manifest: StateUnverified}
	if t := a.Type(); t != "" {
		f.Type = t
	}
	if a.Record != nil {
		f.FromTx, f.ToTx, f.Empty = a.Record.FromTx, a.Record.ToTx, a.Record.Empty
	}
	switch {
	case a.Missing:
		f.Manifest = StateMissing
	case recorded && a.Record.Size != a.Size:
		f.Manifest = StateSize
	case recorded:
		f.Manifest = StateOK
	}
	if info, ok := infos[a.Name]; ok {
		f.Neo4j = &info
		if f.FromTx == 0 && f.ToTx == 0 && !f.Empty && info.TxKnown {
			f.FromTx, f.ToTx, f.Empty = info.LowestTx, info.HighestTx, info.Empty()
		}
	}
	return f
}
