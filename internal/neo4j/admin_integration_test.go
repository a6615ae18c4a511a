package neo4j

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/bolt"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/cypher"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/faults"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/settings"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

// These tests run Admin against the e2e Neo4j stand-in's Bolt server, in
// process, on 127.0.0.1 with a fresh data directory.

const standinPassword = "s3cret/pass-with-slash"

type standin struct {
	address string
	data    string
}

func startStandin(t *testing.T) standin {
	t.Helper()
	data := t.TempDir()
	st, err := store.Open(data)
	assert.NilError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	engine := &cypher.Engine{Store: st, Edition: "enterprise", Address: l.Addr().String()}
	assert.NilError(t, engine.Startup("neo4j"))
	auth := settings.Auth{User: "neo4j", Password: standinPassword}
	srv := &bolt.Server{Engine: engine, Authenticate: auth.Check, DataDir: data}
	go srv.Serve(l)
	t.Cleanup(func() { l.Close(); srv.CloseConnections() })
	return standin{address: l.Addr().String(), data: data}
}

func (s standin) connect(t *testing.T) *Admin {
	t.Helper()
	creds, err := ParseAuth("neo4j/" + standinPassword)
	assert.NilError(t, err)
	a, err := Connect(context.Background(), s.address, creds)
	assert.NilError(t, err)
	t.Cleanup(func() { a.Close(context.Background()) })
	return a
}

// fail makes the stand-in fail the next n runs of step.
func (s standin) fail(t *testing.T, step string, n int) {
	t.Helper()
	b, err := json.Marshal(faults.Knobs{Fail: map[string]int{step: n}})
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(s.data, faults.File), b, 0o644))
}

// seed creates n nodes in db with the driver directly: Admin has no reason
// to write data.
func (s standin) seed(t *testing.T, db string, n int) {
	t.Helper()
	ctx := context.Background()
	d, err := neo4j.NewDriverWithContext("bolt://"+s.address, neo4j.BasicAuth("neo4j", standinPassword, ""))
	assert.NilError(t, err)
	defer d.Close(ctx)
	_, err = neo4j.ExecuteQuery(ctx, d, "UNWIND range(1, $n) AS i CREATE (:Seed {i: i})", map[string]any{"n": n},
		neo4j.EagerResultTransformer, neo4j.ExecuteQueryWithDatabase(db))
	assert.NilError(t, err)
}

func TestAdminConnectAndInspect(t *testing.T) {
	s := startStandin(t)
	a := s.connect(t)
	ctx := context.Background()

	version, edition, err := a.ServerInfo(ctx)
	assert.NilError(t, err)
	assert.Equal(t, version, cypher.Version)
	assert.Equal(t, edition, "enterprise")

	dbs, err := a.Databases(ctx)
	assert.NilError(t, err)
	names := map[string]Database{}
	for _, d := range dbs {
		names[d.Name] = d
	}
	assert.Check(t, is.Equal(names["neo4j"].CurrentStatus, "online"))
	assert.Check(t, names["neo4j"].Default)
	assert.Check(t, is.Equal(names["system"].Type, "system"))

	db, found, err := a.Database(ctx, "NEO4J")
	assert.NilError(t, err)
	assert.Check(t, found)
	assert.Check(t, is.Equal(db.Name, "neo4j"))
	assert.Check(t, is.Equal(db.RequestedStatus, "online"))

	_, found, err = a.Database(ctx, "missing")
	assert.NilError(t, err)
	assert.Check(t, !found)

	_, _, err = a.Database(ctx, "bad name")
	assert.ErrorContains(t, err, "invalid database name")
}

func TestAdminConnectWrongPassword(t *testing.T) {
	s := startStandin(t)
	const wrong = "not-the/password"

	_, err := Connect(context.Background(), s.address, Credentials{User: "neo4j", Password: wrong})
	assert.Check(t, errors.Is(err, ErrUnauthorized), "got %T: %v", err, err)
	assert.Check(t, IsUnauthorized(err))
	assert.Check(t, is.ErrorContains(err, `refused the password of user "neo4j"`))
	assert.Check(t, is.ErrorContains(err, s.address))
	assert.Check(t, is.ErrorContains(err, "NEO4J_AUTH"))
	assert.Check(t, !strings.Contains(err.Error(), wrong), err.Error())
	assert.Check(t, !strings.Contains(err.Error(), standinPassword), err.Error())
}

