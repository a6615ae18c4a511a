package neo4j

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func neo4jError(code, msg string) error { return &neo4j.Neo4jError{Code: code, Msg: msg} }

func TestCodeAndClassification(t *testing.T) {
	notFound := fmt.Errorf("STOP DATABASE `x`: %w", neo4jError(CodeDatabaseNotFound, "Database does not exist. Database name: 'x'."))
	assert.Equal(t, Code(notFound), CodeDatabaseNotFound)
	assert.Check(t, IsDatabaseNotFound(notFound))
	assert.Check(t, !IsUnauthorized(notFound))
	assert.Check(t, !IsTransient(notFound))

	assert.Equal(t, Code(errors.New("plain")), "")
	assert.Equal(t, Code(nil), "")

	unauthorized := neo4jError(CodeUnauthorized, "The client is unauthorized due to authentication failure.")
	assert.Check(t, IsUnauthorized(unauthorized))
	assert.Check(t, IsUnauthorized(&AuthError{Address: "a:1", User: "neo4j", Err: unauthorized}))

	assert.Check(t, IsTransient(neo4jError("Neo.TransientError.Database.DatabaseUnavailable", "starting")))
	assert.Check(t, !IsTransient(neo4jError("Neo.TransientError.Transaction.Terminated", "terminated by user")))
	assert.Check(t, !IsTransient(neo4jError("Neo.ClientError.Statement.SyntaxError", "bad")))
	assert.Check(t, IsTransient(&neo4j.ConnectivityError{Inner: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}))
	assert.Check(t, IsTransient(&UnreachableError{Address: "a:1", Err: syscall.ECONNRESET}))
}

func TestAuthErrorMessage(t *testing.T) {
	err := error(&AuthError{Address: "127.0.0.1:7687", User: "neo4j", Err: neo4jError(CodeUnauthorized, "The client is unauthorized due to authentication failure.")})
	assert.Check(t, errors.Is(err, ErrUnauthorized))
	assert.Equal(t, Code(err), CodeUnauthorized)
	assert.Error(t, err, `Neo4j at 127.0.0.1:7687 refused the password of user "neo4j" (Neo.ClientError.Security.Unauthorized); `+
		`credentials come from NEO4J_AUTH=user/password, --password-stdin, or else the database container's own NEO4J_AUTH; check the one in use`)

	expired := &AuthError{Address: "db:7687", User: "neo4j", Err: neo4jError(CodeCredentialsExpired, "expired")}
	assert.Check(t, is.ErrorContains(expired, "requires it to be changed first"))

	none := &AuthError{Address: "db:7687", Err: neo4jError(CodeUnauthorized, "x")}
	assert.Check(t, is.ErrorContains(none, "an unauthenticated connection (NEO4J_AUTH=none)"))
}

func TestUnreachableErrorMessage(t *testing.T) {
	inner := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	err := &UnreachableError{Address: "127.0.0.1:7687", Err: &neo4j.ConnectivityError{Inner: inner}}
	assert.Error(t, err, "cannot reach Neo4j over Bolt at 127.0.0.1:7687: dial tcp: connection refused")
}

func TestStatementErrorHidesSecrets(t *testing.T) {
	statement := "CREATE USER `neo4j` IF NOT EXISTS\n  SET ENCRYPTED PASSWORD '1,abcdef,123456' CHANGE NOT REQUIRED"
	server := neo4jError("Neo.ClientError.Statement.SyntaxError",
		"Invalid input 'X': expected ... (line 2, column 3)\n\"  SET ENCRYPTED PASSWORD '1,abcdef,123456' CHANGE NOT REQUIRED\"")
	err := &StatementError{Index: 35, Total: 38, Statement: statement, Err: server}

	msg := err.Error()
	assert.Check(t, is.Contains(msg, "statement 35 of 38 failed (CREATE USER `neo4j` IF NOT EXISTS …): Invalid input 'X'"))
	assert.Check(t, is.Contains(msg, "(Neo.ClientError.Statement.SyntaxError)"))
	assert.Check(t, !strings.Contains(msg, "abcdef"), msg)
	assert.Check(t, is.Contains(msg, "PASSWORD '****'"))
	assert.Equal(t, Code(err), "Neo.ClientError.Statement.SyntaxError")
}

func TestRedactPasswords(t *testing.T) {
	for in, want := range map[string]string{
		"CREATE USER x SET PASSWORD 'pw' CHANGE REQUIRED":     "CREATE USER x SET PASSWORD '****' CHANGE REQUIRED",
		`ALTER USER x SET PLAINTEXT PASSWORD "p\"w"`:          `ALTER USER x SET PLAINTEXT PASSWORD '****'`,
		"create user x set encrypted password '1,a,b'":        "create user x set encrypted password '****'",
		"ALTER CURRENT USER SET PASSWORD FROM 'old' TO 'new'": "ALTER CURRENT USER SET PASSWORD FROM '****' TO '****'",
		"RETURN 'not secret'":                                 "RETURN 'not secret'",
		"CREATE USER x SET PASSWORD $password":                "CREATE USER x SET PASSWORD $password",
		"GRANT ROLE `admin` TO `neo4j`":                       "GRANT ROLE `admin` TO `neo4j`",
	} {
		assert.Equal(t, RedactPasswords(in), want)
	}
}
