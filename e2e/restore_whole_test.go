package e2e

// Restore leaves Infrahub whole (issue 18 item 3): the default run holds
// every component of the deployment, the cache and the message queue are
// emptied, and an artifact of a newer Neo4j is refused before anything
// stops.

import (
	"archive/tar"
	"bytes"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// transientFiles lists what the cache or the message queue holds in its
// data directory, read with docker cp (the app image has no shell).
func transientFiles(t *testing.T, c *kit.Compose, service string) []string {
	t.Helper()
	res := kit.Docker("cp", c.Service(t, service).ID+":"+kit.TransientDataDir[service]+"/.", "-")
	res.Assert(t, icmd.Success)
	tr := tar.NewReader(strings.NewReader(res.Stdout()))
	var out []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		assert.NilError(t, err)
		if name := strings.TrimPrefix(hdr.Name, "./"); name != "" && name != "." {
			out = append(out, name)
		}
	}
	return out
}

// putTransient writes stale state into the data directory of service.
func putTransient(t *testing.T, c *kit.Compose, service string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: "mnesia/", Typeflag: tar.TypeDir, Mode: 0o755}))
	assert.NilError(t, tw.WriteHeader(&tar.Header{Name: "dump.rdb", Typeflag: tar.TypeReg, Mode: 0o644, Size: 5}))
	_, err := tw.Write([]byte("stale"))
	assert.NilError(t, err)
	assert.NilError(t, tw.Close())
	res := icmd.RunCmd(icmd.Command("docker", "cp", "-", c.Service(t, service).ID+":"+kit.TransientDataDir[service]), icmd.WithStdin(&buf))
	res.Assert(t, icmd.Success)
}

// backedUpStock is a stock-shaped project (Neo4j Community unless image
// names another), seeded (seedDeployment) and backed up once into a new
// folder.
func backedUpStock(t *testing.T, p *kit.Plugin, image string) (*kit.Compose, *kit.Database, *kit.Postgres, string) {
	t.Helper()
	c := kit.StartCompose(t, kit.ComposeOptions{Services: kit.StockServices, Neo4jImage: image})
	db, pg := seedDeployment(t, c)
	dir := t.TempDir()
	p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes", "--progress", "quiet").Assert(t, icmd.Success)
	db.Reconnect(t) // Community: the dump stopped and started the database
	return c, db, pg, dir
}

// A restore stops the cache and the message queue with the applications,
// empties their data (cached schema and queued messages describe the graph
// it replaces) and starts them again before the applications.
func TestRestoreEmptiesTheCacheAndTheMessageQueue(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c, db, _, dir := backedUpStock(t, p, "")
	for _, s := range []string{kit.ServiceCache, kit.ServiceMessageQueue} {
		putTransient(t, c, s)
		assert.Check(t, is.Len(transientFiles(t, c, s), 2), s)
	}

	res := p.Docker("infrahubdb", "restore", dir, "--project", c.Project, "--yes", "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	db.Reconnect(t)
	for _, s := range []string{kit.ServiceCache, kit.ServiceMessageQueue} {
		assert.Check(t, is.Len(transientFiles(t, c, s), 0), "%s emptied", s)
		assert.Check(t, is.Contains(res.Stderr(), "Empty "+kit.TransientDataDir[s]+" of "+c.Service(t, s).Name))
	}
	// Started again before the applications, stopped after them.
	out := res.Stderr()
	assert.Check(t, strings.Index(out, "Start "+c.Service(t, kit.ServiceCache).Name) < strings.Index(out, "Start "+c.Service(t, kit.ServiceServer).Name), out)
	assert.Check(t, is.Equal(len(c.Running(t)), len(kit.StockServices)))
	assertNoHelpers(t, c)

	// The graph alone (an offline load on Community): the two are stopped
	// after the database, emptied beside the safety dump, before the load,
	// and run again before the applications start.
	for _, s := range []string{kit.ServiceCache, kit.ServiceMessageQueue} {
		putTransient(t, c, s)
	}
	res = p.Docker("infrahubdb", "restore", dir, "--project", c.Project, "--yes", "--progress", "plain", "--component", "graph")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	db.Reconnect(t)
	out = res.Stderr()
	for _, s := range []string{kit.ServiceCache, kit.ServiceMessageQueue} {
		assert.Check(t, is.Len(transientFiles(t, c, s), 0), "%s emptied", s)
		empty := strings.Index(out, "Empty "+kit.TransientDataDir[s]+" of "+c.Service(t, s).Name)
		assert.Check(t, strings.Index(out, "Stop database container") < empty, "%s emptied after the database stopped", s)
		assert.Check(t, empty < strings.Index(out, "neo4j-admin database load"), "%s emptied before the load", s)
		assert.Check(t, strings.Index(out, "Start "+c.Service(t, s).Name) < strings.Index(out, "Start "+c.Service(t, kit.ServiceServer).Name), out)
	}
	assert.Check(t, is.Equal(len(c.Running(t)), len(kit.StockServices)))
	assertNoHelpers(t, c)
}

// The default run holds every component of the deployment: a newer
// graph-only run (backup --component graph) is passed over, and restored
// only when named (--run), with what stays as it is said.
func TestRestoreDefaultRunHoldsEveryComponent(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c, db, pg, dir := backedUpStock(t, p, "")
	whole := readManifest(t, dir).Runs[0].ID
	changeDeployment(t, c) // 8 nodes, 5 flow runs
	p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes", "--component", "graph", "--progress", "quiet").Assert(t, icmd.Success)
	db.Reconnect(t)
	graphOnly := readManifest(t, dir).Runs[1].ID
	db.Seed(t, "neo4j", 1)

	res := p.Docker("infrahubdb", "restore", dir, "--project", c.Project, "--yes", "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	db.Reconnect(t)
	assert.Check(t, is.Contains(res.Stdout(), "Run "+whole))
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))
	assert.Check(t, is.Equal(pg.Psql(t, "SELECT count(*) FROM flow_run"), "7"))

	res = p.Docker("infrahubdb", "restore", dir, "--project", c.Project, "--yes", "--run", graphOnly, "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	db.Reconnect(t)
	assert.Check(t, is.Contains(res.Stdout(), "Run "+graphOnly))
	assert.Check(t, is.Contains(res.Stdout(), "Left as it is (not restored): task-manager, storage."))
	assert.Check(t, is.Contains(res.Stderr(), "the deployment's task-manager and storage stay as they are now"))
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8)))
	assert.Check(t, is.Equal(pg.Psql(t, "SELECT count(*) FROM flow_run"), "7"), "the task manager stays as it was")
	assertNoHelpers(t, c)
}