func TestAdminStopStartCreate(t *testing.T) {
	s := startStandin(t)
	a := s.connect(t)
	ctx := context.Background()
	const name = "infrahub-main"

	assert.NilError(t, a.Create(ctx, name))
	assert.NilError(t, a.Create(ctx, name), "IF NOT EXISTS makes a second create a no-op")
	assert.NilError(t, a.WaitOnline(ctx, name, 10*time.Second))
	s.seed(t, name, 7)
	count, err := a.CountNodes(ctx, name)
	assert.NilError(t, err)
	assert.Equal(t, count, int64(7))

	assert.NilError(t, a.Stop(ctx, name))
	db, found, err := a.Database(ctx, name)
	assert.NilError(t, err)
	assert.Check(t, found)
	assert.Check(t, is.Equal(db.CurrentStatus, "offline"))
	assert.Check(t, is.Equal(db.RequestedStatus, "offline"))

	_, err = a.CountNodes(ctx, name)
	assert.Check(t, is.ErrorContains(err, "counting nodes in `infrahub-main`"))
	assert.Check(t, IsTransient(err), "an unavailable database is worth retrying: %v", err)

	err = a.WaitOnline(ctx, name, 10*time.Second)
	assert.Check(t, is.ErrorContains(err, `database "infrahub-main" cannot come online: current status "offline", requested "offline"`))

	assert.NilError(t, a.Start(ctx, name))
	assert.NilError(t, a.WaitOnline(ctx, name, 10*time.Second))
	count, err = a.CountNodes(ctx, name)
	assert.NilError(t, err)
	assert.Equal(t, count, int64(7))
}

func TestAdminStartFailureAndWaitTimeout(t *testing.T) {
	s := startStandin(t)
	a := s.connect(t)
	ctx := context.Background()

	assert.NilError(t, a.Stop(ctx, "neo4j"))
	s.fail(t, "start", 1)
	err := a.Start(ctx, "neo4j")
	assert.Check(t, is.ErrorContains(err, "START DATABASE `neo4j` WAIT"))
	assert.Check(t, is.Equal(Code(err), "Neo.DatabaseError.Database.UnableToStartDatabase"))

	err = a.WaitOnline(ctx, "neo4j", 200*time.Millisecond)
	assert.Check(t, is.ErrorContains(err, `database "neo4j" not online after 200ms: current status "offline", requested "online": `))
	assert.Check(t, is.ErrorContains(err, "injected fault"))

	// The fault was used up: the next start works.
	assert.NilError(t, a.Start(ctx, "neo4j"))
	assert.NilError(t, a.WaitOnline(ctx, "neo4j", 10*time.Second))
}

func TestAdminMissingDatabase(t *testing.T) {
	s := startStandin(t)
	a := s.connect(t)
	ctx := context.Background()

	err := a.Stop(ctx, "nosuchdb")
	assert.Check(t, IsDatabaseNotFound(err), "%v", err)
	assert.Check(t, is.Error(err, "STOP DATABASE `nosuchdb` WAIT: Failed to stop the specified database 'nosuchdb': "+
		"Database does not exist. (Neo.ClientError.Database.DatabaseNotFound)"))
	err = a.WaitOnline(ctx, "nosuchdb", 100*time.Millisecond)
	assert.Check(t, is.ErrorContains(err, `database "nosuchdb" not online after 100ms: it does not exist`))
	_, err = a.CountNodes(ctx, "nosuchdb")
	assert.Check(t, IsDatabaseNotFound(err), "%v", err)

	assert.Check(t, is.ErrorContains(a.Stop(ctx, "x`y"), "invalid database name"))
}

