package helper

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

// lostCause names why what ran in a helper failed, when the helper does not
// run any more: exit 137 or a broken exec stream say little. The engine not
// answering (the ssh link to a remote engine cut) is not the helper removed
// from outside: the helper may still run there. err is returned as it is
// while the helper runs.
func lostCause(ctx context.Context, h docker.HelperContainer, what string, err error) error {
	running, gone := h.Running(ctx)
	switch {
	case gone != nil:
		return fmt.Errorf("the Docker engine stopped answering while %s ran in the helper container %s (%v): check the link to the Docker host (docker context ls, DOCKER_HOST); the helper may still run there: %w", what, h.Name(), gone, err)
	case !running:
		return fmt.Errorf("the helper container %s was removed or stopped from outside while %s ran: %w", h.Name(), what, err)
	}
	return err
}

// RemoveLost force-removes a run's own helper container id that was lost
// (removed or stopped from outside) and waits, up to half a minute, until
// the engine no longer lists it: what is left of it (stopped, or its
// removal still under way) belongs to a live run, so a new session would
// take it for another run's helper.
func RemoveLost(ctx context.Context, eng Engine, id string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	for {
		_ = eng.RemoveContainer(ctx, id) // a removal already under way refuses a second one
		helpers, err := eng.List(ctx, map[string]string{docker.LabelHelper: ""}, true)
		if err == nil && !slices.ContainsFunc(helpers, func(c docker.Container) bool { return c.ID == id }) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the lost helper container %s could not be removed: remove it with 'docker rm -f %s'", id, id)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
