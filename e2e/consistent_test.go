package e2e

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/pkg/backupset"
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
