package e2e

// verify --drill (issue 18 item 4): a real restore of a run into throwaway
// containers beside the deployment, which is never stopped.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/drill"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump/pgdumptest"
)

// projectStarts records when each container of the project last started.
func projectStarts(t *testing.T, c *kit.Compose) map[string]string {
	t.Helper()
	out := map[string]string{}
	for s, ctr := range c.Containers {
		out[s] = ctr.Inspect(t, "{{.State.StartedAt}} {{.State.Running}}")
	}
	return out
}

// drillLeftovers lists the containers and volumes a drill of dir left.
func drillLeftovers(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filter := "label=" + drill.FolderLabel + "=" + dir
	for _, kind := range [][]string{{"ps", "-aq", "--filter", filter}, {"volume", "ls", "-q", "--filter", filter}} {
		out = append(out, strings.Fields(kit.MustDocker(t, kind...))...)
	}
	return out
}

func drillReport(t *testing.T, res *icmd.Result) drill.Report {
	t.Helper()
	var r drill.Report
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &r), res.Combined())
	return r
}

// A drill of a stock-shaped Community project: the graph dump loads into a
// throwaway Neo4j of the database's image, the task manager's dump into a
// throwaway PostgreSQL of task-manager-db's image, the storage archive into
// a scratch volume; each answers with the figures recorded, the report is
// written into the folder, nothing is left, and the deployment was never
// stopped.
func TestDrillCommunityProject(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c, _, _, dir := backedUpStock(t, p, "")
	run := readManifest(t, dir).Runs[0].ID
	before := projectStarts(t, c)

	res := p.Docker("infrahubdb", "verify", dir, "--drill", "--project", c.Project, "--format", "json", "--progress", "plain")
	t.Log(res.Stderr())
	res.Assert(t, icmd.Success)
	r := drillReport(t, res)
	assert.Check(t, is.Equal(r.Verdict, drill.VerdictPass), "%+v", r)
	assert.Check(t, is.Equal(r.RunID, run))
	assert.Assert(t, is.Len(r.Components, 3))
	byName := map[string]drill.ComponentReport{}
	for _, cr := range r.Components {
		byName[cr.Component] = cr
		assert.Check(t, cr.OK, "%+v", cr)
	}
	assert.Check(t, is.Equal(byName[backupset.ComponentGraph].Figures["nodes:neo4j"], int64(5)))
	assert.Check(t, is.Equal(byName[backupset.ComponentGraph].Expected["nodes:neo4j"], int64(5)), "recorded by the Community backup while the applications were stopped")
	assert.Check(t, is.Equal(byName[backupset.ComponentGraph].Expected["nodes:neo4j:Seed"], int64(5)), "per label")
	assert.Check(t, is.Equal(byName[backupset.ComponentGraph].Figures["nodes:neo4j:Seed"], int64(5)))
	assert.Check(t, is.Equal(byName[backupset.ComponentTaskManager].Figures["rows:flow_run"], int64(7)))
	assert.Check(t, is.Equal(byName[backupset.ComponentTaskManager].Expected["rows:flow_run"], int64(7)), "recorded by the Community backup, whose capture is consistent")
	assert.Check(t, is.Equal(byName[backupset.ComponentStorage].Figures["files"], int64(2)))
	assert.Check(t, is.Equal(byName[backupset.ComponentStorage].Figures["bytes"], int64(70000+len(`{"config": "router"}`))))
	assert.Check(t, r.RTO > 0)
	assert.Check(t, r.PeakMemory > 0, "peak memory of the throwaway Neo4j")

	_, err := os.Stat(filepath.Join(dir, backupset.DrillReportName(run)))
	assert.Check(t, err, "the report is in the folder")
	assert.Check(t, is.Len(drillLeftovers(t, dir), 0))
	assert.Check(t, is.DeepEqual(projectStarts(t, c), before), "the deployment was never stopped")
	assertNoHelpers(t, c)
	p.Docker("infrahubdb", "verify", dir).Assert(t, icmd.Success)
}

