package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/icmd"

	"github.com/opsmill/docker-infrahubdb/e2e/kit"
)

// Most operators are not root: they are in the docker group. The bind
// transfer then hands files between the helper's neo4j user (uid 7474) and
// the operator's own folder; a backup's files must belong to the operator,
// and a restore must read them, as root and as the operator alike.
func TestNonRootUserBindBackupAndRestore(t *testing.T) {
	t.Parallel()
	u, p := kit.NonRoot(t)
	db := kit.StartDatabase(t, kit.Options{})
	db.Seed(t, "neo4j", 5)
	dir := u.Dir(t, u.Home, "backups")

	res := icmd.RunCmd(u.Cmd(p, "infrahubdb", "backup", dir, "--database-container", db.Name,
		"--transfer", "bind", "--format", "json", "--progress", "plain"))
	res.Assert(t, icmd.Success)
	var out backupResult
	assert.NilError(t, json.Unmarshal([]byte(res.Stdout()), &out), res.Stdout())
	assert.Check(t, is.Equal(out.Transfer, "bind"))
	assertOwnedBy(t, dir, u.UID)

	db.Seed(t, "neo4j", 3)
	res = icmd.RunCmd(u.Cmd(p, "infrahubdb", "restore", dir, "--database-container", db.Name,
		"--transfer", "bind", "--yes", "--progress", "plain"))
	res.Assert(t, icmd.Success)
	db.Reconnect(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(5)))
	// The safety copy of the restore lands in the operator's folder too.
	assertOwnedBy(t, dir, u.UID)
	assertClean(t, db, dir)
}

// assertOwnedBy checks that every file under dir belongs to uid and is
// private to it.
func assertOwnedBy(t *testing.T, dir string, uid int) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		assert.Check(t, is.Equal(int(fi.Sys().(*syscall.Stat_t).Uid), uid), "owner of %s", path)
		if d.Type().IsRegular() {
			n++
			assert.Check(t, is.Equal(fi.Mode().Perm()&0o077, os.FileMode(0)), "%s is private", path)
		}
		return nil
	})
	assert.NilError(t, err)
	assert.Check(t, n > 0, "no file in %s", dir)
}

// Neo4j Community as an operator who is not root, bind transfer: the dumps
// are written in a directory of the store's owner (uid 7474) inside the
// staging dir and must still end up in the operator's folder, theirs and
// private; the restore's safety dump too.
func TestNonRootUserCommunityBackupAndRestore(t *testing.T) {
	t.Parallel()
	u, p := kit.NonRoot(t)
	db := kit.StartDatabase(t, kit.Options{Community: true})
	db.Seed(t, "neo4j", 4)
	dir := u.Dir(t, u.Home, "backups")

	res := icmd.RunCmd(u.Cmd(p, "infrahubdb", "backup", dir, "--database-container", db.Name,
		"--transfer", "bind", "--yes", "--verify", "--progress", "plain"))
	res.Assert(t, icmd.Success)
	assert.Check(t, is.Contains(res.Stdout(), "Verified: 2 file(s) match their checksums"))
	assertOwnedBy(t, dir, u.UID)

	db.Reconnect(t)
	db.Seed(t, "neo4j", 3)
	res = icmd.RunCmd(u.Cmd(p, "infrahubdb", "restore", dir, "--database-container", db.Name,
		"--transfer", "bind", "--yes", "--progress", "plain"))
	res.Assert(t, icmd.Success)
	db.Reconnect(t)
	assert.Check(t, is.Equal(db.Count(t, "neo4j"), int64(4)))
	assertOwnedBy(t, dir, u.UID)
	assertClean(t, db, dir)
}
