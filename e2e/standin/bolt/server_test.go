package bolt_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/bolt"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/cypher"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/faults"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/settings"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

const password = "s3cret/pass"

type fixture struct {
	url  string
	data string
	st   *store.Store
}

// start runs a Bolt server on 127.0.0.1 with a fresh data directory.
func start(t *testing.T, edition string) fixture {
	t.Helper()
	data := t.TempDir()
	st, err := store.Open(data)
	assert.NilError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	assert.NilError(t, err)
	engine := &cypher.Engine{Store: st, Edition: edition, Address: l.Addr().String()}
	assert.NilError(t, engine.Startup("neo4j"))
	auth := settings.Auth{User: "neo4j", Password: password}
	var done atomic.Bool // t.Logf must not run once the test is over
	logf := func(format string, args ...any) {
		if !done.Load() {
			t.Logf(format, args...)
		}
	}
	srv := &bolt.Server{Engine: engine, Authenticate: auth.Check, DataDir: data, Logf: logf}
	go srv.Serve(l)
	t.Cleanup(func() { done.Store(true); l.Close(); srv.CloseConnections() })
	return fixture{url: "bolt://" + l.Addr().String(), data: data, st: st}
}

func (f fixture) driver(t *testing.T, pw string) neo4j.DriverWithContext {
	t.Helper()
	d, err := neo4j.NewDriverWithContext(f.url, neo4j.BasicAuth("neo4j", pw, ""))
	assert.NilError(t, err)
	t.Cleanup(func() { d.Close(context.Background()) })
	return d
}

func query(t *testing.T, d neo4j.DriverWithContext, db, q string, params map[string]any) (*neo4j.EagerResult, error) {
	t.Helper()
	return neo4j.ExecuteQuery(context.Background(), d, q, params, neo4j.EagerResultTransformer,
		neo4j.ExecuteQueryWithDatabase(db))
}

func mustQuery(t *testing.T, d neo4j.DriverWithContext, db, q string, params map[string]any) *neo4j.EagerResult {
	t.Helper()
	res, err := query(t, d, db, q, params)
	assert.NilError(t, err, q)
	return res
}

func autoCommit(t *testing.T, d neo4j.DriverWithContext, db, q string) error {
	t.Helper()
	ctx := context.Background()
	s := d.NewSession(ctx, neo4j.SessionConfig{DatabaseName: db})
	defer s.Close(ctx)
	r, err := s.Run(ctx, q, nil)
	if err != nil {
		return err
	}
	_, err = r.Consume(ctx)
	return err
}

func neo4jCode(t *testing.T, err error) string {
	t.Helper()
	var ne *neo4j.Neo4jError
	assert.Assert(t, errors.As(err, &ne), "not a Neo4jError: %v", err)
	return ne.Code
}

func statuses(t *testing.T, d neo4j.DriverWithContext) map[string]string {
	t.Helper()
	res := mustQuery(t, d, "system", "SHOW DATABASES YIELD name, currentStatus", nil)
	out := map[string]string{}
	for _, r := range res.Records {
		out[r.Values[0].(string)] = r.Values[1].(string)
	}
	return out
}

func count(t *testing.T, d neo4j.DriverWithContext, db, q string) int64 {
	t.Helper()
	res := mustQuery(t, d, db, q, nil)
	assert.Equal(t, len(res.Records), 1)
	return res.Records[0].Values[0].(int64)
}

func TestConnectAndAuthenticate(t *testing.T) {
	f := start(t, "enterprise")
	ctx := context.Background()
	d := f.driver(t, password)
	assert.NilError(t, d.VerifyConnectivity(ctx))
	info, err := d.GetServerInfo(ctx)
	assert.NilError(t, err)
	assert.Equal(t, info.Agent(), "Neo4j/5.26.0")
	assert.Equal(t, info.ProtocolVersion().Major, 5)
	assert.Equal(t, info.ProtocolVersion().Minor, 8)

	res := mustQuery(t, d, "system", "CALL dbms.components()", nil)
	assert.DeepEqual(t, res.Keys, []string{"name", "versions", "edition"})
	assert.DeepEqual(t, res.Records[0].Values, []any{"Neo4j Kernel", []any{"5.26.0"}, "enterprise"})
}

