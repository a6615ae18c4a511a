package e2e

// docker infrahubdb list, verify and prune, end to end: folders made by the
// plugin (aggregated or not) and by neo4j-admin alone, damaged in the ways
// operators meet, and a corruption only neo4j-admin database check sees.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
)

// catalogBackup runs a backup of db into dir and fails the test unless it
// succeeds.
func catalogBackup(t *testing.T, p *kit.Plugin, db *kit.Database, dir string, extra ...string) *icmd.Result {
	t.Helper()
	res := p.Docker(append([]string{"infrahubdb", "backup", dir, "--database-container", db.Name, "--progress", "plain"}, extra...)...)
	res.Assert(t, icmd.Success)
	return res
}

func listJSON(t *testing.T, p *kit.Plugin, dir string, extra ...string) catalog.Listing {
	t.Helper()
	res := p.Docker(append([]string{"infrahubdb", "list", dir, "--format", "json"}, extra...)...)
	res.Assert(t, icmd.Success)
	var l catalog.Listing
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &l), res.Stdout())
	return l
}

func verifyJSON(t *testing.T, p *kit.Plugin, dir string, exitCode int, extra ...string) catalog.VerifyResult {
	t.Helper()
	res := p.Docker(append([]string{"infrahubdb", "verify", dir, "--format", "json", "--progress", "plain"}, extra...)...)
	res.Assert(t, icmd.Expected{ExitCode: exitCode})
	var v catalog.VerifyResult
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &v), res.Combined())
	return v
}

func database(t *testing.T, l catalog.Listing, name string) catalog.DatabaseListing {
	t.Helper()
	for _, d := range l.Databases {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("list shows no database %s: %+v", name, l)
	return catalog.DatabaseListing{}
}

func fileTypes(c catalog.ChainListing) []string {
	var types []string
	for _, f := range c.Files {
		types = append(types, f.Type+"/"+f.Manifest)
	}
	return types
}

func TestCatalogListFreshAggregatedAndChain(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	db.Seed(t, "neo4j", 10)

	// A fresh folder: one full backup per database.
	aggregated := kit.Folder(t)
	catalogBackup(t, p, db, aggregated)
	l := listJSON(t, p, aggregated)
	assert.Check(t, is.Equal(l.Manifest, "present"))
	for _, name := range []string{"neo4j", "system"} {
		d := database(t, l, name)
		assert.Assert(t, is.Len(d.Chains, 1))
		assert.Check(t, d.Chains[0].Newest && d.Chains[0].Complete)
		assert.Check(t, is.DeepEqual(fileTypes(d.Chains[0]), []string{"full/ok"}))
	}

	// Aggregated after a second backup: still one full file per database.
	db.Seed(t, "neo4j", 5)
	catalogBackup(t, p, db, aggregated)
	l = listJSON(t, p, aggregated)
	neo4j := database(t, l, "neo4j")
	assert.Assert(t, is.Len(neo4j.Chains, 1))
	assert.Check(t, is.DeepEqual(fileTypes(neo4j.Chains[0]), []string{"full/ok"}))

	// --no-aggregate: a full and a differential in one chain, with
	// continuous transaction ranges.
	chain := kit.Folder(t)
	catalogBackup(t, p, db, chain, "--no-aggregate")
	db.Seed(t, "neo4j", 5)
	catalogBackup(t, p, db, chain, "--no-aggregate")
	l = listJSON(t, p, chain)
	neo4j = database(t, l, "neo4j")
	assert.Assert(t, is.Len(neo4j.Chains, 1), "%+v", neo4j)
	c := neo4j.Chains[0]
	assert.Check(t, is.DeepEqual(fileTypes(c), []string{"full/ok", "diff/ok"}))
	assert.Check(t, c.Complete && c.Newest)
	assert.Check(t, is.Equal(c.Files[1].FromTx, c.Files[0].ToTx+1), "%+v", c.Files)

	table := p.Docker("infrahubdb", "list", chain)
	table.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(table.Stdout(), "DATABASE  CHAIN"))
	assert.Check(t, is.Contains(table.Stdout(), c.Files[1].Name))
	assert.Check(t, is.Contains(table.Stdout(), "1 newest"))
}

