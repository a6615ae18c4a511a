package helper

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Containers stops and starts the deployment's containers (offline steps).
type Containers interface {
	Inspect(ctx context.Context, nameOrID string) (docker.Container, error)
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	StartContainer(ctx context.Context, id string) error
}

// Restartable is a helper that can be stopped (killing what runs in it) and
// started again with its file system: a helper sharing the database's
// network namespace joins the new one of a restarted database on start.
type Restartable interface {
	Stop(ctx context.Context) error
	Start(ctx context.Context) error
}

// Stop and Start of the docker helper.
func (h dockerHelper) Stop(ctx context.Context) error  { return h.Helper.Stop(ctx) }
func (h dockerHelper) Start(ctx context.Context) error { return h.Helper.Start(ctx) }

// TaskManagerService is Infrahub's Prefect server: it talks to the database
// through the workers, so it is quiet only when stopped too.
const TaskManagerService = "task-manager"

// startRank orders Infrahub's services for start: the cache and the
// message queue first, the task manager before the server, the server
// before its workers (Infrahub's compose file, INFRAHUB.md §1). Stops go the
// other way.
func startRank(service string) int {
	switch service {
	case "cache", "message-queue": // every Infrahub service needs them
		return -1
	case TaskManagerService:
		return 0
	case ServerService:
		return 1
	case "task-worker":
		return 2
	}
	return 3
}

// RunningApps lists the running containers of the database's project whose
// service is one of services, in start order.
func RunningApps(ctx context.Context, eng Engine, db docker.Container, services []string) ([]docker.Container, error) {
	all, err := ProjectContainers(ctx, eng, db, services)
	if err != nil {
		return nil, err
	}
	var apps []docker.Container
	for _, c := range all {
		if c.Running {
			apps = append(apps, c)
		}
	}
	sort.SliceStable(apps, func(i, j int) bool { return startRank(apps[i].ComposeService) < startRank(apps[j].ComposeService) })
	return apps, nil
}

// DatabaseDownError says the database container did not come back after an
// offline step: the message says what to do.
type DatabaseDownError struct {
	Container string
	Err       error
}

func (e *DatabaseDownError) Error() string {
	return fmt.Sprintf("the database container %s did not come back online: %v\nstart it with 'docker start %s' and look at 'docker logs %s'; the application containers were started again",
		e.Container, e.Err, e.Container, e.Container)
}
func (e *DatabaseDownError) Unwrap() error { return e.Err }

// Outage stops the application containers and the database container and
// starts them again: the offline part of a Community dump or load. Every
// Stop is undone by Restore, whatever happened in between.
type Outage struct {
	eng         Containers
	pw          progress.Writer
	db          docker.Container
	apps        []docker.Container // running apps, in start order
	stopTimeout time.Duration

	stoppedApps []docker.Container
	dbStopped   bool
	began, end  time.Time

	AppsRestarted, AppsNotRestarted []string
}

// NewOutage prepares the outage of db and apps (in start order).
func NewOutage(eng Containers, db docker.Container, apps []docker.Container, stopTimeout time.Duration, pw progress.Writer) *Outage {
	return &Outage{eng: eng, db: db, apps: apps, stopTimeout: stopTimeout, pw: pw}
}

// StopApps stops the applications, last started first.
func (o *Outage) StopApps(ctx context.Context) error {
	for _, c := range slices.Backward(o.apps) {
		o.mark()
		err := progress.Run(o.pw, progress.Event{ID: "app " + c.Name, Text: "Stop " + c.Name}, func() error {
			return o.eng.StopContainer(ctx, c.ID, 30*time.Second)
		})
		// Stopped, or it may have stopped anyway: start it again with the others.
		o.stoppedApps = append(o.stoppedApps, c)
		if err != nil {
			return fmt.Errorf("stop application container %s: %w", c.Name, err)
		}
	}
	return nil
}

func (o *Outage) mark() {
	if o.began.IsZero() {
		o.began = time.Now()
	}
}

// StopDatabase stops the database container with a timeout long enough for
// a clean shutdown, and proves it was one. docker stop sends SIGTERM, waits,
// then SIGKILLs; Docker's default wait is 10 s [S26], too short for Neo4j to
// checkpoint (the Debian package waits 120 s [S27]), and a killed server
// leaves a store that dump refuses ("Active logical log detected") [S20a].
func (o *Outage) StopDatabase(ctx context.Context) error {
	step := progress.Event{ID: "stop-db", Text: fmt.Sprintf("Stop database container %s (up to %s for a clean shutdown)", o.db.Name, o.stopTimeout)}
	o.mark()
	o.dbStopped = true // whatever happens now, start it again
	err := progress.Run(o.pw, step, func() error {
		if err := o.eng.StopContainer(ctx, o.db.ID, o.stopTimeout); err != nil {
			return err
		}
		c, err := o.eng.Inspect(ctx, o.db.ID)
		switch {
		case err != nil:
			return err
		case c.Running:
			return errors.New("it is still running")
		case c.ExitCode == 137:
			// SIGKILL: the stop timeout ran out before Neo4j finished.
			return fmt.Errorf("it did not shut down within %s and was killed (exit code 137): its store needs recovery before a dump; raise --stop-timeout", o.stopTimeout)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("stop database container %s: %w", o.db.Name, err)
	}
	return nil
}

// StartDatabase starts the database container if this outage stopped it.
func (o *Outage) StartDatabase(ctx context.Context) error {
	if !o.dbStopped {
		return nil
	}
	step := progress.Event{ID: "start-db", Text: "Start database container " + o.db.Name}
	if err := progress.Run(o.pw, step, func() error { return o.eng.StartContainer(ctx, o.db.ID) }); err != nil {
		return &DatabaseDownError{Container: o.db.Name, Err: err}
	}
	o.dbStopped = false
	return nil
}

// StartApps starts what StopApps stopped, in start order, with a fresh
// context: a cancelled run still does it.
func (o *Outage) StartApps(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	for _, c := range o.apps {
		if !slices.ContainsFunc(o.stoppedApps, func(s docker.Container) bool { return s.ID == c.ID }) {
			continue
		}
		step := progress.Event{ID: "app " + c.Name, Text: "Start " + c.Name}
		if err := progress.Run(o.pw, step, func() error { return o.eng.StartContainer(ctx, c.ID) }); err != nil {
			o.AppsNotRestarted = append(o.AppsNotRestarted, c.Name)
			continue
		}
		o.AppsRestarted = append(o.AppsRestarted, c.Name)
	}
	o.stoppedApps = nil
	o.end = time.Now()
}

// Downtime is the time from the first container stopped to the last one
// running again (0 when nothing was stopped).
func (o *Outage) Downtime() time.Duration {
	if o.began.IsZero() || o.end.IsZero() {
		return 0
	}
	return o.end.Sub(o.began)
}

// Names lists the containers of the outage, for the consent prompt.
func (o *Outage) Names() []string {
	names := []string{o.db.Name}
	for _, c := range o.apps {
		names = append(names, c.Name)
	}
	return names
}

// NotRestartedError names application containers that did not start again.
func NotRestartedError(names []string) error {
	if len(names) == 0 {
		return nil
	}
	return fmt.Errorf("application containers not started again: %s; start them with 'docker start %s'", strings.Join(names, ", "), strings.Join(names, " "))
}
