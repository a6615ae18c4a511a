package e2e

// Restore, end to end: the real plugin, through the real docker CLI, against
// a database container, its app containers and a backup folder. Each test
// reads like the runbook of an operator: seed, back up, change the data,
// restore, look at what the database and the containers did.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

func TestRestoreRoundTrip(t *testing.T) {
	t.Parallel()
	p, db, dir := backedUpThenChanged(t, kit.Options{})
	assert.Equal(t, db.Count(t, "neo4j"), int64(15))

	res := icmd.RunCmd(restoreCmd(p, db, nil, dir))
	res.Assert(t, icmd.Success)

	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(10)))
	assert.Check(t, is.Equal(db.Status(t, "neo4j"), "online"))
	assert.Check(t, is.Contains(res.Stdout(), "neo4j"))
	assert.Check(t, is.Contains(res.Stdout(), "Skipped: system (the system database is never restored)"))
	assert.Check(t, is.Len(db.Helpers(t), 0), "the helper container is removed")
	// The safety backup of B is kept in the folder and holds B.
	safety := safetyDirs(t, dir)
	assert.Assert(t, is.Len(safety, 1))
	assertSafetyChain(t, filepath.Join(dir, safety[0]))
}

// Tests run in parallel (with other packages' too), so several containers
// carry infrahub_role=database: every command names its database container.

// backedUpThenChanged is where most restore tests start: the plugin, and a
// database whose neo4j held 10 nodes when it was backed up into dir (state
// A) and holds 15 now (state B).
func backedUpThenChanged(t *testing.T, opts kit.Options) (*kit.Plugin, *kit.Database, string) {
	t.Helper()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, opts)
	dir := kit.Folder(t)
	db.Seed(t, "neo4j", 10)
	backupNow(t, p, db, dir)
	db.Seed(t, "neo4j", 5)
	return p, db, dir
}

// backupNow runs `docker infrahubdb backup` of db into dir and fails the
// test unless it succeeds.
func backupNow(t *testing.T, p *kit.Plugin, db *kit.Database, dir string, flags ...string) {
	t.Helper()
	args := append([]string{"infrahubdb", "backup", "--database-container", db.Name}, flags...)
	p.Docker(append(args, dir)...).Assert(t, icmd.Success)
}

// restoreCmd is `docker infrahubdb restore --yes --database-container <db>
// <args>` with extra env (NEO4J_AUTH=...).
func restoreCmd(p *kit.Plugin, db *kit.Database, env []string, args ...string) icmd.Cmd {
	cmd := p.Cmd(append([]string{"infrahubdb", "restore", "--yes", "--database-container", db.Name}, args...)...)
	cmd.Env = append(cmd.Env, env...)
	return cmd
}

// safetyDirs lists the safety backup folders a restore left in dir.
// assertSafetyChain checks that the safety folder holds the chain restore
// takes of neo4j: a full backup, taken while the applications still ran,
// and a differential one on top, taken once they stopped (empty when
// nothing was written meanwhile).
func assertSafetyChain(t *testing.T, safety string) {
	t.Helper()
	folder, err := backupset.Open(safety)
	assert.NilError(t, err)
	m, err := folder.ReadManifest()
	assert.NilError(t, err)
	var types []string
	for _, name := range kit.BackupFiles(t, safety, "neo4j") {
		rec, ok := m.Lookup(name)
		assert.Check(t, ok, "%s is recorded", name)
		types = append(types, rec.Type)
	}
	assert.Check(t, is.DeepEqual(types, []string{backupset.TypeFull, backupset.TypeDiff}))
	v := verifyJSON(t, kit.InstallPlugin(t), safety, 0)
	assert.Check(t, v.OK, "verify of the safety folder: %+v", v.Problems)
}

func safetyDirs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	assert.NilError(t, err)
	out := []string{}
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), "safety") {
			out = append(out, e.Name())
		}
	}
	return out
}

