package main

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/faults"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/artifact"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/version"
)

// dumpCommand and loadCommand are the offline dump and load of both
// editions [S18][S19][S20a][S20b]. In Community the whole DBMS must be
// offline (the server holds <data>/databases/store_lock); in Enterprise only
// the database (STOP DATABASE releases <db>/database_lock) [S18][S19].
var dumpCommand = command{
	path: "database dump",
	usage: `Usage: neo4j-admin database dump [-h] [--expand-commands] [--verbose] [--overwrite-destination
                                 [=true|false]] [--additional-config=<file>] [--to-path=<path> |
                                 --to-stdout] <database>
Dump a database into a single-file archive.
`,
	decl: []option{
		{name: "--to-path"}, {name: "--to-stdout", isBool: true}, {name: "--overwrite-destination", isBool: true, def: "false"},
		{name: "--verbose", isBool: true}, {name: "--additional-config"}, {name: "--expand-commands", isBool: true},
	},
	run: runDump,
}

var loadCommand = command{
	path: "database load",
	usage: `Usage: neo4j-admin database load [-h] [--expand-commands] [--info] [--verbose]
                                 [--overwrite-destination[=true|false]] [--additional-config=<file>]
                                 [--from-path=<path> | --from-stdin] <database>
Load a database from an archive created with the dump command or from full Neo4j Enterprise backup.
`,
	decl: []option{
		{name: "--from-path"}, {name: "--from-stdin", isBool: true}, {name: "--overwrite-destination", isBool: true, def: "false"},
		{name: "--info", isBool: true}, {name: "--verbose", isBool: true}, {name: "--additional-config"},
		{name: "--expand-commands", isBool: true},
	},
	run: runLoad,
}

// dumpsRoot is server.directories.dumps.root (data/dumps) [S18].
func (e *env) dumpsRoot() string { return filepath.Join(e.dataDir(), "dumps") }

// offline takes the locks an offline command needs on db: the DBMS lock in
// Community (the whole DBMS must be down) and the database lock in both.
// The caller releases them.
func offline(e *env, st *store.Store, db, verb string) (func(), error) {
	var held []*os.File
	release := func() {
		for _, f := range held {
			store.Unlock(f)
		}
	}
	paths := []string{st.DatabaseLockPath(db)}
	if e.community {
		paths = append([]string{st.DBMSLockPath()}, paths...)
	}
	for _, p := range paths {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			release()
			return nil, failed("You do not have permission to %s the database.", verb)
		}
		f, err := store.Lock(p)
		switch {
		case errors.Is(err, store.ErrLocked):
			release()
			return nil, failed("The database is in use. Stop database '%s' and try again.", db)
		case errors.Is(err, fs.ErrPermission):
			release()
			return nil, failed("You do not have permission to %s the database.", verb)
		case err != nil:
			release()
			return nil, failed("%v", err)
		}
		held = append(held, f)
	}
	return release, nil
}

func runDump(e *env, o options) error {
	if len(o.args) != 1 {
		return usageError("Missing required parameter: '<database>'")
	}
	if o.set["--to-path"] && o.on("--to-stdout") {
		return usageError("Error: --to-path=<path>, --to-stdout are mutually exclusive (specify only one)")
	}
	faults.Delay(e.dataDir(), "dump")
	st, err := store.Open(e.dataDir())
	if err != nil {
		return failed("%v", err)
	}
	pattern := o.args[0]
	dbs, err := matchDatabases(st, pattern)
	if err != nil {
		return err
	}
	if o.on("--to-stdout") && (len(dbs) != 1 || strings.ContainsAny(pattern, "*?")) {
		return usageError("Globbing in database name can not be used in combination with standard output. Specify a valid database name.")
	}
	toPath := o.str("--to-path")
	if toPath == "" && !o.on("--to-stdout") {
		toPath = e.dumpsRoot()
		_ = os.MkdirAll(toPath, 0o755)
	}
	if !o.on("--to-stdout") {
		if fi, err := os.Stat(toPath); err != nil || !fi.IsDir() {
			return failed("%s is not an existing directory", toPath)
		}
	}
	var errs []string
	for _, db := range dbs {
		if err := dumpOne(e, st, db, toPath, o.on("--to-stdout"), o.on("--overwrite-destination")); err != nil {
			var xe *exitError
			if errors.As(err, &xe) && len(dbs) == 1 {
				return err
			}
			errs = append(errs, fmt.Sprintf("%s: %v", db, err))
		}
	}
	if len(errs) > 0 {
		return failed("Dump failed for databases: %s", strings.Join(errs, "; "))
	}
	return nil
}

