// Package neo4j owns everything the plugin says to Neo4j over Bolt: database
// names (validation and quoting), credentials (NEO4J_AUTH parsing, never
// printing the password), the administration commands a restore needs (SHOW,
// STOP, START, CREATE DATABASE, waiting until online), counting nodes, and
// the restore_metadata.cypher scripts neo4j-admin writes. It is the only
// package that imports the Bolt driver.
package neo4j

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"github.com/neo4j/neo4j-go-driver/v5/neo4j/config"

	"github.com/opsmill/docker-infrahubdb/internal/version"
)

// Timeouts. The Go driver has no read timeout on an open connection, so a
// query whose context has no deadline gets queryTimeout: long enough for
// STOP/START ... WAIT (Neo4j waits up to 300 s by default), short enough that
// a dead tunnel does not hang the restore forever.
const (
	connectTimeout     = 30 * time.Second
	dialTimeout        = 10 * time.Second
	acquireTimeout     = 30 * time.Second
	livenessCheckAfter = 15 * time.Second
	queryTimeout       = 10 * time.Minute
	pollInterval       = 500 * time.Millisecond
)

// Database is one row of SHOW DATABASES.
type Database struct {
	Name            string
	Type            string // "standard", "system", "composite"
	CurrentStatus   string // "online", "offline", "starting", "stopping", "quarantined", ...
	RequestedStatus string // "online" or "offline"
	StatusMessage   string
	Default         bool
	Home            bool
}

// Admin runs administration Cypher on one Neo4j server over a direct
// (bolt://, unencrypted) connection: the plugin reaches Bolt through a local
// tunnel or a user-given address, never through routing.
type Admin struct {
	driver  neo4j.DriverWithContext
	address string
	user    string
}

// Connect opens a driver on bolt://address (host:port) and proves the
// credentials with a real login, so a wrong password is found before
// anything is stopped. Errors: *AuthError (errors.Is ErrUnauthorized) or
// *UnreachableError.
func Connect(ctx context.Context, address string, creds Credentials) (*Admin, error) {
	if _, _, err := net.SplitHostPort(address); err != nil {
		return nil, fmt.Errorf("invalid Bolt address %q: want host:port: %w", address, err)
	}
	auth := neo4j.NoAuth()
	if !creds.None {
		auth = neo4j.BasicAuth(creds.User, creds.Password, "")
	}
	driver, err := neo4j.NewDriverWithContext("bolt://"+address, auth, func(c *config.Config) {
		c.SocketConnectTimeout = dialTimeout
		c.ConnectionAcquisitionTimeout = acquireTimeout
		c.ConnectionLivenessCheckTimeout = livenessCheckAfter
		c.MaxConnectionPoolSize = 4
		c.UserAgent = "docker-infrahubdb/" + version.Version
		c.TelemetryDisabled = true
	})
	if err != nil {
		return nil, fmt.Errorf("Bolt driver for %s: %w", address, err)
	}
	a := &Admin{driver: driver, address: address, user: creds.User}

	ctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := driver.VerifyConnectivity(ctx); err != nil {
		closeCtx, cancel := cleanupContext(ctx)
		defer cancel()
		_ = driver.Close(closeCtx)
		return nil, a.classify(err)
	}
	return a, nil
}

// Address is the host:port this Admin talks to.
func (a *Admin) Address() string { return a.address }

// Close closes all connections.
func (a *Admin) Close(ctx context.Context) error { return a.driver.Close(ctx) }