// restoreResult is the part of `restore --format json` the tests read.
type restoreResult struct {
	Transfer  string `json:"transfer"`
	Helper    string `json:"helper_container"`
	Databases []struct {
		Name         string `json:"name"`
		Restored     string `json:"restored_from"`
		Nodes        int64  `json:"nodes"`
		Statements   int    `json:"metadata_statements"`
		SafetyBackup string `json:"safety_backup"`
		RolledBack   bool   `json:"rolled_back"`
	} `json:"results"`
	Plan struct {
		Skipped []string `json:"skipped"`
	} `json:"plan"`
	AppsRestarted []string `json:"app_containers_restarted"`
}

func parseRestore(t *testing.T, res *icmd.Result) restoreResult {
	t.Helper()
	var r restoreResult
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &r), res.Combined())
	return r
}

func TestRestoreReplaysMetadataWithDatabaseParameter(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	kit.RequireStandIn(t, "it reads the stand-in's record of executed statements")
	dir := kit.Folder(t)
	db.Run(t, "system", "CREATE DATABASE `my-db` WAIT", nil)
	db.Seed(t, "neo4j", 3)
	db.Seed(t, "my-db", 4)
	backupNow(t, p, db, dir)
	assert.Assert(t, is.Len(db.Executed(t), 0))

	res := icmd.RunCmd(restoreCmd(p, db, nil, "--format", "json", dir))
	res.Assert(t, icmd.Success)

	// The statements of each database's restore_metadata.cypher ran on
	// system, one database after the other, and every one that uses
	// $database got that database's name.
	out := parseRestore(t, res)
	assert.Assert(t, is.Len(out.Databases, 2))
	executed := db.Executed(t)
	for _, d := range out.Databases {
		assert.Assert(t, d.Statements > 0 && d.Statements <= len(executed), "database %s: %d statements, %d executed", d.Name, d.Statements, len(executed))
		withParam := 0
		for _, e := range executed[:d.Statements] {
			assert.Check(t, is.Equal(e.DB, "system"), "statement %q", e.Statement)
			if strings.Contains(e.Statement, "$database") {
				withParam++
				assert.Check(t, is.Equal(e.Database, d.Name), "statement %q", e.Statement)
			}
		}
		assert.Check(t, withParam > 0, "database %s: no statement used $database", d.Name)
		executed = executed[d.Statements:]
	}
	assert.Check(t, is.Len(executed, 0), "statements beyond the replayed scripts")
}

func TestRestoreWrongPasswordChangesNothing(t *testing.T) {
	t.Parallel()
	p, db, dir := backedUpThenChanged(t, kit.Options{})
	app := kit.StartApp(t, db, "infrahub-server", true)
	before := snapshot(t, db, app)

	const wrong = "not-the-Passw0rd"
	res := icmd.RunCmd(restoreCmd(p, db, []string{"NEO4J_AUTH=neo4j/" + wrong}, dir))
	res.Assert(t, icmd.Expected{ExitCode: 3})
	assert.Check(t, is.Contains(strings.ToLower(res.Stderr()), "unauthorized"))
	assert.Check(t, !strings.Contains(res.Combined(), wrong), "the password leaked:\n%s", res.Combined())

	before.assertUnchanged(t, dir)
}

func TestRestoreCorruptedArtifactChangesNothing(t *testing.T) {
	t.Parallel()
	testRestoreCorruptedArtifactChangesNothing(t)
}

// With stream transfer the chain is checked while it is uploaded: the
// same refusal, before anything stops.
func TestRestoreStreamCorruptedArtifactChangesNothing(t *testing.T) {
	t.Parallel()
	testRestoreCorruptedArtifactChangesNothing(t, "--transfer", "stream")
}

