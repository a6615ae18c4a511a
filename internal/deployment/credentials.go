package deployment

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
)

// Credential sources, for messages (never the value).
const (
	SourceGiven       = "NEO4J_AUTH or --password-stdin"
	SourceDatabaseEnv = "NEO4J_AUTH of the database container"
	SourceAuthFile    = "the file named by %s in the database container"
	SourceServerEnv   = "INFRAHUB_DB_USERNAME/INFRAHUB_DB_PASSWORD of %s"
)

// FindCredentials returns the Bolt credentials and where they came from, in
// this order: given (the plugin's NEO4J_AUTH, else --password-stdin, chosen
// by the CLI); the database container's NEO4J_AUTH_PATH or NEO4J_AUTH_FILE
// (the Neo4j image's entrypoint reads NEO4J_AUTH from such a file [S13b]),
// else its NEO4J_AUTH; else INFRAHUB_DB_USERNAME/INFRAHUB_DB_PASSWORD of the
// project's infrahub-server container (what Infrahub itself logs in with,
// INFRAHUB.md §1). Values are read through the API and never printed.
// NEO4J_AUTH is only the initial password [S24]: callers prove a login
// before changing anything.
func FindCredentials(ctx context.Context, eng Engine, db docker.Container, given *neo4j.Credentials) (neo4j.Credentials, string, error) {
	if given != nil {
		return *given, SourceGiven, nil
	}
	for _, key := range []string{"NEO4J_AUTH_PATH", "NEO4J_AUTH_FILE"} {
		file, ok := db.EnvValue(key)
		if !ok || file == "" {
			continue
		}
		if !path.IsAbs(file) {
			return neo4j.Credentials{}, "", &helper.EnvironmentError{Err: fmt.Errorf("the database container %s reads its NEO4J_AUTH from %s=%s, which cannot be read: set NEO4J_AUTH=user/password or pass --password-stdin", db.Name, key, file)}
		}
		data, err := eng.ReadContainerFile(ctx, db.ID, file, 64<<10)
		if err != nil {
			return neo4j.Credentials{}, "", &helper.EnvironmentError{Err: fmt.Errorf("read %s=%s in the database container %s: %v; set NEO4J_AUTH=user/password or pass --password-stdin", key, file, db.Name, err)}
		}
		creds, err := neo4j.ParseAuth(strings.TrimSpace(string(data)))
		if err != nil {
			return neo4j.Credentials{}, "", &helper.EnvironmentError{Err: fmt.Errorf("the file %s (%s) of container %s: %w", file, key, db.Name, err)}
		}
		return creds, fmt.Sprintf(SourceAuthFile, key), nil
	}
	if v, ok := db.EnvValue("NEO4J_AUTH"); ok {
		creds, err := neo4j.ParseAuth(v)
		if err != nil {
			return neo4j.Credentials{}, "", &helper.EnvironmentError{Err: fmt.Errorf("the NEO4J_AUTH of container %s: %w", db.Name, err)}
		}
		return creds, SourceDatabaseEnv, nil
	}
	servers, err := ProjectContainers(ctx, eng, db, []string{ServerService})
	if err != nil {
		return neo4j.Credentials{}, "", err
	}
	for _, s := range servers {
		password, ok := s.EnvValue("INFRAHUB_DB_PASSWORD")
		if !ok || password == "" {
			continue
		}
		user, _ := s.EnvValue("INFRAHUB_DB_USERNAME")
		if user == "" {
			user = "neo4j" // Infrahub's default
		}
		return neo4j.Credentials{User: user, Password: password}, fmt.Sprintf(SourceServerEnv, s.Name), nil
	}
	return neo4j.Credentials{}, "", &helper.EnvironmentError{Err: fmt.Errorf("no credentials: set NEO4J_AUTH=user/password, pass --password-stdin, or give the database container %s a NEO4J_AUTH (or its project's %s INFRAHUB_DB_USERNAME/INFRAHUB_DB_PASSWORD)", db.Name, ServerService)}
}
