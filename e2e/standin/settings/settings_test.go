package settings

import (
	"os"
	"testing"

	"gotest.tools/v3/assert"
)

func TestFromEnv(t *testing.T) {
	s := FromEnv([]string{
		"NEO4J_server_backup_listen__address=0.0.0.0:6362",
		"NEO4J_initial_dbms_default__database=infrahub",
		"NEO4J_dbms_security_auth__minimum__password__length=4",
		"NEO4J_AUTH=neo4j/secret", "NEO4J_EDITION=community", "NEO4J_server_empty=", "PATH=/bin",
	})
	assert.DeepEqual(t, s, Settings{
		"server.backup.listen_address":               "0.0.0.0:6362",
		"initial.dbms.default_database":              "infrahub",
		"dbms.security.auth_minimum_password_length": "4",
	})
	assert.Equal(t, s.Get(BackupEnabled), "true")
	assert.Equal(t, Settings{}.Get(BackupListenAddress), "127.0.0.1:6362")
	assert.Equal(t, Edition([]string{"NEO4J_EDITION=community"}), "community")
	assert.Equal(t, Edition(nil), "enterprise")
	assert.Assert(t, !Settings{BackupEnabled: "FALSE"}.Bool(BackupEnabled))
}

func TestParseAuth(t *testing.T) {
	a, err := ParseAuth("neo4j/secret-password/true", Settings{})
	assert.NilError(t, err)
	assert.DeepEqual(t, a, Auth{User: "neo4j", Password: "secret-password"})
	// A '/' in the password does not match the entrypoint's pattern.
	_, err = ParseAuth("neo4j/pass/with/slashes", Settings{})
	assert.Error(t, err, "Invalid value for NEO4J_AUTH: 'neo4j/pass/with/slashes'")
	_, err = ParseAuth("neo4j/admin", Settings{MinPasswordLength: "4"}) // Infrahub's default
	assert.NilError(t, err)
	a, err = ParseAuth("none", Settings{})
	assert.NilError(t, err)
	assert.Assert(t, a.Disabled && a.Check(nil))

	_, err = ParseAuth("neo4j/short", Settings{})
	assert.ErrorContains(t, err, "The minimum password length is 8 characters.")
	_, err = ParseAuth("neo4j/short", Settings{MinPasswordLength: "4"})
	assert.NilError(t, err)
	_, err = ParseAuth("admin/password123", Settings{})
	assert.Error(t, err, "Invalid admin username, it must be neo4j.")
	_, err = ParseAuth("neo4j/neo4j", Settings{})
	assert.Error(t, err, "Invalid value for password. It cannot be 'neo4j', which is the default.")
	_, err = ParseAuth("garbage", Settings{})
	assert.Error(t, err, "Invalid value for NEO4J_AUTH: 'garbage'")
}

func TestInitAuthKeepsTheFirstPassword(t *testing.T) {
	dir := t.TempDir()
	first, err := InitAuth(dir, Auth{User: "neo4j", Password: "first-password"})
	assert.NilError(t, err)
	again, err := InitAuth(dir, Auth{User: "neo4j", Password: "second-password"})
	assert.NilError(t, err)
	assert.DeepEqual(t, again, first)
	assert.Assert(t, again.Check(map[string]any{"scheme": "basic", "principal": "neo4j", "credentials": "first-password"}))
	assert.Assert(t, !again.Check(map[string]any{"scheme": "basic", "principal": "neo4j", "credentials": "second-password"}))
	assert.Assert(t, !again.Check(map[string]any{"scheme": "none"}))
}

func TestLoadSecrets(t *testing.T) {
	files := map[string][]byte{"/run/secrets/auth": []byte("neo4j/from-file\n")}
	read := func(p string) ([]byte, error) {
		if d, ok := files[p]; ok {
			return d, nil
		}
		return nil, os.ErrNotExist
	}
	env, err := LoadSecrets([]string{"NEO4J_AUTH=neo4j/plain", "NEO4J_AUTH_FILE=/run/secrets/auth", "OTHER_FILE=/nope", "PATH=/bin"}, read)
	assert.NilError(t, err)
	assert.DeepEqual(t, env, []string{"NEO4J_AUTH=neo4j/from-file", "OTHER_FILE=/nope", "PATH=/bin"})

	_, err = LoadSecrets([]string{"NEO4J_AUTH_FILE=/missing"}, read)
	assert.Error(t, err, "The secret file '/missing' does not exist or is not readable. Make sure you have correctly configured docker secrets.")

	auth, err := AuthFromPath("/run/secrets/auth", read)
	assert.NilError(t, err)
	assert.Equal(t, auth, "neo4j/from-file")
	_, err = AuthFromPath("/missing", read)
	assert.Error(t, err, "The password file '/missing' does not exist")
}
