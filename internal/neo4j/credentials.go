package neo4j

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Credentials log in to Neo4j. None means authentication is disabled
// (NEO4J_AUTH=none). The password is never printed: every fmt verb, String,
// GoString and JSON show it masked.
type Credentials struct {
	User     string
	Password string
	None     bool
}

const masked = "****"

// ErrBadAuthValue is returned by ParseAuth. Its text never includes the value.
var ErrBadAuthValue = errors.New(`NEO4J_AUTH must be "none" or "user/password" with a non-empty user and password`)

// ParseAuth reads a NEO4J_AUTH value: "none", or "user/password" split at the
// first '/', so the password may itself contain '/'. Like the Neo4j image's
// entrypoint, a trailing "/true" (case-insensitive) after a password without
// '/' is the image's "require password change" flag, not part of the password.
func ParseAuth(value string) (Credentials, error) {
	if value == "none" {
		return Credentials{None: true}, nil
	}
	user, password, ok := strings.Cut(value, "/")
	if !ok || user == "" || password == "" {
		return Credentials{}, ErrBadAuthValue
	}
	if p, flag, ok := strings.Cut(password, "/"); ok && p != "" && strings.EqualFold(flag, "true") {
		password = p
	}
	return Credentials{User: user, Password: password}, nil
}

// String shows the user and a masked password, e.g. "neo4j/****".
func (c Credentials) String() string {
	if c.None {
		return "none"
	}
	return c.User + "/" + masked
}

// GoString keeps %#v from printing the password.
func (c Credentials) GoString() string {
	return fmt.Sprintf("neo4j.Credentials{User:%q, Password:%q, None:%t}", c.User, masked, c.None)
}

// Format makes every fmt verb (%v, %+v, %s, %q, %x, ...) go through String or
// GoString, so the password cannot leak through a format string.
func (c Credentials) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		fmt.Fprint(f, c.GoString())
	case verb == 'q':
		fmt.Fprintf(f, "%q", c.String())
	default:
		fmt.Fprint(f, c.String())
	}
}

// MarshalJSON keeps --format json output and JSON logs from carrying the password.
func (c Credentials) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		User     string `json:"user,omitempty"`
		Password string `json:"password,omitempty"`
		None     bool   `json:"none,omitempty"`
	}{User: c.User, Password: maskedIfSet(c.Password), None: c.None})
}

func maskedIfSet(s string) string {
	if s == "" {
		return ""
	}
	return masked
}
