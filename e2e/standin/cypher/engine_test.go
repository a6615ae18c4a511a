package cypher

import (
	"errors"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/store"
)

func newEngine(t *testing.T) *Engine {
	t.Helper()
	st, err := store.Open(t.TempDir())
	assert.NilError(t, err)
	e := &Engine{Store: st, Edition: "enterprise", Address: "localhost:7687"}
	assert.NilError(t, e.Startup("neo4j"))
	return e
}

func code(t *testing.T, err error) string {
	t.Helper()
	var ce *Error
	assert.Assert(t, errors.As(err, &ce), "not a status error: %v", err)
	return ce.Code
}

func TestLex(t *testing.T) {
	toks, err := lex("SHOW DATABASE `my-db` YIELD name WHERE name = $n AND x <> 'it''s' // c\n /* c */ ;")
	assert.NilError(t, err)
	var kinds []tokKind
	for _, tk := range toks {
		kinds = append(kinds, tk.kind)
	}
	assert.DeepEqual(t, kinds, []tokKind{tIdent, tIdent, tQuoted, tIdent, tIdent, tIdent, tIdent, tPunct, tParam,
		tIdent, tIdent, tPunct, tString, tString, tPunct, tEOF})
	assert.Equal(t, toks[2].text, "my-db")

	toks, err = lex(`CALL dbms.components() RETURN 'a\'b', "x\ny", -1.5`)
	assert.NilError(t, err)
	assert.Equal(t, toks[1].text, "dbms.components")
	assert.Equal(t, toks[5].text, "a'b")
	assert.Equal(t, toks[7].text, "x\ny")

	_, err = lex("RETURN 'open")
	assert.Equal(t, code(t, err), "Neo.ClientError.Statement.SyntaxError")
}

func TestParseLiteral(t *testing.T) {
	for in, want := range map[string]any{
		"'neo4j'": "neo4j", "42": int64(42), "-3": int64(-3), "1.5": 1.5, "true": true, "NULL": nil,
		"[1, 'a']":          []any{int64(1), "a"},
		"{a: 1, `b c`: []}": map[string]any{"a": int64(1), "b c": []any{}},
	} {
		got, err := ParseLiteral(in)
		assert.NilError(t, err, in)
		assert.DeepEqual(t, got, want)
	}
	_, err := ParseLiteral("1 2")
	assert.Assert(t, err != nil)
}

func TestSyntaxErrors(t *testing.T) {
	e := newEngine(t)
	for _, q := range []string{
		"FOO", "MATCH (n) RETURN n", "CREATE (n)-[:R]->(m)", "SHOW TABLES", "STOP DATABASE", "CREATE DATABASE x WAT",
		"MATCH (n:L) DELETE n", "UNWIND [1,2] AS i CREATE (:L)", "RETURN 1; RETURN 2",
	} {
		_, err := e.Run("neo4j", q, nil, nil)
		assert.Equal(t, code(t, err), "Neo.ClientError.Statement.SyntaxError", q)
	}
}

func TestDataStatements(t *testing.T) {
	e := newEngine(t)
	res, err := e.Run("neo4j", "UNWIND range(1, $n) AS i CREATE (a:A:B {i: i, k: 'v'}), (:C)", map[string]any{"n": 10}, nil)
	assert.NilError(t, err)
	assert.DeepEqual(t, res.Stats, map[string]int64{"nodes-created": 20, "labels-added": 30, "properties-set": 20})
	assert.DeepEqual(t, res.Ops[0], store.Op{Kind: "create", Labels: []string{"A", "B"}, Props: map[string]any{"k": "v"}, Count: 10})

	// pending changes of an open transaction are visible to its reads
	res2, err := e.Run("neo4j", "MATCH (n:C) RETURN count(*) AS c", nil, res.Ops)
	assert.NilError(t, err)
	assert.DeepEqual(t, res2.Fields, []string{"c"})
	assert.DeepEqual(t, res2.Records, [][]any{{int64(10)}})

	_, err = e.Commit("neo4j", res.Ops)
	assert.NilError(t, err)
	res, err = e.Run("neo4j", "MATCH (n) DETACH DELETE n;", nil, nil)
	assert.NilError(t, err)
	assert.Equal(t, res.Stats["nodes-deleted"], int64(20))

	_, err = e.Run("system", "CREATE (:A)", nil, nil)
	assert.Equal(t, code(t, err), "Neo.ClientError.Statement.NotSystemDatabaseError")
	_, err = e.Run("nope", "RETURN 1", nil, nil)
	assert.Equal(t, code(t, err), "Neo.ClientError.Database.DatabaseNotFound")
}

func TestShowDatabasesProjection(t *testing.T) {
	e := newEngine(t)
	res, err := e.Run("system", "SHOW DATABASES YIELD name, currentStatus AS s WHERE s = 'online' AND NOT name STARTS WITH 'sys' RETURN name", nil, nil)
	assert.NilError(t, err)
	assert.DeepEqual(t, res.Fields, []string{"name"})
	assert.DeepEqual(t, res.Records, [][]any{{"neo4j"}})

	res, err = e.Run("system", "SHOW DATABASES YIELD * ORDER BY name DESC LIMIT 1", nil, nil)
	assert.NilError(t, err)
	assert.Equal(t, len(res.Fields), len(showColumns)+len(showExtraColumns))
	assert.Equal(t, res.Records[0][0], "system")

	res, err = e.Run("system", "SHOW DATABASES WHERE name IN ['neo4j', 'x']", nil, nil)
	assert.NilError(t, err)
	assert.Equal(t, len(res.Records), 1)

	res, err = e.Run("system", "SHOW DEFAULT DATABASE YIELD name", nil, nil)
	assert.NilError(t, err)
	assert.DeepEqual(t, res.Records, [][]any{{"neo4j"}})

	_, err = e.Run("system", "SHOW DATABASES YIELD nope", nil, nil)
	assert.Equal(t, code(t, err), "Neo.ClientError.Statement.SyntaxError")
}

