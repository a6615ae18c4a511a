package backup

import (
	"context"
	"fmt"
	"maps"
	"path"
	"slices"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// The figures of an online backup's graph, for a drill to compare.
//
// An online backup runs while the graph may be written, so a count taken
// beside it is the backup's only if no transaction committed between the
// two. The count is bracketed by the database's last committed transaction,
// read before and after it (SHOW DATABASES, column lastCommittedTxn: "The
// ID of the last transaction received", NULL unless the database is online;
// Operations Manual, "Listing databases",
// https://neo4j.com/docs/operations-manual/5/database-administration/standard-databases/listing-databases/
// and .../current/... for 2025.x), and compared with the highest
// transaction the artifact holds ("Highest transaction ID: … the last
// transaction ID stored in the backup file", neo4j-admin backup inspect;
// Operations Manual, "Inspect the metadata of a backup file",
// https://neo4j.com/docs/operations-manual/5/backup-restore/inspect/ and
// .../current/backup-restore/inspect/; the plugin reads it tolerantly,
// neo4jbackup.ParseInspect, and 0 means not reported). A differential
// artifact's figures are the chain's state at its highest transaction.
//
// The count taken just before neo4j-admin database backup is recorded when
// its transaction, the same before and after it, is the artifact's highest;
// if not, the graph is counted again just after the backup (when anything
// committed since the first count), and that count is recorded when its
// transaction is the artifact's highest. Otherwise nothing is recorded, and
// the file's record says why (FileRecord.FiguresNotRecorded): the drill
// then compares nothing. Figures that might not be the artifact's are never
// recorded. With the applications stopped (backup --consistent) nothing of
// Infrahub writes: a count whose transaction ids Neo4j or inspect do not
// report is still recorded, as before the ids were read; ids that are
// reported and differ still record none.

// graphCount is one count of a database between two readings of its last
// committed transaction.
type graphCount struct {
	figures       map[string]int64
	rootID        string
	before, after int64
	txKnown       bool // lastCommittedTxn was reported both times
	err           error
}

// at reports whether the count is that of the database after transaction
// tx, and of no other state.
func (c *graphCount) at(tx int64) bool {
	return c != nil && c.err == nil && c.txKnown && tx > 0 && c.before == tx && c.after == tx
}

// graphCounter counts the graph of one online backup through the backup's
// own helper (see the comment above).
type graphCounter struct {
	bolt   Bolt
	tunnel interface{ Close() error }
	pw     progress.Writer
	dbs    []string
	// quiesced: the applications are stopped (backup --consistent).
	quiesced bool
	// failed says why nothing could be counted (no login, no tunnel).
	failed string
	pre    map[string]*graphCount
	post   map[string]*graphCount
	// last is each database's last committed transaction read just after
	// the backup (0: not reported).
	last map[string]int64
	// chainTx is the highest transaction of each database's newest chain
	// in the folder before the run: the state an empty differential
	// backup holds (inspect shows it as transactions 0 to 0).
	chainTx map[string]int64
}

// openGraphCounter logs in to the database for counting, through a tunnel
// of the backup's helper. It returns nil when the run cannot count at all
// (no Bolt client); a counter that could not log in records, for each
// database, why no figures were recorded.
func openGraphCounter(ctx context.Context, eng Engine, s *helper.Session, target helper.Target, folder *backupset.Folder, opts Options, pw progress.Writer) *graphCounter {
	oo := opts.Offline
	if oo.Connect == nil || target.Container == nil {
		return nil
	}
	c := &graphCounter{pw: pw, quiesced: opts.Quiesced, pre: map[string]*graphCount{}, post: map[string]*graphCount{}, last: map[string]int64{}, chainTx: chainTx(folder, opts.Databases)}
	fail := func(err error) *graphCounter {
		c.failed = "the graph could not be counted: " + err.Error()
		pw.Info("the graph's figures could not be recorded (a drill will not compare them): " + err.Error())
		c.close(ctx)
		return c
	}
	creds, _, err := deployment.FindCredentials(ctx, eng, *target.Container, oo.Credentials)
	if err != nil {
		return fail(err)
	}
	addr := oo.BoltAddress
	if addr == "" {
		t, err := s.Helper.Tunnel(context.WithoutCancel(ctx), target.BoltAddress)
		if err != nil {
			return fail(err)
		}
		c.tunnel, addr = t, t.Addr()
	}
	if c.bolt, err = oo.Connect(ctx, addr, creds); err != nil {
		return fail(err)
	}
	all, err := c.bolt.Databases(ctx)
	if err != nil {
		return fail(err)
	}
	for _, d := range all {
		if d.Name == neo4j.SystemDatabase || d.Type == "composite" || !matchesAny(opts.Databases, d.Name) {
			continue
		}
		c.dbs = append(c.dbs, d.Name)
	}
	return c
}

// matchesAny reports whether db is one of the databases asked for (names
// or patterns; none: all).
func matchesAny(patterns []string, db string) bool {
	if len(patterns) == 0 {
		return true
	}
	return slices.ContainsFunc(patterns, func(p string) bool {
		ok, _ := path.Match(p, db)
		return ok || p == db
	})
}

// chainTx reads the highest transaction of the newest chain of each
// database in the folder (what an empty differential backup continues).
func chainTx(folder *backupset.Folder, dbs []string) map[string]int64 {
	out := map[string]int64{}
	cat, err := folder.Scan()
	if err != nil {
		return out
	}
	for db, chains := range cat.Chains() {
		if !matchesAny(dbs, db) {
			continue
		}
		chain, err := backupset.ChooseChain(chains, time.Time{})
		if err != nil {
			continue
		}
		// A file holding data whose range inspect did not tell (ToTx 0, not
		// Empty) may hold later transactions than the others: the chain's
		// highest is then unknown, not the highest of the rest.
		var tx int64
		known := true
		for _, f := range chain.Files {
			switch {
			case f.Record == nil || !f.Record.Empty && f.Record.ToTx == 0:
				known = false
			case !f.Record.Empty:
				tx = max(tx, f.Record.ToTx)
			}
		}
		if known && tx > 0 {
			out[db] = tx
		}
	}
	return out
}

// before counts each database just before the backup.
func (c *graphCounter) before(ctx context.Context) {
	if c.bolt == nil {
		return
	}
	for _, db := range c.dbs {
		c.pre[db] = c.count(ctx, db)
	}
}

// after reads each database's last transaction just after the backup, and
// counts again where anything committed since the first count (or it was
// not of one state); then it logs out.
func (c *graphCounter) after(ctx context.Context) {
	if c.bolt == nil {
		return
	}
	defer c.close(ctx)
	for _, db := range c.dbs {
		pre := c.pre[db]
		if pre == nil || pre.err != nil {
			continue
		}
		tx, known, err := c.bolt.LastCommittedTxn(ctx, db)
		if err != nil || !known {
			continue
		}
		c.last[db] = tx
		if pre.at(tx) {
			continue // nothing committed since the count
		}
		c.post[db] = c.count(ctx, db)
	}
}

// count counts db between two readings of its last committed transaction.
func (c *graphCounter) count(ctx context.Context, db string) *graphCount {
	g := &graphCount{}
	before, known1, err := c.bolt.LastCommittedTxn(ctx, db)
	if err != nil {
		g.err = err
		return g
	}
	if g.figures, g.rootID, g.err = countDatabase(ctx, c.bolt, db); g.err != nil {
		return g
	}
	after, known2, err := c.bolt.LastCommittedTxn(ctx, db)
	if err != nil {
		g.err = err
		return g
	}
	g.before, g.after, g.txKnown = before, after, known1 && known2
	return g
}

func (c *graphCounter) close(ctx context.Context) {
	helper.CloseBolt(ctx, c.bolt, c.tunnel)
	c.bolt, c.tunnel = nil, nil
}

// record puts on the backup's files of each database counted the figures
// that are its artifact's, or why there are none (said on the progress
// output too).
func (c *graphCounter) record(recs []backupset.FileRecord) {
	for _, db := range c.dbs {
		if !slices.ContainsFunc(recs, func(r backupset.FileRecord) bool { return r.Database == db }) {
			continue
		}
		figures, rootID, why := c.decide(db, c.highest(recs, db))
		if why != "" {
			c.pw.Info(fmt.Sprintf("the figures of database %s were not recorded (a drill will not compare them): %s", db, why))
		}
		for i := range recs {
			if recs[i].Database == db {
				recs[i].Figures, recs[i].RootID, recs[i].FiguresNotRecorded = figures, rootID, why
			}
		}
	}
}

// highest is the highest transaction the run's artifacts of db hold: that
// of its newest artifact holding data, or, when the run wrote only empty
// differential backups, that of the chain they continue; 0 when inspect
// did not tell.
func (c *graphCounter) highest(recs []backupset.FileRecord, db string) int64 {
	var tx int64
	empty := true
	for _, r := range recs {
		if r.Database != db {
			continue
		}
		if !r.Empty {
			if r.ToTx == 0 {
				return 0 // an artifact holding data, its range not told
			}
			empty = false
			tx = max(tx, r.ToTx)
		}
	}
	if empty {
		return c.chainTx[db]
	}
	return tx
}

// decide chooses the count that is the artifact's (whose transaction is
// its highest, h), or says why there is none.
func (c *graphCounter) decide(db string, h int64) (map[string]int64, string, string) {
	pre, post := c.pre[db], c.post[db]
	switch {
	case c.failed != "":
		return nil, "", c.failed
	case pre == nil:
		return nil, "", "the graph was not counted"
	case pre.at(h):
		return pre.figures, pre.rootID, ""
	case post.at(h):
		return post.figures, post.rootID, ""
	case pre.err != nil:
		return nil, "", "the graph could not be counted: " + pre.err.Error()
	case c.quiesced && (!pre.txKnown || h == 0):
		// The applications are stopped: the count is the backup's, as
		// far as anything can tell.
		return pre.figures, pre.rootID, ""
	case !pre.txKnown:
		return nil, "", fmt.Sprintf("Neo4j does not report the last committed transaction of database %s (SHOW DATABASES, lastCommittedTxn is NULL or absent), so no count can be tied to the online backup; back up with --consistent (the applications stopped) to record figures", db)
	case h == 0:
		return nil, "", fmt.Sprintf("neo4j-admin backup inspect does not report the highest transaction of the backup of database %s, so no count can be tied to it; back up with --consistent (the applications stopped) to record figures", db)
	}
	last := max(pre.after, c.last[db])
	if post != nil {
		last = max(last, post.after)
	}
	who := "Infrahub writes while an online backup runs"
	if c.quiesced {
		who = "the applications were stopped: something else writes to it"
	}
	return nil, "", fmt.Sprintf("the graph of database %s was written during the backup: transactions %d to %d committed around it and the backup holds up to transaction %d, so no count is the backup's (%s); back up with --consistent (the applications stopped) to record figures",
		db, pre.before, last, h, who)
}

// countDatabase counts the nodes of db in all and per label (neo4j.Figures),
// its relationships per type and its main branch, and reads its Root
// node's id.
func countDatabase(ctx context.Context, b Bolt, db string) (map[string]int64, string, error) {
	n, err := b.CountNodes(ctx, db)
	if err != nil {
		return nil, "", err
	}
	byLabel, err := b.CountByLabel(ctx, db)
	if err != nil {
		return nil, "", err
	}
	var rootID string
	if byLabel["Root"] > 0 {
		if rootID, _, err = b.RootID(ctx, db); err != nil {
			return nil, "", err
		}
	}
	var branches []string
	if byLabel["Branch"] > 0 {
		if branches, err = b.BranchNames(ctx, db); err != nil {
			return nil, "", err
		}
	}
	byType, err := b.CountRelationshipsByType(ctx, db)
	if err != nil {
		return nil, "", err
	}
	figures := neo4j.Figures(db, n, byLabel)
	maps.Copy(figures, neo4j.RelationshipFigures(db, byType))
	if slices.Contains(branches, "main") {
		figures[neo4j.MainBranchFigure(db)] = 1
	}
	return figures, rootID, nil
}
