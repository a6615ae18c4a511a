package deployment_test

import (
	"context"
	"fmt"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
)

func TestFindCredentials(t *testing.T) {
	server := stock("infrahub", "infrahub-server", true)
	server.Env = []string{"INFRAHUB_DB_USERNAME=neo4j", "INFRAHUB_DB_PASSWORD=from-server"}
	for _, tc := range []struct {
		name       string
		given      *neo4j.Credentials
		env        []string
		files      map[string][]byte
		server     bool
		wantPw     string
		wantSource string
		wantErr    string
	}{
		{name: "given wins", given: &neo4j.Credentials{User: "neo4j", Password: "given"}, env: []string{"NEO4J_AUTH=neo4j/db"}, wantPw: "given", wantSource: deployment.SourceGiven},
		{name: "database NEO4J_AUTH", env: []string{"NEO4J_AUTH=neo4j/a/b"}, server: true, wantPw: "a/b", wantSource: deployment.SourceDatabaseEnv},
		{name: "NEO4J_AUTH_FILE", env: []string{"NEO4J_AUTH=neo4j/ignored", "NEO4J_AUTH_FILE=/run/secrets/auth"}, files: map[string][]byte{"db-id:/run/secrets/auth": []byte("neo4j/secret\n")}, wantPw: "secret", wantSource: fmt.Sprintf(deployment.SourceAuthFile, "NEO4J_AUTH_FILE")},
		{name: "NEO4J_AUTH_PATH unreadable", env: []string{"NEO4J_AUTH_PATH=/nope"}, wantErr: "NEO4J_AUTH_PATH=/nope"},
		{name: "infrahub-server", server: true, wantPw: "from-server", wantSource: fmt.Sprintf(deployment.SourceServerEnv, server.Name)},
		{name: "none", wantErr: "no credentials: set NEO4J_AUTH=user/password, pass --password-stdin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eng := helpertest.New()
			eng.Database.Env = tc.env
			eng.ContainerFiles = tc.files
			if tc.server {
				eng.Others = []docker.Container{server}
			}
			creds, source, err := deployment.FindCredentials(context.Background(), eng, *eng.Database, tc.given)
			if tc.wantErr != "" {
				assert.Check(t, is.ErrorContains(err, tc.wantErr))
				var env *helper.EnvironmentError
				assert.Check(t, errorsAs(err, &env))
				return
			}
			assert.NilError(t, err)
			assert.Check(t, is.Equal(creds.Password, tc.wantPw))
			assert.Check(t, is.Equal(source, tc.wantSource))
		})
	}
}
