package cli

import (
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// The staging folder is private and under the chosen root.
func TestStage(t *testing.T) {
	root := filepath.Join(t.TempDir(), "new")
	d := directFlags{stagingDir: root}
	gotRoot, dir, err := d.stage("backup-")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(gotRoot, root))
	assert.Check(t, is.Equal(filepath.Dir(dir), root))
	st, err := os.Stat(dir)
	assert.NilError(t, err)
	assert.Check(t, is.Equal(st.Mode().Perm(), os.FileMode(0o700)))

	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	gotRoot, _, err = (&directFlags{}).stage("restore-")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(gotRoot, filepath.Join(os.Getenv("XDG_CACHE_HOME"), "infrahubdb")))
}