func testRestoreCorruptedArtifactChangesNothing(t *testing.T, args ...string) {
	p, db, dir := backedUpThenChanged(t, kit.Options{})
	app := kit.StartApp(t, db, "infrahub-server", true)
	before := snapshot(t, db, app)

	files := kit.BackupFiles(t, dir, "neo4j")
	assert.Assert(t, is.Len(files, 1))
	flipByte(t, filepath.Join(dir, files[0]))

	res := icmd.RunCmd(restoreCmd(p, db, nil, append(args, dir)...))
	res.Assert(t, icmd.Expected{ExitCode: 5, Err: "nothing was changed"})
	assert.Check(t, is.Contains(res.Stderr(), files[0]))

	before.assertUnchanged(t, dir)
}

func TestRestoreFailingMidwayRollsBack(t *testing.T) {
	t.Parallel()
	testRestoreFailingMidwayRollsBack(t)
}

// With stream transfer (the chain checked while uploaded, the safety
// backup downloaded through the Docker API): the same rollback, from the
// helper's copy, and the error names the folder's.
func TestRestoreStreamFailingMidwayRollsBack(t *testing.T) {
	t.Parallel()
	testRestoreFailingMidwayRollsBack(t, "--transfer", "stream")
}

func testRestoreFailingMidwayRollsBack(t *testing.T, args ...string) {
	p, db, dir := backedUpThenChanged(t, kit.Options{}) // B, 15 nodes: what the rollback must bring back
	app := kit.StartApp(t, db, "infrahub-server", true)
	appStarted := app.StartedAt(t)

	// neo4j-admin restore dies after writing part of the data. While the
	// differential safety backup is taken (the second backup the backup
	// port serves; the full one came before the applications stopped), a
	// client writes one node before its snapshot and one after.
	db.SetFaults(t, `{"fail": {"restore": 1, "writes neo4j": 1}, "skip": {"writes neo4j": 1}}`)
	res := icmd.RunCmd(restoreCmd(p, db, nil, append(args, dir)...))
	res.Assert(t, icmd.Expected{ExitCode: 6, Err: "rolled back"})

	assert.Check(t, is.Equal(db.Status(t, "neo4j"), "online"))
	// The rollback restores the chain: B and the node written before the
	// differential backup's snapshot (the one after it was written after
	// the safety backup, which applications never do: they are stopped).
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(16)))
	// The error says where the safety backup is, and it is there.
	safety := safetyDirs(t, dir)
	assert.Assert(t, is.Len(safety, 1))
	assert.Check(t, is.Contains(res.Stderr(), filepath.Join(dir, safety[0])))
	assertSafetyChain(t, filepath.Join(dir, safety[0]))
	assert.Check(t, app.Running(t))
	assert.Check(t, app.StartedAt(t) != appStarted, "the app container was not stopped during the restore")
	assert.Check(t, is.Len(db.Helpers(t), 0))
}

func TestRestoreRetriesFailedStart(t *testing.T) {
	t.Parallel()
	p, db, dir := backedUpThenChanged(t, kit.Options{})

	db.SetFaults(t, `{"fail": {"start": 1}}`)
	res := icmd.RunCmd(restoreCmd(p, db, nil, "--progress", "plain", dir))
	res.Assert(t, icmd.Success)

	assert.Check(t, is.Contains(res.Stderr(), "START DATABASE neo4j failed (attempt 1 of"))
	assert.Check(t, is.Equal(db.Status(t, "neo4j"), "online"))
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(10)))
	assert.Check(t, is.Contains(db.Faults(t), `"start":0`), "the START fault was not consumed")
}

func TestRestoreInterruptedBringsEverythingBack(t *testing.T) {
	t.Parallel()
	p, db, dir := backedUpThenChanged(t, kit.Options{})
	app := kit.StartApp(t, db, "infrahub-server", true)

	// neo4j-admin restore takes a while, and the operator presses Ctrl-C
	// while it runs: the database is down at that moment.
	db.SetFaults(t, `{"delay": {"restore": "4s"}}`)
	run := p.Start(t, restoreCmd(p, db, nil, "--progress", "plain", dir))
	run.WaitForOutput(t, "neo4j-admin database restore", 2*time.Minute)
	run.Interrupt(t)
	res := run.Wait()
	res.Assert(t, icmd.Expected{ExitCode: 130})

	assert.Check(t, is.Equal(db.Status(t, "neo4j"), "online"))
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(15)), "rolled back to the data before the restore")
	assert.Check(t, app.Running(t), "the app container was not started again")
	assert.Check(t, is.Len(db.Helpers(t), 0))
}

