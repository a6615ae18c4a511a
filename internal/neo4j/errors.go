package neo4j

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/neo4j/neo4j-go-driver/v5/neo4j"

	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
)

// Neo4j status codes this package looks at.
const (
	CodeUnauthorized       = "Neo.ClientError.Security.Unauthorized"
	CodeCredentialsExpired = "Neo.ClientError.Security.CredentialsExpired"
	CodeRateLimit          = "Neo.ClientError.Security.AuthenticationRateLimit"
	CodeDatabaseNotFound   = "Neo.ClientError.Database.DatabaseNotFound"
)

// ErrUnauthorized matches (errors.Is) every error caused by Neo4j refusing
// the credentials.
var ErrUnauthorized = exitcode.New(exitcode.Environment, "neo4j refused the credentials")

// credentialSources is the next step for a refused login.
const credentialSources = "credentials come from NEO4J_AUTH=user/password, --password-stdin, " +
	"or else the database container's own NEO4J_AUTH; check the one in use"

// AuthError is a refused login. It names the user and the address, never the
// password, and matches ErrUnauthorized.
type AuthError struct {
	Address string
	User    string
	Err     error // the Neo4jError from the server
}

func (e *AuthError) Error() string {
	user := fmt.Sprintf("user %q", e.User)
	if e.User == "" {
		user = "an unauthenticated connection (NEO4J_AUTH=none)"
	}
	switch Code(e.Err) {
	case CodeCredentialsExpired:
		return fmt.Sprintf("Neo4j at %s accepted the password of %s but requires it to be changed first "+
			"(set a new one with ALTER CURRENT USER SET PASSWORD, then update the credentials); %s",
			e.Address, user, credentialSources)
	case CodeRateLimit:
		return fmt.Sprintf("Neo4j at %s refused %s after too many failed logins; wait and retry; %s",
			e.Address, user, credentialSources)
	}
	return fmt.Sprintf("Neo4j at %s refused the password of %s (%s); %s", e.Address, user, Code(e.Err), credentialSources)
}

func (e *AuthError) Is(target error) bool { return target == ErrUnauthorized }
func (e *AuthError) Unwrap() error        { return e.Err }

// UnreachableError means no Bolt connection could be made (refused, reset,
// timed out, tunnel closed).
type UnreachableError struct {
	Address string
	Err     error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach Neo4j over Bolt at %s: %v", e.Address, cause(e.Err))
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Code returns the Neo4j status code of err (e.g.
// "Neo.ClientError.Database.DatabaseNotFound"), or "" if err did not come
// from the server.
func Code(err error) string {
	var nerr *neo4j.Neo4jError
	if errors.As(err, &nerr) {
		return nerr.Code
	}
	return ""
}

// IsUnauthorized reports whether Neo4j refused the credentials.
func IsUnauthorized(err error) bool {
	if errors.Is(err, ErrUnauthorized) {
		return true
	}
	switch Code(err) {
	case CodeUnauthorized, CodeCredentialsExpired, CodeRateLimit:
		return true
	}
	return false
}

// IsDatabaseNotFound reports whether the server said the database does not exist.
func IsDatabaseNotFound(err error) bool { return Code(err) == CodeDatabaseNotFound }

// IsTransient reports whether retrying the same step may succeed: a transient
// server error (lock timeout, database starting, leader switch) or a lost
// connection.
func IsTransient(err error) bool {
	var nerr *neo4j.Neo4jError
	if errors.As(err, &nerr) {
		return nerr.IsRetriable()
	}
	var unreachable *UnreachableError
	return errors.As(err, &unreachable) || isConnectivity(err)
}

func isConnectivity(err error) bool {
	var cerr *neo4j.ConnectivityError
	if errors.As(err, &cerr) {
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// cause digs the network error out of the driver's ConnectivityError, which
// does not implement Unwrap, and drops the driver's type-name prefixes.
func cause(err error) string {
	var cerr *neo4j.ConnectivityError
	if errors.As(err, &cerr) && cerr.Inner != nil {
		err = cerr.Inner
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "the connection was closed (by the server or the tunnel in between)"
	}
	msg := err.Error()
	for _, prefix := range []string{"ConnectivityError: ", "Neo4jError: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return msg
}

// serverMessage shows a server error as "message (code)", anything else as
// its cause.
func serverMessage(err error) string {
	var nerr *neo4j.Neo4jError
	if errors.As(err, &nerr) {
		return fmt.Sprintf("%s (%s)", nerr.Msg, nerr.Code)
	}
	return cause(err)
}

// serverError shows a Neo4jError as "message (code)" instead of the driver's
// "Neo4jError: code (message)"; Code and errors.As still reach the original.
type serverError struct{ err error }

func (e *serverError) Error() string { return serverMessage(e.err) }
func (e *serverError) Unwrap() error { return e.err }
