package e2e

// What the Operations Manual leaves undocumented (research NEO4J.md §7),
// end to end: the stand-in is switched to each plausible behaviour (its
// "variant" knobs, e2e/standin/faults) and the plugin must be right with
// every one. Stand-in only.

import (
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// A backup whose aggregate lands anywhere, under any name, never leaves the
// folder without a restorable chain: either a new full artifact per
// database is recorded and the old chain goes, or the backup fails and the
// folder is as it was.
func TestBackupAggregateAndInspectVariants(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	kit.RequireStandIn(t, "it switches the stand-in's variant knobs")
	for _, tc := range []struct {
		name    string
		knobs   string
		fails   bool
		message string
	}{
		{name: "release default", knobs: `{}`},
		{name: "in place", knobs: `{"variant":{"aggregate":"in-place"}}`},
		{name: "new name alongside", knobs: `{"variant":{"aggregate":"new-name"}}`},
		{name: "unparsable name, printed", knobs: `{"variant":{"aggregate":"unparsable"}}`},
		{name: "unparsable name, silent", knobs: `{"variant":{"aggregate":"unparsable","aggregate-output":"silent"}}`, fails: true, message: "no new full backup"},
		{name: "nothing to aggregate, exit 1", knobs: `{"variant":{"aggregate-nothing":"fail"}}`, message: "found nothing to aggregate for database system"},
		{name: "inspect prints JSON", knobs: `{"variant":{"inspect":"json-strings"}}`},
		{name: "inspect layout not seen before", knobs: `{"variant":{"inspect":"unknown"}}`, fails: true, message: "does not say whether"},
		{name: "inspect without transaction columns", knobs: `{"variant":{"inspect":"no-tx"}}`},
		{name: "backup exits 0 without an artifact", knobs: `{"variant":{"backup-skip":"neo4j"}}`, fails: true, message: "wrote no backup artifact for database neo4j"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := kit.Folder(t)
			db.SetFaults(t, `{}`)
			db.Seed(t, "neo4j", 3)
			runBackup(t, p, db, dir, "--no-aggregate")
			db.Seed(t, "neo4j", 2)
			time.Sleep(1100 * time.Millisecond) // artifact names have one-second resolution
			before := snapshotFolder(t, dir)

			db.SetFaults(t, tc.knobs)
			res := p.Docker("infrahubdb", "backup", dir, "--database-container", db.Name, "--progress", "plain")
			if tc.fails {
				res.Assert(t, icmd.Expected{ExitCode: 1, Err: tc.message})
				assert.Check(t, is.DeepEqual(snapshotFolder(t, dir), before), "the folder keeps everything")
				assertClean(t, db, dir)
				return
			}
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Combined(), tc.message))
			m := readManifest(t, dir)
			files := kit.BackupFiles(t, dir, "neo4j")
			assert.Check(t, is.Len(files, 1), "the chain of neo4j aggregated into one file: %v", files)
			for _, f := range files {
				rec, ok := m.Lookup(f)
				assert.Check(t, ok, "%s is recorded", f)
				assert.Check(t, is.Equal(rec.Type, backupset.TypeFull), f)
			}
			// system had no new transaction: its empty backup stays beside
			// its full one; every file is recorded and verify passes.
			for _, f := range kit.BackupFiles(t, dir, "system") {
				_, ok := m.Lookup(f)
				assert.Check(t, ok, "%s is recorded", f)
			}
			verifyJSON(t, p, dir, 0)
			assertClean(t, db, dir)
		})
	}
}

