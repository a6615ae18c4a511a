package e2e

import (
	"archive/tar"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
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

// assertInterrupted checks that list and verify show the backup run
// killed in dir as one that never completed, at step.
func assertInterrupted(t *testing.T, p *kit.Plugin, dir, step string) {
	t.Helper()
	list := p.Docker("infrahubdb", "list", dir)
	list.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(list.Stdout(), "not restorable: interrupted at the "+step+" step, never completed"))
	l := listJSON(t, p, dir)
	if assert.Check(t, is.Len(l.Runs, 1)) {
		assert.Check(t, is.Equal(l.Runs[0].State, catalog.RunInterrupted))
		assert.Check(t, is.Equal(l.Runs[0].Step, step))
		assert.Check(t, !l.Runs[0].Complete)
	}
	// verify names it (the folder holds nothing else: exit 5, empty).
	v := p.Docker("infrahubdb", "verify", dir)
	assert.Check(t, is.Equal(v.ExitCode, 5), v.Combined())
	assert.Check(t, is.Contains(v.Stdout(), "interrupted at the "+step+" step, never completed"))
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
		{
			// Killed while the cache is emptied beside the safety dump: it
			// is stopped (or just started again), the database too.
			name: "community restore emptying", knobs: `{"delay": {"dump": "60s"}}`, line: "Empty /data of", data: "old: the restore was lost before it replaced any data",
			command: func(p *kit.Plugin, c *kit.Compose, dir string) icmd.Cmd {
				return p.Cmd("infrahubdb", "restore", dir, "--yes", "--project", c.Project, "--progress", "plain", "--component", "graph")
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := kit.InstallPlugin(t)
			// The cache and the message queue: a restore stops, empties
			// and starts them beside the safety dump; the guardian knows
			// which of them the run stopped and did not start.
			c := kit.StartCompose(t, kit.ComposeOptions{Services: []string{kit.ServiceDatabase, kit.ServiceServer, kit.ServiceTaskWorker, kit.ServiceTaskManager, kit.ServiceCache, kit.ServiceMessageQueue}})
			db := c.Database(t)
			dir := kit.Folder(t)
			db.Seed(t, "neo4j", 3)
			want := int64(3)
			if tc.name != "community dump" {
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
			cacheDown := !c.Containers[kit.ServiceCache].Running(t)
			r.Kill(t)
			t.Logf("killed with the cache stopped: %t", cacheDown)
			r.Wait()

			allBack(t, c, db)
			assert.Check(t, is.Len(db.Records(t), 1), "the guardian left one record")
			if tc.name == "community dump" {
				assertInterrupted(t, p, dir, "graph")
			}
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

// Two runs on one deployment from two folders at once: the second
// refuses with exit code 4 naming the holder, or waits with --wait, and
// nothing is interleaved. backup+backup, backup+restore, backup+verify
// --check (it reads the deployment: it holds the same lock), and
// restore+restore.
func TestGuardianRunLock(t *testing.T) {
	t.Parallel()
	kit.RequireStandIn(t, "it holds the dump and the load open with the stand-in's fault knobs")
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{})
	db := c.Database(t)
	db.Seed(t, "neo4j", 2)
	two := kit.Folder(t) // a complete run of 2 nodes
	p.Docker("infrahubdb", "backup", two, "--yes", "--project", c.Project).Assert(t, icmd.Success)
	db.Reconnect(t)
	db.Wait(t)
	db.SetFaults(t, `{"delay": {"dump": "20s"}}`)

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
	// So is verify --check, which runs beside the deployment from its image.
	// (--helper-image: a Community deployment has no Enterprise image of
	// its own, and the default one would be pulled.)
	check := p.Docker("infrahubdb", "verify", two, "--check", "--project", c.Project, "--helper-image", kit.Image(t))
	check.Assert(t, icmd.Expected{ExitCode: 4, Err: "another docker infrahubdb run holds this deployment: backup"})
	assert.Check(t, is.Contains(check.Stderr(), "on "+host))
	// A plain verify reads the folder only: it takes no run lock.
	p.Docker("infrahubdb", "verify", two).Assert(t, icmd.Success)
	checkWait := p.Start(t, p.Cmd("infrahubdb", "verify", two, "--check", "--project", c.Project, "--helper-image", kit.Image(t), "--wait", "5m", "--progress", "plain"))

	second := p.Docker("infrahubdb", "backup", kit.Folder(t), "--yes", "--project", c.Project, "--wait", "5m", "--progress", "plain")
	second.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(second.Stderr(), "waiting up to"))
	first.Wait().Assert(t, icmd.Success)
	checked := checkWait.Wait()
	assert.Check(t, is.Contains(checked.Stderr(), "waiting up to"), checked.Combined())
	assert.Check(t, is.Contains(checked.Stderr(), "no backup or restore changes the deployment until this verify ends"), checked.Combined())
	// It then ran its check (whose verdict on a folder of dumps depends
	// on the Neo4j release: not this test's subject).
	assert.Check(t, checked.ExitCode != 4, checked.Combined())
	assert.Check(t, is.Contains(checked.Stderr(), "Start helper container"), checked.Combined())

	// restore+restore: the first holds the deployment while it loads; the
	// second refuses, then waits with --wait and restores after it.
	db.SetFaults(t, `{}`)
	db.Reconnect(t)
	db.Wait(t)
	db.Seed(t, "neo4j", 3)
	five := kit.Folder(t) // a complete run of 5 nodes
	p.Docker("infrahubdb", "backup", five, "--yes", "--project", c.Project).Assert(t, icmd.Success)
	db.Reconnect(t)
	db.Wait(t)
	db.SetFaults(t, `{"delay": {"load": "10s"}}`)
	r1 := p.Start(t, p.Cmd("infrahubdb", "restore", two, "--yes", "--project", c.Project, "--component", "graph", "--progress", "plain"))
	r1.WaitForOutput(t, "guardian", time.Minute)
	r2 := p.Docker("infrahubdb", "restore", five, "--yes", "--project", c.Project, "--component", "graph")
	r2.Assert(t, icmd.Expected{ExitCode: 4, Err: "another docker infrahubdb run holds this deployment: restore"})
	r2 = p.Docker("infrahubdb", "restore", five, "--yes", "--project", c.Project, "--component", "graph", "--wait", "5m", "--progress", "plain")
	r2.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(r2.Stderr(), "waiting up to"))
	r1.Wait().Assert(t, icmd.Success)
	db.SetFaults(t, `{}`)
	assertAllRunning(t, c, db)
	db.Wait(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)), "the waiting restore ran after the first, whole")
	assert.Check(t, is.Len(db.Guardians(t), 0))
}

