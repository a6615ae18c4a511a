package cli

import (
	"fmt"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/agecrypt"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/backupset/locationtest"
	"github.com/opsmill/docker-infrahubdb/internal/offsite"
)

func TestOffsiteExitCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
	}{
		{fmt.Errorf("x: %w", agecrypt.ErrChecksum), ExitVerify},
		{&offsite.VerifyError{Problems: []string{"p"}}, ExitVerify},
		{fmt.Errorf("x: %w", agecrypt.ErrNoIdentity), ExitEnvironment},
		{fmt.Errorf("x: %w", agecrypt.ErrMixed), ExitEnvironment},
		{fmt.Errorf("x: %w", backupset.ErrLeaseLost), ExitLocked},
		{fmt.Errorf("x: %w", backupset.ErrUnreachable), ExitEnvironment},
		{&backupset.LockedError{Path: "s3://b/locks/lock.json"}, ExitLocked},
	} {
		assert.Check(t, is.Equal(exitCode(offsiteExit(tc.err)), tc.code), "%v", tc.err)
	}
	assert.NilError(t, offsiteExit(nil))
}

// Usage errors of s3:// arguments are found before any connection.
func TestLocationUsage(t *testing.T) {
	folder := backupFolder(t)
	for _, args := range [][]string{
		{"prune", "s3://bucket/p", "--keep", "3"},
		{"prune", "s3://bucket/p"},
		{"prune", "s3://bucket/p", "--keep-within", "7x"},
		{"prune", "s3://bucket/p", "--keep-daily", "-1"},
		{"prune", folder.Dir, "--keep-daily", "7", "--keep", "2"},
		{"copy", folder.Dir, folder.Dir},
		{"copy", "s3://a/b", "s3://c/d", "--encrypt-to", "x"},
		{"list", "s3://bucket/p", "--s3-part-size", "1"},
		{"backup", folder.Dir, "--keep-daily", "7"},
		{"verify", folder.Dir, "--identity", "key"},
		{"list", folder.Dir, "--s3-endpoint", "https://x"},
		{"prune", folder.Dir, "--keep", "1", "--passphrase-file", "p"},
		{"backup", folder.Dir, "--prune"},
		{"backup", folder.Dir, "--prune", "--keep-within", "soon"},
		// backup and restore s3:// stage on this machine: an encrypted
		// backup refuses what would put plaintext on its disk (bind
		// mounts, --verify), and both refuse what they cannot do yet,
		// before any connection.
		{"backup", "s3://bucket/p", "--encrypt-to", "ops.recipients", "--transfer", "bind"},
		{"backup", "s3://bucket/p", "--encrypt-to", "ops.recipients", "--verify"},
		{"backup", "s3://bucket/p", "--encrypt-with-passphrase", "--check"},
		// --identity reads the base of an encrypted differential backup:
		// not for a full one, nor without encryption; a differential
		// backup is of the graph.
		{"backup", "s3://bucket/p", "--type", "full", "--identity", "key", "--encrypt-to", "ops.recipients"},
		{"backup", "s3://bucket/p", "--type", "diff", "--identity", "key"},
		{"backup", "s3://bucket/p", "--type", "diff", "--component", "task-manager"},
		{"backup", "s3://bucket/p", "--prune"},
		// --full-every: a location's chain length, for --type auto only.
		{"backup", folder.Dir, "--full-every", "3"},
		{"backup", "s3://bucket/p", "--type", "full", "--full-every", "3"},
		{"backup", "s3://bucket/p", "--type", "diff", "--full-every", "3"},
		{"backup", "s3://bucket/p", "--full-every", "-1"},
		{"backup", folder.Dir, "--encrypt-to", "ops.recipients"},
		{"backup", folder.Dir, "--s3-staging-dir", "/tmp"},
		{"backup", folder.Dir, "--s3-endpoint", "https://x"},
		{"restore", "s3://bucket/p"},
		{"restore", "s3://bucket/p", "--yes", "--until", "2026-01-01T00:00:00Z"},
		{"verify", "s3://bucket/p", "--check"},
		{"verify", "s3://bucket/p", "--adopt"},
		{"verify", "s3://bucket/p", "--s3-staging-dir", "/tmp"},
		{"verify", folder.Dir, "--s3-staging-dir", "/tmp"},
		{"verify", "s3://bucket/p", "--drill", "--drill-memory", "lots"},
		{"restore", folder.Dir, "--run", "x", "--yes"},
		{"restore", folder.Dir, "--run", "latest", "--until", "2026-01-01T00:00:00Z", "--yes"},
		{"restore", folder.Dir, "--identity", "key", "--yes"},
	} {
		_, err := runRoot(t, args...)
		assert.Check(t, is.Equal(statusCode(t, err), ExitUsage), "%v: %v", args, err)
	}
}

// runsFolder is a folder whose manifest records three runs of the whole
// deployment, on 1, 2 and 3 December.
func runsFolder(t *testing.T) *backupset.Folder {
	f, _ := locationtest.FolderWithRuns(t, time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC),
		time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC), time.Date(2026, 12, 3, 3, 0, 0, 0, time.UTC))
	return f
}

func TestPruneFolderByCalendar(t *testing.T) {
	f := runsFolder(t)
	out, err := runRoot(t, "prune", f.Dir, "--keep-daily", "2", "--yes", "--dry-run")
	assert.NilError(t, err)
	assert.Check(t, is.Contains(out, "would delete run-2026-12-01T03-00-00"))
	assert.Check(t, is.Contains(out, "keep    run-2026-12-03T03-00-00  (daily)"))
	m, err := f.ReadManifest()
	assert.NilError(t, err)
	assert.Check(t, is.Len(m.Runs, 3), "a dry run deletes nothing")

	out, err = runRoot(t, "prune", f.Dir, "--keep-daily", "2", "--yes")
	assert.NilError(t, err)
	assert.Check(t, is.Contains(out, "Deleted 3 file(s)"))
	m, err = f.ReadManifest()
	assert.NilError(t, err)
	assert.Check(t, is.Len(m.Runs, 2))

	// A folder of graph chains only takes --keep N.
	_, err = runRoot(t, "prune", backupFolder(t).Dir, "--keep-daily", "7")
	assert.Check(t, is.Equal(statusCode(t, err), ExitEnvironment))
}
