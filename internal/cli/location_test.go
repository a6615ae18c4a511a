package cli

import (
	"fmt"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/agecrypt"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
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
		{"prune", folder.Dir, "--keep-daily", "7"},
		{"copy", folder.Dir, folder.Dir},
		{"copy", "s3://a/b", "s3://c/d"},
		{"list", "s3://bucket/p", "--s3-part-size", "1"},
	} {
		_, err := runRoot(t, args...)
		assert.Check(t, is.Equal(statusCode(t, err), ExitUsage), "%v: %v", args, err)
	}
}
