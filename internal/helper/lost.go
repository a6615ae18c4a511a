package helper

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
)

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
