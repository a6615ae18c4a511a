package deployment_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"gotest.tools/v3/assert"

	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
)

// vanishing is a container that exists for its first `exists` inspections.
type vanishing struct {
	exists int32
	calls  atomic.Int32
}

func (v *vanishing) Inspect(ctx context.Context, id string) (docker.Container, error) {
	if v.calls.Add(1) > v.exists {
		return docker.Container{}, fmt.Errorf("No such container: %s: %w", id, cerrdefs.ErrNotFound)
	}
	return docker.Container{ID: id, Running: true}, nil
}

// A database container removed under a run cancels the run and the steps
// that outlive Ctrl-C, and the run ends degraded, naming the container.
func TestWatchingGivesUpWhenTheDatabaseContainerIsRemoved(t *testing.T) {
	defer func(d time.Duration) { deployment.WatchInterval = d }(deployment.WatchInterval)
	deployment.WatchInterval = time.Millisecond
	db := docker.Container{ID: "db-id", Name: "infrahub-database-1"}

	detachedDone := make(chan struct{})
	err := deployment.Watching(context.Background(), &vanishing{exists: 3}, db, func(ctx context.Context) error {
		detached := deployment.Detach(ctx)
		go func() { <-detached.Done(); close(detachedDone) }()
		<-ctx.Done()
		return fmt.Errorf("wait for the database: %w", ctx.Err())
	})
	<-detachedDone

	var gone *deployment.GoneError
	assert.Assert(t, errors.As(err, &gone), "got %v", err)
	assert.ErrorContains(t, err, "the database container infrahub-database-1 was removed while the run was under way")
	assert.Equal(t, exitcode.Of(err), exitcode.Degraded)
}

// While the container exists nothing changes: Ctrl-C still cancels the run
// but not what Detach detached.
func TestWatchingChangesNothingWhileTheContainerExists(t *testing.T) {
	defer func(d time.Duration) { deployment.WatchInterval = d }(deployment.WatchInterval)
	deployment.WatchInterval = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	v := &vanishing{exists: 1 << 30}

	err := deployment.Watching(ctx, v, docker.Container{ID: "db-id"}, func(ctx context.Context) error {
		detached := deployment.Detach(ctx)
		for v.calls.Load() < 3 {
			time.Sleep(time.Millisecond)
		}
		cancel()
		<-ctx.Done()
		assert.NilError(t, detached.Err())
		return ctx.Err()
	})

	assert.Assert(t, errors.Is(err, context.Canceled))
	assert.Equal(t, exitcode.Of(err), exitcode.Interrupted)
}
