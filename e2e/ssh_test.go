package e2e

// The plugin through an ssh:// Docker context (`docker context create X
// --docker host=ssh://user@host`), as an operator reaches a remote Docker
// host: the kit's SSH server on 127.0.0.1 stands for the host, the real
// OpenSSH client and the docker CLI's ssh transport carry every API call.

import (
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/guardian"
)

// servedOnlyDialStdio checks that the SSH server ran something, and only
// the docker CLI's transport command: the run went through ssh.
func servedOnlyDialStdio(t *testing.T, sc *kit.SSHContext) {
	t.Helper()
	cmds := sc.Commands()
	assert.Check(t, len(cmds) > 0, "nothing went through ssh")
	for _, c := range cmds {
		assert.Check(t, is.Equal(c, "docker system dial-stdio"))
	}
}

// The disaster recovery runbook's ssh:// context (docs/runbooks/
// disaster-recovery.md, steps 3 to 5) on a stock-shaped Community
// deployment: the context sees the project, a backup with --yes (the
// guardian armed over ssh), the checks and the plan, a restore, and the
// files moving through the Docker API over ssh (INFRAHUBDB_TRANSFER=stream,
// as to a remote host).
func TestSSHContextBackupAndRestore(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	db := c.Database(t)
	db.Seed(t, "neo4j", 5)
	sc := kit.NewSSHContext(t, p)
	dir := kit.Folder(t)
	run := func(args ...string) *icmd.Result {
		cmd := sc.Cmd(append([]string{"infrahubdb"}, args...)...)
		cmd.Env = append(cmd.Env, "INFRAHUBDB_PROJECT="+c.Project, "INFRAHUBDB_TRANSFER=stream")
		return icmd.RunCmd(cmd)
	}

	// 3. The context reaches the host: the project's containers are there.
	sc.Docker("ps", "--format", "{{.Names}}").Assert(t, icmd.Expected{Out: c.Containers[kit.ServiceDatabase].Name})

	res := run("backup", dir, "--yes", "--progress", "plain")
	res.Assert(t, icmd.Success)
	for _, want := range []string{"armed", c.Containers[kit.ServiceDatabase].Name, "community", "dump"} {
		assert.Check(t, is.Contains(res.Combined(), want))
	}
	assert.Check(t, !strings.Contains(res.Combined(), "no guardian"), res.Combined())
	assertAllRunning(t, c, db)
	ids := strings.Fields(p.Docker("infrahubdb", "list", "-q", dir).Assert(t, icmd.Success).Stdout())
	assert.Check(t, is.Len(ids, 1))
	p.Docker("infrahubdb", "verify", dir).Assert(t, icmd.Expected{Out: "OK: the folder passed verification."})
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))

	// The data changes; 4. check, see the plan, restore.
	db.Seed(t, "neo4j", 4)
	run("doctor", dir).Assert(t, icmd.Success)
	run("restore", dir, "--dry-run").Assert(t, icmd.Expected{Out: "Dry run: nothing was changed."})
	res = run("restore", dir, "--yes", "--progress", "plain")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "Restored: task-manager, storage, graph."), res.Stdout())
	assert.Check(t, is.Contains(res.Combined(), "armed"))

	// 5. What to check after: the data, every service, the safety copy.
	assertAllRunning(t, c, db)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))
	run("list", dir).Assert(t, icmd.Expected{Out: "Safety backups of restore"})
	servedOnlyDialStdio(t, sc)
}

// The ssh link drops in the middle of a Community backup's outage: the
// server stops answering and the plugin's ssh processes are killed
// (kill -9), so the plugin cannot reach the Docker host any more. The
// guardian on the host sees the attach connection end and brings the
// deployment back by itself; the plugin gives up, saying the engine stopped
// answering (not that its helper was removed); the next backup through
// the local context reports the interrupted run and succeeds.
func TestSSHContextCutDuringOutage(t *testing.T) {
	t.Parallel()
	kit.RequireStandIn(t, "it holds the dump open with the stand-in's fault knobs")
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: []string{kit.ServiceDatabase, kit.ServiceServer, kit.ServiceTaskWorker, kit.ServiceTaskManager}})
	db := c.Database(t)
	db.Seed(t, "neo4j", 3)
	sc := kit.NewSSHContext(t, p)
	db.SetFaults(t, `{"delay": {"dump": "60s"}}`)

	cmd := sc.Cmd("infrahubdb", "backup", kit.Folder(t), "--yes", "--project", c.Project, "--progress", "plain")
	cmd.Timeout = guardianBack
	r := p.Start(t, cmd)
	r.WaitForOutput(t, "neo4j-admin database dump neo4j", 2*time.Minute)
	assert.Check(t, is.Contains(r.Result.Combined(), "armed"))
	assert.Check(t, !c.Containers[kit.ServiceDatabase].Running(t), "the database container is stopped when the link drops")
	t.Logf("killed %d ssh processes", sc.Cut(t, r))

	allBack(t, c, db)
	res := r.Wait()
	assert.Check(t, !res.Timeout, "the plugin did not give up after the link dropped:\n%s", res.Combined())
	// It says the guardian brings the deployment back, and not to remove
	// the guardian nor that the applications were started.
	assert.Check(t, is.Equal(res.ExitCode, 7), res.Combined())
	assert.Check(t, is.Contains(res.Stderr(), "did not hear this run end"))
	assert.Check(t, is.Contains(res.Stderr(), "do not remove it"))
	assert.Check(t, !strings.Contains(res.Stderr(), "docker rm -f infrahubdb-guardian"), res.Stderr())
	assert.Check(t, !strings.Contains(res.Stderr(), "were started again"), res.Stderr())
	// The engine stopped answering: the helper was not removed from
	// outside, and the dump's failure says which.
	assert.Check(t, !strings.Contains(res.Combined(), "removed or stopped from outside"), res.Combined())
	assert.Check(t, is.Contains(res.Combined(), "the Docker engine stopped answering while neo4j-admin database dump ran"))
	assert.Check(t, is.Len(db.Records(t), 1), "the guardian left one record")
	db.SetFaults(t, `{}`)
	db.Reconnect(t)
	db.Wait(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(3)), "the old data")

	res = p.Docker("infrahubdb", "backup", kit.Folder(t), "--yes", "--project", c.Project, "--progress", "plain")
	res.Assert(t, icmd.Success)
	for _, want := range []string{"INTERRUPTED RUN", "guardian started", c.Containers[kit.ServiceDatabase].Name, "Data: old"} {
		assert.Check(t, is.Contains(res.Stderr(), want))
	}
	assertAllRunning(t, c, db)
	assert.Check(t, is.Len(db.Records(t), 0), "the record was reported once")
}