func TestWrongPassword(t *testing.T) {
	f := start(t, "enterprise")
	err := f.driver(t, "wrong").VerifyConnectivity(context.Background())
	assert.Assert(t, err != nil)
	assert.Equal(t, neo4jCode(t, err), "Neo.ClientError.Security.Unauthorized")
	assert.ErrorContains(t, err, "The client is unauthorized due to authentication failure.")
}

func TestShowDatabases(t *testing.T) {
	f := start(t, "enterprise")
	d := f.driver(t, password)
	res := mustQuery(t, d, "system", "SHOW DATABASES", nil)
	assert.DeepEqual(t, res.Keys, []string{"name", "type", "aliases", "access", "address", "role", "writer",
		"requestedStatus", "currentStatus", "statusMessage", "default", "home", "constituents"})
	assert.Equal(t, len(res.Records), 2)
	neo, _ := res.Records[0].Get("name")
	assert.Equal(t, neo, "neo4j")
	def, _ := res.Records[0].Get("default")
	assert.Equal(t, def, true)
	sys, _ := res.Records[1].Get("type")
	assert.Equal(t, sys, "system")

	res = mustQuery(t, d, "system", "SHOW DATABASES YIELD name, currentStatus WHERE name = $name", map[string]any{"name": "neo4j"})
	assert.DeepEqual(t, res.Keys, []string{"name", "currentStatus"})
	assert.Equal(t, len(res.Records), 1)
	assert.DeepEqual(t, res.Records[0].Values, []any{"neo4j", "online"})

	res = mustQuery(t, d, "system", "SHOW DATABASE `neo4j` YIELD currentStatus RETURN currentStatus AS s", nil)
	assert.DeepEqual(t, res.Records[0].Values, []any{"online"})
}

func TestStopStartCreate(t *testing.T) {
	f := start(t, "enterprise")
	d := f.driver(t, password)
	mustQuery(t, d, "neo4j", "CREATE (:Seed {k: 'v'})", nil)

	res := mustQuery(t, d, "system", "STOP DATABASE neo4j WAIT", nil)
	assert.DeepEqual(t, res.Keys, []string{"address", "state", "message", "success"})
	assert.Equal(t, res.Summary.Counters().SystemUpdates(), 1)
	assert.Equal(t, statuses(t, d)["neo4j"], "offline")

	// (auto-commit: the driver's managed transactions retry transient errors)
	err := autoCommit(t, d, "neo4j", "MATCH (n) RETURN count(n)")
	assert.Equal(t, neo4jCode(t, err), "Neo.TransientError.General.DatabaseUnavailable")
	_, err = query(t, d, "nope", "MATCH (n) RETURN count(n)", nil)
	assert.Equal(t, neo4jCode(t, err), "Neo.ClientError.Database.DatabaseNotFound")

	mustQuery(t, d, "system", "START DATABASE neo4j", nil)
	assert.Equal(t, statuses(t, d)["neo4j"], "online")
	assert.Equal(t, count(t, d, "neo4j", "MATCH (n) RETURN count(n)"), int64(1))

	mustQuery(t, d, "system", "CREATE DATABASE `infra-db` IF NOT EXISTS WAIT", nil)
	mustQuery(t, d, "system", "CREATE DATABASE `infra-db` IF NOT EXISTS", nil)
	_, err = query(t, d, "system", "CREATE DATABASE `infra-db`", nil)
	assert.Equal(t, neo4jCode(t, err), "Neo.ClientError.Database.ExistingDatabaseFound")
	assert.Equal(t, statuses(t, d)["infra-db"], "online")

	// a failing START leaves the database down and says why
	assert.NilError(t, os.WriteFile(filepath.Join(f.data, faults.File), []byte(`{"fail":{"start":1}}`), 0o644))
	mustQuery(t, d, "system", "STOP DATABASE `infra-db`", nil)
	_, err = query(t, d, "system", "START DATABASE `infra-db`", nil)
	assert.Equal(t, neo4jCode(t, err), "Neo.DatabaseError.Database.UnableToStartDatabase")
	res = mustQuery(t, d, "system", "SHOW DATABASE `infra-db` YIELD requestedStatus, currentStatus, statusMessage", nil)
	assert.Equal(t, res.Records[0].Values[0], "online")
	assert.Equal(t, res.Records[0].Values[1], "offline")
	assert.Assert(t, is.Contains(res.Records[0].Values[2].(string), "injected fault"))
	mustQuery(t, d, "system", "START DATABASE `infra-db` WAIT 10 SECONDS", nil)
	assert.Equal(t, statuses(t, d)["infra-db"], "online")

	// a store replaced on disk while stopped is re-read on START
	mustQuery(t, d, "system", "STOP DATABASE neo4j", nil)
	assert.NilError(t, f.st.ReplaceStore("neo4j", []store.Tx{{ID: 1, Ops: []store.Op{{Kind: "create", Count: 7}}}}, store.NewStoreID()))
	mustQuery(t, d, "system", "START DATABASE neo4j", nil)
	assert.Equal(t, count(t, d, "neo4j", "MATCH (n) RETURN count(n) AS c"), int64(7))

	mustQuery(t, d, "system", "DROP DATABASE `infra-db` IF EXISTS", nil)
	_, ok := statuses(t, d)["infra-db"]
	assert.Assert(t, !ok)
}