// An online backup of a newer Neo4j than the database is refused before
// anything stops (NEO4J.md §5.8: no downgrade), exit 3.
func TestRestoreRefusesABackupOfANewerNeo4j(t *testing.T) {
	t.Parallel()
	kit.RequireStandIn(t, "it builds a stand-in of an older release")
	p := kit.InstallPlugin(t)
	newer := kit.StartDatabase(t, kit.Options{NoLabel: true})
	newer.Seed(t, "neo4j", 4)
	dir := kit.Folder(t)
	backupNow(t, p, newer, dir, "--database", "neo4j")

	older := kit.StartDatabase(t, kit.Options{NoLabel: true, Image: kit.OlderImage(t)})
	older.Seed(t, "neo4j", 2)
	started := older.Inspect(t, "{{.State.StartedAt}}")

	res := icmd.RunCmd(restoreCmd(p, older, nil, dir))
	res.Assert(t, icmd.Expected{ExitCode: 3, Err: "newer than the database's Neo4j"})
	assert.Check(t, is.Contains(res.Stderr(), "nothing was changed"))
	assert.Check(t, is.Equal(older.Inspect(t, "{{.State.StartedAt}}"), started), "the database container was not stopped")
	assert.Check(t, is.Equal(older.Count(t, "neo4j"), int64(2)))
	assert.Check(t, is.Len(older.Helpers(t), 0))
	assert.Check(t, is.Len(safetyDirs(t, dir), 0), "no safety backup taken")
}

// rootID reads the uuid of the Root node of the neo4j database.
func rootID(t *testing.T, db *kit.Database) string {
	t.Helper()
	recs := db.Run(t, "neo4j", "MATCH (n:Root) RETURN n.uuid AS uuid", nil)
	assert.Assert(t, is.Len(recs, 1))
	v, _ := recs[0].Get("uuid")
	s, _ := v.(string)
	return s
}