// Where no guardian can be armed, --yes alone does not cover an outage
// (exit code 3, nothing stopped) and --no-guardian does; an Enterprise
// online backup stops nothing and needs no guardian.
func TestGuardianUnarmable(t *testing.T) {
	t.Parallel()
	p := kit.InstallPluginWithoutGuardian(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: []string{kit.ServiceDatabase, kit.ServiceServer, kit.ServiceTaskWorker}, Neo4jImage: kit.Image(t)})
	db := c.Database(t)
	db.Seed(t, "neo4j", 2)
	server := c.Containers[kit.ServiceServer]
	serverStarted := server.StartedAt(t)

	online := kit.Folder(t)
	res := p.Docker("infrahubdb", "backup", online, "--yes", "--project", c.Project, "--progress", "plain")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stderr(), "no guardian: "))

	for _, args := range [][]string{
		{"backup", kit.Folder(t), "--consistent"},
		{"restore", online, "--component", "graph"},
	} {
		res := p.Docker(append([]string{"infrahubdb"}, append(args, "--yes", "--project", c.Project)...)...)
		res.Assert(t, icmd.Expected{ExitCode: 3, Err: "no guardian can watch this run"})
		assert.Check(t, is.Contains(res.Stderr(), "add --no-guardian"))
		assert.Check(t, is.Equal(server.StartedAt(t), serverStarted), "%v: nothing was stopped", args)
	}
	assertAllRunning(t, c, db)

	res = p.Docker("infrahubdb", "backup", kit.Folder(t), "--consistent", "--yes", "--no-guardian", "--project", c.Project, "--progress", "plain")
	res.Assert(t, icmd.Success)
	assert.Check(t, server.StartedAt(t) != serverStarted, "--no-guardian: the applications were stopped for the capture")
	assertAllRunning(t, c, db)
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

	dir := kit.Folder(t)
	r := p.Start(t, p.Cmd("infrahubdb", "backup", dir, "--consistent", "--yes", "--project", c.Project, "--progress", "plain"))
	r.WaitForOutput(t, "neo4j-admin database backup", 2*time.Minute)
	assert.Check(t, !c.Containers[kit.ServiceServer].Running(t), "the applications are stopped when the client dies")
	r.Kill(t)
	r.Wait()

	allBack(t, c, db)
	assertInterrupted(t, p, dir, "graph")
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
	testGuardianKill9OnlineRestore(t)
}