func TestSeedAndCount(t *testing.T) {
	f := start(t, "enterprise")
	d := f.driver(t, password)
	res := mustQuery(t, d, "neo4j", "UNWIND range(1, $n) AS i CREATE (:Item {i: i, kind: $kind})", map[string]any{"n": 250, "kind": "x"})
	assert.Equal(t, res.Summary.Counters().NodesCreated(), 250)
	assert.Equal(t, res.Summary.StatementType(), neo4j.StatementTypeWriteOnly)
	mustQuery(t, d, "neo4j", "CREATE (:Other {k: 1})", nil)
	assert.Equal(t, count(t, d, "neo4j", "MATCH (n) RETURN count(n)"), int64(251))
	assert.Equal(t, count(t, d, "neo4j", "MATCH (n:Item) RETURN count(n)"), int64(250))
	res = mustQuery(t, d, "neo4j", "MATCH (n) DETACH DELETE n", nil)
	assert.Equal(t, res.Summary.Counters().NodesDeleted(), 251)
	assert.Equal(t, count(t, d, "neo4j", "MATCH (n) RETURN count(n)"), int64(0))

	_, err := query(t, d, "neo4j", "MATCH (n) RETURN n.name", nil)
	assert.Equal(t, neo4jCode(t, err), "Neo.ClientError.Statement.SyntaxError")
}

func TestTransactions(t *testing.T) {
	f := start(t, "enterprise")
	d := f.driver(t, password)
	ctx := context.Background()
	s := d.NewSession(ctx, neo4j.SessionConfig{DatabaseName: "neo4j"})
	defer s.Close(ctx)

	n, err := s.ExecuteWrite(ctx, func(tx neo4j.ManagedTransaction) (any, error) {
		if _, err := tx.Run(ctx, "CREATE (:A)", nil); err != nil {
			return nil, err
		}
		if _, err := tx.Run(ctx, "CREATE (:A), (:B)", nil); err != nil {
			return nil, err
		}
		r, err := tx.Run(ctx, "MATCH (n:A) RETURN count(n)", nil)
		if err != nil {
			return nil, err
		}
		rec, err := r.Single(ctx)
		if err != nil {
			return nil, err
		}
		return rec.Values[0], nil
	})
	assert.NilError(t, err)
	assert.Equal(t, n, int64(2))
	assert.Assert(t, len(s.LastBookmarks()) == 1)

	// a rolled back transaction leaves nothing behind
	tx, err := s.BeginTransaction(ctx)
	assert.NilError(t, err)
	_, err = tx.Run(ctx, "CREATE (:A)", nil)
	assert.NilError(t, err)
	assert.NilError(t, tx.Rollback(ctx))
	assert.Equal(t, count(t, d, "neo4j", "MATCH (n) RETURN count(n)"), int64(3))

	// a failure inside a transaction; the connection is usable after it
	tx, err = s.BeginTransaction(ctx)
	assert.NilError(t, err)
	_, err = tx.Run(ctx, "BOGUS", nil)
	assert.Equal(t, neo4jCode(t, err), "Neo.ClientError.Statement.SyntaxError")
	_ = tx.Close(ctx)
	assert.Equal(t, count(t, d, "neo4j", "MATCH (n) RETURN count(n)"), int64(3))
}

