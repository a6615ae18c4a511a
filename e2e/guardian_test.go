package e2e

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

// The deployment comes back when the client dies (README "Reliability"):
// kill -9 of the plugin in the middle of a Community outage, and the
// guardian on the Docker host starts the database and the applications
// again; the next run says so first and succeeds.

// guardianBack bounds the wait for a guardian to bring a deployment back:
// the helpers' stop (10 s), the database's stop timeout, its start, the
// applications' starts. It is a test timeout, not a measured threshold.
const guardianBack = 3 * time.Minute

// allBack waits until every container of the project runs and the run's
// guardian is gone.
func allBack(t *testing.T, c *kit.Compose, db *kit.Database) {
	t.Helper()
	kit.WaitUntil(t, guardianBack, "the guardian bringing the deployment back", func() (bool, string) {
		var down []string
		for s, ctr := range c.Containers {
			if !ctr.Running(t) {
				down = append(down, s)
			}
		}
		g := db.Guardians(t)
		return len(down) == 0 && len(g) == 0, fmt.Sprintf("not running: %v; guardian containers: %v", down, g)
	})
}

func TestGuardianKill9(t *testing.T) {
	t.Parallel()
	kit.RequireStandIn(t, "it holds the dump and the load open with the stand-in's fault knobs")
	for _, tc := range []struct {
		name, knobs, line, data string
		command                 func(p *kit.Plugin, c *kit.Compose, dir string) icmd.Cmd
	}{
		{
			name: "community dump", knobs: `{"delay": {"dump": "60s"}}`, line: "neo4j-admin database dump neo4j", data: "old",
			command: func(p *kit.Plugin, c *kit.Compose, dir string) icmd.Cmd {
				return p.Cmd("infrahubdb", "backup", dir, "--yes", "--project", c.Project, "--progress", "plain")
			},
		},
		{
			name: "community load", knobs: `{"delay": {"load": "20s"}}`, line: "neo4j-admin database load", data: "old: the guardian put the safety copy back",
			command: func(p *kit.Plugin, c *kit.Compose, dir string) icmd.Cmd {
				return p.Cmd("infrahubdb", "restore", dir, "--yes", "--project", c.Project, "--progress", "plain", "--component", "graph")
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := kit.InstallPlugin(t)
			c := kit.StartCompose(t, kit.ComposeOptions{Services: []string{kit.ServiceDatabase, kit.ServiceServer, kit.ServiceTaskWorker, kit.ServiceTaskManager}})
			db := c.Database(t)
			dir := kit.Folder(t)
			db.Seed(t, "neo4j", 3)
			want := int64(3)
			if strings.HasPrefix(tc.name, "community load") {
				// The restore loads a backup of 3 nodes over 7: the old data is 7.
				p.Docker("infrahubdb", "backup", dir, "--yes", "--project", c.Project, "--component", "graph").Assert(t, icmd.Success)
				db.Reconnect(t)
				db.Wait(t)
				db.Seed(t, "neo4j", 4)
				want = 7
			}
			db.SetFaults(t, tc.knobs)

			r := p.Start(t, tc.command(p, c, dir))
			r.WaitForOutput(t, tc.line, 2*time.Minute)
			assert.Check(t, is.Contains(r.Result.Combined(), "guardian"))
			assert.Check(t, !c.Containers[kit.ServiceDatabase].Running(t), "the database container is stopped when the client dies")
			r.Kill(t)
			r.Wait()

			allBack(t, c, db)
			assert.Check(t, is.Len(db.Records(t), 1), "the guardian left one record")
			db.SetFaults(t, `{}`)
			db.Reconnect(t)
			db.Wait(t)
			assert.Check(t, is.Equal(db.Count(t, "neo4j"), want), "the old data")

			// The next backup reports the interrupted run first, cleans up
			// after it, and succeeds.
			res := p.Docker("infrahubdb", "backup", kit.Folder(t), "--yes", "--project", c.Project, "--progress", "plain")
			res.Assert(t, icmd.Success)
			for _, want := range []string{"INTERRUPTED RUN", "guardian started", c.Containers[kit.ServiceDatabase].Name, "Data: " + tc.data} {
				assert.Check(t, is.Contains(res.Stderr(), want))
			}
			assertAllRunning(t, c, db)
			assert.Check(t, is.Len(db.Records(t), 0), "the record was reported once")
			assert.Check(t, is.Len(db.Guardians(t), 0), "the guardian is removed on the normal path")
		})
	}
}