func TestCatalogNeo4jAdminFolderListAdoptInspect(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	db.Seed(t, "neo4j", 7)

	// The way operators did it before: neo4j-admin in a container next to
	// the database, files copied out with docker cp.
	helper := kit.Helper(t, db, false)
	helper.MustExec(t, "mkdir", "-p", "/tmp/b")
	helper.MustExec(t, "neo4j-admin", "database", "backup", "--from="+db.IP(t)+":6362", "--to-path=/tmp/b", "*")
	db.Seed(t, "neo4j", 3)
	helper.MustExec(t, "neo4j-admin", "database", "backup", "--from="+db.IP(t)+":6362", "--to-path=/tmp/b", "neo4j")
	dir := kit.Folder(t)
	kit.MustDocker(t, "cp", helper.Name+":/tmp/b/.", dir)

	l := listJSON(t, p, dir)
	assert.Check(t, is.Equal(l.Manifest, "none"))
	neo4j := database(t, l, "neo4j")
	for _, c := range neo4j.Chains {
		assert.Check(t, c.Unverified)
		for _, f := range c.Files {
			assert.Check(t, is.Equal(f.Manifest, catalog.StateUnverified))
		}
	}
	table := p.Docker("infrahubdb", "list", dir)
	table.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(table.Stdout(), "No manifest"))

	// --inspect shows Neo4j's view: the second file is a differential.
	l = listJSON(t, p, dir, "--inspect", "--database-container", db.Name)
	assert.Check(t, is.Equal(l.InspectError, ""))
	neo4j = database(t, l, "neo4j")
	assert.Assert(t, is.Len(neo4j.Chains, 1), "%+v", neo4j)
	assert.Check(t, is.DeepEqual(fileTypes(neo4j.Chains[0]), []string{"full/unverified", "diff/unverified"}))
	assert.Check(t, neo4j.Chains[0].Files[1].Neo4j != nil && neo4j.Chains[0].Files[1].ToTx > 0)
	assert.Check(t, is.Len(db.Helpers(t), 0))

	// verify has nothing to check against until --adopt writes a manifest.
	v := verifyJSON(t, p, dir, 5)
	assert.Check(t, is.Equal(v.Problems[0].Kind, catalog.ProblemNoManifest))
	v = verifyJSON(t, p, dir, 0, "--adopt", "--database-container", db.Name)
	assert.Check(t, is.Len(v.Adopted, 3))
	assert.Check(t, is.Len(v.Checked, 3))
	l = listJSON(t, p, dir)
	assert.Check(t, is.DeepEqual(fileTypes(database(t, l, "neo4j").Chains[0]), []string{"full/ok", "diff/ok"}))
	verifyJSON(t, p, dir, 0)
}

func TestCatalogVerifyNamesTheDamagedFile(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	db.Seed(t, "neo4j", 10)
	good := kit.Folder(t)
	catalogBackup(t, p, db, good, "--no-aggregate")
	db.Seed(t, "neo4j", 2)
	catalogBackup(t, p, db, good, "--no-aggregate", "--verify")

	res := p.Docker("infrahubdb", "verify", good)
	res.Assert(t, icmd.Expected{ExitCode: 0, Out: "OK: the folder passed verification."})
	v := verifyJSON(t, p, good, 0)
	assert.Check(t, v.OK)
	assert.Check(t, is.Len(v.Checked, 4)) // neo4j and system: a full and a diff each

	diff := kit.BackupFiles(t, good, "neo4j")[1]
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		file   string
		kind   string
	}{
		{"flipped byte", func(t *testing.T, dir string) {
			flipByte(t, filepath.Join(dir, diff))
		}, diff, backupset.ProblemChanged},
		{"truncated", func(t *testing.T, dir string) {
			assert.NilError(t, os.Truncate(filepath.Join(dir, diff), 10))
		}, diff, backupset.ProblemTruncated},
		{"deleted", func(t *testing.T, dir string) {
			assert.NilError(t, os.Remove(filepath.Join(dir, diff)))
		}, diff, backupset.ProblemMissing},
		{"unexpected", func(t *testing.T, dir string) {
			assert.NilError(t, os.WriteFile(filepath.Join(dir, "neo4j-2030-01-01T00-00-00.backup"), []byte("x"), 0o600))
		}, "neo4j-2030-01-01T00-00-00.backup", backupset.ProblemExtra},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyFolder(t, good)
			tc.damage(t, dir)
			res := p.Docker("infrahubdb", "verify", dir)
			res.Assert(t, icmd.Expected{ExitCode: 5, Err: "failed verification"})
			assert.Check(t, is.Contains(res.Stdout(), tc.kind))
			assert.Check(t, is.Contains(res.Stdout(), tc.file))
			v := verifyJSON(t, p, dir, 5)
			found := false
			for _, pr := range v.Problems {
				found = found || (pr.File == tc.file && pr.Kind == tc.kind)
			}
			assert.Check(t, found, "%+v", v.Problems)
		})
	}
}

