package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/artifact"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/faults"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/version"
)

var checkCommand = command{
	path: "database check",
	usage: `Usage: neo4j-admin database check [-h] [--expand-commands] [--force] [--verbose]
                                  [--check-counts[=true|false]] [--check-graph[=true|false]]
                                  [--check-indexes[=true|false]] [--check-property-owners[=true|false]]
                                  [--additional-config=<file>] [--max-off-heap-memory=<size>]
                                  [--report-path=<path>] [--threads=<number of threads>]
                                  [[--from-path-data=<path> --from-path-txn=<path>] | [--from-path=<path>
                                  [--temp-path=<path>]]] <database>
This command allows for checking the consistency of a database, a dump, or a backup. It cannot be
used with a database which is currently in use.
`,
	decl: []option{
		{name: "--from-path"}, {name: "--report-path", def: "."}, {name: "--verbose", isBool: true},
		{name: "--temp-path"}, {name: "--force", isBool: true}, {name: "--check-counts", isBool: true},
		{name: "--check-graph", isBool: true}, {name: "--check-indexes", isBool: true},
		{name: "--check-property-owners", isBool: true}, {name: "--additional-config"},
		{name: "--max-off-heap-memory"}, {name: "--threads"}, {name: "--expand-commands", isBool: true},
	},
	run: runCheck,
}

// runCheck checks a dump or backup (--from-path) or a stopped database's
// store. Refusals that are not inconsistencies (a differential backup; in
// 2025+ an unrecovered full backup [S7b]; several or no matching archives)
// exit 1 like every failed neo4j-admin command, with a message and NO
// report: only "Inconsistencies found" means the store is inconsistent.
func runCheck(e *env, o options) error {
	if len(o.args) != 1 {
		return usageError("Missing required parameter: '<database>'")
	}
	db := o.args[0]
	faults.Delay(e.dataDir(), "check")
	var problems []string
	if from := o.str("--from-path"); from != "" {
		fi, err := os.Stat(from)
		if err != nil {
			return failed("Path '%s' does not exist.", from)
		}
		dir := from
		if !fi.IsDir() {
			// [S7a] 5.26: --from-path is a folder of dump/backup
			// artifacts; [S7b] a single file from 2025.09.
			if !version.AtLeast(e.version, "2025.09") {
				return failed("%s is not a directory.", from)
			}
			dir = filepath.Dir(from)
		}
		a, err := selectArchive(dir, from, db)
		if err != nil {
			return failed("%v", err)
		}
		if err := checkable(e, a); err != nil {
			return failed("%v", err)
		}
		// UNDOCUMENTED where check extracts without --temp-path; the
		// stand-in does what restore and aggregate do [S3][S5]: inside
		// the --from-path folder.
		work, cleanup, err := workDir(dir, o.str("--temp-path"))
		if err != nil {
			return err
		}
		defer cleanup()
		problems = checkArchive(work, a)
	} else {
		st, err := store.Open(e.dataDir())
		if err != nil {
			return failed("%v", err)
		}
		if _, err := os.Stat(st.LogPath(db)); err != nil {
			return failed("Database '%s' does not exist at %s.", db, st.DatabaseDir(db))
		}
		lock, err := lockDatabase(st, db)
		if err != nil {
			return failed("%v", err)
		}
		defer store.Unlock(lock)
		if _, _, err := st.Counts(db); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if faults.Take(e.dataDir(), "check") {
		problems = append(problems, "stand-in fault knob \"check\"")
	}
	printProgress(e)
	// UNDOCUMENTED in detail whether and where the report is written: the
	// variant knob "check-report" (e2e/standin/faults) chooses "none",
	// "always" or "elsewhere" (the working directory).
	reportPath := o.str("--report-path")
	switch faults.Variant(e.dataDir(), "check-report") {
	case "always":
		if len(problems) == 0 {
			_, err := writeReport(e, reportPath, db, nil)
			return err
		}
	case "elsewhere":
		reportPath = "."
	case "none":
		if len(problems) > 0 {
			for _, p := range problems {
				fmt.Fprintf(e.stdout, "ERROR: %s\n", p)
			}
			return failed("Inconsistencies found: %d.", len(problems))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	report, err := writeReport(e, reportPath, db, problems)
	if err != nil {
		return failed("Inconsistencies found: %d. Unable to write the report: %v", len(problems), err)
	}
	for _, p := range problems {
		fmt.Fprintf(e.stdout, "ERROR: %s\n", p)
	}
	return failed("Inconsistencies found: %d. See '%s' for details.", len(problems), report)
}

// checkable refuses what check cannot check [S7b]: "consistency check is
// not supported for differential backups or unrecovered full backups. The
// backup chain must be aggregated into a full recovered backup artifact
// before running consistency check." Differentials are refused by 5.26
// too; unrecovered full backups only from 2025.01 (RECOVERED exists from
// 2025.06, the refusal is documented for 2025+).
func checkable(e *env, a archive) error {
	if a.dump != nil {
		return nil
	}
	agg := "neo4j-admin database aggregate-backup"
	if version.Calver(e.version) {
		agg = "neo4j-admin backup aggregate"
	}
	switch {
	case !a.backup.Full:
		return fmt.Errorf("Consistency check is not supported for differential backups: %s. Aggregate the backup chain into a full recovered backup artifact with '%s' before running consistency check.", a.path, agg)
	case version.Calver(e.version) && !a.backup.Recovered:
		return fmt.Errorf("Consistency check is not supported for unrecovered full backups: %s. Aggregate the backup chain into a full recovered backup artifact with '%s' before running consistency check.", a.path, agg)
	}
	return nil
}

// checkArchive reads the whole archive (checksum and transactions),
// staging it in the work directory like the real checker extracts it.
func checkArchive(work string, a archive) []string {
	var txs []store.RawTx
	var err error
	if a.dump != nil {
		_, txs, err = artifact.ReadDump(a.path)
	} else {
		_, txs, err = artifact.ReadRaw(a.path)
	}
	if err != nil {
		return []string{err.Error()}
	}
	if err := stage(work, txs); err != nil {
		return []string{err.Error()}
	}
	var decoded []store.Tx
	for _, r := range txs {
		tx, err := r.Decode()
		if err != nil {
			return []string{fmt.Sprintf("%s: transaction %d: %v", a.path, r.ID, err)}
		}
		decoded = append(decoded, tx)
	}
	if _, _, err := store.Replay(decoded); err != nil {
		return []string{err.Error()}
	}
	return nil
}

func printProgress(e *env) {
	fmt.Fprintln(e.stdout, "Running consistency check with max off-heap:618.6MiB")
	for _, phase := range []string{"ID Generator consistency check", "Index structure consistency check", "Consistency check"} {
		fmt.Fprintln(e.stdout, phase)
		for pct := 10; pct <= 100; pct += 10 {
			fmt.Fprintf(e.stdout, "%s %3d%%\n", strings.Repeat(".", 20), pct)
		}
	}
}

// writeReport writes inconsistencies-YYYY-MM-DD.HH.MM.SS.report into the
// report path (a directory, unless it ends in .report).
func writeReport(e *env, reportPath, db string, problems []string) (string, error) {
	p := reportPath
	if !strings.HasSuffix(p, ".report") {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return "", err
		}
		p = filepath.Join(p, "inconsistencies-"+e.now().Format("2006-01-02.15.04.05")+".report")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Consistency check of database '%s' found %d inconsistencies:\n", db, len(problems))
	for _, pr := range problems {
		fmt.Fprintf(&b, "ERROR: %s\n", pr)
	}
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		return "", err
	}
	abs, _ := filepath.Abs(p)
	return abs, nil
}
