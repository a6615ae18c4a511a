package deployment

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
)

// GoneError says the database container was removed while a run worked on
// it (docker rm, docker compose down): nothing more can be done on it, so
// the run gives up at once instead of waiting for it to answer.
type GoneError struct{ Container string }

func (e *GoneError) Error() string {
	return fmt.Sprintf("the database container %s was removed while the run was under way (docker rm or docker compose down?): the run gave up; recreate the deployment (docker compose up -d), check its data, and run again", e.Container)
}

// ExitCode: the deployment needs attention.
func (e *GoneError) ExitCode() int { return exitcode.Degraded }

// Inspector looks a container up (the watch asks whether it still exists).
type Inspector interface {
	Inspect(ctx context.Context, nameOrID string) (docker.Container, error)
}

// WatchInterval is how often Watch asks whether the container still exists.
var WatchInterval = time.Second

type goneKey struct{}

// watch is what Detach finds in a watched context.
type watch struct {
	gone    chan struct{} // closed when the container is gone
	stopped chan struct{} // closed when the watch ends
	cause   *GoneError
}

// Watch returns ctx cancelled, with a *GoneError as its cause, once the
// container db no longer exists; stop ends the watch. The steps that must
// run even after Ctrl-C run on Detach(ctx), which such a removal still
// cancels: waiting minutes for a database that no longer exists helps no one.
func Watch(ctx context.Context, eng Inspector, db docker.Container) (context.Context, func()) {
	w := &watch{gone: make(chan struct{}), stopped: make(chan struct{}), cause: &GoneError{Container: db.Name}}
	ctx = context.WithValue(ctx, goneKey{}, w)
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		tick := time.NewTicker(WatchInterval)
		defer tick.Stop()
		for {
			select {
			case <-w.stopped:
				return
			case <-tick.C:
			}
			// A fresh context: the watch outlives a Ctrl-C of the run.
			ictx, icancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := eng.Inspect(ictx, db.ID)
			icancel()
			if docker.IsNotFound(err) {
				// gone first: whoever sees ctx cancelled must find it closed.
				close(w.gone)
				cancel(w.cause)
				return
			}
		}
	}()
	var once sync.Once
	return ctx, func() {
		once.Do(func() { close(w.stopped) })
		cancel(nil)
	}
}

// Detach is context.WithoutCancel(ctx) for the steps that must run even
// after Ctrl-C (bring the database back, roll back), except that the
// removal of the watched database container (Watch) still cancels it, with
// the *GoneError as its cause.
func Detach(ctx context.Context) context.Context {
	w, _ := ctx.Value(goneKey{}).(*watch)
	detached := context.WithoutCancel(ctx)
	if w == nil {
		return detached
	}
	dctx, cancel := context.WithCancelCause(detached)
	select {
	case <-w.gone:
		cancel(w.cause)
		return dctx
	default:
	}
	go func() {
		select {
		case <-w.gone:
			cancel(w.cause)
		case <-w.stopped:
			// A watch that ends because the container went (the run gave
			// up on it) still cancels what was detached.
			select {
			case <-w.gone:
				cancel(w.cause)
			default:
			}
		}
	}()
	return dctx
}

// GoneCause returns the *GoneError that cancelled ctx, or nil.
func GoneCause(ctx context.Context) error {
	if gone, ok := context.Cause(ctx).(*GoneError); ok {
		return gone
	}
	return nil
}

// Watching runs fn under Watch(ctx, eng, db): when the container goes away,
// fn's context is cancelled, and its error is joined to the *GoneError,
// which then decides the message and the exit code.
func Watching(ctx context.Context, eng Inspector, db docker.Container, fn func(ctx context.Context) error) error {
	wctx, stop := Watch(ctx, eng, db)
	defer stop()
	err := fn(wctx)
	if gone := GoneCause(wctx); gone != nil && err != nil {
		return errors.Join(gone, err)
	}
	return err
}
