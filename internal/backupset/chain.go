package backupset

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Chain is a full backup and the differential backups taken after it, the
// unit that restore and prune work on.
type Chain struct {
	Database string
	Files    []Artifact // full first, then diffs in time order
	// Complete is false when the chain cannot be restored; Problem says why.
	Complete bool
	// Unverified is set when the manifest does not say whether the first file
	// is a full backup (made by neo4j-admin or the old tool). Such a chain is
	// still used, but prune will not delete it.
	Unverified bool
	Problem    string
}

// Start is the time of the chain's first file.
func (c Chain) Start() time.Time { return c.Files[0].Time }

// End is the time of the chain's last file.
func (c Chain) End() time.Time { return c.Files[len(c.Files)-1].Time }

// Last is the chain's newest file.
func (c Chain) Last() Artifact { return c.Files[len(c.Files)-1] }

// RestorePoint is the chain's newest file that holds data: the one to give
// neo4j-admin restore --from-path (it finds the rest of the chain next to
// it). Empty backups are skipped: they hold no transaction to restore.
func (c Chain) RestorePoint() Artifact {
	for i := len(c.Files) - 1; i > 0; i-- {
		if !c.Files[i].Empty() {
			return c.Files[i]
		}
	}
	return c.Files[0]
}

// Size is the total size of the chain's files.
func (c Chain) Size() int64 {
	var n int64
	for _, a := range c.Files {
		n += a.Size
	}
	return n
}

// Chains groups artifacts per database into chains in time order. With
// manifest types, a chain starts at each full backup and continues with the
// diffs after it; diffs with no full before them form an incomplete chain.
// A file of unknown type starts a chain of its own, marked Unverified (diffs
// recorded after it are attached to it, since it may well be their full).
// Known transaction ranges are checked for gaps.
func Chains(artifacts []Artifact) map[string][]Chain {
	sorted := slices.Clone(artifacts)
	sortArtifacts(sorted)
	out := map[string][]Chain{}
	var cur *Chain
	flush := func() {
		if cur != nil {
			out[cur.Database] = append(out[cur.Database], *cur)
			cur = nil
		}
	}
	for _, a := range sorted {
		if cur != nil && cur.Database != a.Database {
			flush()
		}
		switch a.Type() {
		case TypeDump:
			// A dump is a complete chain of its own; diffs never follow it.
			flush()
			out[a.Database] = append(out[a.Database], Chain{Database: a.Database, Files: []Artifact{a}, Complete: true})
		case TypeFull:
			flush()
			cur = &Chain{Database: a.Database, Files: []Artifact{a}, Complete: true}
		case TypeDiff:
			if a.Empty() && cur != nil {
				// An empty backup records that nothing changed: it belongs
				// to the chain before it and never starts one.
				cur.Files = append(cur.Files, a)
				continue
			}
			if cur == nil {
				cur = &Chain{Database: a.Database, Files: []Artifact{a},
					Problem: fmt.Sprintf("differential backup %s has no full backup before it", a.Name)}
				continue
			}
			if prev := cur.RestorePoint(); cur.Complete && gap(prev, a) {
				cur.Complete = false
				cur.Problem = fmt.Sprintf("transactions missing between %s (up to tx %d) and %s (from tx %d)",
					prev.Name, prev.Record.ToTx, a.Name, a.Record.FromTx)
			}
			cur.Files = append(cur.Files, a)
		default:
			flush()
			cur = &Chain{Database: a.Database, Files: []Artifact{a}, Complete: true, Unverified: true}
		}
	}
	flush()
	for db, cs := range out {
		for i := range cs {
			markMissing(&cs[i])
			judge(&cs[i])
		}
		out[db] = cs
	}
	return out
}

// judge makes a chain that neo4j-admin cannot restore as one incomplete:
// a file the manifest records as a backup of another database than its
// name says, a file whose type the manifest does not record (an older
// plugin's record: a full and a differential backup cannot be told apart,
// and restoring a differential one alone fails after the database was
// stopped), and files written by more than one Neo4j release.
func judge(c *Chain) {
	if !c.Complete {
		return
	}
	var versions []string
	var by []string
	for _, a := range c.Files {
		switch {
		case a.Record == nil:
			continue // no manifest: restore reads its header (backup inspect)
		case a.Record.Database != "" && a.Record.Database != a.Database:
			c.Complete = false
			c.Problem = fmt.Sprintf("%s is recorded as a backup of database %s, not of %s as its name says: it does not belong to this chain; move it out of the folder", a.Name, a.Record.Database, a.Database)
			return
		case a.Type() == "":
			c.Complete = false
			c.Problem = fmt.Sprintf("the manifest records no type for %s (an older plugin's record): it cannot be told whether it is a full or a differential backup; move the manifest away and run 'docker infrahubdb verify --adopt' to read the types from the files", a.Name)
			return
		}
		if v := a.Record.Neo4jVersion; v != "" && !slices.Contains(versions, v) {
			versions = append(versions, v)
			by = append(by, a.Name)
		}
	}
	if len(versions) > 1 {
		c.Complete = false
		c.Problem = fmt.Sprintf("the chain mixes backups of two Neo4j releases (%s by %s, %s by %s): a differential backup continues a chain of its own release only; take a full backup (backup --type full), or restore an older chain with --until", by[0], versions[0], by[1], versions[1])
	}
}

