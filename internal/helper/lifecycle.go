package helper

import (
	"context"
	"fmt"
	"sync"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// HelperStarter starts helper containers (docker.Engine.StartHelper), and
// finds and removes those left by runs that are gone.
type HelperStarter interface {
	StartHelper(ctx context.Context, spec docker.HelperSpec) (Helper, error)
	StaleHelpers(ctx context.Context, target string) (stale, live []docker.Container, err error)
	RemoveContainer(ctx context.Context, id string) error
}

// Start starts a helper that needs no Session (the storage's, which mounts
// the storage instead of the backup folder) with the lifecycle of a
// Session's helper: the labels of spec (docker.HelperLabels) mark it as the
// plugin's, and release keeps it when keep (--keep-helper-container),
// naming it in the output, or removes it on a fresh context, reporting a
// failure to remove it with the command that would.
//
// Helpers of the same target (the storage's volume) left by runs that are
// gone (a client killed mid-run: docker.StaleHelper) are removed as a
// Session removes those of its database: while the new one is created,
// not before (their list, inspections and removals would otherwise add to
// every run's step; the new helper has a name of its own, and it is never
// stale: its owner is this live process).
func Start(ctx context.Context, eng HelperStarter, spec docker.HelperSpec, keep bool, pw progress.Writer) (h Helper, release func(ctx context.Context), err error) {
	var stale sync.WaitGroup
	if target := spec.Labels[docker.LabelTarget]; target != "" {
		stale.Go(func() { removeStale(ctx, eng, target, pw) })
	}
	h, err = eng.StartHelper(ctx, spec)
	stale.Wait()
	if err != nil {
		return nil, nil, err
	}
	return h, func(ctx context.Context) { Release(ctx, h, keep, pw) }, nil
}

// InBackground runs release in a goroutine of its own from the first call
// of start or wait, and wait waits for it to end; either may be called any
// number of times. A helper whose work is done is so removed while the
// run goes on (the storage's, while its archive is synced to disk), and
// every path still waits for its removal.
func InBackground(ctx context.Context, release func(context.Context)) (start, wait func()) {
	var once sync.Once
	done := make(chan struct{})
	start = func() {
		once.Do(func() {
			go func() {
				defer close(done)
				release(ctx)
			}()
		})
	}
	wait = func() {
		start()
		<-done
	}
	return start, wait
}

// removeStale removes the helpers of target whose runs are gone; a failure
// is reported, not returned (the run does not need them gone).
func removeStale(ctx context.Context, eng HelperStarter, target string, pw progress.Writer) {
	stale, _, err := eng.StaleHelpers(ctx, target)
	if err != nil {
		return
	}
	for _, c := range stale {
		if err := eng.RemoveContainer(ctx, c.ID); err != nil {
			pw.Info(fmt.Sprintf("could not remove helper container %s left by a run that is gone: %v; remove it with 'docker rm -f %s'", c.Name, err, c.Name))
			continue
		}
		pw.Info(fmt.Sprintf("removed helper container %s left by a run that is gone (owner %s)", c.Name, c.Labels[docker.LabelOwner]))
	}
}

// Release ends a helper's life: kept (and named) when keep, else removed,
// whatever ctx's state (a cancelled run still cleans up); a failure to
// remove it is reported, not returned: the run's own result stands.
func Release(ctx context.Context, h Helper, keep bool, pw progress.Writer) {
	if keep {
		pw.Info("kept helper container " + h.Name() + " (--keep-helper-container): remove it with 'docker rm -f " + h.Name() + "'")
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := h.Remove(ctx); err != nil {
		pw.Info(fmt.Sprintf("could not remove helper container %s: %v; remove it with 'docker rm -f %s'", h.Name(), err, h.Name()))
	}
}