func TestRestoreStopsOnlyRunningAppsAndRestartsThem(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	server := kit.StartApp(t, db, "infrahub-server", true)
	worker := kit.StartApp(t, db, "task-worker", false)
	// The cache is stopped with the applications and started first (its
	// data, emptied when it has a volume, describes the graph replaced).
	cache := kit.StartApp(t, db, "cache", true)
	other := kit.StartApp(t, db, "infrahub-grafana", true) // not an Infrahub service: left alone
	dir := kit.Folder(t)
	db.Seed(t, "neo4j", 10)
	backupNow(t, p, db, dir)
	serverStarted, cacheStarted, otherStarted := server.StartedAt(t), cache.StartedAt(t), other.StartedAt(t)

	res := icmd.RunCmd(restoreCmd(p, db, nil, "--format", "json", dir))
	res.Assert(t, icmd.Success)

	out := parseRestore(t, res)
	assert.Check(t, is.DeepEqual(out.AppsRestarted, []string{cache.Name, server.Name}))
	assert.Check(t, server.Running(t))
	assert.Check(t, server.StartedAt(t) != serverStarted, "infrahub-server was not stopped during the restore")
	assert.Check(t, cache.Running(t))
	assert.Check(t, cache.StartedAt(t) != cacheStarted, "the cache was not stopped during the restore")
	assert.Check(t, !worker.Running(t), "task-worker was stopped before and must stay stopped")
	assert.Check(t, is.Equal(other.StartedAt(t), otherStarted), "a non-Infrahub service was restarted")
}

func TestRestoreUntilPointInTime(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)

	// A chain: a full backup of 10 nodes, then a differential one with 5
	// more, committed after the point in time chosen.
	db.Seed(t, "neo4j", 10)
	backupNow(t, p, db, dir, "--no-aggregate")
	time.Sleep(1100 * time.Millisecond)
	until := time.Now().UTC().Format(time.RFC3339)
	time.Sleep(1100 * time.Millisecond)
	db.Seed(t, "neo4j", 5)
	backupNow(t, p, db, dir, "--no-aggregate")
	assert.Assert(t, is.Len(kit.BackupFiles(t, dir, "neo4j"), 2))
	db.Seed(t, "neo4j", 100)

	icmd.RunCmd(restoreCmd(p, db, nil, "--until", until, dir)).Assert(t, icmd.Success)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(10)))

	// Without --until, the whole chain.
	icmd.RunCmd(restoreCmd(p, db, nil, dir)).Assert(t, icmd.Success)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(15)))
}

func TestRestoreOnlySelectedDatabase(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	db.Run(t, "system", "CREATE DATABASE other WAIT", nil)
	db.Seed(t, "neo4j", 10)
	db.Seed(t, "other", 20)
	backupNow(t, p, db, dir)
	db.Seed(t, "neo4j", 5)
	db.Seed(t, "other", 5)

	res := icmd.RunCmd(restoreCmd(p, db, nil, "--database", "other", "--format", "json", dir))
	res.Assert(t, icmd.Success)

	out := parseRestore(t, res)
	assert.Assert(t, is.Len(out.Databases, 1))
	assert.Check(t, is.Equal(out.Databases[0].Name, "other"))
	assert.Check(t, is.Equal(db.Count(t, "other"), int64(20)))
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(15)), "neo4j was not selected and must not change")

	// A database the folder has no backup of is refused before anything.
	res = icmd.RunCmd(restoreCmd(p, db, nil, "--database", "nope", dir))
	res.Assert(t, icmd.Expected{ExitCode: 3, Err: `no backup of database "nope"`})
}

