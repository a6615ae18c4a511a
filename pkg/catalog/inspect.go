package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"path"
	"strconv"
	"strings"

	"github.com/opsmill/docker-infrahubdb/pkg/backupset"
	"github.com/opsmill/docker-infrahubdb/pkg/helper"
)

// InspectInfo is Neo4j's own view of an artifact, from the header that
// `neo4j-admin backup inspect` reads.
type InspectInfo struct {
	Database   string `json:"database,omitempty"`
	DatabaseID string `json:"database_id,omitempty"`
	Time       string `json:"time,omitempty"`
	Full       *bool  `json:"full,omitempty"`
	Compressed *bool  `json:"compressed,omitempty"`
	LowestTx   int64  `json:"lowest_tx,omitempty"`
	HighestTx  int64  `json:"highest_tx,omitempty"`
}

// Type is backupset.TypeFull or TypeDiff, or "" when inspect did not say.
func (i InspectInfo) Type() string {
	switch {
	case i.Full == nil:
		return ""
	case *i.Full:
		return backupset.TypeFull
	}
	return backupset.TypeDiff
}

const inspectSub = "inspect"

// inspect seeds the named artifacts into the helper and runs
// `neo4j-admin backup inspect --format=JSON` on them. Neo4j 5 shows the
// metadata only with --show-metadata; 2025.07 and later show it always and
// dropped the option, so a refusal of the option is retried without it.
// The map holds what was parsed even when neo4j-admin then failed (it
// prints the rows before complaining about an unreadable artifact).
func inspect(ctx context.Context, s *helper.Session, folder *backupset.Folder, names []string) (map[string]InspectInfo, error) {
	if err := s.Seed(ctx, folder, inspectSub, names); err != nil {
		return nil, err
	}
	dir := path.Join(helper.WorkDir, inspectSub)
	run := func(extra ...string) (string, error) {
		args := append([]string{"backup", "inspect", "--format=JSON"}, extra...)
		return s.Admin(ctx, helper.AdminRun{ID: "inspect", Text: "neo4j-admin backup inspect", Args: append(args, dir)})
	}
	out, err := run("--show-metadata")
	var ae *helper.AdminError
	if errors.As(err, &ae) && strings.Contains(strings.ToLower(ae.Output), "show-metadata") {
		out, err = run()
	}
	return parseInspect(out), err
}

// parseInspect reads inspect's JSON: an array of objects (or one object a
// line). Field names are matched loosely (case and punctuation ignored,
// "lowestTx" or "lowestTransactionId"), since Neo4j does not document them.
func parseInspect(out string) map[string]InspectInfo {
	var rows []map[string]any
	if json.Unmarshal([]byte(strings.TrimSpace(out)), &rows) != nil {
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
	}
	infos := map[string]InspectInfo{}
	for _, row := range rows {
		fields := map[string]any{}
		for k, v := range row {
			fields[normalizeKey(k)] = v
		}
		file, _ := first(fields, "file", "path", "backup", "artifact").(string)
		if file == "" {
			continue
		}
		info := InspectInfo{
			Database:   str(first(fields, "database", "databasename")),
			DatabaseID: str(first(fields, "databaseid")),
			Time:       str(first(fields, "time", "timeutc", "backuptime")),
			Full:       boolean(first(fields, "full")),
			Compressed: boolean(first(fields, "compressed")),
			LowestTx:   number(first(fields, "lowesttx", "lowesttransactionid", "lowesttxid")),
			HighestTx:  number(first(fields, "highesttx", "highesttransactionid", "highesttxid")),
		}
		infos[path.Base(strings.TrimPrefix(file, "file://"))] = info
	}
	return infos
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
	s, _ := v.(string)
	return s
}

func boolean(v any) *bool {
	switch b := v.(type) {
	case bool:
		return &b
	case string:
		switch strings.ToLower(b) {
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
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
}
