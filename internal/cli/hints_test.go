package cli

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"gotest.tools/v3/assert"

	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

// "No database container" suggests --database-url only on backup, the one
// command that has it.
func TestNoDatabaseHintNamesOnlyFlagsTheCommandHas(t *testing.T) {
	for _, err := range []error{docker.ErrNoDatabase, &deployment.NoDatabaseError{}} {
		withFlag := &cobra.Command{Use: "backup"}
		withFlag.Flags().String("database-url", "", "")
		assert.Assert(t, strings.Contains(finalError(withFlag, err).Error(), "--database-url"))

		without := &cobra.Command{Use: "restore"}
		msg := finalError(without, err).Error()
		assert.Assert(t, !strings.Contains(msg, "--database-url"), msg)
		assert.Assert(t, strings.Contains(msg, "--database-container"), msg)
	}
}

// Without a terminal and without --yes, restore says first that the
// folder does not exist (what to fix), not that --yes is missing.
func TestRestoreMissingFolderBeforeYes(t *testing.T) {
	_, err := runRoot(t, "restore", t.TempDir()+"/nope")
	assert.Equal(t, statusCode(t, err), ExitEnvironment)
	assert.ErrorContains(t, err, "does not exist")
}