func TestLargeParameter(t *testing.T) {
	f := start(t, "enterprise")
	d := f.driver(t, password)
	big := strings.Repeat("0123456789abcdef", 1<<17) // 2 MiB
	mustQuery(t, d, "neo4j", "CREATE (:Blob {data: $data})", map[string]any{"data": big})
	res := mustQuery(t, d, "neo4j", "RETURN $data AS echo", map[string]any{"data": big})
	assert.Equal(t, res.Records[0].Values[0], big)

	txs, _, _, err := f.st.ReadTxs("neo4j", 0)
	assert.NilError(t, err)
	assert.Equal(t, len(txs), 1)
	assert.Equal(t, txs[0].Ops[0].Props["data"], big)
}

func TestRestoreMetadataStatementsAreRecorded(t *testing.T) {
	f := start(t, "enterprise")
	d := f.driver(t, password)
	stmts := []string{
		"CREATE ROLE `reader` IF NOT EXISTS",
		"GRANT ACCESS ON DATABASE $database TO `reader`",
		"GRANT MATCH {*} ON GRAPH $database NODE * TO `reader`",
		"CREATE USER `alice` IF NOT EXISTS SET ENCRYPTED PASSWORD '1,abc,def' CHANGE NOT REQUIRED SET STATUS ACTIVE",
		"GRANT ROLE `reader` TO `alice`",
	}
	for _, s := range stmts {
		mustQuery(t, d, "system", s, map[string]any{"database": "neo4j"})
	}
	_, err := query(t, d, "system", stmts[1], nil)
	assert.Equal(t, neo4jCode(t, err), "Neo.ClientError.Statement.ParameterMissing")

	b, err := os.ReadFile(filepath.Join(f.data, cypher.ExecutedFile))
	assert.NilError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	assert.Equal(t, len(lines), len(stmts))
	var e cypher.Executed
	assert.NilError(t, json.Unmarshal([]byte(lines[1]), &e))
	assert.Equal(t, e.Statement, stmts[1])
	assert.Equal(t, e.Database, "neo4j")
	assert.Equal(t, e.DB, "system")
}

func TestCommunityRefusesEnterpriseCommands(t *testing.T) {
	f := start(t, "community")
	d := f.driver(t, password)
	_, err := query(t, d, "system", "STOP DATABASE neo4j", nil)
	assert.Equal(t, neo4jCode(t, err), "Neo.ClientError.Statement.UnsupportedAdministrationCommand")
	res := mustQuery(t, d, "system", "CALL dbms.components() YIELD edition", nil)
	assert.DeepEqual(t, res.Records[0].Values, []any{"community"})
}

func TestBoltFaultDropsConnection(t *testing.T) {
	f := start(t, "enterprise")
	d := f.driver(t, password)
	assert.NilError(t, os.WriteFile(filepath.Join(f.data, faults.File), []byte(`{"fail":{"bolt":1}}`), 0o644))
	ctx := context.Background()
	s := d.NewSession(ctx, neo4j.SessionConfig{DatabaseName: "neo4j"})
	defer s.Close(ctx)
	_, err := s.Run(ctx, "MATCH (n) RETURN count(n)", nil)
	assert.Assert(t, err != nil)
	// the next connection works again
	assert.Equal(t, count(t, d, "neo4j", "MATCH (n) RETURN count(n)"), int64(0))
}

// TestRoutingScheme: neo4j:// makes the driver send ROUTE; a single server
// answers with itself in every role.
func TestRoutingScheme(t *testing.T) {
	f := start(t, "enterprise")
	d, err := neo4j.NewDriverWithContext(strings.Replace(f.url, "bolt://", "neo4j://", 1), neo4j.BasicAuth("neo4j", password, ""))
	assert.NilError(t, err)
	defer d.Close(context.Background())
	assert.Equal(t, count(t, d, "neo4j", "MATCH (n) RETURN count(n)"), int64(0))
}
