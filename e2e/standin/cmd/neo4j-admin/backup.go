package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/artifact"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/backupport"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/faults"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/version"
)

var backupCommand = command{
	path:       "database backup",
	enterprise: true,
	usage: `Usage: neo4j-admin database backup [-h] [--expand-commands] [--verbose] [--compress[=true|false]]
                                   [--keep-failed[=true|false]] [--parallel-recovery[=true|false]]
                                   [--additional-config=<file>] [--include-metadata=none|all|users|roles]
                                   [--inspect-path=<path>] [--pagecache=<size>] [--temp-path=<path>]
                                   [--to-path=<path>] [--type=<type>] [--from=<host:port>[,<host:port>...]]...
                                   [<database>...]
Perform an online backup from a running Neo4j enterprise server. Neo4j's backup service must have
been configured on the server beforehand.
`,
	decl: []option{
		{name: "--from"}, {name: "--to-path"}, {name: "--type", def: "AUTO"},
		{name: "--include-metadata", def: "all"}, {name: "--compress", isBool: true, def: "true"},
		{name: "--keep-failed", isBool: true, def: "false"}, {name: "--verbose", isBool: true},
		{name: "--temp-path"}, {name: "--pagecache"}, {name: "--additional-config"},
		{name: "--expand-commands", isBool: true}, {name: "--parallel-recovery", isBool: true},
		// [S2] 2025+ options, each from its release.
		{name: "--prefer-diff-as-parent", isBool: true, since: "2025.04"},
		{name: "--remote-address-resolution", isBool: true, since: "2025.09"},
		{name: "--parallel-download", isBool: true, since: "2025.01"},
		{name: "--skip-recovery", isBool: true, def: "false", since: "2025.11"},
		{name: "--inspect-path"},
	},
	run: runBackup,
}

type backupOptions struct {
	from            []string
	toPath          string
	backupType      string // FULL, DIFF or AUTO
	includeMetadata string
	compress        bool
	keepFailed      bool
	verbose         bool
	skipRecovery    bool
	databases       []string
}

func backupOptionsFrom(o options) (backupOptions, error) {
	opts := backupOptions{
		toPath: o.str("--to-path"), backupType: strings.ToUpper(o.str("--type")),
		includeMetadata: strings.ToLower(o.str("--include-metadata")),
		compress:        o.on("--compress"), keepFailed: o.on("--keep-failed"), verbose: o.on("--verbose"),
		skipRecovery: o.on("--skip-recovery"),
		databases:    o.args,
	}
	if o.set["--inspect-path"] {
		return opts, usageError("--inspect-path is not supported by the Neo4j stand-in; use neo4j-admin backup inspect")
	}
	if opts.toPath == "" {
		return opts, usageError("Missing required option: '--to-path=<path>'")
	}
	switch opts.backupType {
	case "FULL", "DIFF", "AUTO":
	default:
		return opts, usageError("Invalid value for option '--type': expected one of [FULL, DIFF, AUTO] (case-insensitive) but was '%s'", o.str("--type"))
	}
	switch opts.includeMetadata {
	case "none", "all", "users", "roles":
	default:
		return opts, usageError("Invalid value for option '--include-metadata': expected one of [none, all, users, roles] but was '%s'", o.str("--include-metadata"))
	}
	from := o.str("--from")
	if from == "" {
		from = "localhost:6362"
	}
	for _, a := range strings.Split(from, ",") {
		a = strings.TrimSpace(a)
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(a, "6362")
		}
		opts.from = append(opts.from, a)
	}
	if len(opts.databases) == 0 {
		opts.databases = []string{"neo4j"}
	}
	return opts, nil
}

func runBackup(e *env, o options) error {
	opts, err := backupOptionsFrom(o)
	if err != nil {
		return err
	}
	if st, err := os.Stat(opts.toPath); err != nil || !st.IsDir() {
		return failed("Directory '%s' does not exist.", opts.toPath)
	}
	ctx := context.Background()
	log := logger{e: e, source: "c.n.b.b.BackupOutputMonitor"}
	dbs, err := resolveDatabases(ctx, opts)
	if err != nil {
		log.error("%v", err)
		return failed("Execution of backup failed. %v", err)
	}
	var failedDBs []string
	for _, db := range dbs {
		if err := backupDatabase(ctx, e, log, opts, db); err != nil {
			log.error("[%s] Backup of database '%s' failed: %v", db, db, err)
			failedDBs = append(failedDBs, db)
		}
	}
	if len(failedDBs) > 0 {
		return failed("Execution of backup failed. Backup of database(s) %s failed, see the log above for details.", strings.Join(failedDBs, ", "))
	}
	return nil
}

// resolveDatabases expands names and globs ("*", "data*", "n?o4j") against
// the databases the servers report. Plain names are kept as given, so an
// unknown one fails with the server's message.
func resolveDatabases(ctx context.Context, opts backupOptions) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	var all []string
	listed := false
	for _, pattern := range opts.databases {
		if !strings.ContainsAny(pattern, "*?") {
			if !seen[pattern] {
				seen[pattern] = true
				out = append(out, pattern)
			}
			continue
		}
		if !listed {
			var errs []error
			for _, addr := range opts.from {
				names, err := backupport.ListDatabases(ctx, addr)
				if err != nil {
					errs = append(errs, fmt.Errorf("unable to list databases on %s: %w", addr, err))
					continue
				}
				all = append(all, names...)
			}
			if len(all) == 0 && len(errs) > 0 {
				return nil, errors.Join(errs...)
			}
			sort.Strings(all)
			listed = true
		}
		matched := false
		for _, name := range all {
			if ok, _ := path.Match(pattern, name); ok {
				matched = true
				if !seen[name] {
					seen[name] = true
					out = append(out, name)
				}
			}
		}
		if !matched {
			return nil, fmt.Errorf("no database matches '%s' on %s", pattern, strings.Join(opts.from, ","))
		}
	}
	return out, nil
}

