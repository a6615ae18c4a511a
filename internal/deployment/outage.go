package deployment

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// TaskManagerService is Infrahub's Prefect server: it talks to the database
// through the workers, so it is quiet only when stopped too.
const TaskManagerService = "task-manager"

// startRank orders Infrahub's services for start (docs/outage.md): the
// cache and the message queue before everything (every Infrahub service
// needs them), the database and the task manager next (neither uses the other: Prefect keeps
// its state in task-manager-db), then infrahub-server (it needs both), then
// its workers (they talk to the server), then any other service named with
// --app-services. Containers of one rank start side by side; stops go the
// other way, rank by rank (Infrahub's compose file, INFRAHUB.md §1).
func startRank(service string) int {
	switch service {
	case "cache", "message-queue": // every Infrahub service needs them
		return -1
	case DatabaseService, TaskManagerService:
		return 0
	case ServerService:
		return 1
	case TaskWorkerService:
		return 2
	}
	return 3
}

// DefaultAppServices are the Compose services of Infrahub that use the
// database and must be quiet while it is captured or replaced
// (--app-services).
var DefaultAppServices = []string{ServerService, TaskWorkerService}

// WithTaskManager returns services (DefaultAppServices when empty) with the
// task manager added: an outage that stops the workers stops the Prefect
// server too, which is quiet only then.
func WithTaskManager(services []string) []string {
	out := slices.Clone(services)
	if len(out) == 0 {
		out = slices.Clone(DefaultAppServices)
	}
	if !slices.Contains(out, TaskManagerService) {
		out = append(out, TaskManagerService)
	}
	return out
}

// databaseRank is the database's own rank: the applications of that rank
// stop and start with it, side by side.
const databaseRank = 0

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
	return fmt.Sprintf("the database container %s did not come back online: %v\nstart it with 'docker start %s' and look at 'docker logs %s'",
		e.Container, e.Err, e.Container, e.Container)
}
func (e *DatabaseDownError) Unwrap() error { return e.Err }

// Outage is the one way the plugin stops and starts the deployment's
// containers (docs/outage.md): the applications, and for the offline steps
// (a Community dump or load) the database container too. Containers of one
// rank (startRank) stop and start side by side, ranks one after another:
// stops from the last rank down, starts from the first up. Containers set
// aside (SetAside: the cache and the message queue of a Community restore)
// stop, are worked on and start again beside the offline step (Beside).
// Every container it stopped is started again by Beside, StartDatabase and
// StartApps, whatever happened in between.
type Outage struct {
	eng         Containers
	pw          progress.Writer
	db          *docker.Container  // nil: an outage of the applications only
	apps        []docker.Container // running apps, in start order
	stopTimeout time.Duration

	mu sync.Mutex
	// withDatabase: the apps of the database\'s rank stop with it
	// (StopWithDatabase).
	withDatabase bool
	// aside: the services that StopApps and StopDatabase leave running,
	// for Beside to stop, work on and start again (SetAside).
	aside       []string
	besideDone  sync.WaitGroup
	withDBDone  sync.WaitGroup     // the apps started with the database (StartDatabase)
	stoppedApps []docker.Container // stopped (or maybe stopped) and not started again
	dbStopped   bool
	began, end  time.Time
	// startedSinceEnd: a container was started since end was taken (a
	// second StartApps with nothing to do keeps the first end).
	startedSinceEnd bool

	AppsRestarted, AppsNotRestarted []string
}

// NewOutage prepares the outage of db and apps (in start order).
func NewOutage(eng Containers, db docker.Container, apps []docker.Container, stopTimeout time.Duration, pw progress.Writer) *Outage {
	return &Outage{eng: eng, db: &db, apps: apps, stopTimeout: stopTimeout, pw: pw}
}

// NewAppOutage prepares the outage of the applications only (an online
// restore, --consistent on Enterprise): StopApps stops them all.
func NewAppOutage(eng Containers, apps []docker.Container, pw progress.Writer) *Outage {
	return &Outage{eng: eng, apps: apps, pw: pw}
}

// ranked groups apps by rank, first rank first, keeping those keep accepts.
func ranked(apps []docker.Container, keep func(c docker.Container, rank int) bool) [][]docker.Container {
	var groups [][]docker.Container
	last := -1
	for _, c := range apps {
		r := startRank(c.ComposeService)
		if !keep(c, r) {
			continue
		}
		if r != last || len(groups) == 0 {
			groups = append(groups, nil)
			last = r
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], c)
	}
	return groups
}