func matchDatabases(st *store.Store, pattern string) ([]string, error) {
	if !strings.ContainsAny(pattern, "*?") {
		if _, err := os.Stat(st.LogPath(pattern)); err != nil {
			return nil, failed("Database does not exist: %s", pattern)
		}
		return []string{pattern}, nil
	}
	entries, _ := os.ReadDir(filepath.Join(st.Dir, "databases"))
	var out []string
	for _, en := range entries {
		if ok, _ := path.Match(pattern, en.Name()); ok && en.IsDir() {
			out = append(out, en.Name())
		}
	}
	if len(out) == 0 {
		return nil, failed("Pattern '%s' did not match any database", pattern)
	}
	return out, nil
}

func dumpOne(e *env, st *store.Store, db, toPath string, stdout, overwrite bool) error {
	release, err := offline(e, st, db, "dump")
	if err != nil {
		return err
	}
	defer release()
	// [S20a] a store not shut down cleanly (SIGKILL) needs recovery first.
	if st.NeedsRecovery(db) {
		return failed("Active logical log detected, this might be a source of inconsistencies.\nPlease recover database before running the dump.\nTo perform recovery please start database and perform clean shutdown.")
	}
	txs, _, storeID, err := st.ReadRaw(db, 0)
	if err != nil {
		return failed("%v", err)
	}
	h := artifact.DumpHeader{Database: db, StoreID: storeID, StoreFormat: st.Format(db), Neo4jVersion: e.version, Files: 4}
	if stdout {
		_, err := artifact.WriteDump(e.stdout, h, txs)
		return err
	}
	// [S18][S20a] the file is exactly <database>.dump.
	dest := filepath.Join(toPath, db+artifact.DumpExt)
	if _, err := os.Stat(dest); err == nil && !overwrite {
		return failed("Archive already exists: %s", dest)
	}
	tmp, err := os.CreateTemp(toPath, "."+db+".dump.tmp-*")
	if err != nil {
		if errors.Is(err, fs.ErrPermission) {
			return failed("java.nio.file.AccessDeniedException: %s", dest)
		}
		return failed("%v", err)
	}
	defer os.Remove(tmp.Name())
	h, err = artifact.WriteDump(tmp, h, txs)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dest)
	}
	if err != nil {
		return failed("%v", err)
	}
	fmt.Fprintf(e.stderr, "Done: %d files, %s processed.\n", h.Files, humanBytes(h.BodySize))
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.3fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.3fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.3fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

// archive is one dump or backup artifact that load (and check) chose.
type archive struct {
	path   string
	dump   *artifact.DumpHeader
	backup *artifact.Header
}

func (a archive) database() string {
	if a.dump != nil {
		return a.dump.Database
	}
	return a.backup.Database
}

// selectArchive picks db's archive in dir like load does [S20b]: <db>.dump
// by file name, *.backup by the database in its header. Exactly one must
// match. file, when it names a file, is the only candidate.
func selectArchive(dir, file, db string) (archive, error) {
	var cands []archive
	add := func(p string) {
		if strings.HasSuffix(p, artifact.DumpExt) {
			if h, err := artifact.ReadDumpHeader(p); err == nil && (filepath.Base(p) == db+artifact.DumpExt || h.Database == db) {
				cands = append(cands, archive{path: p, dump: &h})
			}
			return
		}
		if h, err := artifact.ReadHeader(p); err == nil && h.Database == db {
			cands = append(cands, archive{path: p, backup: &h})
		}
	}
	if fi, err := os.Stat(file); err == nil && !fi.IsDir() {
		add(file)
	} else {
		entries, _ := os.ReadDir(dir)
		for _, en := range entries {
			if !en.IsDir() && (strings.HasSuffix(en.Name(), artifact.DumpExt) || strings.HasSuffix(en.Name(), artifact.Ext)) {
				add(filepath.Join(dir, en.Name()))
			}
		}
	}
	switch len(cands) {
	case 0:
		return archive{}, fmt.Errorf("No matching archives found in %s for database '%s'.", dir, db)
	case 1:
		return cands[0], nil
	}
	names := make([]string, len(cands))
	for i, c := range cands {
		names[i] = c.path
	}
	sort.Strings(names)
	return archive{}, fmt.Errorf("Multiple archives match: [%s]. Remove ambiguity by leaving only one of the above, or use --from-stdin.", strings.Join(names, ", "))
}

