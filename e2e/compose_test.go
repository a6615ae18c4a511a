package e2e

// Tests of kit.StartCompose: Compose projects shaped like Infrahub's stock
// docker-compose.yml, made by the machine's docker-compose, come up whole,
// carry Compose's labels, answer, and leave nothing behind.

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

func TestComposeStockProject(t *testing.T) {
	t.Parallel()
	var c *kit.Compose
	var ids []string
	up := t.Run("up", func(t *testing.T) {
		// The stock file's shape and its default: Neo4j Community.
		c = kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices, Neo4jImage: kit.CommunityImage(t)})
		want := append([]string{}, kit.StockServices...)
		sort.Strings(want)
		assert.Check(t, is.DeepEqual(c.Running(t), want))

		for _, s := range kit.StockServices {
			ctr := c.Service(t, s)
			ids = append(ids, ctr.ID)
			assert.Check(t, is.Equal(ctr.Inspect(t, `{{index .Config.Labels "com.docker.compose.project"}}`), c.Project))
			assert.Check(t, is.Equal(ctr.Inspect(t, `{{index .Config.Labels "com.docker.compose.service"}}`), s))
			assert.Check(t, is.Equal(ctr.Inspect(t, `{{with index .Config.Labels "infrahub_role"}}{{.}}{{end}}`), ""), s)
			assert.Check(t, is.Equal(ctr.Inspect(t, "{{.HostConfig.RestartPolicy.Name}}"), "unless-stopped"), s)
			// v1 names <project>_<service>_1, v2 <project>-<service>-1.
			assert.Check(t, is.Regexp("^"+regexp.QuoteMeta(c.Project)+"[_-]"+regexp.QuoteMeta(s)+"[_-]1$", ctr.Name))
			assert.Check(t, is.Contains(ctr.Inspect(t, "{{json .NetworkSettings.Networks}}"), `"`+c.Network()+`"`), s)
		}
		for _, v := range []string{"database_data", "database_logs", "storage_data", "workflow_data", "workflow_db"} {
			assert.Check(t, is.Equal(kit.MustDocker(t, "volume", "inspect", "-f",
				`{{index .Labels "com.docker.compose.project"}}`, c.Volume(v)), c.Project), v)
		}

		// The database: stock settings, no backup listen address, answers
		// Bolt (the Go driver) and cypher-shell.
		db := c.Database(t)
		env := db.Inspect(t, "{{json .Config.Env}}")
		assert.Check(t, is.Contains(env, `"NEO4J_AUTH=neo4j/admin"`))
		assert.Check(t, is.Contains(env, `"NEO4J_dbms_security_auth__minimum__password__length=4"`))
		assert.Check(t, !strings.Contains(env, "backup_listen"), env)
		assert.Check(t, !strings.Contains(env, "NEO4J_ACCEPT_LICENSE_AGREEMENT"), env)
		assert.Check(t, is.Equal(db.Inspect(t, `{{range .Mounts}}{{if eq .Destination "/data"}}{{.Name}}{{end}}{{end}}`), c.Volume("database_data")))
		db.Seed(t, "neo4j", 5)
		assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))
		res := db.Exec("cypher-shell", "-u", "neo4j", "-p", "admin", "-d", "neo4j", "MATCH (n) RETURN count(n)")
		res.Assert(t, icmd.Success)
		assert.Check(t, is.DeepEqual(strings.Fields(res.Stdout()), []string{"count(n)", "5"}))

		// infrahub-server holds the object storage.
		server := c.Service(t, kit.ServiceServer)
		senv := server.Inspect(t, "{{json .Config.Env}}")
		for _, e := range []string{"INFRAHUB_DB_USERNAME=neo4j", "INFRAHUB_DB_PASSWORD=admin", "INFRAHUB_STORAGE_DRIVER=local"} {
			assert.Check(t, is.Contains(senv, `"`+e+`"`))
		}
		assert.Check(t, is.Equal(server.Inspect(t, `{{range .Mounts}}{{if eq .Destination "/opt/infrahub/storage"}}{{.Name}}{{end}}{{end}}`), c.Volume("storage_data")))
		// The app image has no shell: files go in with docker cp.
		file := filepath.Join(t.TempDir(), "artifact.txt")
		assert.NilError(t, os.WriteFile(file, []byte("stored"), 0o644))
		kit.MustDocker(t, "cp", file, server.ID+":/opt/infrahub/storage/artifact.txt")

		// The task manager's PostgreSQL answers, locally and by IP from
		// another container on the project's network.
		pg := c.Postgres(t)
		assert.Check(t, is.Equal(pg.Psql(t, "SELECT current_user || ' ' || current_database()"), "postgres prefect"))
		pg.Psql(t, "CREATE TABLE flow_run (id int); INSERT INTO flow_run SELECT generate_series(1, 7);")
		res = kit.Docker("run", "--rm", "--network", c.Network(), "--label", kit.RunLabel+"="+kit.RunID,
			"--volume", c.Volume("storage_data")+":/storage:ro",
			pg.Image, "sh", "-c", `psql -X -At "$0" -c 'SELECT count(*) FROM flow_run' && cat /storage/artifact.txt`, pg.URL(t))
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Equal(res.Stdout(), "7\nstored"))
		assert.Check(t, is.Contains(c.Service(t, kit.ServiceTaskManager).Inspect(t, "{{json .Config.Env}}"),
			"postgresql+asyncpg://postgres:postgres@task-manager-db:5432/prefect"))

		// Stop and start services the way an operator (or the plugin) does.
		c.Stop(t, kit.ServiceServer, kit.ServiceTaskWorker)
		assert.Check(t, !server.Running(t))
		assert.Check(t, is.Equal(server.Inspect(t, "{{.State.ExitCode}}"), "0"))
		c.Stop(t, kit.ServiceDatabase, kit.ServiceTaskManagerDB)
		c.Start(t, kit.ServiceDatabase, kit.ServiceTaskManagerDB, kit.ServiceServer, kit.ServiceTaskWorker)
		assert.Check(t, is.DeepEqual(c.Running(t), want))
		assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))
		assert.Check(t, is.Equal(pg.Psql(t, "SELECT count(*) FROM flow_run"), "7"))
	})
	assert.Assert(t, up)
	assertProjectGone(t, c, ids)
}