func TestAdminRunScript(t *testing.T) {
	s := startStandin(t)
	a := s.connect(t)
	ctx := context.Background()

	script, err := os.ReadFile("testdata/restore_metadata.cypher")
	assert.NilError(t, err)
	statements := SplitStatements(string(script))

	ran, err := a.RunScript(ctx, statements, map[string]any{"database": "neo4j"})
	assert.NilError(t, err)
	assert.Equal(t, ran, len(statements))

	executed := readExecuted(t, s.data)
	assert.Equal(t, len(executed), len(statements))
	for i, e := range executed {
		assert.Check(t, is.Equal(e.Statement, statements[i]))
		assert.Check(t, is.Equal(e.DB, "system"))
		if strings.Contains(e.Statement, "$database") {
			assert.Check(t, is.Equal(e.Database, "neo4j"), e.Statement)
		}
	}
}

func TestAdminRunScriptReportsFailingStatement(t *testing.T) {
	s := startStandin(t)
	a := s.connect(t)

	statements := []string{
		"CREATE ROLE `reader` IF NOT EXISTS",
		"CREATE USER `bob` IF NOT EXISTS SET ENCRYPTED PASSWORD '1,deadbeef,cafe' CHANGE NOT REQUIRED",
		"GRANT ACCESS ON DATABASE $database TO `reader`\nGRANT NONSENSE",
		"GRANT ROLE `reader` TO `bob`",
	}
	// No $database parameter: statement 3 fails on the server.
	ran, err := a.RunScript(context.Background(), statements, map[string]any{"other": "s3cret-param-value"})
	assert.Equal(t, ran, 2)
	var serr *StatementError
	assert.Assert(t, errors.As(err, &serr), "got %T: %v", err, err)
	assert.Equal(t, serr.Index, 3)
	assert.Check(t, is.ErrorContains(err, "statement 3 of 4 failed (GRANT ACCESS ON DATABASE $database TO `reader` …)"))
	assert.Check(t, Code(err) != "", "the server's code is kept: %v", err)
	assert.Check(t, !strings.Contains(err.Error(), "s3cret-param-value"), err.Error())
}

func TestAdminLostConnection(t *testing.T) {
	s := startStandin(t)
	a := s.connect(t)

	s.fail(t, "bolt", 1) // the server drops the connection on the next RUN
	_, err := a.Databases(context.Background())
	var unreachable *UnreachableError
	assert.Assert(t, errors.As(err, &unreachable), "got %T: %v", err, err)
	assert.Check(t, IsTransient(err))
	assert.Check(t, is.ErrorContains(err, "cannot reach Neo4j over Bolt at "+s.address+": the connection was closed"))

	// The driver replaces the dead connection.
	_, err = a.Databases(context.Background())
	assert.NilError(t, err)
}

func readExecuted(t *testing.T, data string) []cypher.Executed {
	t.Helper()
	f, err := os.Open(filepath.Join(data, cypher.ExecutedFile))
	assert.NilError(t, err)
	defer f.Close()
	var out []cypher.Executed
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e cypher.Executed
		assert.NilError(t, json.Unmarshal(sc.Bytes(), &e))
		out = append(out, e)
	}
	assert.NilError(t, sc.Err())
	return out
}

// lastCommittedTxn grows by one with each write, not with reads, and is
// unknown for a database that is not online (NULL, as the manual says).
func TestAdminLastCommittedTxn(t *testing.T) {
	s := startStandin(t)
	a := s.connect(t)
	ctx := context.Background()

	before, known, err := a.LastCommittedTxn(ctx, "neo4j")
	assert.NilError(t, err)
	assert.Assert(t, known)
	_, err = a.CountNodes(ctx, "neo4j")
	assert.NilError(t, err)
	read, _, err := a.LastCommittedTxn(ctx, "NEO4J")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(read, before), "a read commits nothing")
	s.seed(t, "neo4j", 3)
	after, known, err := a.LastCommittedTxn(ctx, "neo4j")
	assert.NilError(t, err)
	assert.Check(t, known)
	assert.Check(t, is.Equal(after, before+1), "one write, one transaction")

	assert.NilError(t, a.Stop(ctx, "neo4j"))
	_, known, err = a.LastCommittedTxn(ctx, "neo4j")
	assert.NilError(t, err)
	assert.Check(t, !known, "NULL while offline")
	_, known, err = a.LastCommittedTxn(ctx, "missing")
	assert.NilError(t, err)
	assert.Check(t, !known)
}