// A dump whose checksum is right (the manifest records the damaged bytes)
// but whose content does not load: verify alone passes, the drill fails
// with exit 5, and leaves nothing behind.
func TestDrillCatchesAnArtifactThatDoesNotLoad(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c := kit.StartCompose(t, kit.ComposeOptions{Services: []string{kit.ServiceDatabase, kit.ServiceServer}})
	db := c.Database(t)
	db.Seed(t, "neo4j", 3)
	dir := t.TempDir()
	p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes", "--progress", "quiet").Assert(t, icmd.Success)
	db.Reconnect(t)

	m := readManifest(t, dir)
	for i, f := range m.Files {
		if f.Database != "neo4j" {
			continue
		}
		junk := []byte(strings.Repeat("not a Neo4j dump\n", 64))
		assert.NilError(t, os.WriteFile(filepath.Join(dir, f.Name), junk, 0o600))
		sum := sha256.Sum256(junk)
		m.Files[i].SHA256, m.Files[i].Size = hex.EncodeToString(sum[:]), int64(len(junk))
	}
	data, err := json.MarshalIndent(m, "", "  ")
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(dir, backupset.ManifestName), data, 0o600))
	p.Docker("infrahubdb", "verify", dir).Assert(t, icmd.Success) // the checksums are right

	res := p.Docker("infrahubdb", "verify", dir, "--drill", "--project", c.Project, "--format", "json", "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Expected{ExitCode: 5, Err: "does not restore"})
	r := drillReport(t, res)
	assert.Check(t, is.Equal(r.Verdict, drill.VerdictFail))
	assert.Check(t, is.Len(drillLeftovers(t, dir), 0))
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(3)), "the deployment is untouched")
}

// A task-manager "dump" that is plain SQL, recorded with its true SHA-256:
// restore's content check refuses it, and the drill runs that check before
// it starts anything. It fails with exit 5 and verify's message, without a
// container or volume made for any component, and the deployment untouched.
func TestDrillRefusesWhatRestoreRefusesBeforeStartingAnything(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c, db, _, dir := backedUpStock(t, p, "")
	m := readManifest(t, dir)
	var name string
	for i, f := range m.Files {
		if f.Component != backupset.ComponentTaskManager {
			continue
		}
		plain := pgdumptest.Plain()
		assert.NilError(t, os.WriteFile(filepath.Join(dir, f.Name), plain, 0o600))
		sum := sha256.Sum256(plain)
		m.Files[i].SHA256, m.Files[i].Size = hex.EncodeToString(sum[:]), int64(len(plain))
		name = f.Name
	}
	assert.Assert(t, name != "", "the run has a task-manager dump")
	data, err := json.MarshalIndent(m, "", "  ")
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(dir, backupset.ManifestName), data, 0o600))
	verify := p.Docker("infrahubdb", "verify", dir, "--format", "json")
	verify.Assert(t, icmd.Expected{ExitCode: 5})
	var v struct{ Problems []backupset.Problem }
	assert.NilError(t, json.Unmarshal([]byte(verify.Stdout()), &v), verify.Combined())
	assert.Assert(t, is.Len(v.Problems, 1), "%+v", v.Problems)
	want := v.Problems[0].String()
	assert.Check(t, is.Contains(want, name+": content: restore refuses it: not a readable pg_dump custom-format archive"))
	assert.Check(t, is.Contains(want, "no PGDMP header"))
	before := projectStarts(t, c)

	res := p.Docker("infrahubdb", "verify", dir, "--drill", "--project", c.Project, "--format", "json", "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Expected{ExitCode: 5, Err: "task-manager: " + want})
	r := drillReport(t, res)
	assert.Check(t, is.Equal(r.Verdict, drill.VerdictFail))
	assert.Assert(t, is.Len(r.Components, 1), "%+v", r)
	assert.Check(t, is.Equal(r.Components[0].Component, backupset.ComponentTaskManager))
	assert.Check(t, is.Equal(r.Components[0].Problem, want), "verify's message")
	for _, step := range []string{"drill's Neo4j", "drill's PostgreSQL", "scratch volume"} {
		assert.Check(t, !strings.Contains(res.Stderr(), step), "nothing started: %q", step)
	}
	assert.Check(t, is.Len(drillLeftovers(t, dir), 0))
	assert.Check(t, is.DeepEqual(projectStarts(t, c), before), "the deployment was never stopped")
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)), "the deployment is untouched")
	assertNoHelpers(t, c)
}

