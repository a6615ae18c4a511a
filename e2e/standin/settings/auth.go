package settings

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// ParseAuth parses NEO4J_AUTH: "none", or "neo4j/<password>" split at the
// first '/'. An empty value means "not set" (the default neo4j/neo4j).
// Errors carry the real image's messages.
func ParseAuth(v string, s Settings) (Auth, error) {
	switch {
	case v == "":
		return Auth{User: "neo4j", Password: "neo4j"}, nil
	case v == "none":
		return Auth{Disabled: true}, nil
	}
	user, password, ok := strings.Cut(v, "/")
	if !ok || user == "" || password == "" {
		return Auth{}, fmt.Errorf("Invalid value for NEO4J_AUTH: '%s'", v)
	}
	if password == "neo4j" {
		return Auth{}, errors.New("Invalid value for password. It cannot be 'neo4j', which is the default.")
	}
	if user != "neo4j" {
		return Auth{}, errors.New("Invalid admin username, it must be neo4j.")
	}
	minLen, err := strconv.Atoi(s.Get(MinPasswordLength))
	if err != nil {
		minLen = 8
	}
	if len(password) < minLen {
		return Auth{}, errors.New(ShortPasswordMessage)
	}
	return Auth{User: user, Password: password}, nil
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
