package cli

import (
	"strings"
	"testing"

	"gotest.tools/v3/assert"
)

// complete asks the command tree for completions as the shell does
// (`docker infrahubdb ...<TAB>` ends up as `__complete ...`) and returns the
// candidates and the directive line.
func complete(t *testing.T, args ...string) ([]string, string) {
	t.Helper()
	out, err := runRoot(t, append([]string{"__complete"}, args...)...)
	assert.NilError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

func TestCompletionFolderIsADirectory(t *testing.T) {
	for _, cmd := range []string{"backup", "restore", "list", "verify", "prune", "doctor"} {
		values, directive := complete(t, cmd, "")
		assert.Equal(t, len(values), 0, cmd)
		assert.Equal(t, directive, ":16", "%s: FOLDER completes directories (ShellCompDirectiveFilterDirs)", cmd)
	}
	// One folder only: the second argument completes nothing.
	_, directive := complete(t, "backup", "./backups", "")
	assert.Equal(t, directive, ":4")
}

func TestCompletionFlagValues(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"backup", "--format", ""}, []string{"table", "json"}},
		{[]string{"list", "--progress", ""}, []string{"auto", "tty", "plain", "json", "quiet"}},
		{[]string{"restore", "--component", ""}, []string{"graph", "task-manager", "storage"}},
		{[]string{"backup", "--type", ""}, []string{"auto", "full", "diff"}},
		{[]string{"verify", "--transfer", ""}, []string{"auto", "bind", "stream"}},
		{[]string{"backup", "--include-metadata", ""}, []string{"all", "users", "roles", "none"}},
	} {
		values, directive := complete(t, tc.args...)
		assert.DeepEqual(t, values, tc.want)
		assert.Equal(t, directive, ":4", "%v", tc.args)
	}
}

// backup's help lists the everyday flags first and the expert and legacy
// ones apart.
func TestBackupHelpGroupsExpertFlags(t *testing.T) {
	out, err := runRoot(t, "backup", "--help")
	assert.NilError(t, err)
	_, options, ok := strings.Cut(out, "\nOptions:")
	assert.Assert(t, ok, out)
	everyday, expert, ok := strings.Cut(options, "Expert and legacy options:")
	assert.Assert(t, ok, out)
	for _, f := range []string{"--database-url", "--database-backup-port", "--host-network", "--transfer", "--keep-helper-container", "--no-aggregate", "--include-metadata", "--type"} {
		assert.Check(t, strings.Contains(expert, f) && !strings.Contains(everyday, f+" "), f)
	}
	for _, f := range []string{"--yes", "--component", "--project", "--format"} {
		assert.Check(t, strings.Contains(everyday, f), f)
	}
}