// A drill of an Enterprise project: the graph is a chain of online backups,
// restored with neo4j-admin database restore into a throwaway Neo4j
// Enterprise of the database's image, its restore_metadata.cypher replayed.
func TestDrillEnterpriseProject(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c, db, _, dir := backedUpStock(t, p, kit.Image(t))
	db.Seed(t, "neo4j", 2)
	p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--consistent", "--yes", "--progress", "quiet").Assert(t, icmd.Success)
	m := readManifest(t, dir)
	assert.Assert(t, is.Len(m.Runs, 2))
	before := projectStarts(t, c)

	res := p.Docker("infrahubdb", "verify", dir, "--drill", "--project", c.Project, "--format", "json", "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	r := drillReport(t, res)
	assert.Check(t, is.Equal(r.Verdict, drill.VerdictPass), "%+v", r)
	assert.Check(t, is.Equal(r.RunID, m.Runs[1].ID))
	for _, cr := range r.Components {
		assert.Check(t, cr.OK, "%+v", cr)
		switch cr.Component {
		case backupset.ComponentGraph:
			assert.Check(t, is.Equal(cr.Figures["nodes:neo4j"], int64(7)))
			assert.Check(t, is.Equal(cr.Expected["nodes:neo4j"], int64(7)), "counted by the --consistent backup while the applications were stopped")
			assert.Check(t, is.Len(cr.Mismatches, 0))
		case backupset.ComponentTaskManager:
			assert.Check(t, is.Equal(cr.Expected["rows:flow_run"], int64(7)), "recorded by the --consistent backup")
		}
	}
	assert.Check(t, is.Len(drillLeftovers(t, dir), 0))
	assert.Check(t, is.DeepEqual(projectStarts(t, c), before), "the deployment was never stopped")
	assertNoHelpers(t, c)
}

// graphRecordOf is the manifest's record of database neo4j in a run.
func graphRecordOf(t *testing.T, m backupset.Manifest, run string) backupset.FileRecord {
	t.Helper()
	for _, f := range m.Files {
		if f.RunID == run && f.Component == backupset.ComponentGraph && f.Database == "neo4j" {
			return f
		}
	}
	t.Fatalf("run %s has no graph file of neo4j: %+v", run, m.Files)
	return backupset.FileRecord{}
}

// An Enterprise project backed up online WITHOUT --consistent (Infrahub
// runs). The graph is counted just before neo4j-admin database backup,
// bracketed by SHOW DATABASES' lastCommittedTxn, and the count is recorded
// because its transaction is the highest the artifact holds (backup
// inspect): the drill compares it, restored = expected. Then the graph is
// written during a backup (the stand-in's fault "writes neo4j": one
// transaction just before the backup's snapshot, one just after): no count
// is the artifact's, none is recorded, the backup says why, and the drill
// restores the graph, compares nothing for it and says so.
func TestDrillEnterpriseOnlineBackup(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c, db, _, dir := backedUpStock(t, p, kit.Image(t))
	db.Seed(t, "neo4j", 2)
	p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes", "--progress", "quiet").Assert(t, icmd.Success)
	m := readManifest(t, dir)
	assert.Assert(t, is.Len(m.Runs, 2))
	rec := graphRecordOf(t, m, m.Runs[1].ID)
	assert.Check(t, is.Equal(rec.Figures["nodes:neo4j"], int64(7)), "%+v", rec)
	assert.Check(t, is.Equal(rec.FiguresNotRecorded, ""))

	res := p.Docker("infrahubdb", "verify", dir, "--drill", "--project", c.Project, "--format", "json", "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	r := drillReport(t, res)
	assert.Check(t, is.Equal(r.Verdict, drill.VerdictPass), "%+v", r)
	assert.Check(t, is.Equal(r.RunID, m.Runs[1].ID))
	var graph int
	for _, cr := range r.Components {
		if cr.Component != backupset.ComponentGraph {
			continue
		}
		graph++
		assert.Check(t, cr.OK, "%+v", cr)
		assert.Check(t, is.Equal(cr.Figures["nodes:neo4j"], int64(7)))
		assert.Check(t, is.Equal(cr.Expected["nodes:neo4j"], int64(7)), "recorded by the online backup: nothing wrote between the count and the backup")
		assert.Check(t, is.Equal(cr.Expected["nodes:neo4j:Seed"], int64(7)))
		assert.Check(t, is.Len(cr.Mismatches, 0))
		assert.Check(t, is.Len(cr.NotCompared, 0))
	}
	assert.Check(t, is.Equal(graph, 1))

	db.SetFaults(t, `{"fail": {"writes neo4j": 1}}`)
	res = p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes", "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(db.Faults(t), `"writes neo4j":0`), "the graph was written during the backup")
	assert.Check(t, is.Contains(res.Stderr(), "the figures of database neo4j were not recorded (a drill will not compare them): the graph of database neo4j was written during the backup"))
	m = readManifest(t, dir)
	assert.Assert(t, is.Len(m.Runs, 3))
	rec = graphRecordOf(t, m, m.Runs[2].ID)
	assert.Check(t, is.Len(rec.Figures, 0), "%+v", rec)
	assert.Check(t, is.Equal(rec.RootID, ""))
	assert.Check(t, is.Contains(rec.FiguresNotRecorded, "was written during the backup"))
	assert.Check(t, is.Contains(rec.FiguresNotRecorded, "back up with --consistent"))
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(9)), "seven, and the two written around the backup")

	res = p.Docker("infrahubdb", "verify", dir, "--drill", "--project", c.Project, "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	out := res.Stdout()
	assert.Check(t, is.Contains(out, "Drill of run "+m.Runs[2].ID+": PASS"))
	assert.Check(t, is.Contains(out, "Not compared: graph: the figures of database neo4j are not compared: the graph of database neo4j was written during the backup"))
	assert.Check(t, is.Contains(out, "nodes:neo4j=8 "), "the backup holds the write before its snapshot, not the one after; no /expected")
	assert.Check(t, is.Contains(out, "nodes:neo4j:WrittenDuringBackup=1 "))
	assert.Check(t, is.Len(drillLeftovers(t, dir), 0))
	assertNoHelpers(t, c)
}