func TestRestoreDatabaseNameWithDash(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	db.Run(t, "system", "CREATE DATABASE `my-db` WAIT", nil)
	db.Seed(t, "my-db", 7)
	backupNow(t, p, db, dir)
	assert.Assert(t, is.Len(kit.BackupFiles(t, dir, "my-db"), 1))

	// Changed, then dropped altogether: the restore creates it again.
	db.Seed(t, "my-db", 3)
	res := icmd.RunCmd(restoreCmd(p, db, nil, "--database", "my-db", dir))
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(db.Count(t, "my-db"), int64(7)))

	db.Run(t, "system", "DROP DATABASE `my-db` WAIT", nil)
	assert.Assert(t, is.Equal(db.Status(t, "my-db"), ""))
	res = icmd.RunCmd(restoreCmd(p, db, nil, "--database", "my-db", dir))
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(db.Status(t, "my-db"), "online"))
	assert.Check(t, is.Equal(db.Count(t, "my-db"), int64(7)))
}

func TestRestoreStreamTransfer(t *testing.T) {
	t.Parallel()
	p, db, dir := backedUpThenChanged(t, kit.Options{})

	res := icmd.RunCmd(restoreCmd(p, db, nil, "--transfer", "stream", "--format", "json", dir))
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(parseRestore(t, res).Transfer, "stream"))
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(10)))
	// The safety backup came back through the API too.
	safety := safetyDirs(t, dir)
	assert.Assert(t, is.Len(safety, 1))
	assertSafetyChain(t, filepath.Join(dir, safety[0]))
}

func TestRestoreStreamsWhenDaemonCannotSeeFolder(t *testing.T) {
	t.Parallel()
	p, db, dir := backedUpThenChanged(t, kit.Options{})

	// Like a remote daemon: the plugin runs in its own mount namespace, where
	// the folder is a private tmpfs holding the backup; the daemon sees the
	// same path empty, so only a stream can carry the files.
	private := filepath.Join(t.TempDir(), "private")
	assert.NilError(t, os.Mkdir(private, 0o700))
	script := `mount -t tmpfs tmpfs "$1" && cp -a "$2"/. "$1"/ && exec docker infrahubdb restore --yes --database-container "$3" --format json "$1"`
	cmd := p.Cmd("unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh", private, dir, db.Name)
	cmd.Command = cmd.Command[1:] // unshare, not docker, runs first
	res := icmd.RunCmd(cmd)
	res.Assert(t, icmd.Success)

	assert.Check(t, is.Equal(parseRestore(t, res).Transfer, "stream"))
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(10)))
	assert.Check(t, is.DeepEqual(kit.Files(t, private), []string{}), "the daemon's view of the folder stays empty")
}

func TestRestorePasswordWithSlash(t *testing.T) {
	t.Parallel()
	// NEO4J_AUTH cannot set a password with a '/' (the entrypoint refuses
	// it), so the kit sets it with neo4j-admin dbms set-initial-password;
	// the plugin must still split an operator's NEO4J_AUTH at the first '/'.
	p, db, dir := backedUpThenChanged(t, kit.Options{Password: "pa/ss/word1"})

	// From the operator's NEO4J_AUTH.
	res := icmd.RunCmd(restoreCmd(p, db, []string{"NEO4J_AUTH=neo4j/pa/ss/word1"}, dir))
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(10)))

	// From --password-stdin.
	db.Seed(t, "neo4j", 5)
	cmd := restoreCmd(p, db, nil, "--password-stdin", dir)
	cmd.Stdin = strings.NewReader("pa/ss/word1\n")
	icmd.RunCmd(cmd).Assert(t, icmd.Success)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(10)))

	// The database container has no NEO4J_AUTH to read: a clear refusal.
	db.Seed(t, "neo4j", 5)
	icmd.RunCmd(restoreCmd(p, db, nil, dir)).Assert(t, icmd.Expected{ExitCode: 3, Err: "no credentials"})
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(15)))
}