func TestComposeEnterpriseCore(t *testing.T) {
	t.Parallel()
	var c *kit.Compose
	var ids []string
	up := t.Run("up", func(t *testing.T) {
		c = kit.StartCompose(t, kit.ComposeOptions{
			Neo4jImage:     kit.Image(t),
			DatabaseEnv:    []string{"NEO4J_server_backup_listen__address=0.0.0.0:6362"},
			DatabaseLabels: []string{"infrahub_role=database"},
			StorageDriver:  "s3",
			Restart:        "no",
		})
		want := append([]string{}, kit.CoreServices...)
		sort.Strings(want)
		assert.Check(t, is.DeepEqual(c.Running(t), want))
		_, hasPostgres := c.Containers[kit.ServiceTaskManagerDB]
		assert.Check(t, !hasPostgres)
		for _, ctr := range c.Containers {
			ids = append(ids, ctr.ID)
			policy := ctr.Inspect(t, "{{.HostConfig.RestartPolicy.Name}}")
			assert.Check(t, policy == "" || policy == "no", policy)
		}

		db := c.Database(t)
		assert.Check(t, is.Equal(db.Inspect(t, `{{index .Config.Labels "infrahub_role"}}`), "database"))
		env := db.Inspect(t, "{{json .Config.Env}}")
		assert.Check(t, is.Contains(env, `"NEO4J_ACCEPT_LICENSE_AGREEMENT=yes"`))
		assert.Check(t, is.Contains(env, `"NEO4J_server_backup_listen__address=0.0.0.0:6362"`))
		assert.Check(t, is.Equal(db.Status(t, "neo4j"), "online"))
		// Enterprise: a database can be stopped and started.
		db.Run(t, "system", "STOP DATABASE neo4j WAIT", nil)
		assert.Check(t, is.Equal(db.Status(t, "neo4j"), "offline"))
		db.Run(t, "system", "START DATABASE neo4j WAIT", nil)
		assert.Check(t, is.Equal(db.Status(t, "neo4j"), "online"))

		assert.Check(t, is.Contains(c.Service(t, kit.ServiceServer).Inspect(t, "{{json .Config.Env}}"), `"INFRAHUB_STORAGE_DRIVER=s3"`))
	})
	assert.Assert(t, up)
	assertProjectGone(t, c, ids)
}

// assertProjectGone checks that nothing of project c is left after its
// cleanup: no container, volume or network, by label or by name.
func assertProjectGone(t *testing.T, c *kit.Compose, ids []string) {
	t.Helper()
	assert.Check(t, is.Len(c.Leftovers(t), 0))
	for _, id := range ids {
		assert.Check(t, kit.Docker("inspect", id).ExitCode != 0, "container %s still exists", id)
	}
	assert.Check(t, kit.Docker("network", "inspect", c.Network()).ExitCode != 0, "network %s still exists", c.Network())
	for _, name := range strings.Fields(kit.MustDocker(t, "volume", "ls", "-q")) {
		assert.Check(t, !strings.HasPrefix(name, c.Project), "volume %s still exists", name)
	}
	assert.Check(t, is.Equal(kit.MustDocker(t, "ps", "-aq", "--filter", "name="+c.Project), ""))
}
