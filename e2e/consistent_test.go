package e2e

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

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
