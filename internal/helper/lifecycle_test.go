package helper_test

import (
	"context"
	"slices"
	"sync/atomic"
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

// InBackground releases once, from start or else from wait, and wait
// returns only once the release ended.
func TestInBackgroundReleasesOnceAndWaitWaitsForIt(t *testing.T) {
	t.Run("started", func(t *testing.T) {
		var calls atomic.Int32
		gate := make(chan struct{})
		start, wait := helper.InBackground(context.Background(), func(context.Context) {
			<-gate
			calls.Add(1)
		})
		start()
		start()
		waited := make(chan struct{})
		go func() { wait(); close(waited) }()
		select {
		case <-waited:
			t.Fatal("wait returned before the release ended")
		case <-time.After(50 * time.Millisecond):
		}
		close(gate)
		<-waited
		wait()
		assert.Check(t, is.Equal(calls.Load(), int32(1)))
	})
	t.Run("never started", func(t *testing.T) {
		var calls atomic.Int32
		_, wait := helper.InBackground(context.Background(), func(context.Context) { calls.Add(1) })
		wait()
		assert.Check(t, is.Equal(calls.Load(), int32(1)), "an error path that never started it still releases")
	})
}