// backup inspect may print no transaction columns (a layout the manual's
// table does not rule out, research NEO4J.md §7): a differential backup
// holding writes then has an unknown range and is never taken for an empty
// one. Verify passes, prune keeps it, restore applies it; a really empty
// backup, taken when inspect prints its 0 to 0 range, is still skipped.
func TestInspectWithoutTransactionColumns(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	kit.RequireStandIn(t, "it switches the stand-in's variant knobs")
	dir := kit.Folder(t)
	db.SetFaults(t, `{"variant":{"inspect":"no-tx"}}`)
	db.Seed(t, "neo4j", 3)
	runBackup(t, p, db, dir, "--no-aggregate", "--database", "neo4j")
	db.Seed(t, "neo4j", 2)
	time.Sleep(1100 * time.Millisecond) // artifact names have one-second resolution
	runBackup(t, p, db, dir, "--no-aggregate", "--database", "neo4j")
	db.SetFaults(t, `{}`) // the documented table: the next diff's 0 to 0 is printed
	time.Sleep(1100 * time.Millisecond)
	runBackup(t, p, db, dir, "--no-aggregate", "--database", "neo4j")

	files := kit.BackupFiles(t, dir, "neo4j")
	assert.Assert(t, is.Len(files, 3), "%v", files)
	m := readManifest(t, dir)
	diff, ok := m.Lookup(files[1])
	assert.Assert(t, ok)
	assert.Check(t, is.Equal(diff.Type, backupset.TypeDiff))
	assert.Check(t, !diff.Empty, "a diff whose range inspect did not print is not recorded as empty")
	assert.Check(t, diff.FromTx == 0 && diff.ToTx == 0, "its range is recorded as unknown: %+v", diff)
	empty, ok := m.Lookup(files[2])
	assert.Assert(t, ok)
	assert.Check(t, empty.Empty, "a diff printed as 0 to 0 is empty: %+v", empty)
	verifyJSON(t, p, dir, 0)

	p.Docker("infrahubdb", "prune", dir, "--keep", "1", "--yes").Assert(t, icmd.Success)
	assert.Check(t, is.DeepEqual(kit.BackupFiles(t, dir, "neo4j"), files), "prune keeps the chain")

	db.Seed(t, "neo4j", 4) // changed after the backups: replaced
	res := icmd.RunCmd(restoreCmd(p, db, nil, "--format", "json", dir))
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Equal(parseRestore(t, res).Databases[0].Restored, files[1]), "restored from the diff holding the writes")
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)), "the diff's writes are back")
	assertClean(t, db, dir)
}

// Whether and where neo4j-admin database check writes its report is not
// documented in detail: with a report only on problems, none at all, one
// elsewhere or one always, a corrupt backup is inconsistent (exit 5) and a
// sound one consistent. backup --check runs the check in the backup's own
// helper, which the stand-in's variants reach over the backup port.
func TestBackupCheckReportVariants(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	kit.RequireStandIn(t, "it switches the stand-in's variant knobs")
	db.Seed(t, "neo4j", 5)
	for _, variant := range []string{"", "none", "elsewhere", "always"} {
		t.Run("report "+variant, func(t *testing.T) {
			good := kit.Folder(t)
			db.SetFaults(t, `{"variant":{"check-report":"`+variant+`"}}`)
			res := p.Docker("infrahubdb", "backup", good, "--database-container", db.Name, "--database", "neo4j", "--check", "--progress", "plain")
			res.Assert(t, icmd.Success)
			assert.Check(t, is.Contains(res.Stdout(), "neo4j-admin database check neo4j: consistent"))

			bad := kit.Folder(t)
			db.SetFaults(t, `{"fail":{"corrupt":1},"variant":{"check-report":"`+variant+`"}}`)
			res = p.Docker("infrahubdb", "backup", bad, "--database-container", db.Name, "--database", "neo4j", "--check", "--progress", "plain")
			res.Assert(t, icmd.Expected{ExitCode: 5, Err: "inconsistent"})
			assertClean(t, db, bad)
		})
	}
}

// A rollback whose neo4j-admin restore finds the database in use (a START
// landed behind the rollback's STOP: the stand-in's "in-use" fault) stops
// it again and retries when SHOW DATABASES says it is back, whatever the
// message: the documented one or another (the "restore-in-use" variant;
// what restore prints is undocumented, research NEO4J.md §7).
func TestRestoreInUseVariants(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, variant string }{
		{name: "documented message"},
		{name: "another message", variant: "org.neo4j.io.locker.FileLockException: Lock file has been locked by another process"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, db, dir := backedUpThenChanged(t, kit.Options{}) // 15 nodes: what the rollback must bring back
			kit.RequireStandIn(t, "it injects a START behind the rollback's STOP")
			knobs := `{"fail":{"restore":1,"in-use":1},"skip":{"in-use":1}`
			if tc.variant != "" {
				knobs += `,"variant":{"restore-in-use":"` + tc.variant + `"}`
			}
			db.SetFaults(t, knobs+`}`)
			res := icmd.RunCmd(restoreCmd(p, db, nil, "--progress", "plain", dir))
			t.Log(res.Combined())
			res.Assert(t, icmd.Expected{ExitCode: 6, Err: "rolled back"})
			assert.Check(t, is.Contains(res.Stderr(), "database neo4j was started again behind the rollback's STOP (attempt 1 of"))
			if tc.variant != "" {
				assert.Check(t, is.Contains(res.Combined(), "FileLockException"), "the refusal was the variant's")
			}
			assert.Check(t, is.Contains(db.Faults(t), `"in-use":0`), "the in-use fault was not reached")
			assert.Check(t, is.Equal(db.Status(t, "neo4j"), "online"))
			assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(15)), "rolled back to the data before the restore")
			assert.Check(t, is.Len(db.Helpers(t), 0))
		})
	}
}