// A database container removed in the middle of a restore (docker rm,
// docker compose down) makes the run give up at once with exit 7, naming
// it, instead of waiting minutes for a database that no longer exists.
func TestRestoreGivesUpWhenTheDatabaseContainerIsRemoved(t *testing.T) {
	kit.RequireStandIn(t, "it holds neo4j-admin restore open with a fault knob")
	t.Parallel()
	p, db, dir := backedUpThenChanged(t, kit.Options{})
	db.SetFaults(t, `{"delay":{"restore":"5s"}}`)
	run := p.Start(t, restoreCmd(p, db, []string{"NEO4J_AUTH=" + db.Auth}, "--progress", "plain", dir))
	run.WaitForOutput(t, "neo4j-admin database restore neo4j", 2*time.Minute)

	kit.MustDocker(t, "rm", "-f", "-v", db.ID)
	res := run.Wait()

	res.Assert(t, icmd.Expected{ExitCode: 7, Err: "the database container " + db.Name + " was removed while the run was under way"})
	assert.Check(t, is.Len(db.Helpers(t), 0), "no helper container is left behind")
}

// A database whose password is a Docker secret (NEO4J_AUTH_FILE, read by the
// image's entrypoint) is restored with no credentials given: the plugin
// reads the same file through the API, and never prints it.
func TestRestoreReadsNEO4JAuthFile(t *testing.T) {
	t.Parallel()
	password := "Sekr1t-" + strings.ReplaceAll(kit.UniqueName(t, "pw"), "-", "")
	p, db, dir := backedUpThenChanged(t, kit.Options{Password: password, AuthFile: "/secrets/neo4j_auth"})
	assert.Check(t, !strings.Contains(kit.MustDocker(t, "inspect", db.Name), password), "the test must not put the password in the container's config")

	res := icmd.RunCmd(restoreCmd(p, db, nil, "--progress", "plain", dir))

	res.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(10)))
	assert.Check(t, !strings.Contains(res.Combined(), password), "the password is in the output:\n%s", res.Combined())
}

func TestRestoreKeepsSecretsOutOfHelperAndOutput(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	password := "Sekr1t-" + strings.ReplaceAll(kit.UniqueName(t, "pw"), "-", "")
	db := kit.StartDatabase(t, kit.Options{Password: password})
	dir := kit.Folder(t)
	db.Seed(t, "neo4j", 10)
	res := p.Docker("infrahubdb", "backup", "--database-container", db.Name, "--progress", "plain", dir)
	res.Assert(t, icmd.Success)
	outputs := res.Combined()

	// Credentials from the operator's environment, then from the container.
	for _, env := range [][]string{{"NEO4J_AUTH=neo4j/" + password}, nil} {
		res = icmd.RunCmd(restoreCmd(p, db, env, "--keep-helper-container", "--progress", "plain", "--format", "json", dir))
		res.Assert(t, icmd.Success)
		outputs += res.Combined()
		helper := parseRestore(t, res).Helper
		assert.Assert(t, helper != "", "no kept helper reported:\n%s", res.Stdout())

		inspect := kit.MustDocker(t, "inspect", helper)
		assert.Check(t, !strings.Contains(inspect, password), "the password is in docker inspect of the helper:\n%s", inspect)
		kit.MustDocker(t, "rm", "-f", "-v", helper)
	}

	// A failing run prints no secret either.
	res = icmd.RunCmd(restoreCmd(p, db, []string{"NEO4J_AUTH=neo4j/" + password + "x"}, "--progress", "plain", dir))
	res.Assert(t, icmd.Expected{ExitCode: 3})
	outputs += res.Combined()

	assert.Check(t, !strings.Contains(outputs, password), "the password is in the output:\n%s", outputs)
}