// Ctrl-C while the drill's PostgreSQL starts: exit 130, and every
// container and volume of the drill is removed.
func TestDrillInterruptedRemovesEverything(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c, _, _, dir := backedUpStock(t, p, "")

	run := p.Start(t, p.Cmd("infrahubdb", "verify", dir, "--drill", "--project", c.Project, "--progress", "plain"))
	run.WaitForOutput(t, "Start the drill's PostgreSQL", time.Minute)
	assert.Check(t, len(drillLeftovers(t, dir)) > 0, "the drill made its containers")
	run.Interrupt(t)
	res := run.Wait()
	t.Log(res.Combined())
	assert.Check(t, is.Equal(res.ExitCode, 130), res.Combined())
	assert.Check(t, is.Len(drillLeftovers(t, dir), 0))
	_, err := os.Stat(filepath.Join(dir, backupset.LockName))
	assert.Check(t, os.IsNotExist(err), "lock file left behind")
	assertNoHelpers(t, c)
}

// A drill killed outright (kill -9 of the plugin: no cleanup can run)
// leaves its containers and volumes; the next drill removes them.
func TestDrillKilledIsCleanedUpByTheNext(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c, _, _, dir := backedUpStock(t, p, "")

	run := p.Start(t, p.Cmd("infrahubdb", "verify", dir, "--drill", "--project", c.Project, "--progress", "plain"))
	run.WaitForOutput(t, "Start the drill's PostgreSQL", time.Minute)
	pid := run.Result.Cmd.Process.Pid
	for _, f := range must(filepath.Glob(filepath.Join("/proc", strconv.Itoa(pid), "task", "*", "children"))) {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if child, err := strconv.Atoi(s); err == nil {
				_ = syscall.Kill(child, syscall.SIGKILL)
			}
		}
	}
	_ = run.Result.Cmd.Process.Kill()
	run.Wait()
	assert.Assert(t, len(drillLeftovers(t, dir)) > 0, "a killed drill cannot clean up")

	res := p.Docker("infrahubdb", "verify", dir, "--drill", "--project", c.Project, "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	if !strings.Contains(res.Stderr(), "left by a drill that did not finish") {
		// Every drill removes the containers and volumes of drills whose
		// client is gone, whatever their folder (stale helpers of the
		// target "drill"): a drill of another test on the same engine may
		// have come first. Either way they are gone.
		t.Log("the killed drill's leftovers were removed by another drill on the engine")
	}
	assert.Check(t, is.Len(drillLeftovers(t, dir), 0))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A drill of an Enterprise project whose graph holds a database other than
// neo4j: the throwaway Neo4j knows only the databases it creates, so the
// drill creates and starts each restored one as restore does (CREATE
// DATABASE IF NOT EXISTS, START, wait until online) before counting it.
func TestDrillEnterpriseDatabaseOtherThanNeo4j(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	c, db, _, dir := backedUpStock(t, p, kit.Image(t))
	db.Run(t, "system", "CREATE DATABASE infrahub WAIT", nil)
	db.Seed(t, "infrahub", 3)
	p.Docker("infrahubdb", "backup", dir, "--project", c.Project, "--yes", "--progress", "quiet").Assert(t, icmd.Success)
	want := db.Count(t, "infrahub")

	res := p.Docker("infrahubdb", "verify", dir, "--drill", "--project", c.Project, "--format", "json", "--progress", "plain")
	t.Log(res.Combined())
	res.Assert(t, icmd.Success)
	r := drillReport(t, res)
	assert.Check(t, is.Equal(r.Verdict, drill.VerdictPass), "%+v", r)
	for _, cr := range r.Components {
		if cr.Component == backupset.ComponentGraph {
			assert.Check(t, is.Equal(cr.Figures["nodes:infrahub"], want), "%+v", cr)
		}
	}
	assert.Check(t, is.Len(drillLeftovers(t, dir), 0))
	assertNoHelpers(t, c)
}