func TestDatabaseNames(t *testing.T) {
	e := newEngine(t)
	_, err := e.Run("system", "CREATE DATABASE `Mixed.Case-1` WAIT", nil, nil)
	assert.NilError(t, err)
	_, ok, _ := e.Store.Database("mixed.case-1")
	assert.Assert(t, ok)
	_, err = e.Run("system", "STOP DATABASE $db NOWAIT", map[string]any{"db": "MIXED.case-1"}, nil)
	assert.NilError(t, err)
	_, err = e.Run("system", "CREATE DATABASE `_bad`", nil, nil)
	assert.Equal(t, code(t, err), "Neo.ClientError.Statement.ArgumentError")
	_, err = e.Run("system", "STOP DATABASE missing", nil, nil)
	assert.Equal(t, code(t, err), "Neo.ClientError.Database.DatabaseNotFound")
	_, err = e.Run("system", "STOP DATABASE $db", nil, nil)
	assert.Equal(t, code(t, err), "Neo.ClientError.Statement.ParameterMissing")
}

func TestQuarantineOnBrokenStore(t *testing.T) {
	e := newEngine(t)
	_, err := e.Run("system", "STOP DATABASE neo4j", nil, nil)
	assert.NilError(t, err)
	assert.NilError(t, e.Store.ReplaceStore("neo4j", []store.Tx{{ID: 1, Ops: []store.Op{{Kind: "explode"}}}}, store.NewStoreID()))
	_, err = e.Run("system", "START DATABASE neo4j", nil, nil)
	assert.Equal(t, code(t, err), "Neo.DatabaseError.Database.UnableToStartDatabase")
	info, _, _ := e.Store.Database("neo4j")
	assert.Equal(t, info.CurrentStatus, "quarantined")
	assert.Assert(t, info.StatusMessage != "")
}

func TestCountByLabel(t *testing.T) {
	e := newEngine(t)
	res, err := e.Run("neo4j", "UNWIND range(1, 3) AS i CREATE (:A:B), (:Root {uuid: 'r1'})", nil, nil)
	assert.NilError(t, err)
	_, err = e.Commit("neo4j", res.Ops)
	assert.NilError(t, err)
	res, err = e.Run("neo4j", "MATCH (n) UNWIND labels(n) AS label RETURN label, count(*) AS count", nil, nil)
	assert.NilError(t, err)
	assert.DeepEqual(t, res.Fields, []string{"label", "count"})
	assert.DeepEqual(t, res.Records, [][]any{{"A", int64(3)}, {"B", int64(3)}, {"Root", int64(3)}})
}

// Infrahub's deployment id: the uuid of its Root node, read and reset.
func TestRootUUIDSetAndRead(t *testing.T) {
	e := newEngine(t)
	res, err := e.Run("neo4j", "CREATE (:Root {uuid: 'r1'}), (:Branch {name: 'main'})", nil, nil)
	assert.NilError(t, err)
	_, err = e.Commit("neo4j", res.Ops)
	assert.NilError(t, err)
	res, err = e.Run("neo4j", "MATCH (n:Root) RETURN n.uuid AS uuid", nil, nil)
	assert.NilError(t, err)
	assert.DeepEqual(t, res.Records, [][]any{{"r1"}})

	res, err = e.Run("neo4j", "MATCH (n:Root) SET n.uuid = $new_uuid, n.updated_at = $updated_at RETURN count(n) AS count",
		map[string]any{"new_uuid": "r2", "updated_at": "2026-01-01T00:00:00Z"}, nil)
	assert.NilError(t, err)
	assert.DeepEqual(t, res.Records, [][]any{{int64(1)}})
	_, err = e.Commit("neo4j", res.Ops)
	assert.NilError(t, err)
	res, err = e.Run("neo4j", "MATCH (n:Root) RETURN n.uuid", nil, nil)
	assert.NilError(t, err)
	assert.DeepEqual(t, res.Fields, []string{"n.uuid"})
	assert.DeepEqual(t, res.Records, [][]any{{"r2"}})

	res, err = e.Run("neo4j", "MATCH (n:Nothing) SET n.uuid = 'x' RETURN count(n) AS count", nil, nil)
	assert.NilError(t, err)
	assert.DeepEqual(t, res.Records, [][]any{{int64(0)}})
	assert.Check(t, len(res.Ops) == 0)
	res, err = e.Run("neo4j", "MATCH (n:Nothing) RETURN n.uuid", nil, nil)
	assert.NilError(t, err)
	assert.DeepEqual(t, res.Records, [][]any{})
}

func TestCountRelationshipsHasNone(t *testing.T) {
	e := newEngine(t)
	res, err := e.Run("neo4j", "MATCH ()-[r]->() RETURN type(r) AS type, count(*) AS count", nil, nil)
	assert.NilError(t, err)
	assert.DeepEqual(t, res.Fields, []string{"type", "count"})
	assert.DeepEqual(t, res.Records, [][]any{})
}
