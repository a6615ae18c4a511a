package e2e

// backup --prune (issue 19): a run, then a second with --prune --keep-last 1,
// leaves the second run alone in the folder; prune with calendar rules and
// --dry-run deletes nothing.

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

func TestBackupPruneByCalendar(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices})
	db, _ := seedDeployment(t, c)
	dir := t.TempDir()

	p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes", "--progress", "quiet").Assert(t, icmd.Success)
	db.Reconnect(t)
	first := readManifest(t, dir).Runs[0].ID

	res := p.Docker("infrahubdb", "prune", dir, "--keep-daily", "1", "--dry-run", "--yes")
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "keep    "+first))

	res = p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes", "--progress", "quiet", "--prune", "--keep-last", "1")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	db.Reconnect(t)
	assert.Check(t, is.Contains(res.Stdout(), "delete  "+first))
	m := readManifest(t, dir)
	assert.Assert(t, is.Len(m.Runs, 1))
	assert.Check(t, m.Runs[0].ID != first)
	for _, f := range m.Files {
		assert.Check(t, is.Equal(f.RunID, m.Runs[0].ID), f.Name)
	}
	p.Docker("infrahubdb", "verify", dir).Assert(t, icmd.Success)
	assertNoHelpers(t, c)
}
