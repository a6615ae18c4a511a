package e2e

// The scheduling runbook's cron line (docs/runbooks/scheduling.md), read
// from the page and run as cron runs it: by sh, without a terminal, with
// only the paths and the health-check URL replaced by the test's own.

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

// cronCommand is the command of the runbook's cron line: what follows the
// five schedule fields and the user.
func cronCommand(t *testing.T) string {
	t.Helper()
	page, err := os.ReadFile("../docs/runbooks/scheduling.md")
	assert.NilError(t, err)
	for _, line := range strings.Split(string(page), "\n") {
		if f := strings.Fields(line); len(f) > 6 && f[0] == "30" && f[5] == "root" {
			return strings.Join(f[6:], " ")
		}
	}
	t.Fatal("no cron line in docs/runbooks/scheduling.md")
	return ""
}

func TestSchedulingRunbookCronLine(t *testing.T) {
	t.Parallel()
	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	db := c.Database(t)
	db.Seed(t, "neo4j", 3)
	p := kit.InstallPlugin(t)

	var mu sync.Mutex
	var pings []string
	hc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		pings = append(pings, r.URL.Path)
		mu.Unlock()
	}))
	t.Cleanup(hc.Close)
	cron := func(folder string) *icmd.Result {
		log := filepath.Join(t.TempDir(), "infrahub-backup.log")
		line := strings.NewReplacer("/srv/backups/infrahub", folder, "/var/log/infrahub-backup.log", log).Replace(cronCommand(t))
		cmd := icmd.Command("sh", "-c", line)
		cmd.Env = p.Env("HC="+hc.URL, "INFRAHUBDB_PROJECT="+c.Project)
		cmd.Timeout = kit.PluginTimeout
		res := icmd.RunCmd(cmd)
		if b, err := os.ReadFile(log); err == nil {
			t.Logf("the job's log:\n%s", b)
		}
		return res
	}

	// Night one: the backup and the prune succeed, the check is pinged.
	dir := kit.Folder(t)
	cron(dir).Assert(t, icmd.Success)
	assert.Check(t, is.DeepEqual(pings, []string{"/"}))
	ids := strings.Fields(p.Docker("infrahubdb", "list", "-q", dir).Assert(t, icmd.Success).Stdout())
	assert.Check(t, is.Len(ids, 1))
	assert.Check(t, is.Len(c.Running(t), len(kit.StockServices)), "everything runs again")
	db.Reconnect(t) // Community: the dump stopped and started the database

	// A night that fails (the folder is a file): /fail is pinged.
	notAFolder := filepath.Join(t.TempDir(), "file")
	assert.NilError(t, os.WriteFile(notAFolder, nil, 0o600))
	cron(notAFolder).Assert(t, icmd.Success) // the job's last command is the /fail ping
	assert.Check(t, is.DeepEqual(pings, []string{"/", "/fail"}))
}

// The disaster recovery runbook (docs/runbooks/disaster-recovery.md): a
// backup of one deployment restored into a new, empty deployment of the
// same versions, through a Docker context of its own. Both run on the test's
// engine; INFRAHUBDB_TRANSFER=stream makes the files travel through the
// Docker API as they do to a remote host.
func TestDisasterRecoveryRunbook(t *testing.T) {
	t.Parallel()
	old := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	old.Database(t).Seed(t, "neo4j", 6)
	p := kit.InstallPlugin(t)
	dir := kit.Folder(t)
	p.Docker("infrahubdb", "backup", dir, "--yes", "--project", old.Project).Assert(t, icmd.Success)

	// 1. Check the folder on the workstation (no engine needed).
	p.Docker("infrahubdb", "verify", dir).Assert(t, icmd.Success)
	p.Docker("infrahubdb", "list", dir).Assert(t, icmd.Expected{Out: "(restore default)"})

	// 2. A new, empty deployment; 3. a Docker context for it.
	fresh := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	host := strings.TrimSpace(kit.MustDocker(t, "context", "inspect", "-f", "{{.Endpoints.docker.Host}}"))
	p.Docker("context", "create", "newhost", "--docker", "host="+host).Assert(t, icmd.Success)
	run := func(args ...string) *icmd.Result {
		cmd := p.Cmd(append([]string{"-c", "newhost", "infrahubdb"}, args...)...)
		cmd.Env = append(cmd.Env, "INFRAHUBDB_PROJECT="+fresh.Project, "INFRAHUBDB_TRANSFER=stream")
		return icmd.RunCmd(cmd)
	}

	// 4. Check, see the plan, restore.
	run("doctor", dir).Assert(t, icmd.Success)
	run("restore", dir, "--dry-run").Assert(t, icmd.Expected{Out: "Dry run: nothing was changed."})
	db := fresh.Database(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(0)))
	res := run("restore", dir, "--yes")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "Restored: task-manager, storage, graph."), res.Stdout())

	// 5. What to check after: the data, every service, the safety copy.
	db.Reconnect(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(6)))
	assert.Check(t, is.Len(fresh.Running(t), len(kit.StockServices)))
	run("list", dir).Assert(t, icmd.Expected{Out: "Safety backups of restore"})
	run("backup", dir, "--yes").Assert(t, icmd.Success)
}