// The Root node's id (the deployment identity) is recorded by the backup
// and checked by a drill; restore --new-deployment-id gives the restored
// graph a new one before the applications start.
func TestRestoreNewDeploymentID(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: []string{kit.ServiceDatabase, kit.ServiceServer}})
	db := c.Database(t)
	db.Run(t, "neo4j", "CREATE (:Root {uuid: 'production-id'}), (:Branch {name: 'main'})", nil)
	db.Seed(t, "neo4j", 3)
	dir := t.TempDir()
	p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes", "--progress", "quiet").Assert(t, icmd.Success)
	db.Reconnect(t)
	for _, f := range readManifest(t, dir).Files {
		if f.Database == "neo4j" {
			assert.Check(t, is.Equal(f.RootID, "production-id"))
			assert.Check(t, is.Equal(f.Figures["nodes:neo4j:Root"], int64(1)))
			assert.Check(t, is.Equal(f.Figures["branch:neo4j:main"], int64(1)), "the main branch was found")
		}
	}

	res := p.Docker("infrahubdb", "verify", dir, "--drill", "--project", c.Project, "--format", "json")
	res.Assert(t, icmd.Success)
	r := drillReport(t, res)
	for _, cr := range r.Components {
		if cr.Component == backupset.ComponentGraph {
			assert.Check(t, is.DeepEqual(cr.RootIDs, map[string]string{"neo4j": "production-id"}))
			assert.Check(t, is.DeepEqual(cr.ExpectedRootIDs, map[string]string{"neo4j": "production-id"}))
			assert.Check(t, is.Equal(cr.Figures["branch:neo4j:main"], int64(1)))
		}
	}

	res = p.Docker("infrahubdb", "restore", dir, "--project", c.Project, "--yes", "--new-deployment-id", "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	db.Reconnect(t)
	id := rootID(t, db)
	assert.Check(t, id != "production-id" && len(id) == 36, id)
	assert.Check(t, is.Contains(res.Stdout(), "New deployment id (Root node): "+id))
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))
}

// A restore's safety folder is a complete run of the copies it holds, of
// one component or all: verify says OK, and restore takes it back with
// --run latest or --component (issue 18: it was a manifest verify called
// empty and restore could not take).
func TestRestoreSafetyFolderIsARun(t *testing.T) {
	t.Parallel()
	t.Run("community", func(t *testing.T) { t.Parallel(); safetyFolderIsARun(t, "") })
	// The graph's safety copy is an online backup there.
	t.Run("enterprise", func(t *testing.T) { t.Parallel(); safetyFolderIsARun(t, kit.Image(t)) })
}

func safetyFolderIsARun(t *testing.T, image string) {
	p := kit.InstallPlugin(t)
	c, db, pg, dir := backedUpStock(t, p, image)
	changeDeployment(t, c) // 8 nodes, 5 flow runs
	flowRuns := func() string { return pg.Psql(t, "SELECT string_agg(id::text, ',' ORDER BY id) FROM flow_run") }
	changed := flowRuns()

	// The task manager alone: its safety copy holds the changed rows.
	res := p.Docker("infrahubdb", "restore", dir, "--project", c.Project, "--yes", "--component", "task-manager", "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(pg.Psql(t, "SELECT count(*) FROM flow_run"), "7"))
	safety := safetyDirs(t, dir)
	assert.Assert(t, is.Len(safety, 1))
	tmSafety := filepath.Join(dir, safety[0])
	v := verifyJSON(t, p, tmSafety, 0)
	assert.Check(t, v.OK, "%+v", v.Problems)
	m := readManifest(t, tmSafety)
	assert.Assert(t, is.Len(m.Runs, 1))
	assert.Check(t, m.Runs[0].Complete)
	assert.Check(t, is.DeepEqual(m.Runs[0].Components, []string{backupset.ComponentTaskManager}))

	res = p.Docker("infrahubdb", "restore", tmSafety, "--project", c.Project, "--yes", "--run", "latest", "--no-safety-backup", "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(flowRuns(), changed), "the task manager as it was before the first restore")
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8)), "the graph was left as it is")
	res = p.Docker("infrahubdb", "restore", tmSafety, "--project", c.Project, "--yes", "--component", "task-manager", "--no-safety-backup", "--progress", "plain")
	res.Assert(t, icmd.Success)

	// The whole deployment: the safety folder is a run of every component,
	// which a default restore takes.
	res = p.Docker("infrahubdb", "restore", dir, "--project", c.Project, "--yes", "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	db.Reconnect(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))
	var whole string
	for _, s := range safetyDirs(t, dir) {
		if filepath.Join(dir, s) != tmSafety {
			whole = filepath.Join(dir, s)
		}
	}
	assert.Assert(t, whole != "")
	v = verifyJSON(t, p, whole, 0)
	assert.Check(t, v.OK, "%+v", v.Problems)
	res = p.Docker("infrahubdb", "restore", whole, "--project", c.Project, "--yes", "--no-safety-backup", "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	db.Reconnect(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(8)))
	assert.Check(t, is.Equal(flowRuns(), changed))
	assertNoHelpers(t, c)
}
