package cli

import (
	"testing"

	"github.com/docker/cli/cli/command"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// The helper options of backup, restore, list and verify are one flag
// group: their help texts and defaults cannot drift apart.
func TestHelperFlagsAreOneGroup(t *testing.T) {
	dockerCli, err := command.NewDockerCli()
	assert.NilError(t, err)
	root := NewRootCommand(dockerCli)
	var first map[string]string
	for _, name := range []string{"backup", "restore", "list", "verify"} {
		cmd, _, err := root.Find([]string{name})
		assert.NilError(t, err)
		got := map[string]string{}
		for _, flag := range []string{"helper-image", "database-container", "transfer", "keep-helper-container"} {
			f := cmd.Flags().Lookup(flag)
			assert.Assert(t, f != nil, "%s --%s", name, flag)
			got[flag] = f.Usage + " default=" + f.DefValue
		}
		if first == nil {
			first = got
			continue
		}
		assert.Check(t, is.DeepEqual(got, first), name)
	}
}