// ServerInfo returns the Neo4j version (e.g. "5.26.0") and edition
// ("enterprise" or "community") from dbms.components().
func (a *Admin) ServerInfo(ctx context.Context) (version, edition string, err error) {
	records, err := a.run(ctx, SystemDatabase, neo4j.AccessModeRead, "CALL dbms.components()", nil)
	if err != nil {
		return "", "", fmt.Errorf("CALL dbms.components(): %w", err)
	}
	for _, r := range records {
		if name := str(r, "name"); name != "" && name != "Neo4j Kernel" {
			continue
		}
		if versions, ok := value(r, "versions").([]any); ok && len(versions) > 0 {
			version, _ = versions[0].(string)
		}
		return version, str(r, "edition"), nil
	}
	return "", "", errors.New("CALL dbms.components() returned no Neo4j Kernel row")
}

// Databases lists all databases (SHOW DATABASES on system).
func (a *Admin) Databases(ctx context.Context) ([]Database, error) {
	records, err := a.run(ctx, SystemDatabase, neo4j.AccessModeRead, "SHOW DATABASES", nil)
	if err != nil {
		return nil, fmt.Errorf("SHOW DATABASES: %w", err)
	}
	dbs := make([]Database, 0, len(records))
	for _, r := range records {
		dbs = append(dbs, Database{
			Name:            str(r, "name"),
			Type:            str(r, "type"),
			CurrentStatus:   str(r, "currentStatus"),
			RequestedStatus: str(r, "requestedStatus"),
			StatusMessage:   str(r, "statusMessage"),
			Default:         boolean(r, "default"),
			Home:            boolean(r, "home"),
		})
	}
	return dbs, nil
}

// Database returns one database; found is false when it does not exist. It
// filters SHOW DATABASES rather than sending "SHOW DATABASE x" so one query
// shape serves both.
func (a *Admin) Database(ctx context.Context, name string) (db Database, found bool, err error) {
	name, err = Normalize(name)
	if err != nil {
		return Database{}, false, err
	}
	dbs, err := a.Databases(ctx)
	if err != nil {
		return Database{}, false, err
	}
	for _, d := range dbs {
		if strings.EqualFold(d.Name, name) {
			return d, true, nil
		}
	}
	return Database{}, false, nil
}

// Stop runs STOP DATABASE name WAIT.
func (a *Admin) Stop(ctx context.Context, name string) error {
	return a.admin(ctx, "STOP DATABASE %s WAIT", name)
}

// Start runs START DATABASE name WAIT.
func (a *Admin) Start(ctx context.Context, name string) error {
	return a.admin(ctx, "START DATABASE %s WAIT", name)
}

// Create runs CREATE DATABASE name IF NOT EXISTS WAIT.
func (a *Admin) Create(ctx context.Context, name string) error {
	return a.admin(ctx, "CREATE DATABASE %s IF NOT EXISTS WAIT", name)
}

// admin runs one database command on system in auto-commit (administration
// commands are not meant for explicit transactions) and checks the WAIT
// result: Neo4j reports a WAIT that ran out of time as a row with
// success=false, not as an error.
func (a *Admin) admin(ctx context.Context, format, name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	query := fmt.Sprintf(format, Quote(name))
	records, err := a.run(ctx, SystemDatabase, neo4j.AccessModeWrite, query, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", query, err)
	}
	for _, r := range records {
		if ok, present := value(r, "success").(bool); present && !ok {
			return fmt.Errorf("%s did not complete on %s: state %q: %s",
				query, str(r, "address"), str(r, "state"), str(r, "message"))
		}
	}
	return nil
}

// WaitOnline polls SHOW DATABASES until name is online. It gives up early
// when the database cannot come online by itself (quarantined, or requested
// offline) and after timeout, naming the current status and its message.
func (a *Admin) WaitOnline(ctx context.Context, name string, timeout time.Duration) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		db, found, err := a.Database(ctx, name)
		switch {
		case err != nil && !IsTransient(err):
			return err
		case err == nil && found && db.CurrentStatus == "online":
			return nil
		case err == nil && found && (db.CurrentStatus == "quarantined" || db.RequestedStatus == "offline"):
			return fmt.Errorf("database %q cannot come online: %s", name, describe(db))
		}
		if time.Now().After(deadline) {
			switch {
			case err != nil:
				return fmt.Errorf("database %q not confirmed online after %s: %w", name, timeout, err)
			case !found:
				return fmt.Errorf("database %q not online after %s: it does not exist", name, timeout)
			}
			return fmt.Errorf("database %q not online after %s: %s", name, timeout, describe(db))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for database %q to come online: %w", name, ctx.Err())
		case <-time.After(pollInterval):
		}
	}
}

