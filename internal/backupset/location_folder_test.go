package backupset_test

import (
	"testing"

	"gotest.tools/v3/assert"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/backupset/locationtest"
)

func TestFolderLocationConformance(t *testing.T) {
	locationtest.Run(t, locationtest.Config{
		New: func(t *testing.T) backupset.Location {
			loc, err := backupset.NewFolderLocation(t.TempDir())
			assert.NilError(t, err)
			return loc
		},
	})
}
