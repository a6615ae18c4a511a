package cypher

import (
	"fmt"
	"strings"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/faults"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

var showColumns = []string{"name", "type", "aliases", "access", "address", "role", "writer",
	"requestedStatus", "currentStatus", "statusMessage", "default", "home", "constituents"}

// extra columns only available with YIELD, like the real server's.
var showExtraColumns = []string{"databaseID", "serverID", "currentPrimariesCount",
	"currentSecondariesCount", "requestedPrimariesCount", "requestedSecondariesCount",
	"lastCommittedTxn", "replicationLag", "creationTime", "lastStartTime", "lastStopTime", "store", "options"}

// showDatabases parses SHOW DATABASES | DATABASE name | DEFAULT DATABASE |
// HOME DATABASE with its optional YIELD/WHERE/RETURN tail.
func (p *parser) showDatabases() (func(*execCtx) (*Result, error), error) {
	p.next() // SHOW
	var filter func(d store.DatabaseInfo) bool
	switch {
	case p.acceptKw("DATABASES"):
		filter = func(store.DatabaseInfo) bool { return true }
	case p.acceptKw("DEFAULT", "DATABASE"), p.acceptKw("HOME", "DATABASE"):
		filter = func(d store.DatabaseInfo) bool { return d.Default }
	case p.acceptKw("DATABASE"):
		name, err := p.name()
		if err != nil {
			return nil, err
		}
		name = strings.ToLower(name)
		filter = func(d store.DatabaseInfo) bool { return d.Name == name }
	default:
		return nil, p.fail("'DATABASE', 'DATABASES', 'DEFAULT DATABASE' or 'HOME DATABASE'")
	}
	pr, err := p.projection()
	if err != nil {
		return nil, err
	}
	return func(x *execCtx) (*Result, error) {
		dbs, err := x.e.Store.Databases()
		if err != nil {
			return nil, err
		}
		t := table{all: append(append([]string{}, showColumns...), showExtraColumns...), defaults: showColumns}
		for _, d := range dbs {
			if filter(d) {
				t.rows = append(t.rows, x.e.databaseRow(d))
			}
		}
		return pr.apply(t)
	}, nil
}

func (e *Engine) databaseRow(d store.DatabaseInfo) map[string]any {
	typ := "standard"
	if d.Name == SystemDatabase {
		typ = "system"
	}
	storeID, _ := e.Store.StoreID(d.Name)
	online := d.CurrentStatus == "online"
	// lastCommittedTxn is "the ID of the last transaction received", only
	// for online (or deallocating) databases, NULL otherwise (Operations
	// Manual, "Listing databases", 5.x and current). Every write commits one
	// transaction and raises it by one; reads never do.
	var last any
	if _, l, _, err := e.Store.ReadTxs(d.Name, 1<<62); err == nil && online {
		last = l
	}
	return map[string]any{
		"name": d.Name, "type": typ, "aliases": []any{}, "access": "read-write",
		"address": e.Address, "role": "primary", "writer": online,
		"requestedStatus": d.RequestedStatus, "currentStatus": d.CurrentStatus,
		"statusMessage": d.StatusMessage, "default": d.Default, "home": d.Default,
		"constituents": []any{}, "databaseID": storeID, "serverID": "standin",
		"currentPrimariesCount": int64(1), "currentSecondariesCount": int64(0),
		"requestedPrimariesCount": nil, "requestedSecondariesCount": nil,
		"lastCommittedTxn": last, "replicationLag": int64(0), "creationTime": nil,
		"lastStartTime": nil, "lastStopTime": nil, "store": storeColumn(e.Store.Format(d.Name)), "options": map[string]any{},
	}
}

// storeColumn is SHOW DATABASES' store column for a store format.
func storeColumn(format string) string {
	if format == "block" {
		return "block-block-1.1"
	}
	return "record-aligned-1.1"
}

// callProcedure supports CALL dbms.components() [YIELD ...].
func (p *parser) callProcedure() (func(*execCtx) (*Result, error), error) {
	p.next() // CALL
	t := p.next()
	if t.kind != tIdent || !strings.EqualFold(t.text, "dbms.components") {
		p.i--
		return nil, &Error{Code: "Neo.ClientError.Procedure.ProcedureNotFound",
			Message: fmt.Sprintf("There is no procedure with the name `%s` registered for this database instance. Please ensure you've spelled the procedure name correctly and that the procedure is properly deployed.", t.text)}
	}
	if p.acceptPunct("(") {
		if err := p.expectPunct(")"); err != nil {
			return nil, err
		}
	}
	pr, err := p.projection()
	if err != nil {
		return nil, err
	}
	return func(x *execCtx) (*Result, error) {
		cols := []string{"name", "versions", "edition"}
		return pr.apply(table{all: cols, defaults: cols, rows: []map[string]any{
			{"name": "Neo4j Kernel", "versions": []any{Version}, "edition": x.e.Edition},
		}})
	}, nil
}

// waitResult is what CREATE/START/STOP/DROP ... WAIT return.
func (x *execCtx) adminResult(wait bool, updated bool, failure string) *Result {
	res := &Result{Type: "s", Stats: map[string]int64{}}
	if updated {
		res.Stats["system-updates"] = 1
	}
	if wait {
		res.Fields = []string{"address", "state", "message", "success"}
		if failure == "" {
			res.Records = [][]any{{x.e.Address, "CaughtUp", "caught up", true}}
		} else {
			res.Records = [][]any{{x.e.Address, "Failed", failure, false}}
		}
	}
	return res
}

func (x *execCtx) unsupported() error {
	return &Error{Code: "Neo.ClientError.Statement.UnsupportedAdministrationCommand",
		Message: "Unsupported administration command: " + x.query}
}

func (p *parser) createDatabase() (func(*execCtx) (*Result, error), error) {
	p.next() // CREATE
	replace := p.acceptKw("OR", "REPLACE")
	p.next() // DATABASE
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	ifNotExists := p.acceptKw("IF", "NOT", "EXISTS")
	if p.acceptKw("TOPOLOGY") {
		for p.peek().kind == tInt {
			p.next()
			_ = p.acceptKw("PRIMARY") || p.acceptKw("PRIMARIES") || p.acceptKw("SECONDARY") || p.acceptKw("SECONDARIES")
		}
	}
	if p.acceptKw("OPTIONS") {
		if _, err := p.mapLiteral(nil); err != nil {
			return nil, err
		}
	}
	wait, err := p.waitClause()
	if err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return func(x *execCtx) (*Result, error) {
		if x.e.community() {
			return nil, x.unsupported()
		}
		name := strings.ToLower(name)
		if err := validateName(name); err != nil {
			return nil, err
		}
		faults.Delay(x.e.Store.Dir, "create")
		if faults.Take(x.e.Store.Dir, "create") {
			return nil, &Error{Code: "Neo.DatabaseError.General.UnknownError",
				Message: fmt.Sprintf("Failed to create the specified database '%s': injected fault.", name)}
		}
		if _, exists, err := x.e.Store.Database(name); err != nil {
			return nil, err
		} else if exists {
			switch {
			case ifNotExists:
				return x.adminResult(wait, false, ""), nil
			case !replace:
				return nil, &Error{Code: "Neo.ClientError.Database.ExistingDatabaseFound",
					Message: fmt.Sprintf("Failed to create the specified database '%s': Database already exists.", name)}
			}
			x.e.unlockStore(name)
			if err := x.e.Store.RemoveDatabase(name); err != nil {
				return nil, err
			}
		}
		// A store restored by neo4j-admin before CREATE DATABASE is kept.
		if err := x.e.Store.EnsureStore(name); err != nil {
			return nil, err
		}
		failure := x.e.open(name)
		if failure != "" && !wait {
			return nil, startError(name, failure)
		}
		return x.adminResult(wait, true, failure), nil
	}, nil
}

func (p *parser) startStopDatabase() (func(*execCtx) (*Result, error), error) {
	start := strings.EqualFold(p.next().text, "START")
	p.next() // DATABASE
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	wait, err := p.waitClause()
	if err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	verb := map[bool]string{true: "start", false: "stop"}[start]
	return func(x *execCtx) (*Result, error) {
		if x.e.community() {
			return nil, x.unsupported()
		}
		name := strings.ToLower(name)
		info, ok, err := x.e.Store.Database(name)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, &Error{Code: "Neo.ClientError.Database.DatabaseNotFound",
				Message: fmt.Sprintf("Failed to %s the specified database '%s': Database does not exist.", verb, name)}
		}
		if name == SystemDatabase {
			return nil, &Error{Code: "Neo.ClientError.Statement.NotAllowed",
				Message: fmt.Sprintf("Not allowed to %s system database.", verb)}
		}
		faults.Delay(x.e.Store.Dir, verb)
		if faults.Take(x.e.Store.Dir, verb) {
			if start {
				msg := "Unable to start database: injected fault"
				x.e.unlockStore(name)
				_ = x.e.Store.UpdateDatabase(name, func(d *store.DatabaseInfo) bool {
					d.RequestedStatus, d.CurrentStatus, d.StatusMessage = "online", "offline", msg
					return true
				})
				return nil, startError(name, msg)
			}
			return nil, &Error{Code: "Neo.DatabaseError.General.UnknownError",
				Message: fmt.Sprintf("Failed to stop the specified database '%s': injected fault.", name)}
		}
		if !start {
			x.e.unlockStore(name)
			updated := info.RequestedStatus != "offline" || info.CurrentStatus != "offline"
			err := x.e.Store.UpdateDatabase(name, func(d *store.DatabaseInfo) bool {
				d.RequestedStatus, d.CurrentStatus, d.StatusMessage = "offline", "offline", ""
				return true
			})
			return x.adminResult(wait, updated, ""), err
		}
		updated := info.RequestedStatus != "online" || info.CurrentStatus != "online"
		if err := x.e.Store.EnsureStore(name); err != nil {
			return nil, err
		}
		failure := x.e.open(name)
		if failure != "" && !wait {
			return nil, startError(name, failure)
		}
		return x.adminResult(wait, updated, failure), nil
	}, nil
}

