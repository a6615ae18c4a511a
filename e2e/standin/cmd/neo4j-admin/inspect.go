package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/artifact"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/faults"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/version"
)

// inspectCommand is `neo4j-admin backup inspect`, new in 5.25 [S6]; before
// that the metadata was only shown by `database backup --inspect-path`.
var inspectCommand = command{
	path:       "backup inspect",
	enterprise: true,
	since:      "5.25",
	usage: `Usage: neo4j-admin backup inspect [-h] [--empty] [--expand-commands] [--latest-backup]
                                  [--latest-chain] [--show-metadata] [--verbose]
                                  [--additional-config=<file>] [--database=<database>]
                                  [--format=<value>] <backup-path>
Command to read the backup metadata.
`,
	decl: []option{
		{name: "--format", def: "TABULAR"}, {name: "--latest-chain", isBool: true},
		{name: "--latest-backup", isBool: true}, {name: "--show-metadata", isBool: true},
		{name: "--database"}, {name: "--empty", isBool: true}, {name: "--verbose", isBool: true},
		{name: "--additional-config"}, {name: "--expand-commands", isBool: true},
	},
	run: runInspect,
}

// Columns of `backup inspect`, as in the manual's example output [S6][S6b];
// RECOVERED only from 2025.06 [S5b][S6b].
var inspectColumns = []string{"FILE", "DATABASE", "DATABASE ID", "TIME (UTC)", "FULL", "COMPRESSED", "LOWEST TX", "HIGHEST TX"}

const recoveredColumn = "RECOVERED"

// inspectRow is one artifact as `backup inspect` prints it: column name →
// value, every value a string (true/false and numbers included), the way
// Neo4j's only documented admin JSON (store info [S12]) prints values.
//
// UNDOCUMENTED: the manual documents --format=JSON but never shows it. The
// stand-in prints a JSON array with one object per artifact whose keys are
// the TABULAR column headers verbatim ("FILE", "DATABASE", "DATABASE ID",
// "TIME (UTC)", "FULL", "COMPRESSED", "LOWEST TX", "HIGHEST TX",
// "RECOVERED") and whose values are all strings. A plugin must not depend
// on these keys without checking a real release's output.
type inspectRow map[string]string

func runInspect(e *env, o options) error {
	format := strings.ToUpper(o.str("--format"))
	if format != "JSON" && format != "TABULAR" {
		return usageError("Invalid value for option '--format': expected one of [JSON, TABULAR] (case-insensitive) but was '%s'", o.str("--format"))
	}
	if len(o.args) != 1 {
		return usageError("Missing required parameter: '<backup-path>'")
	}
	if o.on("--latest-chain") && o.on("--latest-backup") {
		return usageError("--latest-backup and --latest-chain cannot be used together")
	}
	// [S6b] 2025.07+: --show-metadata is deprecated and ignored; the
	// metadata is always shown. Before, without it only FILE is shown.
	metadata := o.on("--show-metadata")
	if version.AtLeast(e.version, "2025.07") {
		metadata = true
		if o.set["--show-metadata"] {
			fmt.Fprintln(e.stderr, "WARNING: --show-metadata is deprecated and ignored; the backup metadata is always shown.")
		}
	}
	p := filepath.Clean(o.args[0])
	st, err := os.Stat(p)
	if err != nil {
		return failed("Path '%s' does not exist.", p)
	}
	dir := p
	if !st.IsDir() {
		dir = filepath.Dir(p)
	}
	// [S6] "shows the metadata stored in the header of backup files": only
	// headers are read, so a damaged body goes unnoticed here.
	infos, listErr := artifact.List(dir)
	if listErr != nil {
		return failed("%v", listErr)
	}
	selected, err := selectForInspect(infos, p, st.IsDir(), o)
	if err != nil {
		return failed("%v", err)
	}
	columns := inspectColumns
	if !metadata {
		columns = columns[:1]
	}
	// [S5b] the RECOVERED column, 2025.06+.
	if metadata && version.AtLeast(e.version, "2025.06") {
		columns = append(append([]string{}, columns...), recoveredColumn)
	}
	// The variant knob "inspect" (e2e/standin/faults): the layout of
	// inspect's output beyond the manual's table is undocumented.
	variant := faults.Variant(e.dataDir(), "inspect")
	if variant == "no-tx" {
		// The table without its transaction columns: whether a backup is
		// full is told, its transactions (and so whether it is empty) not.
		columns = slices.DeleteFunc(slices.Clone(columns), func(c string) bool { return c == "LOWEST TX" || c == "HIGHEST TX" })
	}
	rows := make([]inspectRow, len(selected))
	for i, in := range selected {
		rows[i] = rowFor(in, columns)
	}
	switch {
	case format == "JSON" || variant == "json-strings":
		b, _ := json.Marshal(rows)
		fmt.Fprintln(e.stdout, string(b))
	case variant == "unknown":
		for _, r := range rows {
			fmt.Fprintf(e.stdout, "Backup: %s\n", r["FILE"])
			for _, c := range columns[1:] {
				fmt.Fprintf(e.stdout, "  %s = %s\n", strings.ToLower(c), r[c])
			}
		}
	default:
		printTable(e, rows, columns)
	}
	return nil
}

