package helper_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/helper/helpertest"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// A helper of the storage left by a client killed mid-run is removed by the
// next run that starts one for the same volume; a live run's is left, and
// so is another volume's.
func TestStartRemovesTheStaleHelpersOfItsTarget(t *testing.T) {
	eng := helpertest.New()
	labels := func(target string) map[string]string {
		return docker.HelperLabels("backup", target, time.Now())
	}
	dead := labels("storage:data")
	eng.Stale = []docker.Container{{ID: "dead", Name: "infrahubdb-backup-storage-dead", Labels: dead}}
	eng.Live = []docker.Container{{ID: "live", Name: "infrahubdb-backup-storage-live", Labels: labels("storage:data"), Running: true}}
	spec := docker.HelperSpec{Name: "infrahubdb-backup-storage-new", Labels: labels("storage:data")}

	_, release, err := helper.Start(context.Background(), eng, spec, false, progress.Nop)
	assert.NilError(t, err)
	defer release(context.Background())
	assert.Check(t, is.DeepEqual(eng.Removed, []string{"dead"}))
	assert.Check(t, !slices.Contains(eng.Removed, "live"))
}