func startError(name, msg string) error {
	return &Error{Code: "Neo.DatabaseError.Database.UnableToStartDatabase",
		Message: fmt.Sprintf("Unable to start database '%s': %s", name, msg)}
}

// open re-reads db's store from disk (it may have been replaced while the
// database was stopped) and marks the database online, or quarantined with
// the reason when the store does not load. It returns that reason.
func (e *Engine) open(db string) string {
	failure := ""
	if id, err := e.Store.StoreID(db); err != nil || id == "" {
		failure = fmt.Sprintf("store of database '%s' has no store id", db)
	} else if _, _, err := e.Store.Counts(db); err != nil {
		failure = err.Error()
	}
	_ = e.Store.UpdateDatabase(db, func(d *store.DatabaseInfo) bool {
		d.RequestedStatus = "online"
		if failure == "" {
			d.CurrentStatus, d.StatusMessage = "online", ""
		} else {
			d.CurrentStatus, d.StatusMessage = "quarantined", failure
		}
		return true
	})
	if failure == "" {
		e.lockStore(db)
	} else {
		e.unlockStore(db)
	}
	return failure
}

func (p *parser) dropDatabase() (func(*execCtx) (*Result, error), error) {
	p.next()
	p.next() // DROP DATABASE
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	ifExists := p.acceptKw("IF", "EXISTS")
	_ = p.acceptKw("DUMP", "DATA") || p.acceptKw("DESTROY", "DATA")
	wait, err := p.waitClause()
	if err != nil {
		return nil, err
	}
	if err := p.end(); err != nil {
		return nil, err
	}
	return func(x *execCtx) (*Result, error) {
		if x.e.community() {
			return nil, x.unsupported()
		}
		name := strings.ToLower(name)
		_, ok, err := x.e.Store.Database(name)
		if err != nil {
			return nil, err
		}
		switch {
		case !ok && ifExists:
			return x.adminResult(wait, false, ""), nil
		case !ok:
			return nil, &Error{Code: "Neo.ClientError.Database.DatabaseNotFound",
				Message: fmt.Sprintf("Failed to delete the specified database '%s': Database does not exist.", name)}
		case name == SystemDatabase:
			return nil, &Error{Code: "Neo.ClientError.Statement.NotAllowed", Message: "Not allowed to delete system database."}
		}
		x.e.unlockStore(name)
		return x.adminResult(wait, true, ""), x.e.Store.RemoveDatabase(name)
	}, nil
}

