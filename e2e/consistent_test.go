package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	backupwf "github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// backup --consistent on Enterprise: without consent and a terminal it
// changes nothing (exit 2); with --yes it stops the applications for the
// capture, starts them again, reports the downtime and records the run as
// consistent.
func TestInfrahubConsistentBackup(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices, Neo4jImage: kit.Image(t)})
	c.Database(t).Seed(t, "neo4j", 3)
	dir := t.TempDir()
	want := append([]string{}, kit.StockServices...)
	sort.Strings(want)

	res := p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--consistent")
	res.Assert(t, icmd.Expected{ExitCode: 2, Err: "--yes"})
	assert.Check(t, is.DeepEqual(c.Running(t), want))
	_, err := os.Stat(filepath.Join(dir, backupset.ManifestName))
	assert.Check(t, os.IsNotExist(err), "nothing written")

	res = p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--consistent", "--yes", "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "Consistent: the application containers were stopped for the capture; downtime"))
	m := readManifest(t, dir)
	assert.Assert(t, is.Len(m.Runs, 1))
	assert.Check(t, m.Runs[0].Complete && m.Runs[0].Consistent)
	assert.Check(t, is.Len(m.Runs[0].Components, 3))
	assert.Check(t, is.DeepEqual(c.Running(t), want))
	assertNoHelpers(t, c)
}

// On Community, --consistent captures the task manager and the storage
// inside the dump's outage; prune --keep 1 then deletes the older run whole.
func TestInfrahubConsistentCommunityBackupAndPruneByRuns(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	dir := t.TempDir()
	want := append([]string{}, kit.StockServices...)
	sort.Strings(want)

	for i := 0; i < 2; i++ {
		res := p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--consistent", "--yes", "--progress", "plain")
		t.Log(res.Combined())
		res.Assert(t, icmd.Success)
		assert.Check(t, is.Contains(res.Stdout(), "Consistent:"))
		assert.Check(t, is.DeepEqual(c.Running(t), want))
		time.Sleep(1100 * time.Millisecond) // one run id per second
	}
	m := readManifest(t, dir)
	assert.Assert(t, is.Len(m.Runs, 2))
	for _, r := range m.Runs {
		assert.Check(t, r.Complete && r.Consistent, "%+v", r)
	}

	res := p.Docker("infrahubdb", "prune", dir, "--keep", "1", "--yes")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	m = readManifest(t, dir)
	assert.Assert(t, is.Len(m.Runs, 1))
	for _, f := range m.Files {
		assert.Check(t, is.Equal(f.RunID, m.Runs[0].ID), f.Name)
	}
	entries, err := os.ReadDir(dir)
	assert.NilError(t, err)
	assert.Check(t, is.Len(entries, len(m.Files)+1), "the run's files and the manifest: %v", entries)
	p.Docker("infrahubdb", "verify", dir).Assert(t, icmd.Success)
}

// A Community backup is consistent by construction (issue 13 item 5): the
// offline dump stops the applications, and the task manager and the storage
// are captured inside that same outage, with no --consistent. Docker's own
// record of when the applications stopped and started again brackets every
// capture time of the manifest, and every component file was written before
// they started again.
func TestInfrahubCommunityBackupIsConsistent(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	seedDeployment(t, c)
	before := startedAt(t, c)
	dir := t.TempDir()

	res := p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes", "--format", "json", "--progress", "plain")
	t.Log(res.Stderr())
	res.Assert(t, icmd.Success)
	var out struct {
		Run backupwf.SetResult `json:"run"`
	}
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &out), res.Stdout())
	assert.Check(t, out.Run.Consistent)
	assert.Check(t, out.Run.Downtime > 0)
	m := readManifest(t, dir)
	assert.Assert(t, is.Len(m.Runs, 1))
	assert.Check(t, m.Runs[0].Complete && m.Runs[0].Consistent)
	assert.Check(t, is.Len(m.Runs[0].Components, 3))

	// The applications' outage as Docker saw it: from the last one stopped
	// to the first one started again.
	var stopped, restarted time.Time
	for _, s := range []string{kit.ServiceServer, kit.ServiceTaskWorker, kit.ServiceTaskManager} {
		ctr := c.Service(t, s)
		fin, err := time.Parse(time.RFC3339Nano, ctr.Inspect(t, "{{.State.FinishedAt}}"))
		assert.NilError(t, err)
		st, err := time.Parse(time.RFC3339Nano, ctr.StartedAt(t))
		assert.NilError(t, err)
		if fin.After(stopped) {
			stopped = fin
		}
		if restarted.IsZero() || st.Before(restarted) {
			restarted = st
		}
	}
	assert.Assert(t, stopped.Before(restarted), "the applications were stopped and started again: %v, %v", stopped, restarted)
	assert.Check(t, restarted.Sub(stopped) <= out.Run.Downtime, "the reported downtime covers the outage")
	for _, f := range m.Files {
		assert.Check(t, !f.Captured.Before(stopped) && f.Captured.Before(restarted),
			"%s captured at %v, outside the outage %v .. %v", f.Name, f.Captured, stopped, restarted)
		if f.Component == backupset.ComponentGraph {
			continue // the dump is fetched from its helper once everything runs again
		}
		fi, err := os.Stat(filepath.Join(dir, f.Name))
		assert.NilError(t, err)
		assert.Check(t, fi.ModTime().Before(restarted), "%s written at %v, after the applications started again at %v", f.Name, fi.ModTime(), restarted)
	}
	// Only the applications and the database stopped.
	after := startedAt(t, c)
	for _, s := range []string{kit.ServiceTaskManagerDB, kit.ServiceMessageQueue, kit.ServiceCache} {
		assert.Check(t, is.Equal(after[s], before[s]), "%s was restarted", s)
	}
	want := append([]string{}, kit.StockServices...)
	sort.Strings(want)
	assert.Check(t, is.DeepEqual(c.Running(t), want))
	assertNoHelpers(t, c)
}