// The upgrade runbook (docs/runbooks/upgrade.md) on Community: a checked
// backup before the upgrade, and the way back when the upgrade went wrong.
func TestUpgradeRunbook(t *testing.T) {
	t.Parallel()
	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	db := c.Database(t)
	db.Seed(t, "neo4j", 4)
	p := kit.InstallPlugin(t)
	dir := kit.Folder(t)
	run := func(args ...string) *icmd.Result {
		cmd := p.Cmd(append([]string{"infrahubdb"}, args...)...)
		cmd.Env = append(cmd.Env, "INFRAHUBDB_PROJECT="+c.Project)
		return icmd.RunCmd(cmd)
	}

	// 1. What would stop, the backup, and its check.
	run("backup", dir, "--dry-run").Assert(t, icmd.Expected{Out: "would stop for about"})
	run("backup", dir, "--yes").Assert(t, icmd.Success)
	db.Reconnect(t)
	run("verify", dir).Assert(t, icmd.Expected{Out: "OK: the folder passed verification."})
	ids := strings.Fields(run("list", "-q", dir).Assert(t, icmd.Success).Stdout())
	assert.Assert(t, is.Len(ids, 1))

	// 2. The "upgrade" changes the data (a migration that went wrong).
	db.Seed(t, "neo4j", 9)

	// 3b. The way back: the run of step 1, picked by its start time.
	started := strings.TrimPrefix(ids[0], "run-") // YYYY-MM-DDTHH-MM-SS, UTC
	until := started[:13] + ":" + started[14:16] + ":" + started[17:] + "Z"
	run("restore", dir, "--dry-run", "--until", until).Assert(t, icmd.Success)
	run("restore", dir, "--yes", "--until", until).Assert(t, icmd.Success)
	db.Reconnect(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(4)))
	assert.Check(t, is.Len(c.Running(t), len(kit.StockServices)))

	// Retention on a terminal, as docker's prune commands do it: prune
	// shows the plan and asks; "n" exits 8 and deletes nothing, "y"
	// deletes. (script(1) gives the command a terminal.)
	run("backup", dir, "--yes").Assert(t, icmd.Success)
	db.Reconnect(t)
	onTerminal := func(answer string) *icmd.Result {
		cmd := icmd.Command("script", "-qec", "docker infrahubdb prune "+dir+" --keep 1", "/dev/null")
		cmd.Env, cmd.Stdin, cmd.Timeout = p.Env(), strings.NewReader(answer+"\n"), kit.PluginTimeout
		return icmd.RunCmd(cmd)
	}
	onTerminal("n").Assert(t, icmd.Expected{ExitCode: 8, Out: "Continue? [y/N]"})
	assert.Check(t, is.Len(strings.Fields(run("list", "-q", dir).Stdout()), 2), "a declined prune deletes nothing")
	onTerminal("y").Assert(t, icmd.Success)
	assert.Check(t, is.Len(strings.Fields(run("list", "-q", dir).Stdout()), 1), "the older run is gone")
}

// backup --dry-run on Neo4j Enterprise: the checks, and nothing would stop;
// nothing is written and no helper is left.
func TestBackupDryRunEnterprise(t *testing.T) {
	t.Parallel()
	c := kit.StartCompose(t, kit.ComposeOptions{Neo4jImage: kit.Image(t)})
	p := kit.InstallPlugin(t)
	dir := filepath.Join(kit.Folder(t), "new")
	res := p.Docker("infrahubdb", "backup", dir, "--dry-run", "--project", c.Project)
	res.Assert(t, icmd.Expected{Out: "The graph's backup is online: nothing would stop."})
	_, err := os.Stat(dir)
	assert.Check(t, os.IsNotExist(err), "the dry run created %s", dir)
	assert.Check(t, is.Len(c.Database(t).Helpers(t), 0))

	res = p.Docker("infrahubdb", "backup", dir, "--dry-run", "--project", c.Project, "--format", "{{.Online}} {{.Checks.OK}}")
	res.Assert(t, icmd.Expected{Out: "true true"})
}
