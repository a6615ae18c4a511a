package e2e

// The defects of NEO4J.md ("Known defects of the plugin"), end to end: each
// scenario runs against every release of `make e2e` (E2E_RELEASES) and
// failed on the plugin before it was fixed.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

// H2: a backup with nothing new is an empty backup; it joins its chain and
// the restore still works (it restores the data, not the empty file).
func TestBackupEmptyThenRestore(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	db.Seed(t, "neo4j", 10)
	runBackup(t, p, db, dir, "--no-aggregate", "--database", "neo4j")
	time.Sleep(1100 * time.Millisecond) // artifact names have one-second resolution
	second := runBackup(t, p, db, dir, "--no-aggregate", "--database", "neo4j")
	assert.Assert(t, is.Len(second.Files, 1))
	m := readManifest(t, dir)
	assert.Check(t, m.Files[len(m.Files)-1].Empty, "the second backup is recorded as empty: %+v", m.Files)

	list := listJSON(t, p, dir)
	assert.Check(t, is.Len(database(t, list, "neo4j").Chains, 1), "an empty backup never starts a chain")

	// M3: aggregating a chain whose newest file is empty: whatever name
	// neo4j-admin gives the result, the folder ends with one full backup.
	time.Sleep(1100 * time.Millisecond)
	runBackup(t, p, db, dir, "--database", "neo4j")
	files := kit.BackupFiles(t, dir, "neo4j")
	assert.Assert(t, is.Len(files, 1), "aggregated: %v", files)
	m = readManifest(t, dir)
	for _, f := range m.Files {
		if f.Database == "neo4j" {
			assert.Check(t, is.Equal(f.Type, "full"), f.Name)
		}
	}
	verifyJSON(t, p, dir, 0)

	// The restore gives back the data, not an empty file.
	db.Seed(t, "neo4j", 5)
	res := icmd.RunCmd(restoreCmd(p, db, nil, "--format", "json", dir))
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(parseRestore(t, res).Databases[0].Restored, files[0]))
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(10)))
}

// M1: --include-metadata none backs up no users and roles, so the restore
// replays none.
func TestBackupIncludeMetadataNone(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	db.Seed(t, "neo4j", 3)
	backupNow(t, p, db, dir, "--database", "neo4j", "--include-metadata", "none")
	res := icmd.RunCmd(restoreCmd(p, db, nil, "--format", "json", dir))
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(parseRestore(t, res).Databases[0].Statements, 0))
}

// M2: several --database values on a folder with chains: one aggregate per
// database.
func TestBackupSeveralDatabasesAggregates(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	db.Seed(t, "neo4j", 3)
	backupNow(t, p, db, dir)
	db.Seed(t, "neo4j", 3)
	time.Sleep(1100 * time.Millisecond)
	runBackup(t, p, db, dir, "--database", "neo4j", "--database", "system")
	assert.Check(t, is.Len(kit.BackupFiles(t, dir, "neo4j"), 1), "the neo4j chain is aggregated")
	verifyJSON(t, p, dir, 0)
}

// The preflight reads unverified files with backup inspect: a folder
// without a manifest whose only file is not a backup stops the restore
// before anything is stopped (exit 5).
func TestRestoreNotABackupChangesNothing(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	db.Seed(t, "neo4j", 7)
	name := "neo4j-2026-11-20T10-00-00.backup"
	assert.NilError(t, os.WriteFile(filepath.Join(dir, name), []byte("this is not a backup\n"), 0o600))
	startedAt := func() string { return kit.MustDocker(t, "inspect", "-f", "{{.State.StartedAt}}", db.Name) }
	started := startedAt()

	res := icmd.RunCmd(restoreCmd(p, db, nil, dir))
	res.Assert(t, icmd.Expected{ExitCode: 5, Err: name + ": not a Neo4j backup artifact"})
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(7)))
	assert.Check(t, is.Equal(db.Status(t, "neo4j"), "online"))
	assert.Check(t, is.Equal(startedAt(), started))
	assert.Check(t, !strings.Contains(res.Combined(), "STOP DATABASE"), res.Combined())
	assert.Check(t, is.Len(db.Helpers(t), 0))
}

// M6: /data owned by root (mode 0777, so the entrypoint does not chown it)
// while the store belongs to neo4j: the restore runs as the store's owner,
// and the database works after it.
func TestRestoreRootOwnedDataFolder(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	db.Seed(t, "neo4j", 10)
	backupNow(t, p, db, dir)
	kit.MustDocker(t, "exec", db.Name, "sh", "-c", "chown 0:0 /data && chmod 0777 /data")
	db.Seed(t, "neo4j", 5)
	icmd.RunCmd(restoreCmd(p, db, nil, dir)).Assert(t, icmd.Success)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(10)))
	owner := kit.MustDocker(t, "exec", db.Name, "stat", "-c", "%u", "/data/databases/neo4j")
	assert.Check(t, is.Equal(owner, "7474"), "the restored store belongs to neo4j")
}

// L1: a restore_metadata.cypher left by an earlier restore is not replayed
// after restoring a backup that has no metadata.
func TestRestoreStaleMetadataScriptIsNotReplayed(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	db.Seed(t, "neo4j", 3)
	backupNow(t, p, db, dir, "--database", "neo4j", "--include-metadata", "none")
	kit.MustDocker(t, "exec", db.Name, "sh", "-c",
		"mkdir -p /data/scripts/neo4j && echo 'CREATE ROLE stale IF NOT EXISTS;' > /data/scripts/neo4j/restore_metadata.cypher")
	res := icmd.RunCmd(restoreCmd(p, db, nil, "--format", "json", dir))
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(parseRestore(t, res).Databases[0].Statements, 0))
}

// M5: a helper image older than the database is refused before anything
// runs; the output names both versions.
func TestBackupOlderHelperIsRefused(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	kit.RequireStandIn(t, "it builds a stand-in of an older release")
	older := kit.OlderImage(t)
	res := p.Docker("infrahubdb", "backup", "--database-container", db.Name, "--helper-image", older, dir)
	res.Assert(t, icmd.Expected{ExitCode: 3, Err: "older than the database's Neo4j " + kit.Release()})
	assert.Check(t, is.DeepEqual(kit.Files(t, dir), []string{}))
	assert.Check(t, is.Len(db.Helpers(t), 0))
}

// M4: verify --check on a lone full backup works on every release (2025.x
// refuses unrecovered backups: the copy is recovered first).
func TestCatalogCheckLoneFullBackup(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	db.Seed(t, "neo4j", 3)
	backupNow(t, p, db, dir, "--database", "neo4j")
	res := verifyJSON(t, p, dir, 0, "--check", "--database-container", db.Name)
	assert.Assert(t, is.Len(res.Checks, 1))
	assert.Check(t, res.Checks[0].Consistent, "%+v", res.Checks[0])
}