// Refusal is the problem verify reports of a chain that cannot be
// restored, and with which the restore preflight and the drill's refuse
// it; nil for a complete chain.
func (c Chain) Refusal() *Problem {
	if c.Complete {
		return nil
	}
	return &Problem{File: c.Files[0].Name, Kind: ProblemChain, Detail: c.Problem}
}

// Unrecorded is the problem verify reports of a backup file that a
// manifest does not record, and with which restore and the drill refuse a
// chain holding it: nothing proves what it holds.
func Unrecorded(name string) Problem {
	return Problem{File: name, Kind: ProblemExtra, Detail: "backup file not listed in the manifest"}
}

// CheckChain is the one check of a chain that verify, the restore
// preflight and the drill's preflight share: the chain's refusal, then,
// in a folder with a manifest, its first file the manifest does not record.
func CheckChain(c Chain, hasManifest bool) *Problem {
	if p := c.Refusal(); p != nil {
		return p
	}
	if hasManifest {
		for _, a := range c.Files {
			if a.Record == nil && !a.Missing {
				p := Unrecorded(a.Name)
				return &p
			}
		}
	}
	return nil
}

// markMissing makes a chain with a missing file incomplete.
func markMissing(c *Chain) {
	for _, a := range c.Files {
		if a.Missing {
			c.Complete = false
			c.Problem = fmt.Sprintf("%s is listed in the manifest but missing from the folder", a.Name)
			return
		}
	}
}

// gap reports a hole in the transaction ranges of two consecutive files,
// when both ranges are known.
func gap(prev, next Artifact) bool {
	if prev.Record == nil || next.Record == nil || prev.Record.ToTx == 0 || next.Record.FromTx == 0 {
		return false
	}
	return next.Record.FromTx > prev.Record.ToTx+1
}

// ErrNoChain is wrapped by ChooseChain's errors.
var ErrNoChain = errors.New("no usable backup")

// ChainError is ChooseChain's refusal of a chain that cannot be restored:
// verify's problem of it (Refusal), and a hint at the chain before it.
type ChainError struct {
	Database string
	Problem  Problem
	Which    string // "the newest backup of neo4j", or the one --until selected
	Hint     string // "; to restore the previous backup instead, use --until …", or ""
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("%v: %s cannot be restored: %s%s", ErrNoChain, e.Which, e.Problem, e.Hint)
}

func (e *ChainError) Unwrap() error { return ErrNoChain }

// ChooseChain picks the chain to restore from one database's chains (as
// returned by Chains): the newest one, or with until set, the newest one that
// started at or before until, cut after the first file taken at or after
// until (that file holds the transactions up to until; neo4j-admin restore
// --restore-until stops there).
//
// It never falls back to an older chain when the one selected is broken:
// restoring older data than asked must be the operator's choice (--until).
func ChooseChain(chains []Chain, until time.Time) (Chain, error) {
	if len(chains) == 0 {
		return Chain{}, fmt.Errorf("%w: the folder has no backup of this database", ErrNoChain)
	}
	db := chains[0].Database
	i := len(chains) - 1
	if !until.IsZero() {
		i = slices.IndexFunc(chains, func(c Chain) bool { return c.Start().After(until) }) - 1
		if i == -2 { // none starts after until
			i = len(chains) - 1
		}
		if i < 0 {
			return Chain{}, fmt.Errorf("%w: the oldest backup of %s (%s) was taken after %s",
				ErrNoChain, db, chains[0].Files[0].Name, until.UTC().Format(time.RFC3339))
		}
	}
	c := chains[i]
	if p := c.Refusal(); p != nil {
		e := &ChainError{Database: db, Problem: *p, Which: "the newest backup of " + db}
		if i > 0 {
			e.Hint = fmt.Sprintf("; to restore the previous backup instead, use --until %s", chains[i-1].End().UTC().Format(time.RFC3339))
		}
		if !until.IsZero() {
			e.Which = fmt.Sprintf("the backup of %s selected by --until %s", db, until.UTC().Format(time.RFC3339))
		}
		return Chain{}, e
	}
	if !until.IsZero() {
		if j := slices.IndexFunc(c.Files, func(a Artifact) bool { return !a.Time.Before(until) }); j >= 0 {
			c.Files = slices.Clone(c.Files[:j+1])
		}
	}
	return c, nil
}
