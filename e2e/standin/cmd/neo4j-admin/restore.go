package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/artifact"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/faults"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/version"
)

var restoreCommand = command{
	path:       "database restore",
	enterprise: true,
	usage: `Usage: neo4j-admin database restore [-h] [--expand-commands] [--verbose] [--overwrite-destination
                                    [=true|false]] [--additional-config=<file>] --from-path=<path>[,
                                    <path>...] [--restore-until=<recovery-criteria>] [--temp-path=<path>]
                                    [--to-path-data=<path>] [--to-path-txn=<path>] [<database>]
Restore a backed up database.
`,
	decl: []option{
		{name: "--from-path"}, {name: "--overwrite-destination", isBool: true, def: "false"},
		{name: "--restore-until"}, {name: "--verbose", isBool: true}, {name: "--temp-path"},
		{name: "--additional-config"}, {name: "--expand-commands", isBool: true},
		{name: "--parallel-recovery", isBool: true},
	},
	run: runRestore,
}

// restoreJob is one chain to restore and the database it becomes.
type restoreJob struct {
	from  string // what the operator named: the artifact or folder
	chain []artifact.Info
	db    string
	err   error
}

func runRestore(e *env, o options) error {
	from := o.str("--from-path")
	if from == "" {
		return usageError("Missing required option: '--from-path=<path>[,<path>...]'")
	}
	if len(o.args) > 1 {
		return usageError("Unmatched argument at index 1: '%s'", o.args[1])
	}
	until, err := parseRestoreUntil(o.str("--restore-until"))
	if err != nil {
		return err
	}
	paths := strings.Split(from, ",")
	if len(paths) > 1 && len(o.args) == 1 {
		return usageError("The database name can only be given when --from-path points to a single artifact or folder.")
	}
	st, err := store.Open(e.dataDir())
	if err != nil {
		return failed("Unable to open the data directory %s: %v", e.dataDir(), err)
	}
	log := logger{e: e, source: "c.n.b.r.RestoreDatabaseCli"}
	jobs := planRestore(paths, o.args, version.Calver(e.version))
	// [S3] 5.24+: the work directory is inside the --from-path folder
	// unless --temp-path is given; the real restore needs it even for a
	// single local artifact.
	first := filepath.Clean(strings.TrimSpace(paths[0]))
	fromDir := first
	if fi, err := os.Stat(first); err == nil && !fi.IsDir() {
		fromDir = filepath.Dir(first)
	}
	work, cleanup, err := workDir(fromDir, o.str("--temp-path"))
	if err != nil {
		return err
	}
	defer cleanup()
	for i := range jobs {
		if jobs[i].err == nil {
			jobs[i].err = restoreOne(e, log, st, work, jobs[i], o.on("--overwrite-destination"), until)
		}
	}
	printRestoreTable(e, jobs)
	for _, j := range jobs {
		if j.err != nil {
			return failed("%v", j.err)
		}
	}
	return nil
}

// planRestore finds the chain behind every --from-path entry: for an
// artifact, the chain ending at it (the rest of the chain is looked up in
// its folder); for a folder, the newest chain of each database in it (or of
// the named database only).
func planRestore(paths, args []string, folders bool) []restoreJob {
	var jobs []restoreJob
	for _, p := range paths {
		p = filepath.Clean(strings.TrimSpace(p))
		st, err := os.Stat(p)
		if err != nil {
			jobs = append(jobs, restoreJob{from: p, err: fmt.Errorf("Path '%s' does not exist.", p)})
			continue
		}
		if !st.IsDir() {
			jobs = append(jobs, chainForFile(p, args))
			continue
		}
		if !folders {
			// [S3] 5.x: --from-path names artifact files; a folder is
			// accepted from 2025.01 [S4].
			jobs = append(jobs, restoreJob{from: p, err: fmt.Errorf("%s is a directory; --from-path must point to backup artifact files.", p)})
			continue
		}
		infos, _ := artifact.List(p)
		dbs := artifact.Databases(infos)
		if len(dbs) == 0 {
			jobs = append(jobs, restoreJob{from: p, err: fmt.Errorf("No backup artifacts found in %s.", p)})
			continue
		}
		if len(args) == 1 {
			// The name picks the database's backups, or renames the only
			// database of the folder.
			source := args[0]
			if !slices.Contains(dbs, source) && len(dbs) == 1 {
				source = dbs[0]
			}
			chain, err := artifact.NewestChain(infos, source)
			jobs = append(jobs, restoreJob{from: p, chain: chain, db: args[0], err: err})
			continue
		}
		for _, db := range dbs {
			chain, err := artifact.NewestChain(infos, db)
			jobs = append(jobs, restoreJob{from: p, chain: chain, db: db, err: err})
		}
	}
	return jobs
}

