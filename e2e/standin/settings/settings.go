// Package settings owns the stand-in's configuration: the configuration file
// ($NEO4J_CONF/neo4j.conf, else $NEO4J_HOME/conf/neo4j.conf), NEO4J_*
// environment variables mapped to Neo4j setting names exactly like the real
// image's entrypoint does, the defaults the stand-in honours, and NEO4J_AUTH
// (the initial password, persisted under the data directory on first start
// so a later change of NEO4J_AUTH does not change it, as with the real image).
//
// Who reads what, like the real image: the entrypoint (here the server,
// the image's command) writes the NEO4J_* variables into neo4j.conf
// [S13b]; neo4j-admin reads only the configuration files and NEO4J_HOME,
// NEO4J_CONF, HEAP_SIZE, JAVA_OPTS, NEO4J_DEBUG, never NEO4J_* settings
// [S8]. So neo4j-admin in a helper container that bypasses the entrypoint
// sees the image's neo4j.conf, not the database container's variables.
package settings

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
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

// ConfFile is the configuration file for environ: $NEO4J_CONF/neo4j.conf,
// else $NEO4J_HOME/conf/neo4j.conf (/var/lib/neo4j in the image).
func ConfFile(environ []string) string {
	home, conf := "/var/lib/neo4j", ""
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "NEO4J_HOME="); ok && v != "" {
			home = v
		}
		if v, ok := strings.CutPrefix(kv, "NEO4J_CONF="); ok && v != "" {
			conf = v
		}
	}
	if conf == "" {
		conf = filepath.Join(home, "conf")
	}
	return filepath.Join(conf, "neo4j.conf")
}

// ReadConf reads a neo4j.conf: "name=value" lines, '#' comments. A missing
// file is no settings.
func ReadConf(path string) (Settings, error) {
	s := Settings{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if name, value, ok := strings.Cut(line, "="); ok {
			s[strings.TrimSpace(name)] = strings.TrimSpace(value)
		}
	}
	return s, sc.Err()
}

// ApplyEnv is what the real entrypoint does before starting the server:
// every NEO4J_* setting variable replaces the setting's line in neo4j.conf
// (or is appended) [S13b]. It returns the resulting configuration. When the
// file cannot be written (a read-only or foreign-owned conf folder) the
// settings still apply to this process, and a warning says so.
func ApplyEnv(path string, environ []string) (Settings, error) {
	conf, err := ReadConf(path)
	if err != nil {
		return nil, err
	}
	env := FromEnv(environ)
	if len(env) == 0 {
		return conf, nil
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(b) == 0 {
		lines = nil
	}
	names := make([]string, 0, len(env))
	for n := range env {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		conf[n] = env[n]
		kept := lines[:0]
		for _, l := range lines {
			if name, _, ok := strings.Cut(strings.TrimSpace(l), "="); ok && !strings.HasPrefix(strings.TrimSpace(l), "#") && strings.TrimSpace(name) == n {
				continue
			}
			kept = append(kept, l)
		}
		lines = append(kept, n+"="+env[n])
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
		err = os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
		if err == nil {
			return conf, nil
		}
	}
	fmt.Fprintf(os.Stderr, "Warning: could not write %s; NEO4J_* settings apply to the server only\n", path)
	return conf, nil
}

// Load returns the configuration neo4j-admin sees: the configuration file
// only (see the package comment).
func Load(environ []string) Settings {
	s, err := ReadConf(ConfFile(environ))
	if err != nil {
		return Settings{}
	}
	return s
}

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
