package settings

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Auth is the server's authentication state.
type Auth struct {
	Disabled bool   `json:"disabled,omitempty"`
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
}

// ShortPasswordMessage is what the real image prints for a password that is
// too short (the container then fails to start).
const ShortPasswordMessage = `Invalid value for password. The minimum password length is 8 characters.
If Neo4j fails to start, you can:
  1) Use a stronger password.
  2) Set configuration dbms.security.auth_minimum_password_length to override the minimum password length requirement.
  3) Set environment variable NEO4J_dbms_security_auth__minimum__password__length to override the minimum password length requirement.`

// authRE is the real entrypoint's pattern for NEO4J_AUTH:
// user/password with an optional "/true" (require a password change); a
// '/' inside the password does not match. [S13b] docker-entrypoint.sh
// set_initial_password (5.x and calver alike).
var authRE = regexp.MustCompile(`^([^/]+)/([^/]+)/?([tT][rR][uU][eE])?$`)

// ParseAuth checks NEO4J_AUTH like the real entrypoint, in its order:
// "none"; else the pattern (else "<v> is invalid" and exit 1); password
// not "neo4j"; user "neo4j"; then the minimum password length read from
// the configuration AFTER the NEO4J_* variables were applied to it
// (dbms.security.auth_minimum_password_length, default 8; Infrahub sets 4
// for its password "admin") [S13b][S10][S16b]. The entrypoint only prints
// the length message; set-initial-password then refuses the password and
// the container stops, so here it is an error too. An empty value means
// "not set" (the default neo4j/neo4j, which must be changed on first login).
func ParseAuth(v string, s Settings) (Auth, error) {
	switch {
	case v == "":
		return Auth{User: "neo4j", Password: "neo4j"}, nil
	case v == "none":
		return Auth{Disabled: true}, nil
	}
	m := authRE.FindStringSubmatch(v)
	if m == nil {
		return Auth{}, &InvalidAuthError{Value: v}
	}
	user, password := m[1], m[2]
	if password == "neo4j" {
		return Auth{}, errors.New("Invalid value for password. It cannot be 'neo4j', which is the default.")
	}
	if user != "neo4j" {
		return Auth{}, errors.New("Invalid admin username, it must be neo4j.")
	}
	minLen, err := strconv.Atoi(strings.TrimSpace(s.Get(MinPasswordLength)))
	if err != nil || minLen < 1 {
		minLen = 8
	}
	if len(password) < minLen {
		return Auth{}, errors.New(ShortPasswordMessage + "\n" +
			fmt.Sprintf("command failed: A password must be at least %d characters.", minLen))
	}
	return Auth{User: user, Password: password}, nil
}

// InvalidAuthError is a NEO4J_AUTH that does not match the pattern: the
// entrypoint prints "<value> is invalid" on stdout and the error on stderr.
type InvalidAuthError struct{ Value string }

func (e *InvalidAuthError) Error() string {
	return fmt.Sprintf("Invalid value for NEO4J_AUTH: '%s'", e.Value)
}

// authFile holds the password set on first start (the real server keeps it
// in the system database; a later NEO4J_AUTH does not change it).
func authFile(dataDir string) string { return filepath.Join(dataDir, "dbms", "standin-auth.json") }

// InitAuth returns the effective authentication for a server with data in
// dataDir: the stored password when there is one, else env (which is then
// stored). NEO4J_AUTH=none disables authentication whatever is stored, like
// dbms.security.auth_enabled=false.
func InitAuth(dataDir string, env Auth) (Auth, error) {
	if env.Disabled {
		return env, nil
	}
	b, err := os.ReadFile(authFile(dataDir))
	if err == nil {
		var stored Auth
		if err := json.Unmarshal(b, &stored); err != nil {
			return Auth{}, fmt.Errorf("%s: %w", authFile(dataDir), err)
		}
		return stored, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return Auth{}, err
	}
	if err := os.MkdirAll(filepath.Dir(authFile(dataDir)), 0o755); err != nil {
		return Auth{}, err
	}
	b, _ = json.Marshal(env)
	return env, os.WriteFile(authFile(dataDir), b, 0o600)
}

// Check reports whether a Bolt auth token (scheme, principal, credentials)
// is accepted.
func (a Auth) Check(token map[string]any) bool {
	if a.Disabled {
		return true
	}
	scheme, _ := token["scheme"].(string)
	principal, _ := token["principal"].(string)
	credentials, _ := token["credentials"].(string)
	return scheme == "basic" && principal == a.User &&
		subtle.ConstantTimeCompare([]byte(credentials), []byte(a.Password)) == 1
}