func describe(db Database) string {
	s := fmt.Sprintf("current status %q, requested %q", db.CurrentStatus, db.RequestedStatus)
	if db.StatusMessage != "" {
		s += ": " + db.StatusMessage
	}
	return s
}

// RunScript runs statements one by one against system in auto-commit, as
// cypher-shell does with restore_metadata.cypher, with params (typically
// {"database": name}). It returns how many ran before the first failure,
// reported as a *StatementError.
func (a *Admin) RunScript(ctx context.Context, statements []string, params map[string]any) (ran int, err error) {
	for i, statement := range statements {
		if _, err := a.run(ctx, SystemDatabase, neo4j.AccessModeWrite, statement, params); err != nil {
			return ran, &StatementError{Index: i + 1, Total: len(statements), Statement: statement, Err: err}
		}
		ran++
	}
	return ran, nil
}

// CountNodes returns the number of nodes in database db.
func (a *Admin) CountNodes(ctx context.Context, db string) (int64, error) {
	db, err := Normalize(db)
	if err != nil {
		return 0, err
	}
	records, err := a.run(ctx, db, neo4j.AccessModeRead, "MATCH (n) RETURN count(n) AS count", nil)
	if err != nil {
		return 0, fmt.Errorf("counting nodes in %s: %w", Quote(db), err)
	}
	if len(records) != 1 {
		return 0, fmt.Errorf("counting nodes in %s: got %d rows, want 1", Quote(db), len(records))
	}
	count, ok := value(records[0], "count").(int64)
	if !ok {
		return 0, fmt.Errorf("counting nodes in %s: count is %T, want an integer", Quote(db), value(records[0], "count"))
	}
	return count, nil
}

// run sends one auto-commit query in a fresh session and reads all records.
func (a *Admin) run(ctx context.Context, db string, mode neo4j.AccessMode, query string, params map[string]any) ([]*neo4j.Record, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, queryTimeout)
		defer cancel()
	}
	session := a.driver.NewSession(ctx, neo4j.SessionConfig{DatabaseName: db, AccessMode: mode})
	defer func() {
		closeCtx, cancel := cleanupContext(ctx)
		defer cancel()
		_ = session.Close(closeCtx)
	}()
	result, err := session.Run(ctx, query, params)
	if err != nil {
		return nil, a.classify(err)
	}
	records, err := result.Collect(ctx)
	if err != nil {
		return nil, a.classify(err)
	}
	return records, nil
}

// cleanupContext lets a close run after ctx was cancelled (Ctrl-C), but not
// forever on a dead connection.
func cleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}

// classify turns driver errors into this package's errors: refused logins
// into *AuthError, lost or refused connections into *UnreachableError.
// Server errors keep their Neo4jError (see Code).
func (a *Admin) classify(err error) error {
	switch Code(err) {
	case CodeUnauthorized, CodeCredentialsExpired, CodeRateLimit:
		return &AuthError{Address: a.address, User: a.user, Err: err}
	}
	if Code(err) != "" {
		return &serverError{err: err}
	}
	if isConnectivity(err) {
		return &UnreachableError{Address: a.address, Err: err}
	}
	return err
}

func value(r *neo4j.Record, key string) any {
	v, _ := r.Get(key)
	return v
}

func str(r *neo4j.Record, key string) string {
	s, _ := value(r, key).(string)
	return s
}

func boolean(r *neo4j.Record, key string) bool {
	b, _ := value(r, key).(bool)
	return b
}
