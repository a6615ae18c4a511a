package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/artifact"
)

var inspectCommand = command{
	path:       "backup inspect",
	enterprise: true,
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

// inspectRow is one artifact as `backup inspect --format=JSON` prints it.
// The real tool's JSON field names are not documented; these follow its
// table columns (FILE, DATABASE, DATABASE ID, TIME (UTC), FULL,
// COMPRESSED, LOWEST TX, HIGHEST TX). Without --show-metadata only the
// file is shown, as in Neo4j 5.26.
type inspectRow struct {
	File       string `json:"file"`
	Database   string `json:"database,omitempty"`
	DatabaseID string `json:"databaseId,omitempty"`
	Time       string `json:"time,omitempty"`
	Full       *bool  `json:"full,omitempty"`
	Compressed *bool  `json:"compressed,omitempty"`
	LowestTx   *int64 `json:"lowestTx,omitempty"`
	HighestTx  *int64 `json:"highestTx,omitempty"`
}

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
	p := filepath.Clean(o.args[0])
	st, err := os.Stat(p)
	if err != nil {
		return failed("Path '%s' does not exist.", p)
	}
	dir := p
	if !st.IsDir() {
		dir = filepath.Dir(p)
	}
	infos, listErr := artifact.List(dir)
	selected, err := selectForInspect(infos, p, st.IsDir(), o)
	if err != nil {
		return failed("%v", err)
	}
	rows := make([]inspectRow, len(selected))
	for i, in := range selected {
		rows[i] = rowFor(in, o.on("--show-metadata"))
	}
	if format == "JSON" {
		b, _ := json.Marshal(rows)
		fmt.Fprintln(e.stdout, string(b))
	} else {
		printTable(e, rows, o.on("--show-metadata"))
	}
	// The stand-in also verifies the bodies, so a corrupted artifact is
	// caught here too (the real tool only reads headers).
	var problems []error
	if listErr != nil {
		problems = append(problems, listErr)
	}
	for _, in := range selected {
		if _, err := artifact.Verify(in.Path); err != nil {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		return failed("%v", errors.Join(problems...))
	}
	return nil
}

func selectForInspect(infos []artifact.Info, p string, isDir bool, o options) ([]artifact.Info, error) {
	db := o.str("--database")
	var out []artifact.Info
	switch {
	case o.on("--latest-chain") && !isDir:
		for _, in := range infos {
			if in.Path == p {
				return newestFirst(artifact.ChainEndingAt(infos, in))
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
		return newestFirst(artifact.NewestChain(infos, db))
	}
	for _, in := range infos {
		if (!isDir && in.Path != p) || (db != "" && in.Database != db) || (in.Empty() && !o.on("--empty")) {
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
	sort.Slice(out, func(i, j int) bool { return out[i].Path > out[j].Path })
	return out, nil
}

func newestFirst(chain []artifact.Info, err error) ([]artifact.Info, error) {
	for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
		chain[i], chain[j] = chain[j], chain[i]
	}
	return chain, err
}

func rowFor(in artifact.Info, metadata bool) inspectRow {
	abs, _ := filepath.Abs(in.Path)
	r := inspectRow{File: "file://" + abs}
	if metadata {
		full, comp, lo, hi := in.Full, in.Compressed, in.LowestTx, in.HighestTx
		r.Database, r.DatabaseID = in.Database, in.DatabaseID
		r.Time = in.BackupTime.UTC().Format("2006-01-02T15:04:05")
		r.Full, r.Compressed, r.LowestTx, r.HighestTx = &full, &comp, &lo, &hi
	}
	return r
}

// printTable prints the right-aligned, pipe-separated table of the real tool.
func printTable(e *env, rows []inspectRow, metadata bool) {
	header := []string{"FILE"}
	if metadata {
		header = append(header, "DATABASE", "DATABASE ID", "TIME (UTC)", "FULL", "COMPRESSED", "LOWEST TX", "HIGHEST TX")
	}
	cells := [][]string{header}
	for _, r := range rows {
		c := []string{r.File}
		if metadata {
			c = append(c, r.Database, r.DatabaseID, r.Time, strconv.FormatBool(*r.Full), strconv.FormatBool(*r.Compressed),
				strconv.FormatInt(*r.LowestTx, 10), strconv.FormatInt(*r.HighestTx, 10))
		}
		cells = append(cells, c)
	}
	widths := make([]int, len(header))
	for _, c := range cells {
		for i, s := range c {
			widths[i] = max(widths[i], len(s))
		}
	}
	for _, c := range cells {
		var b strings.Builder
		b.WriteString("|")
		for i, s := range c {
			fmt.Fprintf(&b, " %*s |", widths[i], s)
		}
		fmt.Fprintln(e.stdout, b.String())
	}
}
