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
// had no new transaction since the chain's last artifact. The manual shows
// them as FULL false with LOWEST/HIGHEST TX 0 ([S6] inspect, "--empty").
func (i Info) Empty() bool {
	return i.Full != nil && !*i.Full && i.LowestTx == 0 && i.HighestTx == 0
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
		infos[path.Base(strings.TrimPrefix(file, "file://"))] = Info{
			Database:   str(first(fields, "database", "databasename")),
			DatabaseID: str(first(fields, "databaseid")),
			Time:       str(first(fields, "timeutc", "time", "backuptime")),
			Full:       boolean(first(fields, "full")),
			Compressed: boolean(first(fields, "compressed")),
			LowestTx:   number(first(fields, "lowesttx", "lowesttransactionid", "lowesttxid")),
			HighestTx:  number(first(fields, "highesttx", "highesttransactionid", "highesttxid")),
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

func number(v any) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case string:
		i, _ := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		return i
	}
	return 0
}
