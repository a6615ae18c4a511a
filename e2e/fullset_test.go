package e2e

// The whole Infrahub deployment in one backup run (issue 13): the graph,
// the task manager's PostgreSQL and the object storage, on a stock-shaped
// Compose project with every service.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// storageState describes every entry of infrahub-server's storage: type,
// mode, owner, mtime and a hash of the content, read with docker cp.
func storageState(t *testing.T, c *kit.Compose) []string {
	t.Helper()
	res := kit.Docker("cp", c.Service(t, kit.ServiceServer).ID+":/opt/infrahub/storage/.", "-")
	res.Assert(t, icmd.Success)
	tr := tar.NewReader(strings.NewReader(res.Stdout()))
	var out []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		assert.NilError(t, err)
		h := sha256.New()
		_, _ = io.Copy(h, tr)
		out = append(out, fmt.Sprintf("%s %c %o %d:%d %d %s %s", hdr.Name, hdr.Typeflag, hdr.Mode, hdr.Uid, hdr.Gid,
			hdr.ModTime.Unix(), hdr.Linkname, hex.EncodeToString(h.Sum(nil))[:16]))
	}
	sort.Strings(out)
	return out
}

// putStorage copies files (name → content) into the storage with docker cp,
// through a tar so modes, owners and times are chosen.
func putStorage(t *testing.T, c *kit.Compose, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, n := range names {
		if strings.HasSuffix(n, "/") {
			assert.NilError(t, tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeDir, Mode: 0o750, Uid: 1000, Gid: 1000, ModTime: mtime}))
			continue
		}
		assert.NilError(t, tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o640, Uid: 1000, Gid: 1000, Size: int64(len(files[n])), ModTime: mtime}))
		_, err := tw.Write([]byte(files[n]))
		assert.NilError(t, err)
	}
	assert.NilError(t, tw.Close())
	res := icmd.RunCmd(icmd.Command("docker", "cp", "-", c.Service(t, kit.ServiceServer).ID+":/opt/infrahub/storage"), icmd.WithStdin(&buf))
	res.Assert(t, icmd.Success)
}

// seedDeployment gives the project's components their state: 5 nodes, 7
// flow runs, artifacts and files in the storage.
func seedDeployment(t *testing.T, c *kit.Compose) (*kit.Database, *kit.Postgres) {
	t.Helper()
	db, pg := c.Database(t), c.Postgres(t)
	db.Seed(t, "neo4j", 5)
	pg.Psql(t, "CREATE TABLE flow_run (id int PRIMARY KEY, name text); INSERT INTO flow_run SELECT g, 'run ' || g FROM generate_series(1, 7) g;")
	putStorage(t, c, map[string]string{"artifacts/": "", "artifacts/a1.json": `{"config": "router"}`, "files/": "", "files/f1.bin": strings.Repeat("x", 70000)})
	return db, pg
}

// changeDeployment changes all three components: 3 more nodes, flow runs
// deleted and added, a file changed and one added.
func changeDeployment(t *testing.T, c *kit.Compose) {
	t.Helper()
	c.Database(t).Seed(t, "neo4j", 3)
	c.Postgres(t).Psql(t, "DELETE FROM flow_run WHERE id > 3; INSERT INTO flow_run VALUES (100, 'new');")
	putStorage(t, c, map[string]string{"artifacts/a1.json": "changed", "artifacts/added.txt": "added since"})
}