// sideBySide runs fn for each container at once and returns their errors
// joined, in the order of cs.
func sideBySide(cs []docker.Container, fn func(c docker.Container) error) error {
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn(c)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// StopWithDatabase makes the applications of the database's rank (the task
// manager) stop side by side with the database instead of before it: for
// the outages where nothing runs while the database stops that needs them
// quiet (a graph-only dump, a load). It returns o.
func (o *Outage) StopWithDatabase() *Outage {
	o.withDatabase = true
	return o
}

// SetAside leaves the containers of services out of StopApps and
// StopDatabase: Beside stops them, works on them and starts them again
// beside the offline step. Meant for services that rank before everything
// (the cache and the message queue): once StopDatabase has stopped what
// uses them, nothing needs them until StartApps. It returns o.
func (o *Outage) SetAside(services ...string) *Outage {
	o.aside = append(o.aside, services...)
	return o
}

func (o *Outage) isAside(c docker.Container) bool { return slices.Contains(o.aside, c.ComposeService) }

// Beside stops the containers set aside (SetAside), side by side, after
// StopApps and StopDatabase have stopped everything that uses them, and
// returns at once. Each one, once stopped, gets work, then starts again
// whatever work returned, with a fresh context: its start does not wait for
// the others' work. The returned wait blocks until every stop and work is
// done, and returns their errors; StartApps waits for the starts too, so
// they run before any application starts (dependency order). A container
// whose stop failed is started again too (the stop may have taken effect).
func (o *Outage) Beside(ctx context.Context, work func(context.Context, docker.Container) error) (wait func() error) {
	var set []docker.Container
	for _, c := range o.apps {
		if o.isAside(c) {
			set = append(set, c)
		}
	}
	ready := make(chan error, 1)
	o.besideDone.Add(1)
	go func() {
		defer o.besideDone.Done()
		errs := make([]error, len(set))
		var worked sync.WaitGroup
		worked.Add(len(set))
		go func() { worked.Wait(); ready <- errors.Join(errs...) }()
		_ = sideBySide(set, func(c docker.Container) error {
			err := o.stopApps(ctx, []docker.Container{c})
			if err == nil {
				err = work(ctx, c)
			}
			errs[slices.IndexFunc(set, func(s docker.Container) bool { return s.ID == c.ID })] = err
			worked.Done()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			o.startApps(sctx, []docker.Container{c})
			return nil
		})
	}()
	return func() error { return <-ready }
}

// StopApps stops the applications, last rank first, each rank side by side.
// All of them stop before the database does, the task manager included
// although it ranks with the database: what runs while the database stops
// (a task manager's pg_dump beside a Community dump) sees them all quiet;
// unless StopWithDatabase, when those of its rank stop with it.
func (o *Outage) StopApps(ctx context.Context) error {
	groups := ranked(o.apps, func(c docker.Container, rank int) bool {
		return !o.isAside(c) && (!o.withDatabase || rank != databaseRank)
	})
	for _, group := range slices.Backward(groups) {
		if err := o.stopApps(ctx, group); err != nil {
			return err
		}
	}
	return nil
}

func (o *Outage) stopApps(ctx context.Context, group []docker.Container) error {
	return sideBySide(group, func(c docker.Container) error {
		o.mu.Lock()
		o.mark()
		// Stopped, or it may have stopped anyway: start it again with the others.
		if !slices.ContainsFunc(o.stoppedApps, func(s docker.Container) bool { return s.ID == c.ID }) {
			o.stoppedApps = append(o.stoppedApps, c)
		}
		o.mu.Unlock()
		err := progress.Run(o.pw, progress.Event{ID: "app " + c.Name, Text: "Stop " + c.Name}, func() error {
			return o.eng.StopContainer(ctx, c.ID, 30*time.Second)
		})
		if err != nil {
			return fmt.Errorf("stop application container %s: %w", c.Name, err)
		}
		return nil
	})
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
	db := *o.db
	step := progress.Event{ID: "stop-db", Text: fmt.Sprintf("Stop database container %s (up to %s for a clean shutdown)", db.Name, o.stopTimeout)}
	o.mu.Lock()
	o.mark()
	o.dbStopped = true // whatever happens now, start it again
	o.mu.Unlock()
	var withIt []docker.Container
	if o.withDatabase {
		for _, g := range ranked(o.apps, func(c docker.Container, rank int) bool { return rank == databaseRank && !o.isAside(c) }) {
			withIt = append(withIt, g...)
		}
	}
	appsErr := make(chan error, 1)
	go func() { appsErr <- o.stopApps(ctx, withIt) }()
	err := progress.Run(o.pw, step, func() error {
		if err := o.eng.StopContainer(ctx, db.ID, o.stopTimeout); err != nil {
			return err
		}
		c, err := o.eng.Inspect(ctx, db.ID)
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
		return errors.Join(fmt.Errorf("stop database container %s: %w", db.Name, err), <-appsErr)
	}
	return <-appsErr
}

// StartDatabase starts the database container if this outage stopped it,
// then, in the background, the applications of its rank (the task manager,
// which does not use Neo4j) while the caller waits for Neo4j to answer;
// the others start after it is online (StartApps, which waits for those).
// On Docker 20.10 a container started beside another makes both slower,
// so the two do not start together; beside the single exec that waits for
// the Bolt port, the task manager's start cost nothing measurable and
// saved about 0.1 s of a Community outage (make bench, 2026-12-06: +1.8 s
// against +1.9 s).
//
// It first waits for the starts of Beside, for the same reason: with a
// small store the load can end before they do.
func (o *Outage) StartDatabase(ctx context.Context) error {
	o.besideDone.Wait()
	if !o.dbStopped {
		return nil
	}
	db := *o.db
	step := progress.Event{ID: "start-db", Text: "Start database container " + db.Name}
	err := progress.Run(o.pw, step, func() error { return o.eng.StartContainer(ctx, db.ID) })
	if err != nil {
		return &DatabaseDownError{Container: db.Name, Err: err}
	}
	o.dbStopped = false
	// The applications of the database's rank (the task manager: Prefect
	// keeps its state in task-manager-db) need not wait for Neo4j: they
	// start while the caller waits for it to answer, and StartApps waits
	// for them.
	var withIt []docker.Container
	for _, g := range ranked(o.apps, func(c docker.Container, rank int) bool { return rank == databaseRank }) {
		withIt = append(withIt, g...)
	}
	o.withDBDone.Add(1)
	go func() {
		defer o.withDBDone.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		o.startApps(sctx, withIt)
	}()
	return nil
}

// StartApps starts what StopApps (and StopDatabase) stopped and is not
// running again, first rank first, each rank side by side, with a fresh
// context: a cancelled run still does it. It first waits for what Beside
// runs: the containers set aside are running again before any other starts.
func (o *Outage) StartApps(ctx context.Context) {
	o.besideDone.Wait()
	o.withDBDone.Wait()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	for _, group := range ranked(o.apps, func(docker.Container, int) bool { return true }) {
		o.startApps(ctx, group)
	}
	o.mu.Lock()
	if o.end.IsZero() || o.startedSinceEnd {
		o.end, o.startedSinceEnd = time.Now(), false
	}
	o.mu.Unlock()
}

// startApps starts the containers of group that the outage stopped, side by
// side, and records which came back.
func (o *Outage) startApps(ctx context.Context, group []docker.Container) {
	o.mu.Lock()
	var todo []docker.Container
	for _, c := range group {
		if slices.ContainsFunc(o.stoppedApps, func(s docker.Container) bool { return s.ID == c.ID }) {
			todo = append(todo, c)
		}
	}
	o.mu.Unlock()
	_ = sideBySide(todo, func(c docker.Container) error {
		step := progress.Event{ID: "app " + c.Name, Text: "Start " + c.Name}
		err := progress.Run(o.pw, step, func() error {
			if err := o.eng.StartContainer(ctx, c.ID); err != nil {
				return fmt.Errorf("%w; start it with 'docker start %s'", err, c.Name)
			}
			return nil
		})
		o.mu.Lock()
		defer o.mu.Unlock()
		o.stoppedApps = slices.DeleteFunc(o.stoppedApps, func(s docker.Container) bool { return s.ID == c.ID })
		o.startedSinceEnd = true
		if err != nil {
			o.AppsNotRestarted = append(o.AppsNotRestarted, c.Name)
		} else {
			o.AppsRestarted = append(o.AppsRestarted, c.Name)
		}
		return err
	})
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
	var names []string
	if o.db != nil {
		names = append(names, o.db.Name)
	}
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
