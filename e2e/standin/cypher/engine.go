// Package cypher owns the stand-in's Cypher subset: the administration
// commands on the system database (SHOW DATABASES, CREATE|START|STOP|DROP
// DATABASE, CALL dbms.components(), and the user, role and privilege
// statements of a restore_metadata.cypher) and just enough data Cypher on
// user databases to seed and count nodes. Anything else is a
// Neo.ClientError.Statement.SyntaxError.
//
// All state is read from the store on every statement, never cached: a
// neo4j-admin restore in another container may replace a stopped
// database's files at any time.
//
// Role, user and privilege statements are accepted without effect and
// recorded, one JSON object a line, in <data>/standin-executed.jsonl:
//
//	{"time":"...","db":"system","statement":"GRANT ... $database ...","database":"neo4j"}
//
// where db is the database the statement ran on and database the value of
// its $database parameter ("" when it has none).
package cypher

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/version"
)

// Version is the Neo4j version the stand-in reports (baked in at build
// time, see package version).
var Version = version.Current()

// SystemDatabase is the name of the system database.
const SystemDatabase = "system"

// Error is a Neo4j status error.
type Error struct {
	Code    string // Neo.ClientError.Statement.SyntaxError, ...
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// StatusCode returns the Neo4j status code.
func (e *Error) StatusCode() string { return e.Code }

// StatusMessage returns the message without the code.
func (e *Error) StatusMessage() string { return e.Message }

// Result is the outcome of one statement.
type Result struct {
	Fields  []string
	Records [][]any
	// Type is the query type of the Bolt summary: "r", "w", "rw" or "s".
	Type string
	// Stats are the non-zero counters of the Bolt summary
	// (nodes-created, nodes-deleted, labels-added, properties-set, system-updates).
	Stats map[string]int64
	// Ops are data changes the caller must commit (auto-commit) or keep
	// with its open transaction.
	Ops []store.Op
}

// Engine runs statements against a store.
type Engine struct {
	Store *store.Store
	// Edition is "enterprise" or "community".
	Edition string
	// Address is the Bolt address SHOW DATABASES reports, e.g. localhost:7687.
	Address string

	mu    sync.Mutex
	locks map[string]*osFile // database locks held for online databases
}

func (e *Engine) community() bool { return e.Edition == "community" }

// DefaultDatabase returns the name of the default (home) database.
func (e *Engine) DefaultDatabase() string {
	dbs, _ := e.Store.Databases()
	for _, d := range dbs {
		if d.Default {
			return d.Name
		}
	}
	return "neo4j"
}

// execCtx is what a parsed statement runs with.
type execCtx struct {
	e       *Engine
	db      string
	query   string
	params  map[string]any
	pending []store.Op
}

// Run executes one statement on database db ("" for the default database)
// with params. pending are the not yet committed changes of the caller's
// open transaction, which reads must see.
func (e *Engine) Run(db, query string, params map[string]any, pending []store.Op) (*Result, error) {
	db = strings.ToLower(db)
	if db == "" {
		db = e.DefaultDatabase()
	}
	if _, ok, err := e.Store.Database(db); err != nil {
		return nil, err
	} else if !ok {
		return nil, &Error{Code: "Neo.ClientError.Database.DatabaseNotFound",
			Message: fmt.Sprintf("Database does not exist. Database name: '%s'.", db)}
	}
	toks, err := lex(query)
	if err != nil {
		return nil, err
	}
	if params == nil {
		params = map[string]any{}
	}
	p := &parser{q: query, toks: toks, params: params}
	run, data, err := p.statement()
	if err != nil {
		return nil, err
	}
	x := &execCtx{e: e, db: db, query: strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(query), ";")), params: params, pending: pending}
	if data {
		if db == SystemDatabase {
			return nil, &Error{Code: "Neo.ClientError.Statement.NotSystemDatabaseError",
				Message: "Not a recognised system command or procedure. This Cypher command can only be executed in a user database: " + x.query}
		}
		if err := e.requireOnline(db); err != nil {
			return nil, err
		}
	}
	return run(x)
}