func TestInfrahubFullSetRoundTrip(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	db, pg := seedDeployment(t, c)
	dir := t.TempDir()
	wantStorage := storageState(t, c)
	wantRows := pg.Psql(t, "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM flow_run")

	res := p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes", "--progress", "plain")
	res.Assert(t, icmd.Success)
	t.Log(res.Combined())
	db.Reconnect(t) // Community: the dump stopped and started the database
	m := readManifest(t, dir)
	assert.Assert(t, is.Len(m.Runs, 1))
	run := m.Runs[0]
	assert.Check(t, run.Complete)
	assert.Check(t, is.DeepEqual(run.Components, []string{backupset.ComponentGraph, backupset.ComponentTaskManager, backupset.ComponentStorage}))
	var components []string
	for _, f := range m.Files {
		assert.Check(t, is.Equal(f.RunID, run.ID), f.Name)
		components = append(components, f.Component+" "+strings.SplitN(f.Name, "-", 2)[0])
	}
	assert.Check(t, is.Contains(strings.Join(components, ","), "task-manager task,"))
	assert.Check(t, is.Contains(strings.Join(components, ","), "storage storage"))
	assertNoHelpers(t, c)
	assert.Check(t, is.Equal(pg.Psql(t, "SELECT count(*) FROM flow_run"), "7"))

	// list and verify know the run.
	res = p.Docker("infrahubdb", "verify", dir)
	res.Assert(t, icmd.Success)

	// Damage all three components.
	changeDeployment(t, c)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8)))

	res = p.Docker("infrahubdb", "restore", dir, "--project", c.Project, "--yes", "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	db.Reconnect(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))
	assert.Check(t, is.Equal(pg.Psql(t, "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM flow_run"), wantRows))
	assert.Check(t, is.DeepEqual(storageState(t, c), wantStorage))
	want := append([]string{}, kit.StockServices...)
	sort.Strings(want)
	assert.Check(t, is.DeepEqual(c.Running(t), want))
	assertNoHelpers(t, c)
	entries, err := os.ReadDir(dir)
	assert.NilError(t, err)
	for _, e := range entries {
		assert.Check(t, !strings.HasSuffix(e.Name(), backupset.PartialExt), e.Name())
	}
}

// assertNoHelpers checks that no helper container of the plugin is left.
func assertNoHelpers(t *testing.T, c *kit.Compose) {
	t.Helper()
	out := kit.MustDocker(t, "ps", "-a", "--filter", "label=org.opsmill.infrahubdb.helper", "--format", "{{.Names}} {{.Label \"org.opsmill.infrahubdb.target\"}}")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		for _, ctr := range c.Containers {
			assert.Check(t, !strings.Contains(line, ctr.ID), "helper left: %s", line)
		}
		assert.Check(t, !strings.Contains(line, c.Project), "helper left: %s", line)
	}
}

// A deployment without task-manager-db and with the s3 storage driver: the
// graph is backed up, the other components are reported as skipped with
// their reason; naming one with --component is an error.
func TestInfrahubFullSetSkipsAbsentComponents(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.CoreServices, StorageDriver: "s3"})
	db := c.Database(t)
	db.Seed(t, "neo4j", 2)
	dir := t.TempDir()

	res := p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes", "--progress", "quiet")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "Skipped task-manager: the Compose project has no task-manager-db service."))
	assert.Check(t, is.Contains(res.Stdout(), `Skipped storage: `+c.Service(t, kit.ServiceServer).Name+` uses the s3 storage driver (bucket "infrahub-storage")`))
	m := readManifest(t, dir)
	assert.Assert(t, is.Len(m.Runs, 1))
	assert.Check(t, is.DeepEqual(m.Runs[0].Components, []string{backupset.ComponentGraph}))
	assert.Check(t, is.Len(m.Runs[0].Skipped, 2))

	res = p.Docker("infrahubdb", "list", dir)
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), m.Runs[0].ID))
	assert.Check(t, is.Contains(res.Stdout(), "(no task-manager)"))

	db.Reconnect(t)
	res = p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes", "--component", "storage")
	res.Assert(t, icmd.Expected{ExitCode: 3, Err: "component storage was asked for with --component but"})
	res = p.Docker("infrahubdb", "backup", dir, "--component", "files")
	res.Assert(t, icmd.Expected{ExitCode: 2, Err: `unknown component "files"`})
	assertNoHelpers(t, c)
}