// selectForInspect applies the filters. Order follows the manual's
// examples [S6b]: newest first (database name, then time, descending);
// `--latest-chain --database=x` on a folder oldest first, but
// `--latest-chain` on a file newest first.
func selectForInspect(infos []artifact.Info, p string, isDir bool, o options) ([]artifact.Info, error) {
	db := o.str("--database")
	empty := o.on("--empty")
	switch {
	case o.on("--latest-chain") && !isDir:
		for _, in := range infos {
			if in.Path == p {
				chain, err := artifact.ChainEndingAt(infos, in)
				if in.Empty() && err == nil {
					chain = append(chain, in)
				}
				return newestFirst(withEmpties(chain, infos, empty), err)
			}
		}
		return nil, fmt.Errorf("%s is not a backup artifact", p)
	case o.on("--latest-chain"):
		dbs := artifact.Databases(infos)
		if db == "" && len(dbs) > 1 {
			return nil, fmt.Errorf("--latest-chain needs --database when %s holds backups of several databases (%s)", p, strings.Join(dbs, ", "))
		}
		if db == "" && len(dbs) == 1 {
			db = dbs[0]
		}
		chain, err := artifact.NewestChain(infos, db)
		return withEmpties(chain, infos, empty), err
	}
	var out []artifact.Info
	for _, in := range infos {
		if (!isDir && in.Path != p) || (db != "" && in.Database != db) || (in.Empty() && !empty) {
			continue
		}
		out = append(out, in)
	}
	if o.on("--latest-backup") {
		newest := map[string]artifact.Info{}
		for _, in := range out { // out is oldest first
			newest[in.Database] = in
		}
		out = out[:0]
		for _, in := range newest {
			out = append(out, in)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Database != out[j].Database {
			return out[i].Database > out[j].Database
		}
		if !out[i].BackupTime.Equal(out[j].BackupTime) {
			return out[i].BackupTime.After(out[j].BackupTime)
		}
		return out[i].Path > out[j].Path
	})
	return out, nil
}

// withEmpties adds, with --empty, the empty backups taken between the
// chain's artifacts (and after its end) to a chain, oldest first.
func withEmpties(chain, infos []artifact.Info, empty bool) []artifact.Info {
	if !empty || len(chain) == 0 {
		return chain
	}
	first := chain[0]
	out := append([]artifact.Info{}, chain...)
	for _, in := range infos {
		if in.Empty() && in.Database == first.Database && in.StoreID == first.StoreID && in.BackupTime.After(first.BackupTime) && !inChain(out, in.Path) {
			out = append(out, in)
		}
	}
	artifact.Sort(out)
	return out
}

func newestFirst(chain []artifact.Info, err error) ([]artifact.Info, error) {
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain, err
}

func rowFor(in artifact.Info, columns []string) inspectRow {
	abs, _ := filepath.Abs(in.Path)
	all := map[string]string{
		"FILE": "file://" + abs, "DATABASE": in.Database, "DATABASE ID": in.DatabaseID,
		"TIME (UTC)": in.BackupTime.UTC().Format("2006-01-02T15:04:05"),
		"FULL":       strconv.FormatBool(in.Full), "COMPRESSED": strconv.FormatBool(in.Compressed),
		"LOWEST TX": strconv.FormatInt(in.LowestTx, 10), "HIGHEST TX": strconv.FormatInt(in.HighestTx, 10),
		recoveredColumn: strconv.FormatBool(in.Recovered),
	}
	r := inspectRow{}
	for _, c := range columns {
		r[c] = all[c]
	}
	return r
}

// printTable prints the right-aligned, pipe-separated table of the real
// tool: "| <cell> | <cell> |", every column as wide as its widest cell.
func printTable(e *env, rows []inspectRow, columns []string) {
	widths := make([]int, len(columns))
	for i, c := range columns {
		widths[i] = len(c)
		for _, r := range rows {
			widths[i] = max(widths[i], len(r[c]))
		}
	}
	line := func(cell func(i int) string) {
		var b strings.Builder
		b.WriteString("|")
		for i := range columns {
			fmt.Fprintf(&b, " %*s |", widths[i], cell(i))
		}
		fmt.Fprintln(e.stdout, b.String())
	}
	line(func(i int) string { return columns[i] })
	for _, r := range rows {
		line(func(i int) string { return r[columns[i]] })
	}
}