func backupDatabase(ctx context.Context, e *env, log logger, opts backupOptions, db string) error {
	start := e.now().UTC()
	req := backupport.Request{Database: db}
	chain, chainErr := existingChain(opts.toPath, db)
	switch {
	case opts.backupType == "DIFF" && chainErr != nil:
		return fmt.Errorf("a differential backup needs a previous backup of database '%s' in %s: %v", db, opts.toPath, chainErr)
	case opts.backupType != "FULL" && chainErr == nil:
		last := chain[len(chain)-1]
		req.AfterTx, req.StoreID = last.HighestTx, last.StoreID
	}
	log.info("[%s] Starting backup of database '%s' from servers: [%s]", db, db, strings.Join(opts.from, ", "))
	if req.StoreID == "" {
		log.info("[%s] Doing full backup...", db)
	} else {
		log.info("[%s] Doing differential backup from transaction %d...", db, req.AfterTx+1)
	}

	hdr, txs, err := fetchFromAny(ctx, log, opts, req)
	if err != nil {
		return err
	}
	// The server's variant knobs, for the aggregate and inspect that follow
	// in this helper (see e2e/standin/faults).
	if err := faults.KeepVariants(e.dataDir(), hdr.Variants); err != nil {
		log.info("[%s] stand-in: could not keep the server's variant knobs: %v", db, err)
	}
	if skip := faults.Variant(e.dataDir(), "backup-skip"); skip != "" && skip == db {
		// Variant "backup-skip": some 5.x releases exit 0 although a
		// backup failed (neo4j/neo4j#13107).
		log.error("[%s] Backup of database '%s' failed (stand-in variant \"backup-skip\")", db, db)
		return nil
	}
	if opts.backupType == "DIFF" && hdr.Full {
		return fmt.Errorf("the store of database '%s' on the server is not the one backed up in %s (store id %s, expected %s); a differential backup is not possible", db, opts.toPath, hdr.StoreID, req.StoreID)
	}
	if opts.verbose {
		log.info("[%s] Received %d transactions (%d..%d), full=%t", db, len(txs), hdr.FromTx, hdr.ToTx, hdr.Full)
	}

	h := artifact.Header{
		Database: db, DatabaseID: artifact.DatabaseIDFor(db, hdr.StoreID), StoreID: hdr.StoreID,
		Full: hdr.Full, BackupTime: start, Neo4jVersion: hdr.ServerVersion, Compressed: opts.compress,
		IncludeMetadata: opts.includeMetadata, Metadata: artifact.MetadataStatements(db, opts.includeMetadata),
		StoreFormat: hdr.StoreFormat,
		// [S2] a 2025+ client recovers a full backup unless --skip-recovery
		// (2025.11); a 5.x client does not (the least convenient reading:
		// 5.x has no RECOVERED column to tell). Differentials never are.
		Recovered: hdr.Full && version.Calver(e.version) && !opts.skipRecovery,
	}
	switch {
	case hdr.Full:
		h.LowestTx, h.HighestTx = 1, hdr.ToTx
	case len(txs) > 0:
		h.LowestTx, h.HighestTx = txs[0].ID, txs[len(txs)-1].ID
	}
	if h.Neo4jVersion == "" {
		h.Neo4jVersion = e.version
	}
	dest := artifact.NewPath(opts.toPath, db, start)
	if _, err := artifact.WriteRawFile(dest, h, txs, hdr.Corrupt); err != nil {
		return fmt.Errorf("writing %s: %w", dest, err)
	}
	log.info("[%s] Backup of database '%s' completed successfully", db, db)
	log.info("Finished artifact creation '%s' for database '%s', took %dms.", filepath.Base(dest), db, e.now().Sub(start).Milliseconds())
	return nil
}

// existingChain is the newest complete chain of db in dir, the parent a
// differential backup continues.
func existingChain(dir, db string) ([]artifact.Info, error) {
	infos, _ := artifact.List(dir) // unreadable artifacts just cannot be parents
	return artifact.NewestChain(infos, db)
}

// fetchFromAny tries the servers in order, like the real client does.
func fetchFromAny(ctx context.Context, log logger, opts backupOptions, req backupport.Request) (backupport.Header, []store.RawTx, error) {
	var errs []string
	for _, addr := range opts.from {
		fctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
		hdr, txs, err := backupport.FetchRaw(fctx, addr, req)
		cancel()
		if err == nil {
			return hdr, txs, nil
		}
		var se *backupport.ServerError
		if !errors.As(err, &se) {
			err = fmt.Errorf("unable to connect to %s: %w", addr, err)
		}
		log.warn("[%s] Backup from %s failed: %v", req.Database, addr, err)
		errs = append(errs, err.Error())
	}
	return backupport.Header{}, nil, errors.New(strings.Join(errs, "; "))
}
