package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

// Infrahub out of the box: a project shaped like Infrahub's stock
// docker-compose.yml (no infrahub_role label, no backup listen address,
// NEO4J_AUTH=neo4j/admin with the minimum password length of 4), backed up
// and restored with no flag but --yes.

// startedAt records every container's start time, to prove what was (not) restarted.
func startedAt(t *testing.T, c *kit.Compose) map[string]string {
	t.Helper()
	out := map[string]string{}
	for s, ctr := range c.Containers {
		out[s] = ctr.StartedAt(t)
	}
	return out
}

// zeroFlag runs the plugin with no discovery flag. The tests that use it
// are not parallel: Go runs a package's sequential tests one at a time before
// it releases the parallel ones, so the engine holds no other Infrahub
// database of this run, and an ambiguous discovery is a failure, never
// retried with --project (make e2e runs them alone, E2E_ALONE).
func zeroFlag(t *testing.T, p *kit.Plugin, c *kit.Compose, args ...string) *icmd.Result {
	t.Helper()
	res := p.Docker(append([]string{"infrahubdb"}, args...)...)
	if strings.Contains(res.Stderr(), "could be the Infrahub database") {
		t.Fatalf("discovery found other candidates than project %s: the zero-flag tests need an engine with no other Infrahub database:\n%s", c.Project, res.Stderr())
	}
	return res
}

func assertAllRunning(t *testing.T, c *kit.Compose, db *kit.Database) {
	t.Helper()
	// The database may have a new IP after a restart: forget the old one
	// before waiting for it.
	db.Reconnect(t)
	var want []string
	for s := range c.Containers {
		want = append(want, s)
	}
	assert.Check(t, is.Len(c.Running(t), len(want)), "running: %v", c.Running(t))
	assert.Check(t, is.Len(c.Database(t).Helpers(t), 0), "helper containers left behind")
	assert.Check(t, is.Len(c.Database(t).Guardians(t), 0), "guardian (run lock) containers left behind")
}

func TestStockCommunityBackupAndRestore(t *testing.T) {
	// Not parallel: zero-flag discovery needs an engine with no other candidate.
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: []string{kit.ServiceDatabase, kit.ServiceServer, kit.ServiceTaskWorker, kit.ServiceTaskManager}})
	db := c.Database(t)
	db.Seed(t, "neo4j", 7)
	dir := kit.Folder(t)

	res := zeroFlag(t, p, c, "backup", dir, "--yes")
	res.Assert(t, icmd.Success)
	for _, want := range []string{c.Containers[kit.ServiceDatabase].Name, "community", "dump"} {
		assert.Check(t, is.Contains(res.Combined(), want))
	}
	assert.Check(t, is.Contains(res.Stderr(), "found by Compose service database"))
	dumps := kit.Files(t, dir)
	var n int
	for _, f := range dumps {
		if strings.HasSuffix(f, ".dump") {
			n++
		}
	}
	assert.Check(t, is.Equal(n, 2), "neo4j and system dumps: %v", dumps)
	assertAllRunning(t, c, db)
	db.Reconnect(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(7)))

	db.Seed(t, "neo4j", 5)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(12)))
	res = zeroFlag(t, p, c, "restore", dir, "--yes")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "Offline load"))
	assertAllRunning(t, c, db)
	db.Reconnect(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(7)))
}

func TestStockEnterpriseBackupAndRestore(t *testing.T) {
	// Not parallel: zero-flag discovery needs an engine with no other candidate.
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Neo4jImage: kit.Image(t)})
	db := c.Database(t)
	db.Seed(t, "neo4j", 4)
	dir := kit.Folder(t)
	before := startedAt(t, c)

	// No listen address is set: the helper shares the database's network
	// namespace and reaches 127.0.0.1:6362.
	res := zeroFlag(t, p, c, "backup", dir)
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "online backup"))
	assert.Check(t, is.DeepEqual(startedAt(t, c), before), "an online backup stops nothing")
	assertAllRunning(t, c, db)

	db.Seed(t, "neo4j", 3)
	res = zeroFlag(t, p, c, "restore", dir, "--yes")
	res.Assert(t, icmd.Success)
	assertAllRunning(t, c, db)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(4)))
}

func TestSeveralProjectsNeedProject(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	a := kit.StartCompose(t, kit.ComposeOptions{Neo4jImage: kit.Image(t)})
	b := kit.StartCompose(t, kit.ComposeOptions{Neo4jImage: kit.Image(t)})
	dir := kit.Folder(t)

	res := p.Docker("infrahubdb", "backup", dir)
	res.Assert(t, icmd.Expected{ExitCode: 3, Err: "--project"})
	assert.Check(t, is.Contains(res.Stderr(), a.Project))
	assert.Check(t, is.Contains(res.Stderr(), b.Project))
	assert.Check(t, is.Len(kit.Files(t, dir), 0))

	res = p.Docker("infrahubdb", "backup", dir, "--project", b.Project)
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), b.Containers[kit.ServiceDatabase].Name))
	assert.Check(t, !strings.Contains(res.Stdout(), a.Containers[kit.ServiceDatabase].Name))
}

