package helpertest

import (
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/assert"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

// What the backup and restore tests look at once a workflow has run: the
// backup folder and the engine's calls.

// FolderFiles lists the folder's entries, sorted.
func FolderFiles(t *testing.T, f *backupset.Folder) []string {
	t.Helper()
	entries, err := os.ReadDir(f.Dir)
	assert.NilError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// FolderState maps each file of the folder to its content.
func FolderState(t *testing.T, f *backupset.Folder) map[string]string {
	t.Helper()
	state := map[string]string{}
	for _, name := range FolderFiles(t, f) {
		data, err := os.ReadFile(f.Path(name))
		assert.NilError(t, err)
		state[name] = string(data)
	}
	return state
}

// AssertNoLeftovers checks for partial files, staging dirs and locks.
func AssertNoLeftovers(t *testing.T, f *backupset.Folder) {
	t.Helper()
	for _, name := range FolderFiles(t, f) {
		assert.Check(t, !strings.HasSuffix(name, backupset.PartialExt), name)
		assert.Check(t, !strings.HasPrefix(name, ".infrahubdb-work-"), name)
		assert.Check(t, name != backupset.LockName, name)
	}
}

// CallsWith returns the calls that start with prefix, in order.
func CallsWith(calls []string, prefix string) []string {
	var out []string
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}