func chainForFile(p string, args []string) restoreJob {
	infos, _ := artifact.List(filepath.Dir(p))
	for _, in := range infos {
		if in.Path != p {
			continue
		}
		chain, err := artifact.ChainEndingAt(infos, in)
		db := in.Database
		if len(args) == 1 {
			db = args[0]
		}
		return restoreJob{from: p, chain: chain, db: db, err: err}
	}
	if _, err := artifact.ReadHeader(p); err != nil {
		return restoreJob{from: p, err: err}
	}
	return restoreJob{from: p, err: fmt.Errorf("%s is not a backup artifact", p)}
}

func restoreOne(e *env, log logger, st *store.Store, work string, j restoreJob, overwrite bool, until func(store.RawTx) bool) error {
	faults.Delay(e.dataDir(), "restore")
	_, registered, err := st.Database(j.db)
	if err != nil {
		return err
	}
	// The database lock, held by the server while the database is online
	// (STOP DATABASE releases it) [S3][S20a].
	if faults.Take(e.dataDir(), "in-use") {
		return startedBehindStop(st, j.db)
	}
	lock, err := lockDatabase(st, j.db)
	if err != nil {
		return err
	}
	defer store.Unlock(lock)
	_, logErr := os.Stat(st.LogPath(j.db))
	if (registered || logErr == nil) && !overwrite {
		return fmt.Errorf("Database with name [%s] already exists at %s. Use --overwrite-destination=true to replace it.", j.db, st.DatabaseDir(j.db))
	}
	// [S3] §5.8: no downgrade; restore opens (recovers) the store, so an
	// artifact of a newer release is refused as load refuses it
	// (neo4j/neo4j#13494), before the destination is touched.
	for _, a := range j.chain {
		if v := a.Header.Neo4jVersion; v != "" && !version.AtLeast(e.version, v) {
			return fmt.Errorf("The loaded database is of a newer version than the current binaries. Downgrade is not supported. (%s was written by Neo4j %s)", a.Path, v)
		}
	}
	log.info("Restoring database '%s' from %s", j.db, j.chain[len(j.chain)-1].Path)
	last, txs, err := artifact.ReadRawChain(j.chain)
	if err != nil {
		return err
	}
	if until != nil {
		kept := txs[:0]
		for _, tx := range txs {
			if until(tx) {
				kept = append(kept, tx)
			}
		}
		txs = kept
	}
	if err := stage(work, txs); err != nil {
		return err
	}
	if faults.Take(e.dataDir(), "restore") {
		return tornRestore(st, j.db, txs)
	}
	if err := st.ReplaceStoreRaw(j.db, txs, store.NewStoreID()); err != nil {
		return err
	}
	st.MarkClean(j.db)
	if err := st.SetFormat(j.db, last.StoreFormat); err != nil {
		return err
	}
	if len(last.Metadata) > 0 {
		script := st.ScriptPath(j.db)
		if err := os.MkdirAll(filepath.Dir(script), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(script, []byte(artifact.MetadataScript(last.Metadata)), 0o644); err != nil {
			return err
		}
		log.info("You need to execute %s. To execute the file use cypher-shell command with parameter `%s`", script, j.db)
	}
	return nil
}

// tornRestore is the "restore" fault knob: it leaves the first half of the
// transactions and a torn record in the database's log, as a restore that
// died half way would, and fails.
func tornRestore(st *store.Store, db string, txs []store.RawTx) error {
	if err := os.MkdirAll(st.DatabaseDir(db), 0o755); err != nil {
		return err
	}
	var b strings.Builder
	for _, tx := range txs[:len(txs)/2] {
		b.Write(tx.Line)
		b.WriteByte('\n')
	}
	b.WriteString(`{"tx":`)
	if err := os.WriteFile(st.LogPath(db), []byte(b.String()), 0o644); err != nil {
		return err
	}
	return fmt.Errorf("Restore of database '%s' failed after writing part of the data (stand-in fault knob \"restore\").", db)
}

// parseRestoreUntil turns --restore-until into a predicate on transactions:
// a transaction id N keeps the transactions before N; a UTC time
// "YYYY-MM-DD HH:MM:SS" keeps those committed before it.
func parseRestoreUntil(v string) (func(store.RawTx) bool, error) {
	if v == "" {
		return nil, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return func(tx store.RawTx) bool { return tx.ID < n }, nil
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05", v, time.UTC)
	if err != nil {
		return nil, usageError("Invalid value for option '--restore-until': '%s' is neither a transaction id nor a date like '2021-09-11 10:15:30'", v)
	}
	return func(tx store.RawTx) bool { return tx.Time.Before(t) }, nil
}

// printRestoreTable prints the summary the real tool ends with.
func printRestoreTable(e *env, jobs []restoreJob) {
	w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "restorePath\trestoreStatus\treason")
	for _, j := range jobs {
		p := j.from
		if len(j.chain) > 0 {
			p = j.chain[len(j.chain)-1].Path
		}
		if j.err != nil {
			fmt.Fprintf(w, "%s\tfailed\t%v\n", p, j.err)
		} else {
			fmt.Fprintf(w, "%s\tsuccessful\t\n", p)
		}
	}
	w.Flush()
}

// startedBehindStop is the "in-use" fault (e2e/standin/faults): a START
// DATABASE that lands behind the STOP the restore followed. The database is
// online again for SHOW DATABASES, and restore refuses it as in use.
func startedBehindStop(st *store.Store, db string) error {
	if err := st.UpdateDatabase(db, func(d *store.DatabaseInfo) bool {
		d.RequestedStatus, d.CurrentStatus, d.StatusMessage = "online", "online", ""
		return true
	}); err != nil {
		return err
	}
	return inUseError(st, db)
}

func inUseError(st *store.Store, db string) error {
	if msg := faults.Variant(st.Dir, "restore-in-use"); msg != "" {
		return errors.New(msg)
	}
	return fmt.Errorf("The database is in use. Stop database '%s' and try again.", db)
}

// lockDatabase takes db's database lock for an offline operation, when db
// has a directory. A running server holding it means the database is
// online: "The database is in use. Stop database '<db>' and try again."
// [S20a]. Writing the lock file needs write access to the database
// directory, as with the real tool.
func lockDatabase(st *store.Store, db string) (*os.File, error) {
	if _, err := os.Stat(st.DatabaseDir(db)); err != nil {
		return nil, nil
	}
	f, err := store.Lock(st.DatabaseLockPath(db))
	switch {
	case errors.Is(err, store.ErrLocked):
		// UNDOCUMENTED for restore (Enterprise, no public source): the
		// variant knob "restore-in-use" (e2e/standin/faults) prints another
		// message, so a plugin cannot rely on this text.
		return nil, inUseError(st, db)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("You do not have permission to access the database '%s' (%s).", db, st.DatabaseLockPath(db))
	case err != nil:
		return nil, err
	}
	return f, nil
}