func TestCommunityBackupWithoutConsentChangesNothing(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{})
	db := c.Database(t)
	dir := kit.Folder(t)
	before := startedAt(t, c)

	res := p.Docker("infrahubdb", "backup", dir, "--project", c.Project)
	res.Assert(t, icmd.Expected{ExitCode: 2, Err: "--yes"})
	assert.Check(t, is.Contains(res.Stderr(), "nothing was changed"))
	assert.Check(t, is.DeepEqual(startedAt(t, c), before), "nothing restarted")
	assertAllRunning(t, c, db)
	assert.Check(t, is.Len(kit.Files(t, dir), 0))
}

func TestCommunityBackupFaults(t *testing.T) {
	t.Parallel()
	kit.RequireStandIn(t, "it sets the stand-in's fault knobs")
	for _, tc := range []struct {
		name  string
		knobs string
		extra []string
		act   func(t *testing.T, r *kit.Running, db *kit.Database)
		code  int
		cause string
	}{
		{
			name: "ctrl-c during the dump", knobs: `{"delay": {"dump": "20s"}}`,
			act: func(t *testing.T, r *kit.Running, db *kit.Database) {
				r.WaitForOutput(t, "neo4j-admin database dump neo4j", time.Minute)
				r.Interrupt(t)
			},
			code: 130, cause: "interrupted",
		},
		{
			name: "helper removed during the dump", knobs: `{"delay": {"dump": "20s"}}`,
			act: func(t *testing.T, r *kit.Running, db *kit.Database) {
				r.WaitForOutput(t, "neo4j-admin database dump neo4j", time.Minute)
				helpers := db.Helpers(t)
				assert.Assert(t, is.Len(helpers, 1))
				kit.MustDocker(t, "rm", "-f", "-v", helpers[0])
			},
			code: 1, cause: "removed or stopped from outside",
		},
		{
			// The server takes longer to come back than the plugin waits.
			name: "database not back in time", knobs: `{"delay": {"startup": "40s"}}`, extra: []string{"--online-timeout", "5s"},
			code: 7, cause: "docker logs",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := kit.InstallPlugin(t)
			c := kit.StartCompose(t, kit.ComposeOptions{})
			db := c.Database(t)
			db.Seed(t, "neo4j", 3)
			dir := kit.Folder(t)
			db.SetFaults(t, tc.knobs)
			args := append([]string{"infrahubdb", "backup", dir, "--yes", "--project", c.Project, "--progress", "plain"}, tc.extra...)
			r := p.Start(t, p.Cmd(args...))
			if tc.act != nil {
				tc.act(t, r, db)
			}
			res := r.Wait()
			assert.Check(t, is.Equal(res.ExitCode, tc.code), res.Combined())
			assert.Check(t, is.Contains(res.Stderr(), tc.cause))
			// Everything runs again, nothing is left behind, no dump was kept.
			for s, ctr := range c.Containers {
				assert.Check(t, ctr.Running(t), "%s runs again", s)
			}
			assert.Check(t, is.Len(db.Helpers(t), 0), "no helper left")
			assert.Check(t, is.Len(db.Guardians(t), 0), "no guardian left, Ctrl-C included")
			for _, f := range kit.Files(t, dir) {
				assert.Check(t, !strings.HasSuffix(f, ".dump") && !strings.HasSuffix(f, ".partial"), f)
			}
			db.SetFaults(t, `{}`)
			db.Reconnect(t)
			db.Wait(t)
			assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(3)))
		})
	}
}

// Disk full while the dumps are fetched: by then the database and the
// applications run again. The run fails as "disk full" (exit 3) and leaves
// no dump and no partial file. The folder is a tmpfs in the plugin's own
// mount namespace, filled up while neo4j-admin dumps (after the preflight,
// which checks the free space against the store size).
func TestCommunityBackupDiskFullWhileFetching(t *testing.T) {
	t.Parallel()
	kit.RequireStandIn(t, "it slows the dump with the stand-in's fault knobs")
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{})
	db := c.Database(t)
	db.Seed(t, "neo4j", 3)
	db.SetFaults(t, `{"delay": {"dump": "5s"}}`)
	dir := kit.Folder(t)
	out := t.TempDir()

	script := `dir=$1 out=$2; shift 2
mount -t tmpfs -o size=16m tmpfs "$dir" || exit 99
docker "$@" >"$out/stdout" 2>"$out/stderr" &
pid=$!
i=0
until grep -q "neo4j-admin database dump" "$out/stderr" 2>/dev/null; do
	i=$((i+1)); [ $i -lt 1200 ] || break; sleep 0.05
done
cat /dev/zero >"$dir/filler" 2>/dev/null
wait $pid; code=$?
rm -f "$dir/filler"; ls -1a "$dir" >"$out/ls"
cat "$out/stdout"; cat "$out/stderr" >&2
exit $code`
	cmd := p.Cmd()
	cmd.Command = []string{"unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", dir, out,
		"infrahubdb", "backup", dir, "--yes", "--project", c.Project, "--progress", "plain"}
	res := icmd.RunCmd(cmd)
	res.Assert(t, icmd.Expected{ExitCode: 3, Err: "disk full"})
	ls, err := os.ReadFile(filepath.Join(out, "ls"))
	assert.NilError(t, err)
	for _, f := range strings.Fields(string(ls)) {
		assert.Check(t, !strings.HasSuffix(f, ".dump") && !strings.HasSuffix(f, ".partial"), "left in the folder: %s", f)
	}
	assertAllRunning(t, c, db)
	db.SetFaults(t, `{}`)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(3)))
}