func runLoad(e *env, o options) error {
	if len(o.args) != 1 {
		return usageError("Missing required parameter: '<database>'")
	}
	if o.set["--from-path"] && o.on("--from-stdin") {
		return usageError("Error: --from-path=<path>, --from-stdin are mutually exclusive (specify only one)")
	}
	db := o.args[0]
	if strings.ContainsAny(db, "*?") {
		return usageError("The stand-in's load takes one database name, not a pattern.")
	}
	var a archive
	var txs []store.RawTx
	if o.on("--from-stdin") {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return failed("%v", err)
		}
		h, t, err := artifact.ReadDumpFrom(bytes.NewReader(b), "<stdin>")
		if err != nil {
			return failed("%v", err)
		}
		a, txs = archive{path: "<stdin>", dump: &h}, t
	} else {
		from := o.str("--from-path")
		if from == "" {
			from = e.dumpsRoot()
		}
		// [S19][S20b] --from-path is a folder holding the archive(s).
		if fi, err := os.Stat(from); err != nil || !fi.IsDir() {
			return failed("%s is not an existing directory", from)
		}
		var err error
		if a, err = selectArchive(from, "", db); err != nil {
			return failed("%v", err)
		}
	}
	format, storeFormat, version_ := "", "aligned", ""
	if a.dump != nil {
		format, storeFormat, version_ = a.dump.Format, a.dump.StoreFormat, a.dump.Neo4jVersion
	} else {
		format, storeFormat, version_ = "Neo4j Full Backup", a.backup.StoreFormat, a.backup.Neo4jVersion
		if !a.backup.Full {
			format = "Neo4j Differential Backup"
		}
	}
	if o.on("--info") {
		size := int64(0)
		files := 4
		if a.dump != nil {
			size = a.dump.BodySize
		} else {
			size = a.backup.BodySize
		}
		fmt.Fprintf(e.stdout, "Database: %s\nFormat: %s\nFiles: %d\nBytes: %d\n", a.database(), format, files, size)
		return nil
	}
	if a.backup != nil {
		// [S3][S19] 5.20+: a FULL Enterprise backup loads (Community too).
		if !a.backup.Full {
			return failed("Loading of differential Neo4j backup is not supported. Use restore database instead.")
		}
		// UNDOCUMENTED whether 2025+ loads an unrecovered full backup
		// (--skip-recovery, 2025.11): the stand-in refuses it.
		if version.Calver(e.version) && !a.backup.Recovered {
			return failed("The backup %s is not recovered. Aggregate it with 'neo4j-admin backup aggregate' before loading it.", a.path)
		}
		h, t, err := artifact.ReadRaw(a.path)
		if err != nil {
			return failed("%v", err)
		}
		txs, storeFormat = t, h.StoreFormat
	} else if txs == nil {
		_, t, err := artifact.ReadDump(a.path)
		if err != nil {
			return failed("%v", err)
		}
		txs = t
	}
	// [S21] neo4j/neo4j#13444: block is Enterprise-only.
	if e.community && storeFormat == "block" {
		return failed("Block format detected for database %s but unavailable in this edition.", db)
	}
	// [S3] §5.8: no downgrade.
	if version_ != "" && !version.AtLeast(e.version, version_) {
		return failed("The loaded database is of a newer version than the current binaries. Downgrade is not supported.")
	}
	if db == "system" {
		fmt.Fprintln(e.stderr, "WARNING: The loaded system database dump may contain unwanted metadata for the DBMS it was taken from; loading it replaces users, roles and database states.")
	}
	st, err := store.Open(e.dataDir())
	if err != nil {
		return failed("%v", err)
	}
	release, err := offline(e, st, db, "load")
	if err != nil {
		return err
	}
	defer release()
	if _, err := os.Stat(st.LogPath(db)); err == nil && !o.on("--overwrite-destination") {
		return failed("Database already exists: %s. Use --overwrite-destination to replace it.", db)
	}
	// [S20d] --overwrite-destination deletes the database directory (and
	// its transaction logs) first: a failed load leaves no database.
	if err := clearDatabase(st, db); err != nil {
		return failed("%v", err)
	}
	faults.Delay(e.dataDir(), "load")
	if faults.Take(e.dataDir(), "load") {
		return failed("Load of database '%s' failed after deleting it (stand-in fault knob \"load\").", db)
	}
	storeID := store.NewStoreID()
	if a.dump != nil && a.dump.StoreID != "" {
		storeID = a.dump.StoreID
	} else if a.backup != nil {
		storeID = a.backup.StoreID
	}
	if err := st.ReplaceStoreRaw(db, txs, storeID); err != nil {
		return failed("%v", err)
	}
	st.MarkClean(db)
	if err := st.SetFormat(db, storeFormat); err != nil {
		return failed("%v", err)
	}
	fmt.Fprintf(e.stderr, "Done: %d files, %s processed.\n", 4, humanBytes(int64(len(txs))))
	return nil
}

// clearDatabase removes db's files except its lock (held by the caller).
func clearDatabase(st *store.Store, db string) error {
	entries, err := os.ReadDir(st.DatabaseDir(db))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, en := range entries {
		if en.Name() == store.DatabaseLockFile {
			continue
		}
		if err := os.RemoveAll(filepath.Join(st.DatabaseDir(db), en.Name())); err != nil {
			return err
		}
	}
	return nil
}
