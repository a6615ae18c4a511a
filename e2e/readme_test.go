package e2e

// The commands of the README and of docs/getting-started.md, run as written
// against examples/compose.yaml, Infrahub's stock compose trimmed: only the
// images are the suite's own (the stand-in Neo4j Community, the PostgreSQL
// image, the tiny app image), given through the file's variables. The
// project is chosen with INFRAHUBDB_PROJECT, as a scheduled job would
// (other tests' projects run on the same engine).

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

func TestReadmeStockDeployment(t *testing.T) {
	t.Parallel()
	app := kit.AppImage(t)
	i := strings.LastIndex(app, ":")
	c := kit.StartCompose(t, kit.ComposeOptions{File: "../examples/compose.yaml", Env: []string{
		"NEO4J_DOCKER_IMAGE=" + kit.CommunityImage(t),
		"POSTGRES_DOCKER_IMAGE=" + kit.PostgresImage(t),
		"INFRAHUB_DOCKER_IMAGE=" + app[:i], "VERSION=" + app[i+1:],
		"MESSAGE_QUEUE_DOCKER_IMAGE=" + app, "CACHE_DOCKER_IMAGE=" + app,
	}})
	db := c.Database(t)
	db.Seed(t, "neo4j", 5)
	p := kit.InstallPlugin(t)
	dir := kit.Folder(t)
	run := func(args ...string) *icmd.Result {
		cmd := p.Cmd(append([]string{"infrahubdb"}, args...)...)
		cmd.Env = append(cmd.Env, "INFRAHUBDB_PROJECT="+c.Project)
		return icmd.RunCmd(cmd)
	}

	// docker infrahubdb doctor ./backups: every check passes, the edition
	// warns of the Community dump's downtime, and the login is real.
	res := run("doctor", dir, "--format", "json")
	res.Assert(t, icmd.Success)
	var rep struct {
		OK     bool
		Checks []struct{ Name, Status, Detail string }
	}
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &rep))
	assert.Check(t, rep.OK)
	statuses := map[string]string{}
	for _, c := range rep.Checks {
		statuses[c.Name] = c.Status
	}
	assert.Check(t, is.Equal(statuses["login (through a helper container)"], "ok"), res.Stdout())
	assert.Check(t, is.Equal(statuses["Neo4j edition and version"], "warning"), res.Stdout())
	assert.Check(t, is.Equal(statuses["Compose project and components"], "ok"), res.Stdout())
	assert.Check(t, is.Equal(statuses["backup folder"], "ok"), res.Stdout())
	assert.Check(t, is.Len(db.Helpers(t), 0), "the doctor's helper is removed")

	// docker infrahubdb backup ./backups --dry-run: what would stop, for
	// about how long; nothing changes, the folder is not even created.
	dry := kit.Folder(t) + "-not-yet"
	res = run("backup", dry, "--dry-run")
	res.Assert(t, icmd.Expected{Out: "Dry run: nothing was changed."})
	assert.Check(t, is.Contains(res.Stdout(), "offline dump of neo4j, system"), res.Stdout())
	assert.Check(t, is.Len(c.Running(t), len(kit.StockServices)), "nothing stopped")
	_, err := os.Stat(dry)
	assert.Check(t, os.IsNotExist(err), "the dry run left %s", dry)

	// docker infrahubdb backup ./backups --yes
	res = run("backup", dir, "--yes")
	res.Assert(t, icmd.Success)
	db.Reconnect(t) // Community: the dump stopped and started the database
	assert.Check(t, is.Contains(res.Stdout(), "graph, task-manager, storage"))

	// docker infrahubdb verify ./backups
	run("verify", dir).Assert(t, icmd.Expected{Out: "OK: the folder passed verification."})

	// docker infrahubdb list -q ./backups: the run's ID
	ids := strings.Fields(run("list", "-q", dir).Assert(t, icmd.Success).Stdout())
	assert.Assert(t, is.Len(ids, 1))
	assert.Check(t, strings.HasPrefix(ids[0], "run-"), ids[0])

	db.Seed(t, "neo4j", 3)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8)))

	// docker infrahubdb restore ./backups --dry-run, then --yes
	run("restore", dir, "--dry-run").Assert(t, icmd.Success)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8)), "--dry-run changes nothing")
	run("restore", dir, "--yes").Assert(t, icmd.Success)
	db.Reconnect(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))
	assert.Check(t, is.Len(c.Running(t), len(kit.StockServices)), "every service runs again")

	// prune --keep 1 --dry-run, then --force: one run, nothing to delete.
	run("prune", dir, "--keep", "1", "--dry-run").Assert(t, icmd.Expected{Out: "Nothing to delete"})
	run("prune", dir, "--keep", "1", "--force").Assert(t, icmd.Success)
}