// With stream transfer (the safety backup came to the client through the
// Docker API): the guardian puts back the helper's copy all the same.
func TestGuardianKill9OnlineRestoreStream(t *testing.T) {
	t.Parallel()
	testGuardianKill9OnlineRestore(t, "--transfer", "stream")
}

func testGuardianKill9OnlineRestore(t *testing.T, args ...string) {
	kit.RequireStandIn(t, "it holds neo4j-admin restore open with the stand-in's fault knobs")
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: []string{kit.ServiceDatabase, kit.ServiceServer, kit.ServiceTaskWorker}, Neo4jImage: kit.Image(t)})
	db := c.Database(t)
	db.Seed(t, "neo4j", 3)
	dir := kit.Folder(t)
	p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--component", "graph").Assert(t, icmd.Success)
	db.Seed(t, "neo4j", 4) // the old data, which the restore replaces: 7 nodes
	db.SetFaults(t, `{"delay": {"restore": "20s"}}`)

	r := p.Start(t, p.Cmd(append([]string{"infrahubdb", "restore", dir, "--yes", "--project", c.Project, "--component", "graph", "--progress", "plain"}, args...)...))
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

// seedRandomStorage adds mib MiB of random files (4 MiB each,
// incompressible, as artifacts mostly are) to infrahub-server's storage
// with docker cp.
func seedRandomStorage(t *testing.T, c *kit.Compose, mib int) {
	t.Helper()
	const fileSize = 4 << 20
	pr, pw := io.Pipe()
	go func() {
		rng := rand.NewChaCha8([32]byte{'p', 'u', 't', 'b', 'a', 'c', 'k'})
		tw := tar.NewWriter(pw)
		buf := make([]byte, fileSize)
		mtime := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
		err := tw.WriteHeader(&tar.Header{Name: "big/", Typeflag: tar.TypeDir, Mode: 0o755, Uid: 1000, Gid: 1000, ModTime: mtime})
		for i := 0; err == nil && i < mib*(1<<20)/fileSize; i++ {
			_, _ = rng.Read(buf)
			if err = tw.WriteHeader(&tar.Header{Name: fmt.Sprintf("big/artifact-%03d.bin", i), Typeflag: tar.TypeReg, Mode: 0o644, Uid: 1000, Gid: 1000, Size: fileSize, ModTime: mtime}); err == nil {
				_, err = tw.Write(buf)
			}
		}
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	res := icmd.RunCmd(icmd.Command("docker", "cp", "-", c.Service(t, kit.ServiceServer).ID+":/opt/infrahub/storage"), icmd.WithStdin(pr))
	pr.Close()
	res.Assert(t, icmd.Success)
}

// kill -9 of a whole-deployment restore while it extracts the storage
// (a few hundred MiB: it takes seconds): the storage is torn, its safety
// copy is on the client's disk only, and the guardian puts it back from
// its own copy before it starts anything; the next backup says so.
func TestGuardianKill9StorageRestore(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	db, _ := seedDeployment(t, c)
	seedRandomStorage(t, c, 384)
	dir := kit.Folder(t)
	p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes").Assert(t, icmd.Success)
	db.Reconnect(t)
	changeDeployment(t, c) // the storage the restore replaces
	want := storageState(t, c)

	r := p.Start(t, p.Cmd("infrahubdb", "restore", dir, "--yes", "--project", c.Project, "--progress", "plain"))
	r.WaitForOutput(t, "Restore storage-", 5*time.Minute)
	out := r.Result.Combined()
	assert.Check(t, is.Contains(out, "Copy of the storage's safety archive into the guardian"))
	// Killed once the storage is torn: emptied (a file the backup does not
	// hold is gone), its extraction under way.
	server := c.Service(t, kit.ServiceServer).ID
	for deadline := time.Now().Add(2 * time.Minute); kit.Docker("cp", server+":/opt/infrahub/storage/artifacts/added.txt", "-").ExitCode == 0; time.Sleep(20 * time.Millisecond) {
		if r.Exited() || time.Now().After(deadline) {
			t.Fatalf("the storage was never emptied:\n%s", r.Result.Combined())
		}
	}
	r.Kill(t)
	r.Wait()

	allBack(t, c, db)
	assert.Check(t, is.DeepEqual(storageState(t, c), want), "the storage as it was before the restore")
	res := p.Docker("infrahubdb", "backup", kit.Folder(t), "--yes", "--project", c.Project, "--progress", "plain")
	res.Assert(t, icmd.Success)
	for _, line := range strings.Split(res.Stderr(), "\n") {
		if strings.Contains(line, "INTERRUPTED RUN") {
			t.Log(line)
		}
	}
	for _, w := range []string{"INTERRUPTED RUN", "a restore run", "Component storage: old: the guardian put its safety copy back", "Component task-manager: new"} {
		assert.Check(t, is.Contains(res.Stderr(), w))
	}
	db.Reconnect(t)
	assertAllRunning(t, c, db)
	assertNoHelpers(t, c)
	assert.Check(t, is.Len(db.Guardians(t), 0), "no guardian container is left")
	assert.Check(t, is.Len(db.Records(t), 0), "the record was reported once")
}

// kill -9 of a whole-deployment restore while it rolls the storage back
// itself: Ctrl-C cuts the storage's extraction once it tore the storage,
// the run's rollback extracts the safety archive in a helper of its own,
// and the run is killed in the middle of that extraction. The rollback
// told the guardian its helper before it touched the storage: the guardian
// puts the storage back there from its own copy, and the next backup says
// so. Docker's archives list a directory's entries in lexical order: the
// safety archive holds artifacts/ (added.txt, which the backup does not
// hold) before the 384 MiB of big/.
func TestGuardianKill9StorageRollback(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	db, _ := seedDeployment(t, c)
	seedRandomStorage(t, c, 384)
	dir := kit.Folder(t)
	p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes").Assert(t, icmd.Success)
	db.Reconnect(t)
	changeDeployment(t, c) // the storage the restore replaces
	want := storageState(t, c)

	server := c.Service(t, kit.ServiceServer).ID
	added := func() bool {
		return kit.Docker("cp", server+":/opt/infrahub/storage/artifacts/added.txt", "-").ExitCode == 0
	}
	waitFor := func(r *kit.Running, what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
			if r.Exited() || time.Now().After(deadline) {
				t.Fatalf("%s never happened:\n%s", what, r.Result.Combined())
			}
		}
	}
	r := p.Start(t, p.Cmd("infrahubdb", "restore", dir, "--yes", "--project", c.Project, "--progress", "plain"))
	r.WaitForOutput(t, "Restore storage-", 5*time.Minute)
	// Ctrl-C once the extraction tore the storage (added.txt is gone).
	waitFor(r, "the storage's emptying", func() bool { return !added() })
	r.Interrupt(t)
	r.WaitForOutput(t, "Roll back the storage", 2*time.Minute)
	// Killed once the rollback's extraction is under way: the safety
	// archive's added.txt is back, big/ still arriving.
	waitFor(r, "the rollback's extraction", added)
	r.Kill(t)
	r.Wait()
	out := r.Result.Combined()
	assert.Check(t, is.Contains(out, "Copy of the storage's safety archive into the guardian"))
	for _, line := range strings.Split(out, "\n") {
		if _, step, ok := strings.Cut(line, " "); ok && strings.HasPrefix(line, "#") && strings.HasPrefix(step, "Roll back the storage") {
			assert.Check(t, !strings.Contains(step, "  done") && !strings.Contains(step, "  error"), "the kill landed inside the rollback: %s", line)
		}
	}

	allBack(t, c, db)
	assert.Check(t, is.DeepEqual(storageState(t, c), want), "the storage as it was before the restore")
	res := p.Docker("infrahubdb", "backup", kit.Folder(t), "--yes", "--project", c.Project, "--progress", "plain")
	res.Assert(t, icmd.Success)
	for _, line := range strings.Split(res.Stderr(), "\n") {
		if strings.Contains(line, "INTERRUPTED RUN") || strings.Contains(line, "Component ") {
			t.Log(line)
		}
	}
	// The run was killed before its rollback reached the task manager.
	for _, w := range []string{"INTERRUPTED RUN", "a restore run", "Component storage: old: the guardian put its safety copy back", "Component task-manager: new"} {
		assert.Check(t, is.Contains(res.Stderr(), w))
	}
	assert.Check(t, !strings.Contains(res.Stderr(), "FAILED"), "the guardian's put-back did not fail")
	db.Reconnect(t)
	assertAllRunning(t, c, db)
	assertNoHelpers(t, c)
	assert.Check(t, is.Len(db.Guardians(t), 0), "no guardian container is left")
	assert.Check(t, is.Len(db.Records(t), 0), "the record was reported once")
}