func TestRestoreOldToolBackupWithoutManifest(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	db.Seed(t, "neo4j", 10)

	// What `python -m utilities.db_backup neo4j backup` did: neo4j-admin
	// backup and aggregate in a helper container, files named by
	// neo4j-admin, no manifest.
	helper := kit.Helper(t, db, false)
	helper.MustExec(t, "mkdir", "-p", "/backups")
	helper.MustExec(t, "neo4j-admin", "database", "backup", "*", "--to-path=/backups", "--from="+db.IP(t)+":6362")
	helper.MustExec(t, "neo4j-admin", "database", "aggregate-backup", "--from-path=/backups", "*")
	kit.MustDocker(t, "cp", helper.ID+":/backups/.", dir)
	assert.Assert(t, is.Len(kit.BackupFiles(t, dir, "neo4j"), 1), "files: %v", kit.Files(t, dir))
	assert.Assert(t, !slices.Contains(kit.Files(t, dir), "infrahubdb-manifest.json"))
	db.Seed(t, "neo4j", 5)

	res := icmd.RunCmd(restoreCmd(p, db, nil, "--dry-run", dir))
	res.Assert(t, icmd.Expected{ExitCode: 0, Out: "unverified (no manifest)"})

	icmd.RunCmd(restoreCmd(p, db, nil, dir)).Assert(t, icmd.Success)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(10)))
}

func TestRestoreDryRunChangesNothing(t *testing.T) {
	t.Parallel()
	p, db, dir := backedUpThenChanged(t, kit.Options{})
	app := kit.StartApp(t, db, "infrahub-server", true)
	before := snapshot(t, db, app)
	files := kit.BackupFiles(t, dir, "neo4j")

	// No --yes needed: a dry run changes nothing.
	res := p.Docker("infrahubdb", "restore", "--dry-run", "--database-container", db.Name, dir)
	res.Assert(t, icmd.Success)
	out := res.Stdout()
	assert.Check(t, is.Contains(out, "Dry run: nothing was changed"))
	assert.Check(t, is.Contains(out, files[0]))
	assert.Check(t, is.Contains(out, "App containers to stop: "+app.Name))
	assert.Check(t, is.Contains(out, "Safety backup: "+filepath.Join(dir, "safety-")))
	assert.Check(t, is.Contains(out, "Skipped: system"))

	before.assertUnchanged(t, dir)
}

func TestRestoreNeedsConfirmation(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	dir := kit.Folder(t)

	// No terminal and no --yes: refused before touching anything.
	res := p.Docker("infrahubdb", "restore", dir)
	res.Assert(t, icmd.Expected{ExitCode: 2, Err: "--yes"})

	res = p.Docker("infrahubdb", "restore", "--yes", "--database", "system", dir)
	res.Assert(t, icmd.Expected{ExitCode: 2, Err: "the system database is never restored"})
}

// untouched is the state a refused restore must leave exactly as it was.
type untouched struct {
	db        *kit.Database
	app       *kit.App
	count     int64
	dbStarted string
	appStart  string
}

func snapshot(t *testing.T, db *kit.Database, app *kit.App) untouched {
	t.Helper()
	return untouched{db: db, app: app, count: db.Count(t, "neo4j"), dbStarted: db.StartedAt(t), appStart: app.StartedAt(t)}
}

// assertUnchanged checks nothing was stopped or changed: the database is
// online with the same data, the app container was not restarted, no safety
// backup was taken and no helper is left.
func (b untouched) assertUnchanged(t *testing.T, dir string) {
	t.Helper()
	assert.Check(t, is.Equal(b.db.Status(t, "neo4j"), "online"))
	assert.Check(t, is.Equal(b.db.Count(t, "neo4j"), b.count))
	assert.Check(t, is.Equal(b.db.StartedAt(t), b.dbStarted))
	assert.Check(t, b.app.Running(t))
	assert.Check(t, is.Equal(b.app.StartedAt(t), b.appStart), "the app container was restarted")
	assert.Check(t, is.Len(safetyDirs(t, dir), 0))
	assert.Check(t, is.Len(b.db.Helpers(t), 0))
}

// flipByte corrupts a file in place, keeping its size.
func flipByte(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	assert.NilError(t, err)
	data[len(data)/2] ^= 0xff
	assert.NilError(t, os.WriteFile(path, data, 0o600))
}