// requireOnline fails with DatabaseUnavailable unless db is online.
func (e *Engine) requireOnline(db string) error {
	info, ok, err := e.Store.Database(db)
	if err != nil {
		return err
	}
	if !ok {
		return &Error{Code: "Neo.ClientError.Database.DatabaseNotFound",
			Message: fmt.Sprintf("Database does not exist. Database name: '%s'.", db)}
	}
	if info.CurrentStatus != "online" {
		return &Error{Code: "Neo.TransientError.General.DatabaseUnavailable",
			Message: fmt.Sprintf("Database '%s' is unavailable.", db)}
	}
	return nil
}

// Commit appends ops to db's log as one transaction and returns a bookmark.
func (e *Engine) Commit(db string, ops []store.Op) (string, error) {
	db = strings.ToLower(db)
	if db == "" {
		db = e.DefaultDatabase()
	}
	if len(ops) == 0 {
		_, last, _, err := e.Store.ReadTxs(db, 1<<62)
		if err != nil {
			return "", nil
		}
		return Bookmark(db, last), nil
	}
	if err := e.requireOnline(db); err != nil {
		return "", err
	}
	tx, err := e.Store.Append(db, ops)
	if err != nil {
		return "", err
	}
	return Bookmark(db, tx.ID), nil
}

// Bookmark formats the bookmark of a transaction.
func Bookmark(db string, tx int64) string { return fmt.Sprintf("FB:%s:%d", db, tx) }

// statement parses one statement and returns how to run it, and whether it
// is a data statement (which needs an online user database).
func (p *parser) statement() (run func(*execCtx) (*Result, error), data bool, err error) {
	switch {
	case p.isKw("SHOW"):
		run, err = p.showDatabases()
	case p.isKw("CALL"):
		run, err = p.callProcedure()
	case p.isKw("CREATE", "DATABASE"), p.isKw("CREATE", "OR", "REPLACE", "DATABASE"):
		run, err = p.createDatabase()
	case p.isKw("START", "DATABASE"), p.isKw("STOP", "DATABASE"):
		run, err = p.startStopDatabase()
	case p.isKw("DROP", "DATABASE"):
		run, err = p.dropDatabase()
	case p.isSecurityCommand():
		run, err = p.securityCommand()
	case p.isKw("RETURN"):
		run, err = p.returnLiteral()
	case p.isKw("CREATE"), p.isKw("UNWIND"), p.isKw("MATCH"):
		run, err = p.dataStatement()
		data = true
	default:
		err = p.fail("'ALTER', 'CALL', 'CREATE', 'DENY', 'DROP', 'GRANT', 'MATCH', 'RETURN', 'REVOKE', 'SHOW', 'START', 'STOP' or 'UNWIND'")
	}
	return run, data, err
}

// returnLiteral runs RETURN <literal> [AS name], handy for connectivity checks.
func (p *parser) returnLiteral() (func(*execCtx) (*Result, error), error) {
	p.next()
	start := p.peek().pos
	v, err := p.literal(nil)
	if err != nil {
		return nil, err
	}
	field := strings.TrimSpace(p.q[start:p.peek().pos])
	if p.acceptKw("AS") {
		if field, err = p.name(); err != nil {
			return nil, err
		}
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return func(*execCtx) (*Result, error) {
		return &Result{Fields: []string{field}, Records: [][]any{{v}}, Type: "r"}, nil
	}, nil
}

// CheckAvailable fails with DatabaseNotFound or DatabaseUnavailable unless
// db ("" for the default database) exists and is online.
func (e *Engine) CheckAvailable(db string) error {
	db = strings.ToLower(db)
	if db == "" {
		db = e.DefaultDatabase()
	}
	return e.requireOnline(db)
}

type osFile = os.File
