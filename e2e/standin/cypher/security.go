package cypher

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ExecutedFile is where accepted role, user and privilege statements are
// recorded, inside the data directory.
const ExecutedFile = "standin-executed.jsonl"

// Executed is one line of ExecutedFile.
type Executed struct {
	Time      time.Time `json:"time"`
	DB        string    `json:"db"`
	Statement string    `json:"statement"`
	Database  string    `json:"database"`
}

// isSecurityCommand reports whether the statement is one of the user, role
// and privilege commands a restore_metadata.cypher contains.
func (p *parser) isSecurityCommand() bool {
	for _, prefix := range [][]string{
		{"CREATE", "ROLE"}, {"CREATE", "OR", "REPLACE", "ROLE"}, {"CREATE", "USER"},
		{"CREATE", "OR", "REPLACE", "USER"}, {"ALTER", "USER"}, {"DROP", "ROLE"}, {"DROP", "USER"},
		{"RENAME", "ROLE"}, {"RENAME", "USER"}, {"GRANT"}, {"DENY"}, {"REVOKE"},
	} {
		if p.isKw(prefix...) {
			return true
		}
	}
	return false
}

// securityCommand accepts the statement without effect and records it. Its
// parameters must all be given, like on the real server.
func (p *parser) securityCommand() (func(*execCtx) (*Result, error), error) {
	roleCommand := !p.isKw("CREATE", "USER") && !p.isKw("CREATE", "OR", "REPLACE", "USER") &&
		!p.isKw("ALTER", "USER") && !p.isKw("DROP", "USER") && !p.isKw("RENAME", "USER")
	var missing []string
	for _, t := range p.toks {
		if t.kind == tParam {
			if _, ok := p.params[t.text]; !ok && !contains(missing, t.text) {
				missing = append(missing, t.text)
			}
		}
	}
	if len(missing) > 0 {
		return nil, missingParam(missing...)
	}
	return func(x *execCtx) (*Result, error) {
		if x.e.community() && roleCommand {
			return nil, x.unsupported()
		}
		database, _ := x.params["database"].(string)
		if !strings.Contains(x.query, "$database") {
			database = ""
		}
		line, _ := json.Marshal(Executed{Time: time.Now().UTC(), DB: x.db, Statement: x.query, Database: database})
		f, err := os.OpenFile(filepath.Join(x.e.Store.Dir, ExecutedFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if _, err := f.Write(append(line, '\n')); err != nil {
			return nil, err
		}
		return &Result{Type: "s", Stats: map[string]int64{"system-updates": 1}}, nil
	}, nil
}
