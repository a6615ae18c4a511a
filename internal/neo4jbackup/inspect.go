package neo4jbackup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
)

// Info is Neo4j's own view of an artifact, from the header that
// `neo4j-admin backup inspect` reads.
type Info struct {
	Database   string `json:"database,omitempty"`
	DatabaseID string `json:"database_id,omitempty"`
	Time       string `json:"time,omitempty"`
	Full       *bool  `json:"full,omitempty"`
	Compressed *bool  `json:"compressed,omitempty"`
	LowestTx   int64  `json:"lowest_tx,omitempty"`
	HighestTx  int64  `json:"highest_tx,omitempty"`
	// TxKnown is set when inspect printed both LowestTx and HighestTx as
	// numbers. Without it the 0s above mean "not told", never "no
	// transaction": a layout without the transaction columns (research
	// NEO4J.md §7) describes a differential backup holding data as FULL
	// false and nothing more.
	TxKnown bool `json:"tx_known"`
	// Recovered is printed from 2025.06 on ([S5b]); nil before.
	Recovered *bool `json:"recovered,omitempty"`
}

// Type is backupset.TypeFull or TypeDiff, or "" when inspect did not say.
func (i Info) Type() string {
	switch {
	case i.Full == nil:
		return ""
	case *i.Full:
		return backupset.TypeFull
	}
	return backupset.TypeDiff
}

// OtherDatabase is the problem of a file named as a backup of db whose
// header says it is one of another database, "" when it is not: restore's
// preflight and verify --adopt refuse such a file alike.
func (i Info) OtherDatabase(name, db string) string {
	if i.Database == "" || i.Database == db {
		return ""
	}
	return fmt.Sprintf("a backup of database %s, not %s, according to its header", i.Database, db)
}

// Empty reports an empty backup: neo4j-admin writes one when the database
// had no new transaction since the chain's last artifact. The manual has no
// marker of its own for them: it shows them as FULL false with LOWEST TX and
// HIGHEST TX both 0, listed only with --empty ([S6]:
// neo4j/docs-operations@5.x backup-restore/inspect.adoc:147-157, and @main
// for 2025.06+ with RECOVERED; research NEO4J-OUTPUT.md §1.1, §1.5, §1.9).
// So a backup is empty only when inspect printed that range: when it did not
// print the transaction columns (TxKnown false) the backup may hold data and
// is never taken for an empty one, which restore would skip.
func (i Info) Empty() bool {
	return i.Full != nil && !*i.Full && i.TxKnown && i.LowestTx == 0 && i.HighestTx == 0
}

// Inspect runs `neo4j-admin backup inspect --empty` on dir in the helper and
// parses what it prints. It asks for the documented table (the manual's
// examples show its columns; the JSON form's keys are undocumented) and
// reads either form. --empty lists empty backups too, which inspect hides by
// default ([S6]). Neo4j 5.25 to 2025.06 print the metadata only with
// --show-metadata; 2025.07 deprecated it and ignores it ([S6b]): a release
// that refuses the option is asked again without it. The map holds what was
// parsed even when neo4j-admin then failed (it prints the rows of readable
// artifacts before complaining about an unreadable one).
func Inspect(ctx context.Context, s *helper.Session, dir string) (map[string]Info, error) {
	info, _, err := inspectOutput(ctx, s, dir)
	return info, err
}

// inspectOutput is Inspect that also returns what neo4j-admin printed, for
// an error that says what could not be read.
func inspectOutput(ctx context.Context, s *helper.Session, dir string) (map[string]Info, string, error) {
	run := func(extra ...string) (string, error) {
		args := append([]string{"backup", "inspect", "--empty"}, extra...)
		return s.Admin(ctx, helper.AdminRun{ID: "inspect", Text: "neo4j-admin backup inspect", Args: append(args, dir)})
	}
	out, err := run("--show-metadata")
	var ae *helper.AdminError
	if errors.As(err, &ae) && strings.Contains(strings.ToLower(ae.Output), "show-metadata") {
		out, err = run()
	}
	if errors.As(err, &ae) && out == "" {
		out = ae.Output
	}
	return ParseInspect(out), out, err
}

