package offsite

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Differential runs in a location (backup s3://… --type diff): a run whose
// manifest names a Base holds only what its backup wrote (the differential
// artifacts, and the other components in full); the earlier artifacts of
// its graph chain are the graph files of its base run (and of the base's
// base, and so on). Objects in a location are never rewritten, so such a
// chain is never aggregated there: it grows by one run per differential
// backup, prune keeps every base a kept run depends on, and restore stages
// the graph files of the bases with the run.

// RunChain returns run id and the runs it depends on through their Base,
// oldest first (the run itself last). A base that is not in the location,
// or a loop, is an error: the run cannot be restored.
func RunChain(ctx context.Context, loc backupset.Location, id string) ([]*backupset.RunManifest, error) {
	var chain []*backupset.RunManifest
	seen := map[string]bool{}
	for next, from := id, ""; next != ""; {
		if seen[next] {
			return nil, fmt.Errorf("run %s: its bases form a loop through run %s; run verify", id, next)
		}
		seen[next] = true
		m, err := backupset.ReadRun(ctx, loc, next)
		if errors.Is(err, backupset.ErrObjectNotFound) && from != "" {
			return nil, fmt.Errorf("run %s depends on run %s, which is not in %s: it cannot be restored; run verify: %w", from, next, loc.Describe(), err)
		}
		if err != nil {
			return nil, err
		}
		chain = append(chain, m)
		from, next = next, m.Base
	}
	slices.Reverse(chain)
	return chain, nil
}

// isChainFile says whether a run's file belongs to a graph chain of an
// online backup (a full or differential artifact).
func isChainFile(f backupset.RunFile) bool {
	return (f.Component == "" || f.Component == backupset.ComponentGraph) && f.Database != "" &&
		(f.Type == backupset.TypeFull || f.Type == backupset.TypeDiff)
}

// ChainToFolder stages run id into a folder as ToFolder does, after the
// graph chain files of the runs it depends on (RunChain): the folder then
// holds every artifact a restore of the run needs. The bases' other files
// (task manager, storage) are not staged: the run has its own. It returns
// the run's manifest and the IDs of the location's runs staged.
func ChainToFolder(ctx context.Context, loc backupset.Location, id string, folder *backupset.Folder, ids []age.Identity, pw progress.Writer) (*backupset.RunManifest, []string, error) {
	chain, err := RunChain(ctx, loc, id)
	if err != nil {
		return nil, nil, err
	}
	var staged []string
	for _, base := range chain[:len(chain)-1] {
		if err := graphToFolder(ctx, loc, base, folder, ids, pw); err != nil {
			return nil, staged, err
		}
		staged = append(staged, base.Run.ID)
	}
	m, err := ToFolder(ctx, loc, id, folder, ids, pw)
	if err != nil {
		return nil, staged, err
	}
	return m, append(staged, id), nil
}

// SeedFromLocation stages the graph chain files of run base and of the
// runs it depends on into a (staging) folder, each checked against its
// run's manifest as ToFolder checks them (an encrypted file is kept as
// ciphertext in a sealed folder): the files a differential backup into
// that folder continues. It returns the names of the files staged.
func SeedFromLocation(ctx context.Context, loc backupset.Location, base string, folder *backupset.Folder, ids []age.Identity, pw progress.Writer) ([]string, error) {
	chain, err := RunChain(ctx, loc, base)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range chain {
		if err := graphToFolder(ctx, loc, m, folder, ids, pw); err != nil {
			return nil, err
		}
		for _, f := range m.Files {
			if isChainFile(f) {
				names = append(names, originalName(f))
			}
		}
	}
	return names, nil
}

// graphToFolder stages the graph chain files of run m, with a record of
// the run that names the graph alone (its other components are not here).
func graphToFolder(ctx context.Context, loc backupset.Location, m *backupset.RunManifest, folder *backupset.Folder, ids []age.Identity, pw progress.Writer) error {
	for _, f := range m.Files {
		if isChainFile(f) && f.Encryption != nil && len(ids) == 0 {
			return fmt.Errorf("run %s is encrypted: give --identity FILE", m.Run.ID)
		}
	}
	unlock, err := folder.Lock("copy")
	if err != nil {
		return err
	}
	defer unlock()
	man, err := folder.ReadManifest()
	if err != nil {
		return err
	}
	var recs []backupset.FileRecord
	var committed []string
	for _, f := range m.Files {
		if !isChainFile(f) {
			continue
		}
		name := originalName(f)
		want := f.SHA256
		if f.Encryption != nil {
			want = f.PlainSHA256
		}
		if have, ok := man.Lookup(name); ok && have.SHA256 == want {
			continue
		}
		rec, err := stageFile(ctx, loc, m.Run.ID, f, folder, name, ids, pw)
		if err != nil {
			if derr := folder.Delete(man, committed...); derr != nil {
				return errors.Join(err, derr)
			}
			return err
		}
		committed = append(committed, name)
		r := f.FileRecord
		r.Name, r.Size, r.SHA256, r.Added = name, rec.Size, rec.SHA256, rec.Added
		recs = append(recs, r)
	}
	run := m.Run
	if m.CopiedFrom != "" {
		run.ID = m.CopiedFrom // the files' RunID
	}
	run.Components, run.Skipped = []string{backupset.ComponentGraph}, nil
	run.Open = false
	man.Upsert(recs...)
	man.UpsertRun(run)
	if man.Tool == "" {
		man.Tool = m.Tool
	}
	return folder.WriteManifest(man)
}

// ToLocationOnBase copies run runID of a folder seeded by SeedFromLocation
// (with the files named seeded, from the location's run base) into the
// location as a new run that holds only the run's own files. When the run
// has differential artifacts, its manifest names base as its Base: their
// chains must start in the seeded files (and nowhere else). A run with no
// differential artifact (neo4j-admin took full backups) restores on its
// own and names no base. The base run is read again under the location's
// lock, so that a prune that removed it meanwhile is found, not built on.
func ToLocationOnBase(ctx context.Context, folder *backupset.Folder, loc backupset.Location, runID, base string, seeded []string, o CopyOptions) (*CopyResult, error) {
	cat, lease, release, err := lockAndScan(ctx, folder, loc)
	if err != nil {
		return nil, err
	}
	defer release()
	run, ok := cat.Manifest.Run(runID)
	if !ok || !run.Complete {
		return nil, fmt.Errorf("run %s of %s is not restorable (incomplete or missing files); run verify", runID, folder.Dir)
	}
	own := cat.Manifest.RunFiles(runID)
	missing := map[string]bool{}
	for _, r := range cat.Missing {
		missing[r.Name] = true
	}
	dependsOnBase := false
	chains := cat.Chains()
	for _, f := range own {
		if missing[f.Name] {
			return nil, fmt.Errorf("%s of run %s is missing from %s; run verify", f.Name, runID, folder.Dir)
		}
		if f.Type != backupset.TypeDiff {
			continue
		}
		found := false
		for _, ch := range chains[f.Database] {
			i := slices.IndexFunc(ch.Files, func(a backupset.Artifact) bool { return a.Name == f.Name })
			if i < 0 {
				continue
			}
			found = true
			for _, a := range ch.Files[:i] {
				if !slices.Contains(seeded, a.Name) && !slices.ContainsFunc(own, func(r backupset.FileRecord) bool { return r.Name == a.Name }) {
					return nil, fmt.Errorf("differential backup %s of run %s continues %s, which is neither in run %s of %s nor in this run", f.Name, runID, a.Name, base, loc.Describe())
				}
			}
			dependsOnBase = dependsOnBase || i > 0
		}
		if !found {
			return nil, fmt.Errorf("differential backup %s of run %s has no chain in %s", f.Name, runID, folder.Dir)
		}
	}
	m := backupset.RunManifest{Tool: o.Tool, CopiedFrom: run.ID, Run: run}
	if dependsOnBase {
		// The base must still be there, as seeded: nothing rewrites a
		// run, but a prune may have removed it since.
		bm, err := backupset.ReadRun(ctx, loc, base)
		if err != nil {
			return nil, fmt.Errorf("run %s, the base of this differential backup, cannot be read in %s any more (pruned meanwhile?); take a full backup: %w", base, loc.Describe(), err)
		}
		for _, f := range bm.Files {
			if !isChainFile(f) {
				continue
			}
			have, ok := cat.Manifest.Lookup(originalName(f))
			want := f.SHA256
			if f.Encryption != nil {
				want = f.PlainSHA256
			}
			if !ok || have.SHA256 != want {
				return nil, fmt.Errorf("run %s of %s changed since it was seeded (%s); take a full backup", base, loc.Describe(), f.Name)
			}
		}
		m.Base = base
	}
	id := backupset.NewLocationRunID(run.Started)
	m.Run.ID = id
	c := CopiedRun{Source: run.ID, ID: id}
	for _, rec := range own {
		if err := lease.Refresh(ctx); err != nil {
			return nil, err
		}
		rf, err := copyFile(ctx, folder, loc, id, rec, o)
		if err != nil {
			return nil, err
		}
		m.Files = append(m.Files, rf)
		c.Files++
		c.Bytes += rf.Size
	}
	if err := lease.Refresh(ctx); err != nil {
		return nil, err
	}
	if err := backupset.CommitRun(ctx, loc, m); err != nil {
		return nil, err
	}
	return &CopyResult{Copied: []CopiedRun{c}}, nil
}

// BaseRules say which run a differential backup into a location may
// continue (ChooseBase).
type BaseRules struct {
	// Databases must all have an online backup in the chain (any
	// database when empty).
	Databases []string
	// SameVersion accepts the Neo4j version the chain was taken from (any
	// when nil): a chain continues on the version that began it.
	SameVersion func(string) bool
	// MaxRuns, when above 0, is the longest chain to continue: a run that
	// ends a chain of MaxRuns runs (its own included) is not continued,
	// so that a new chain starts and retention can remove the old one.
	MaxRuns int
}

// ChooseBase picks the run a differential backup into the location
// continues: the newest run whose chain (RunChain) is whole, shorter than
// r.MaxRuns, and holds an online backup of every database of r, all taken
// by a Neo4j version that r.SameVersion accepts. It returns "" and why
// when no run fits (a full backup is then taken).
func ChooseBase(ctx context.Context, loc backupset.Location, l *backupset.RunListing, r BaseRules) (string, string) {
	dbs, sameVersion := r.Databases, r.SameVersion
	why := "the location holds no run"
	for i := len(l.Runs) - 1; i >= 0; i-- {
		m := l.Runs[i]
		chain, err := RunChain(ctx, loc, m.Run.ID)
		if err != nil {
			return "", err.Error()
		}
		have := map[string]bool{}
		var versions []string
		for _, r := range chain {
			for _, f := range r.Files {
				if isChainFile(f) {
					have[f.Database] = true
					if f.Neo4jVersion != "" && !slices.Contains(versions, f.Neo4jVersion) {
						versions = append(versions, f.Neo4jVersion)
					}
				}
			}
		}
		if len(have) == 0 {
			why = fmt.Sprintf("the newest run with a graph, %s, holds no online backup (full or differential)", m.Run.ID)
			if !slices.ContainsFunc(m.Files, func(f backupset.RunFile) bool {
				return f.Component == "" || f.Component == backupset.ComponentGraph
			}) {
				continue // a run without the graph: look further back
			}
			return "", why
		}
		var lacking []string
		for _, db := range dbs {
			if !have[db] {
				lacking = append(lacking, db)
			}
		}
		switch {
		case len(lacking) > 0:
			return "", fmt.Sprintf("run %s holds no backup of %s", m.Run.ID, strings.Join(lacking, ", "))
		case sameVersion != nil && (len(versions) != 1 || !sameVersion(versions[0])):
			return "", fmt.Sprintf("run %s was taken from Neo4j %s, not the server's version", m.Run.ID, orUnknown(strings.Join(versions, ", ")))
		case r.MaxRuns > 0 && len(chain) >= r.MaxRuns:
			return "", fmt.Sprintf("the newest chain, up to run %s, holds %d runs already (--full-every %d): a new one starts", m.Run.ID, len(chain), r.MaxRuns)
		}
		return m.Run.ID, ""
	}
	return "", why
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}