// backup --verify on the stock Community deployment verifies every file the
// run wrote: the neo4j and system dumps, the task-manager dump and the
// storage archive by checksum, the last two also by content; --check runs
// neo4j-admin database check on the dumps. A check that finds the dump
// inconsistent (the stand-in's "check" knob) fails the backup with exit 5
// and leaves the run incomplete.
func TestInfrahubFullSetBackupVerify(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	db, _ := seedDeployment(t, c)
	dir := t.TempDir()

	res := p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes", "--verify", "--format", "json", "--progress", "quiet")
	res.Assert(t, icmd.Success)
	var out struct {
		Verify *backupVerification `json:"verify"`
		Run    struct {
			ID     string              `json:"run_id"`
			Verify *backupVerification `json:"verify"`
		} `json:"run"`
	}
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &out), res.Stdout())
	v := out.Run.Verify
	assert.Assert(t, v != nil, res.Stdout())
	assert.Check(t, is.DeepEqual(out.Verify, v), "the graph's result shows the run's verification")
	assert.Check(t, v.OK)
	m := readManifest(t, dir)
	var files, content []string
	for _, f := range m.RunFiles(out.Run.ID) {
		files = append(files, f.Name)
		if f.Component == backupset.ComponentTaskManager || f.Component == backupset.ComponentStorage {
			content = append(content, f.Name+" "+f.Component+" ok")
		}
	}
	assert.Assert(t, is.Len(files, 4), "neo4j and system dumps, task manager, storage: %v", files)
	sort.Strings(files)
	sort.Strings(v.Checked)
	assert.Check(t, is.DeepEqual(v.Checked, files), "every file of the run re-hashed")
	var got []string
	for _, cc := range v.Content {
		got = append(got, fmt.Sprintf("%s %s %s", cc.File, cc.Component, map[bool]string{true: "ok", false: "refused"}[cc.OK]))
	}
	sort.Strings(got)
	sort.Strings(content)
	assert.Check(t, is.DeepEqual(got, content), "the task-manager dump and the storage archive read as verify reads them")
	run, _ := m.Run(out.Run.ID)
	assert.Check(t, run.Complete)

	// --check: neo4j-admin database check on the dumps just written.
	db.Reconnect(t)
	res = p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes", "--check", "--progress", "quiet")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Regexp(`(?m)^Verified: 4 file\(s\) match their checksums: `, res.Stdout()))
	assert.Check(t, is.Regexp(`(?m)^Content of task-manager-\S+\.pgdump \(task-manager\): pg_dump custom-format archive: header, table of contents and every data block \(as pg_restore --list reads it\): ok\.$`, res.Stdout()))
	assert.Check(t, is.Regexp(`(?m)^Content of storage-\S+\.tar \(storage\): .*: ok\.$`, res.Stdout()))
	assert.Check(t, is.Regexp(`(?m)^neo4j-admin database check neo4j: consistent: neo4j-\S+\.dump$`, res.Stdout()))
	assert.Check(t, is.Regexp(`(?m)^neo4j-admin database check system: consistent: system-\S+\.dump$`, res.Stdout()))
	assertNoHelpers(t, c)

	// The check finds the dump inconsistent: exit 5, the run incomplete,
	// the deployment running again.
	db.Reconnect(t)
	db.SetFaults(t, `{"fail": {"check": 1}}`)
	res = p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes", "--check", "--progress", "quiet")
	res.Assert(t, icmd.Expected{ExitCode: 5, Err: "verification failed"})
	assert.Check(t, is.Contains(res.Stderr(), "inconsistent: neo4j-admin database check failed"))
	m = readManifest(t, dir)
	assert.Assert(t, is.Len(m.Runs, 3))
	assert.Check(t, !m.Runs[2].Complete, "the run that failed its check is not restorable")
	assert.Check(t, is.Len(m.RunFiles(m.Runs[2].ID), 4), "its files stay")
	assertAllRunning(t, c, db)
	assertNoHelpers(t, c)

	// verify --check reads the Community dumps the same way, in a helper
	// of the database's own image.
	res = p.Docker("infrahubdb", "verify", dir, "--check", "--database-container", c.Database(t).Name)
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Regexp(`(?m)^neo4j-admin database check neo4j: consistent: neo4j-\S+\.dump$`, res.Stdout()))
	assertNoHelpers(t, c)
}

// backupVerification is backup --verify's result in --format json.
type backupVerification struct {
	OK      bool     `json:"ok"`
	Checked []string `json:"checked"`
	Content []struct {
		File      string `json:"file"`
		Component string `json:"component"`
		Check     string `json:"check"`
		OK        bool   `json:"ok"`
	} `json:"content"`
	Problems []backupset.Problem `json:"problems"`
}