func TestCatalogCheckCatchesPlantedCorruption(t *testing.T) {
	t.Parallel()
	kit.RequireStandIn(t, "the stand-in corrupts an artifact with a fault knob")
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	db.Seed(t, "neo4j", 10)

	// A sound chain (full + diff) passes neo4j-admin database check, also
	// right after the backup.
	good := kit.Folder(t)
	catalogBackup(t, p, db, good, "--no-aggregate")
	db.Seed(t, "neo4j", 2)
	res := catalogBackup(t, p, db, good, "--no-aggregate", "--check")
	assert.Check(t, is.Contains(res.Stdout(), "neo4j-admin database check neo4j: consistent"))
	v := verifyJSON(t, p, good, 0, "--check", "--database-container", db.Name)
	assert.Assert(t, is.Len(v.Checks, 2))
	for _, c := range v.Checks {
		assert.Check(t, c.Consistent, "%+v", c)
	}
	assert.Check(t, database(t, listJSON(t, p, good), "neo4j").Chains[0].Files[1].Type == "diff")
	assert.Check(t, v.Checks[0].Aggregated)

	// The stand-in flips a byte inside the next artifact after computing its
	// internal checksum: the file and the manifest agree, only Neo4j sees it.
	bad := kit.Folder(t)
	db.SetFaults(t, `{"fail": {"corrupt": 1}}`)
	catalogBackup(t, p, db, bad, "--no-aggregate", "--database", "neo4j")
	verifyJSON(t, p, bad, 0)
	v = verifyJSON(t, p, bad, 5, "--check", "--database-container", db.Name)
	assert.Assert(t, is.Len(v.Checks, 1))
	c := v.Checks[0]
	assert.Check(t, !c.Consistent)
	assert.Check(t, c.Report != "")
	_, err := os.Stat(filepath.Join(bad, c.Report))
	assert.Check(t, err, "Neo4j's report is kept next to the backups")
	assert.Check(t, is.Equal(v.Problems[0].Kind, neo4jbackup.ProblemInconsistent))
	assert.Check(t, is.Equal(v.Problems[0].File, kit.BackupFiles(t, bad, "neo4j")[0]))
	assert.Check(t, is.Len(db.Helpers(t), 0))
}

func TestCatalogPrune(t *testing.T) {
	t.Parallel()
	p := kit.InstallPlugin(t)
	db := kit.StartDatabase(t, kit.Options{})
	dir := kit.Folder(t)
	for i := 0; i < 3; i++ {
		db.Seed(t, "neo4j", 3)
		catalogBackup(t, p, db, dir, "--type", "full")
		time.Sleep(1100 * time.Millisecond) // distinct names: neo4j-admin names files by the second
	}
	db.Seed(t, "neo4j", 1)
	catalogBackup(t, p, db, dir, "--no-aggregate") // a diff on the newest chain
	neo4j := kit.BackupFiles(t, dir, "neo4j")
	system := kit.BackupFiles(t, dir, "system")
	assert.Assert(t, is.Len(neo4j, 4))

	// Unsafe policies are refused with a usage error.
	p.Docker("infrahubdb", "prune", dir, "--keep", "0", "--yes").Assert(t, icmd.Expected{ExitCode: 2, Err: "never deletes every backup"})
	p.Docker("infrahubdb", "prune", dir).Assert(t, icmd.Expected{ExitCode: 2, Err: "--keep"})

	// Without --yes it only says what it would do.
	res := p.Docker("infrahubdb", "prune", dir, "--keep", "2")
	res.Assert(t, icmd.Expected{ExitCode: 0, Out: "would delete  " + neo4j[0]})
	assert.Check(t, is.Len(kit.BackupFiles(t, dir, "neo4j"), 4))

	res = p.Docker("infrahubdb", "prune", dir, "--keep", "2", "--yes", "--format", "json")
	res.Assert(t, icmd.Success)
	var pr catalog.PruneResult
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &pr))
	assert.Check(t, pr.Deleted)
	assert.Check(t, is.DeepEqual(kit.BackupFiles(t, dir, "neo4j"), neo4j[1:]), "the newest chain keeps its diff")
	assert.Check(t, is.DeepEqual(kit.BackupFiles(t, dir, "system"), system[len(system)-2:]))
	m := readManifest(t, dir)
	for _, r := range m.Files {
		assert.Check(t, r.Name != neo4j[0] && r.Name != system[0], "%s still in the manifest", r.Name)
	}
	verifyJSON(t, p, dir, 0)

	// --keep 1 keeps the newest chain whole: the full and its diff.
	p.Docker("infrahubdb", "prune", dir, "--keep", "1", "--yes").Assert(t, icmd.Success)
	assert.Check(t, is.DeepEqual(kit.BackupFiles(t, dir, "neo4j"), neo4j[2:]))

	// Files whose type no manifest records are never deleted.
	assert.NilError(t, os.Remove(filepath.Join(dir, backupset.ManifestName)))
	catalogBackupNoManifest(t, dir, neo4j[2])
	res = p.Docker("infrahubdb", "prune", dir, "--keep", "1", "--yes")
	res.Assert(t, icmd.Expected{ExitCode: 3, Err: "verify --adopt"})
	assert.Check(t, is.Len(kit.BackupFiles(t, dir, "neo4j"), 3))
}

// catalogBackupNoManifest adds an older copy of an artifact under an older
// name, as a neo4j-admin-made file the manifest does not know.
func catalogBackupNoManifest(t *testing.T, dir, like string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, like))
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "neo4j-2001-01-01T00-00-00.backup"), b, 0o600))
}

// copyFolder copies the files of a backup folder into a new one.
func copyFolder(t *testing.T, src string) string {
	t.Helper()
	dst := kit.Folder(t)
	for _, name := range kit.Files(t, src) {
		if strings.HasSuffix(name, ".lock") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, name))
		assert.NilError(t, err)
		assert.NilError(t, os.WriteFile(filepath.Join(dst, name), b, 0o600))
	}
	return dst
}
