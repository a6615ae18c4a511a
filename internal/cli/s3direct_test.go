package cli

import (
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
)

func TestCheckPlainLocation(t *testing.T) {
	plain := &backupset.RunManifest{Run: backupset.RunRecord{ID: "run-1"}, Files: []backupset.RunFile{{}}}
	enc := &backupset.RunManifest{Run: backupset.RunRecord{ID: "run-2"}, Files: []backupset.RunFile{{Encryption: &backupset.Encryption{}}}}

	assert.NilError(t, checkPlainLocation(&backupset.RunListing{}, false), "an empty location takes a plain run")
	assert.NilError(t, checkPlainLocation(&backupset.RunListing{Runs: []*backupset.RunManifest{enc, plain}}, false), "the newest run decides")
	err := checkPlainLocation(&backupset.RunListing{Runs: []*backupset.RunManifest{plain, enc}}, false)
	assert.Check(t, is.Equal(exitCode(err), ExitEnvironment))
	assert.Check(t, is.ErrorContains(err, "run-2"))
	assert.NilError(t, checkPlainLocation(&backupset.RunListing{Runs: []*backupset.RunManifest{enc}}, true), "--allow-mixed-encryption")
}

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