// The ssh link hangs in the middle of a Community backup's outage, as when
// the network drops every packet or the Docker host freezes: the kit's SSH
// server stops reading and writing on every connection, the plugin's ssh
// processes stay alive and nothing answers. The guardian on the host hears
// nothing from the run for its grace period and brings the deployment back
// by itself. The plugin, whose calls to the engine would otherwise wait for
// ever, pings the engine and gives up on it once nothing answered for
// guardian.EngineSilenceLimit: it exits 7, saying the engine stopped
// answering and that the guardian brings the deployment back, while the
// link still hangs. Once the link carries bytes again, the deployment runs
// (the guardian did it: one record) and the next backup through the same
// context reports the interrupted run and succeeds.
func TestSSHContextHangDuringOutage(t *testing.T) {
	t.Parallel()
	kit.RequireStandIn(t, "it holds the dump open with the stand-in's fault knobs")
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: []string{kit.ServiceDatabase, kit.ServiceServer, kit.ServiceTaskWorker, kit.ServiceTaskManager}})
	db := c.Database(t)
	db.Seed(t, "neo4j", 3)
	sc := kit.NewSSHContext(t, p)
	db.SetFaults(t, `{"delay": {"dump": "60s"}}`)

	cmd := sc.Cmd("infrahubdb", "backup", kit.Folder(t), "--yes", "--project", c.Project, "--progress", "plain")
	// From the moment the link hangs: the engine's silence limit, then
	// the end of the run, whose calls to the engine all fail at once. A
	// generous bound, not a measured one: without the watch the plugin
	// waits as long as the link hangs.
	cmd.Timeout = guardian.EngineSilenceLimit(0) + time.Minute
	r := p.Start(t, cmd)
	r.WaitForOutput(t, "neo4j-admin database dump neo4j", 2*time.Minute)
	assert.Check(t, is.Contains(r.Result.Combined(), "armed"))
	assert.Check(t, !c.Containers[kit.ServiceDatabase].Running(t), "the database container is stopped when the link hangs")
	sc.Freeze()
	t.Cleanup(sc.Thaw)
	hung := time.Now()

	res := r.Wait()
	t.Logf("the plugin exited %s after the link hung:\n%s", time.Since(hung).Round(time.Second), res.Stderr())
	assert.Assert(t, !res.Timeout, "the plugin did not give up on the hanging link:\n%s", res.Combined())
	assert.Check(t, is.Equal(res.ExitCode, 7), res.Combined())
	assert.Check(t, is.Contains(res.Stderr(), "stopped answering: nothing came back for "+guardian.EngineSilenceLimit(0).String()))
	assert.Check(t, is.Contains(res.Stderr(), "did not hear this run end (the Docker engine at "+sc.Host+" stopped answering"))
	assert.Check(t, is.Contains(res.Stderr(), c.Containers[kit.ServiceDatabase].Name+" again by itself"))
	assert.Check(t, is.Contains(res.Stderr(), "do not remove it"))
	assert.Check(t, is.Contains(res.Stderr(), "the next backup or restore reports what the guardian did"))
	assert.Check(t, !strings.Contains(res.Stderr(), "docker rm -f infrahubdb-guardian"), res.Stderr())
	assert.Check(t, !strings.Contains(res.Stderr(), "were started again"), res.Stderr())
	assert.Check(t, !strings.Contains(res.Combined(), "removed or stopped from outside"), res.Combined())

	// The link comes back: the guardian has brought the deployment back.
	sc.Thaw()
	allBack(t, c, db)
	assert.Check(t, is.Len(db.Records(t), 1), "the guardian left one record")
	db.SetFaults(t, `{}`)
	db.Reconnect(t)
	db.Wait(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(3)), "the old data")

	res = icmd.RunCmd(sc.Cmd("infrahubdb", "backup", kit.Folder(t), "--yes", "--project", c.Project, "--progress", "plain"))
	res.Assert(t, icmd.Success)
	for _, want := range []string{"INTERRUPTED RUN", "guardian started", c.Containers[kit.ServiceDatabase].Name, "Data: old"} {
		assert.Check(t, is.Contains(res.Stderr(), want))
	}
	assertAllRunning(t, c, db)
	assert.Check(t, is.Len(db.Records(t), 0), "the record was reported once")
	servedOnlyDialStdio(t, sc)
}
