package e2e

import (
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

// A dump taken on a stock Community project restores onto an Enterprise
// project with no special flag: the database is stopped inside Neo4j
// (STOP DATABASE), loaded, created and started; its container never stops.
// A load that fails is rolled back from the safety backup (exit 6).
func TestDumpRestoresOntoEnterprise(t *testing.T) {
	// Not parallel: zero-flag discovery needs an engine with no other candidate.
	p := kit.InstallPlugin(t)
	dir := kit.Folder(t)

	community := kit.StartCompose(t, kit.ComposeOptions{})
	community.Database(t).Seed(t, "neo4j", 7)
	zeroFlag(t, p, community, "backup", dir, "--yes").Assert(t, icmd.Success)
	community.Down(t)

	c := kit.StartCompose(t, kit.ComposeOptions{Neo4jImage: kit.Image(t)})
	db := c.Database(t)
	db.Seed(t, "neo4j", 3)
	before := startedAt(t, c)[kit.ServiceDatabase]

	t.Run("the load fails: rolled back", func(t *testing.T) {
		kit.RequireStandIn(t, "it makes the load fail with the stand-in's fault knobs")
		db.SetFaults(t, `{"fail": {"load": 1}}`)
		res := zeroFlag(t, p, c, "restore", dir, "--yes", "--progress", "plain")
		res.Assert(t, icmd.Expected{ExitCode: 6, Err: "rolled back"})
		assert.Check(t, is.Contains(res.Stderr(), "neo4j-admin database load failed"))
		assert.Check(t, is.Contains(db.Faults(t), `"load":0`), "the load ran and failed")
		db.SetFaults(t, `{}`)
		assertAllRunning(t, c, db)
		assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(3)), "data as before")
	})

	res := zeroFlag(t, p, c, "restore", dir, "--yes", "--progress", "plain")
	res.Assert(t, icmd.Success)
	for _, step := range []string{"STOP DATABASE neo4j", "neo4j-admin database load neo4j", "START DATABASE neo4j"} {
		assert.Check(t, is.Contains(res.Stderr(), step))
	}
	assert.Check(t, is.Contains(res.Stdout(), ".dump"))
	assert.Check(t, is.Contains(res.Stdout(), "Skipped: system"))
	assertAllRunning(t, c, db)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(7)))
	assert.Check(t, is.Equal(startedAt(t, c)[kit.ServiceDatabase], before), "the database container never stopped")
}

// Real Enterprise loads into a database stopped with STOP DATABASE while
// the DBMS runs, and refuses a started one [S19][S20a]; the stand-in too.
func TestDumpStandinEnterpriseLoadNeedsOnlyTheDatabaseStopped(t *testing.T) {
	t.Parallel()
	db := kit.StartDatabase(t, kit.Options{})
	db.Seed(t, "neo4j", 4)
	h := newHelper(t, db, true)
	db.Run(t, "system", "STOP DATABASE neo4j WAIT", nil)
	h.MustExec(t, "neo4j-admin", "database", "dump", "--to-path="+backupDir, "neo4j")
	db.Run(t, "system", "START DATABASE neo4j WAIT", nil)
	db.Seed(t, "neo4j", 6)

	res := h.ExecAs(neo4jUser, "neo4j-admin", "database", "load", "--overwrite-destination=true", "--from-path="+backupDir, "neo4j")
	assert.Check(t, res.ExitCode != 0, res.Combined())
	assert.Check(t, is.Contains(res.Combined(), "The database is in use. Stop database 'neo4j' and try again."))
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(10)), "a refused load changes nothing")

	db.Run(t, "system", "STOP DATABASE neo4j WAIT", nil)
	h.ExecAs(neo4jUser, "neo4j-admin", "database", "load", "--overwrite-destination=true", "--from-path="+backupDir, "neo4j").Assert(t, icmd.Success)
	db.Run(t, "system", "START DATABASE neo4j WAIT", nil)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(4)))
}
