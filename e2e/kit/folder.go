package kit

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
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

// backupName is neo4j-admin's artifact name: <db>-YYYY-MM-DDTHH-MM-SS[-N].backup (-N when two land in one second).
var backupName = regexp.MustCompile(`^(.+)-(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2})(-\d+)?\.backup$`)

// BackupFiles lists the backup artifacts of database db in dir, oldest
// first: by the timestamp in the name (which sorts as text), then by the
// -N suffix of a second backup in the same second.
func BackupFiles(t testing.TB, dir, db string) []string {
	t.Helper()
	out := []string{}
	key := map[string]string{}
	for _, name := range Files(t, dir) {
		if m := backupName.FindStringSubmatch(name); m != nil && m[1] == db {
			out = append(out, name)
			seq, _ := strconv.Atoi(strings.TrimPrefix(m[3], "-"))
			key[name] = fmt.Sprintf("%s %06d", m[2], seq)
		}
	}
	sort.Slice(out, func(i, j int) bool { return key[out[i]] < key[out[j]] })
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
