package settings

import (
	"fmt"
	"strings"
)

// LoadSecrets does what the real entrypoint does with Docker secrets before
// it writes any setting: every non-empty NEO4J_*_FILE variable names a file
// whose content (trailing newlines stripped, as the shell's $(<file) does)
// becomes the variable without the suffix, overriding it
// (docker-neo4j src/test/java/com/neo4j/docker/TestDockerComposeSecrets.java:
// NEO4J_AUTH_FILE sets the password, a secret overrides the plain variable,
// a missing or unreadable file stops the container with the message below,
// and _FILE variables without the NEO4J_ prefix are ignored). The _FILE
// variables themselves are dropped: they are no settings. It returns the
// new environment.
func LoadSecrets(environ []string, readFile func(string) ([]byte, error)) ([]string, error) {
	secrets := map[string]string{}
	var out []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "NEO4J_") || !strings.HasSuffix(name, "_FILE") || value == "" {
			out = append(out, kv)
			continue
		}
		data, err := readFile(value)
		if err != nil {
			return nil, fmt.Errorf("The secret file '%s' does not exist or is not readable. Make sure you have correctly configured docker secrets.", value)
		}
		secrets[strings.TrimSuffix(name, "_FILE")] = strings.TrimRight(string(data), "\n")
	}
	for i, kv := range out {
		name, _, _ := strings.Cut(kv, "=")
		if v, ok := secrets[name]; ok {
			out[i] = name + "=" + v
			delete(secrets, name)
		}
	}
	for name, v := range secrets {
		out = append(out, name+"="+v)
	}
	return out, nil
}

// AuthFromPath is the entrypoint's NEO4J_AUTH_PATH [S13b]: when set, the
// initial password comes from that file instead of NEO4J_AUTH, and a
// missing file stops the container.
func AuthFromPath(path string, readFile func(string) ([]byte, error)) (string, error) {
	data, err := readFile(path)
	if err != nil {
		return "", fmt.Errorf("The password file '%s' does not exist", path)
	}
	return strings.TrimRight(string(data), "\n"), nil
}
