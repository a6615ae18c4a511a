// Package settings owns the stand-in's configuration: NEO4J_* environment
// variables mapped to Neo4j setting names exactly like the real image's
// entrypoint does, the defaults the stand-in honours, and NEO4J_AUTH (the
// initial password, persisted under the data directory on first start so a
// later change of NEO4J_AUTH does not change it, as with the real image).
package settings

import (
	"os"
	"strings"
)

// Setting names the stand-in honours.
const (
	BackupEnabled       = "server.backup.enabled"
	BackupListenAddress = "server.backup.listen_address"
	BoltListenAddress   = "server.bolt.listen_address"
	DefaultDatabase     = "initial.dbms.default_database"
	DataDirectory       = "server.directories.data"
	AuthEnabled         = "dbms.security.auth_enabled"
	MinPasswordLength   = "dbms.security.auth_minimum_password_length"
)

// defaults are the values used when no environment variable sets them.
// The backup address defaults to loopback like the real server: a helper
// container cannot reach it unless it is set to 0.0.0.0:6362.
var defaults = map[string]string{
	BackupEnabled:       "true",
	BackupListenAddress: "127.0.0.1:6362",
	BoltListenAddress:   "0.0.0.0:7687",
	DefaultDatabase:     "neo4j",
	DataDirectory:       "/data",
	AuthEnabled:         "true",
	MinPasswordLength:   "8",
}

// notConfigs are NEO4J_ variables of the image that are not settings (the
// same list as the real docker-entrypoint.sh).
var notConfigs = map[string]bool{
	"NEO4J_ACCEPT_LICENSE_AGREEMENT": true, "NEO4J_AUTH": true, "NEO4J_AUTH_PATH": true,
	"NEO4J_DEBUG": true, "NEO4J_EDITION": true, "NEO4J_HOME": true, "NEO4J_PLUGINS": true,
	"NEO4J_SHA256": true, "NEO4J_TARBALL": true,
}

// Settings is a set of Neo4j settings by their real names.
type Settings map[string]string

// FromEnv maps the NEO4J_* variables of environ (KEY=VALUE entries) to
// settings: strip the prefix, '_' becomes '.', and '__' becomes '_'. Empty
// values are ignored, like the real entrypoint does.
func FromEnv(environ []string) Settings {
	s := Settings{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "NEO4J_") || notConfigs[name] || value == "" {
			continue
		}
		s[SettingName(name)] = value
	}
	return s
}

// SettingName converts an environment variable name to a setting name:
// NEO4J_server_backup_listen__address → server.backup.listen_address.
func SettingName(env string) string {
	n := strings.TrimPrefix(env, "NEO4J_")
	n = strings.ReplaceAll(n, "_", ".")
	return strings.ReplaceAll(n, "..", "_")
}

// Load returns the settings of the current process environment.
func Load() Settings { return FromEnv(os.Environ()) }

// Get returns a setting, or its default.
func (s Settings) Get(name string) string {
	if v, ok := s[name]; ok {
		return v
	}
	return defaults[name]
}

// Bool returns a boolean setting (true unless it says "false").
func (s Settings) Bool(name string) bool {
	return !strings.EqualFold(strings.TrimSpace(s.Get(name)), "false")
}

// DataDir is the data directory (/data in the image).
func (s Settings) DataDir() string { return s.Get(DataDirectory) }

// Edition returns "enterprise" or "community" from NEO4J_EDITION in environ
// (enterprise when unset).
func Edition(environ []string) string {
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "NEO4J_EDITION="); ok && strings.EqualFold(v, "community") {
			return "community"
		}
	}
	return "enterprise"
}