// ParseInspect reads the output of backup inspect: the documented table
// (`| FILE | DATABASE | … |` rows), or JSON (an array of objects, or one
// object a line) whose values may be strings or typed. Column and key names
// are matched loosely (case and punctuation ignored, "lowestTx" or
// "LOWEST TX"), since the JSON keys are not documented. Other lines (logs,
// warnings) are skipped.
func ParseInspect(out string) map[string]Info {
	rows := tableRows(out)
	rows = append(rows, jsonRows(out)...)
	infos := map[string]Info{}
	for _, row := range rows {
		fields := map[string]any{}
		for k, v := range row {
			fields[normalizeKey(k)] = v
		}
		file := str(first(fields, "file", "path", "uri", "backup", "artifact"))
		if file == "" {
			continue
		}
		lowest, lowOK := number(first(fields, "lowesttx", "lowesttransactionid", "lowesttxid"))
		highest, highOK := number(first(fields, "highesttx", "highesttransactionid", "highesttxid"))
		infos[path.Base(strings.TrimPrefix(file, "file://"))] = Info{
			Database:   str(first(fields, "database", "databasename")),
			DatabaseID: str(first(fields, "databaseid")),
			Time:       str(first(fields, "timeutc", "time", "backuptime")),
			Full:       boolean(first(fields, "full")),
			Compressed: boolean(first(fields, "compressed")),
			LowestTx:   lowest,
			HighestTx:  highest,
			TxKnown:    lowOK && highOK,
			Recovered:  boolean(first(fields, "recovered")),
		}
	}
	return infos
}

// tableRows reads the `|`-delimited table: the first row whose cells include
// FILE is the header.
func tableRows(out string) []map[string]any {
	var header []string
	var rows []map[string]any
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") || !strings.HasSuffix(line, "|") || len(line) < 2 {
			continue
		}
		cells := strings.Split(line[1:len(line)-1], "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if header == nil {
			for _, c := range cells {
				if strings.EqualFold(c, "FILE") {
					header = cells
					break
				}
			}
			continue
		}
		if len(cells) != len(header) {
			continue
		}
		row := map[string]any{}
		for i, c := range cells {
			row[header[i]] = c
		}
		rows = append(rows, row)
	}
	return rows
}

func jsonRows(out string) []map[string]any {
	var rows []map[string]any
	if json.Unmarshal([]byte(strings.TrimSpace(out)), &rows) == nil {
		return rows
	}
	rows = nil
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		var many []map[string]any
		var one map[string]any
		switch {
		case strings.HasPrefix(line, "[") && json.Unmarshal([]byte(line), &many) == nil:
			rows = append(rows, many...)
		case strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &one) == nil:
			rows = append(rows, one)
		}
	}
	return rows
}

func normalizeKey(k string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(k) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func first(fields map[string]any, keys ...string) any {
	for _, k := range keys {
		if v, ok := fields[k]; ok && v != nil {
			return v
		}
	}
	return nil
}

func str(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case float64:
		return strconv.FormatFloat(s, 'f', -1, 64)
	}
	return ""
}

func boolean(v any) *bool {
	switch b := v.(type) {
	case bool:
		return &b
	case string:
		switch strings.ToLower(strings.TrimSpace(b)) {
		case "true", "yes":
			t := true
			return &t
		case "false", "no":
			f := false
			return &f
		}
	}
	return nil
}

// number reads a transaction id; ok is false when there is none (no such
// column or key, an empty cell, text that is not a whole number).
func number(v any) (n int64, ok bool) {
	switch x := v.(type) {
	case float64:
		if x < 0 || x != float64(int64(x)) {
			return 0, false
		}
		return int64(x), true
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil || i < 0 {
			return 0, false
		}
		return i, true
	}
	return 0, false
}
