package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/artifact"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/faults"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
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

// runCheck checks a backup (--from-path: the newest chain of the database
// in that folder: every artifact's checksum, its transactions and the
// continuity of the chain) or a stopped database's store.
func runCheck(e *env, o options) error {
	if len(o.args) != 1 {
		return usageError("Missing required parameter: '<database>'")
	}
	db := o.args[0]
	faults.Delay(e.dataDir(), "check")
	var problems []string
	if from := o.str("--from-path"); from != "" {
		if _, err := os.Stat(from); err != nil {
			return failed("Path '%s' does not exist.", from)
		}
		problems = checkBackup(from, db)
	} else {
		st, err := store.Open(e.dataDir())
		if err != nil {
			return failed("%v", err)
		}
		if info, ok, _ := st.Database(db); ok && info.CurrentStatus != "offline" {
			return failed("The database is in use. Stop database '%s' and try again.", db)
		}
		if _, err := os.Stat(st.LogPath(db)); err != nil {
			return failed("Database '%s' does not exist at %s.", db, st.DatabaseDir(db))
		}
		if _, _, err := st.Counts(db); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if faults.Take(e.dataDir(), "check") {
		problems = append(problems, "stand-in fault knob \"check\"")
	}
	printProgress(e)
	if len(problems) == 0 {
		return nil
	}
	report, err := writeReport(e, o.str("--report-path"), db, problems)
	if err != nil {
		return failed("Inconsistencies found: %d. Unable to write the report: %v", len(problems), err)
	}
	for _, p := range problems {
		fmt.Fprintf(e.stdout, "ERROR: %s\n", p)
	}
	return failed("Inconsistencies found: %d. See '%s' for details.", len(problems), report)
}

func checkBackup(from, db string) []string {
	dir := from
	if st, _ := os.Stat(from); !st.IsDir() {
		dir = filepath.Dir(from)
	}
	infos, listErr := artifact.List(dir)
	var problems []string
	if listErr != nil {
		problems = append(problems, listErr.Error())
	}
	chain, err := artifact.NewestChain(infos, db)
	if err != nil {
		return append(problems, err.Error())
	}
	for _, in := range chain {
		if _, err := artifact.Verify(in.Path); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) == 0 {
		if _, _, err := artifact.ReadChain(chain); err != nil {
			problems = append(problems, err.Error())
		}
	}
	return problems
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