// validateName applies Neo4j's rules for database names.
func validateName(name string) error {
	arg := func(msg string) error {
		return &Error{Code: "Neo.ClientError.Statement.ArgumentError", Message: msg}
	}
	switch {
	case len(name) < 3 || len(name) > 63:
		return arg("The provided database name must have a length between 3 and 63 characters.")
	case !(name[0] >= 'a' && name[0] <= 'z'):
		return arg(fmt.Sprintf("Database name '%s' is not starting with an ASCII alphabetic character.", name))
	case strings.HasPrefix(name, "system"):
		return arg(fmt.Sprintf("Database name '%s' is invalid, due to the prefix 'system'.", name))
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return arg(fmt.Sprintf("Database name '%s' contains illegal characters. Use simple ascii characters, numbers, dots and dashes.", name))
		}
	}
	return nil
}

// Startup prepares the store when the server starts: it creates the system
// and default databases on first start and brings every database to its
// requested status, re-reading each store from disk.
func (e *Engine) Startup(defaultDB string) error {
	defaultDB = strings.ToLower(defaultDB)
	dbs, err := e.Store.Databases()
	if err != nil {
		return err
	}
	if len(dbs) == 0 {
		for _, name := range []string{SystemDatabase, defaultDB} {
			if err := e.Store.EnsureStore(name); err != nil {
				return err
			}
			err := e.Store.UpdateDatabase(name, func(d *store.DatabaseInfo) bool {
				d.RequestedStatus, d.CurrentStatus, d.Default = "online", "online", name == defaultDB
				return true
			})
			if err != nil {
				return err
			}
		}
		dbs, err = e.Store.Databases()
		if err != nil {
			return err
		}
	}
	for _, d := range dbs {
		if d.RequestedStatus == "online" {
			e.open(d.Name)
			continue
		}
		err := e.Store.UpdateDatabase(d.Name, func(d *store.DatabaseInfo) bool {
			d.CurrentStatus, d.StatusMessage = "offline", ""
			return true
		})
		if err != nil {
			return err
		}
	}
	return nil
}