// Two backups from two folders at once on one deployment: the second
// refuses with exit code 4 naming the holder, or waits with --wait.
func TestGuardianRunLock(t *testing.T) {
	t.Parallel()
	kit.RequireStandIn(t, "it holds the dump open with the stand-in's fault knobs")
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{})
	db := c.Database(t)
	db.Seed(t, "neo4j", 2)
	db.SetFaults(t, `{"delay": {"dump": "5s"}}`)

	first := p.Start(t, p.Cmd("infrahubdb", "backup", kit.Folder(t), "--yes", "--project", c.Project, "--progress", "plain"))
	first.WaitForOutput(t, "guardian", time.Minute)

	res := p.Docker("infrahubdb", "backup", kit.Folder(t), "--yes", "--project", c.Project)
	res.Assert(t, icmd.Expected{ExitCode: 4, Err: "another docker infrahubdb run holds this deployment: backup"})
	// A restore from another folder is refused the same way, before it
	// stops anything.
	restore := p.Docker("infrahubdb", "restore", kit.Folder(t), "--yes", "--project", c.Project)
	restore.Assert(t, icmd.Expected{ExitCode: 4, Err: "another docker infrahubdb run holds this deployment: backup"})
	assert.Check(t, is.Contains(res.Stderr(), "--wait"))
	host, _ := os.Hostname()
	assert.Check(t, is.Contains(res.Stderr(), "pid "))
	assert.Check(t, is.Contains(res.Stderr(), "on "+host))

	second := p.Docker("infrahubdb", "backup", kit.Folder(t), "--yes", "--project", c.Project, "--wait", "5m", "--progress", "plain")
	second.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(second.Stderr(), "waiting up to"))
	first.Wait().Assert(t, icmd.Success)
	db.SetFaults(t, `{}`)
	assertAllRunning(t, c, db)
	assert.Check(t, is.Len(db.Guardians(t), 0))
}

// backup --consistent on Enterprise stops only the applications; killed
// while they are stopped (the online backup held open), the guardian
// starts them again and the database never stopped.
func TestGuardianKill9Consistent(t *testing.T) {
	t.Parallel()
	kit.RequireStandIn(t, "it holds the online backup open with the stand-in's fault knobs")
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices, Neo4jImage: kit.Image(t)})
	db := c.Database(t)
	db.Seed(t, "neo4j", 3)
	dbStarted := c.Containers[kit.ServiceDatabase].StartedAt(t)
	db.SetFaults(t, `{"delay": {"backup": "60s"}}`)

	r := p.Start(t, p.Cmd("infrahubdb", "backup", kit.Folder(t), "--consistent", "--yes", "--project", c.Project, "--progress", "plain"))
	r.WaitForOutput(t, "neo4j-admin database backup", 2*time.Minute)
	assert.Check(t, !c.Containers[kit.ServiceServer].Running(t), "the applications are stopped when the client dies")
	r.Kill(t)
	r.Wait()

	allBack(t, c, db)
	assert.Check(t, is.Equal(c.Containers[kit.ServiceDatabase].StartedAt(t), dbStarted), "the database was never stopped")
	db.SetFaults(t, `{}`)
	res := p.Docker("infrahubdb", "backup", kit.Folder(t), "--project", c.Project, "--progress", "plain")
	res.Assert(t, icmd.Success)
	for _, want := range []string{"INTERRUPTED RUN", "guardian started", c.Containers[kit.ServiceServer].Name, "Data: old"} {
		assert.Check(t, is.Contains(res.Stderr(), want))
	}
	assertAllRunning(t, c, db)
}

// kill -9 of an online restore on Enterprise after STOP DATABASE, while
// neo4j-admin restore runs: the guardian lets it end, restores the safety
// backup, starts the database with cypher-shell and the applications.
func TestGuardianKill9OnlineRestore(t *testing.T) {
	t.Parallel()
	kit.RequireStandIn(t, "it holds neo4j-admin restore open with the stand-in's fault knobs")
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: []string{kit.ServiceDatabase, kit.ServiceServer, kit.ServiceTaskWorker}, Neo4jImage: kit.Image(t)})
	db := c.Database(t)
	db.Seed(t, "neo4j", 3)
	dir := kit.Folder(t)
	p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--component", "graph").Assert(t, icmd.Success)
	db.Seed(t, "neo4j", 4) // the old data, which the restore replaces: 7 nodes
	db.SetFaults(t, `{"delay": {"restore": "20s"}}`)

	r := p.Start(t, p.Cmd("infrahubdb", "restore", dir, "--yes", "--project", c.Project, "--component", "graph", "--progress", "plain"))
	r.WaitForOutput(t, "neo4j-admin database restore neo4j", 2*time.Minute)
	r.Kill(t)
	r.Wait()

	allBack(t, c, db)
	db.SetFaults(t, `{}`)
	db.Reconnect(t)
	kit.WaitUntil(t, guardianBack, "database neo4j online", func() (bool, string) {
		st := db.Statuses(t)
		return st["neo4j"] == "online", fmt.Sprint(st, kit.Docker(append([]string{"volume", "inspect", "-f", "{{json .Labels}}"}, db.Records(t)...)...).Combined())
	})
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(7)), "the old data, put back from the safety backup")
	res := p.Docker("infrahubdb", "backup", kit.Folder(t), "--project", c.Project, "--component", "graph", "--progress", "plain")
	res.Assert(t, icmd.Success)
	for _, want := range []string{"INTERRUPTED RUN", "a restore run", "Safety copy: put back", "Data: old"} {
		assert.Check(t, is.Contains(res.Stderr(), want))
	}
	assertAllRunning(t, c, db)
}
