package kit

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
)

// Folder returns a new, empty backup folder (mode 0700) inside the test's
// temporary directory, removed when the test ends.
func Folder(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "backups")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Files lists the names of the regular files in dir, sorted.
func Files(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// backupName is neo4j-admin's artifact name: <db>-YYYY-MM-DDTHH-MM-SS.backup.
var backupName = regexp.MustCompile(`^(.+)-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2})\.backup$`)

// BackupFiles lists the backup artifacts of database db in dir, oldest
// first (the timestamp in the name sorts as text).
func BackupFiles(t testing.TB, dir, db string) []string {
	t.Helper()
	out := []string{}
	for _, name := range Files(t, dir) {
		if m := backupName.FindStringSubmatch(name); m != nil && m[1] == db {
			out = append(out, name)
		}
	}
	return out
}

// Mode is the permission bits of path.
func Mode(t testing.TB, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
