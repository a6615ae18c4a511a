package deployment_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"gotest.tools/v3/poll"

	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// barrierEngine records stops and starts; the containers of a barrier group
// only return once all of them are inside their call together, which proves
// they run side by side (one after another, the first would wait forever:
// the test fails after hang instead of hanging).
type barrierEngine struct {
	mu      sync.Mutex
	calls   []string
	running map[string]bool
	groups  map[string]*barrier // container ID -> its group's barrier
}

type barrier struct {
	n    int
	in   int
	done chan struct{}
}

const hang = 30 * time.Second

func newBarrierEngine(groups ...[]string) *barrierEngine {
	e := &barrierEngine{running: map[string]bool{}, groups: map[string]*barrier{}}
	for _, g := range groups {
		b := &barrier{n: len(g), done: make(chan struct{})}
		for _, id := range g {
			e.groups[id] = b
		}
	}
	return e
}

func (e *barrierEngine) enter(call, id string) error {
	e.mu.Lock()
	e.calls = append(e.calls, call+" "+id)
	b := e.groups[id]
	if b != nil {
		b.in++
		if b.in == b.n {
			close(b.done)
		}
	}
	e.mu.Unlock()
	if b == nil {
		return nil
	}
	select {
	case <-b.done:
		return nil
	case <-time.After(hang):
		return fmt.Errorf("%s %s: the others of its rank never ran beside it", call, id)
	}
}

func (e *barrierEngine) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	err := e.enter("stop", id)
	e.mu.Lock()
	e.running[id] = false
	e.mu.Unlock()
	return err
}

func (e *barrierEngine) StartContainer(ctx context.Context, id string) error {
	err := e.enter("start", id)
	e.mu.Lock()
	e.running[id] = true
	e.mu.Unlock()
	return err
}

func (e *barrierEngine) Inspect(ctx context.Context, id string) (docker.Container, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return docker.Container{ID: id, Running: e.running[id]}, nil
}

func (e *barrierEngine) index(call string) int { return slices.Index(e.calls, call) }

// indexLocked is index while calls may still come in.
func (e *barrierEngine) indexLocked(call string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.index(call)
}

func app(id, service string) docker.Container {
	return docker.Container{ID: id, Name: "infrahub-" + id, ComposeProject: "infrahub", ComposeService: service, Running: true}
}

// Stock Infrahub: workers stop first and together, then the server, then the
// task manager, then the database; the database starts, the task manager
// beside the wait for Neo4j, then (once online) the server, the workers
// together
// (docs/outage.md).
func TestOutageFollowsTheDependencyOrderSideBySide(t *testing.T) {
	db := docker.Container{ID: "db", Name: "infrahub-database-1", ComposeService: "database", Running: true}
	apps := []docker.Container{app("tm", "task-manager"), app("server", "infrahub-server"), app("w1", "task-worker"), app("w2", "task-worker")}
	eng := newBarrierEngine([]string{"w1", "w2"})
	o := deployment.NewOutage(eng, db, apps, time.Minute, progress.Nop)
	ctx := context.Background()

	assert.NilError(t, o.StopApps(ctx))
	assert.NilError(t, o.StopDatabase(ctx))
	assert.Check(t, eng.index("stop w1") < eng.index("stop server") && eng.index("stop w2") < eng.index("stop server"))
	assert.Check(t, eng.index("stop server") < eng.index("stop tm"))
	assert.Check(t, eng.index("stop tm") < eng.index("stop db"), "every application is quiet before the database stops")

	b := &barrier{n: 2, done: make(chan struct{})}
	eng.groups = map[string]*barrier{"w1": b, "w2": b}
	assert.NilError(t, o.StartDatabase(ctx))
	// The task manager (the database's rank; it does not use Neo4j)
	// starts while the caller waits for Neo4j, without StartApps; nothing
	// else does.
	poll.WaitOn(t, func(poll.LogT) poll.Result {
		if eng.indexLocked("start tm") >= 0 {
			return poll.Success()
		}
		return poll.Continue("the task manager has not started")
	}, poll.WithTimeout(hang))
	assert.Check(t, is.Equal(eng.indexLocked("start server"), -1))
	o.StartApps(ctx)
	assert.Check(t, eng.index("start db") < eng.index("start tm"))
	assert.Check(t, eng.index("start tm") < eng.index("start server"))
	assert.Check(t, eng.index("start server") < eng.index("start w1") && eng.index("start server") < eng.index("start w2"))
	assert.Check(t, is.DeepEqual(o.AppsRestarted[:2], []string{"infrahub-tm", "infrahub-server"}))
	assert.Check(t, is.Len(o.AppsRestarted, 4))
	assert.Check(t, is.Len(o.AppsNotRestarted, 0))
	assert.Check(t, o.Downtime() > 0)
	assert.Check(t, is.DeepEqual(o.Names(), []string{"infrahub-database-1", "infrahub-tm", "infrahub-server", "infrahub-w1", "infrahub-w2"}))

	// A second StartApps has nothing left to start and changes nothing.
	before := len(eng.calls)
	o.StartApps(ctx)
	assert.Check(t, is.Len(eng.calls, before))
}

// An application outage (online restore) stops the task manager too, and a
// failed stop still starts the container again: it may have stopped.
func TestAppOutageStartsAgainWhatMayHaveStopped(t *testing.T) {
	apps := []docker.Container{app("tm", "task-manager"), app("server", "infrahub-server")}
	eng := &failingStop{barrierEngine: newBarrierEngine(), fail: "server"}
	o := deployment.NewAppOutage(eng, apps, progress.Nop)

	err := o.StopApps(context.Background())
	o.StartApps(context.Background())

	assert.Check(t, is.ErrorContains(err, "stop application container infrahub-server: permission denied"))
	assert.Check(t, eng.index("stop tm") < 0, "the task manager is not stopped after the server failed to")
	assert.Check(t, is.DeepEqual(o.AppsRestarted, []string{"infrahub-server"}))
	assert.Check(t, is.DeepEqual(o.Names(), []string{"infrahub-tm", "infrahub-server"}))
}

type failingStop struct {
	*barrierEngine
	fail string
}

func (f *failingStop) StopContainer(ctx context.Context, id string, timeout time.Duration) error {
	err := f.barrierEngine.StopContainer(ctx, id, timeout)
	if id == f.fail {
		return errors.New("permission denied")
	}
	return err
}

// With StopWithDatabase (nothing runs beside the database's stop), the task
// manager stops side by side with the database, after the server.
func TestOutageStopsTheTaskManagerWithTheDatabase(t *testing.T) {
	db := docker.Container{ID: "db", Name: "infrahub-database-1", ComposeService: "database", Running: true}
	apps := []docker.Container{app("tm", "task-manager"), app("server", "infrahub-server")}
	eng := newBarrierEngine([]string{"db", "tm"})
	o := deployment.NewOutage(eng, db, apps, time.Minute, progress.Nop).StopWithDatabase()
	ctx := context.Background()

	assert.NilError(t, o.StopApps(ctx))
	assert.Check(t, eng.index("stop tm") < 0, "the task manager waits for the database's stop")
	assert.NilError(t, o.StopDatabase(ctx))
	assert.Check(t, eng.index("stop server") < eng.index("stop tm") && eng.index("stop server") < eng.index("stop db"))

	eng.groups = map[string]*barrier{}
	assert.NilError(t, o.StartDatabase(ctx))
	o.StartApps(ctx)
	assert.Check(t, is.Len(o.AppsRestarted, 2))
}

// Containers set aside (the cache and the message queue) are left out of
// StopApps and StopDatabase; Beside stops them once everything that uses
// them is stopped, works on them side by side while the caller goes on (a
// safety dump), and starts each again; StartApps waits for those starts
// before it starts anything. A failed work still starts its container.
func TestOutageBesideRunsAsideContainersOffTheCriticalPath(t *testing.T) {
	db := docker.Container{ID: "db", Name: "infrahub-database-1", ComposeService: "database", Running: true}
	apps := []docker.Container{app("cache", "cache"), app("mq", "message-queue"), app("tm", "task-manager"), app("server", "infrahub-server")}
	eng := newBarrierEngine([]string{"cache", "mq"})
	o := deployment.NewOutage(eng, db, apps, time.Minute, progress.Nop).StopWithDatabase().SetAside("cache", "message-queue")
	ctx := context.Background()

	assert.NilError(t, o.StopApps(ctx))
	assert.NilError(t, o.StopDatabase(ctx))
	assert.Check(t, eng.index("stop cache") < 0 && eng.index("stop mq") < 0, "left running by StopApps and StopDatabase")

	release := make(chan struct{})
	var worked sync.WaitGroup
	worked.Add(2)
	wait := o.Beside(ctx, func(ctx context.Context, c docker.Container) error {
		worked.Done()
		worked.Wait() // side by side: each waits for the other
		<-release
		if c.ID == "mq" {
			return errors.New("disk full")
		}
		return nil
	})
	// Beside returned while the work waits: the caller's own step runs beside it.
	close(release)
	err := wait()
	assert.Check(t, is.ErrorContains(err, "disk full"))

	assert.NilError(t, o.StartDatabase(ctx))
	o.StartApps(ctx)
	for _, c := range []string{"cache", "mq"} {
		assert.Check(t, eng.index("stop tm") < eng.index("stop "+c) && eng.index("stop db") < eng.index("stop "+c), "%s stops after what uses it", c)
		assert.Check(t, eng.index("stop "+c) < eng.index("start "+c))
		assert.Check(t, eng.index("start "+c) < eng.index("start tm"), "%s runs again before the applications", c)
		assert.Check(t, eng.running[c], c)
	}
	assert.Check(t, is.Len(o.AppsRestarted, 4))
	assert.Check(t, is.Len(o.AppsNotRestarted, 0))
	before := len(eng.calls)
	o.StartApps(ctx)
	assert.Check(t, is.Len(eng.calls, before), "each started once")
}

// StartDatabase and StartApps wait for Beside's starts: no application
// starts before the containers set aside run again, even when the caller
// fails early and does not wait, and the database does not start beside
// them (a container started beside another slows both).
func TestOutageStartsWaitForBeside(t *testing.T) {
	db := docker.Container{ID: "db", Name: "infrahub-database-1", ComposeService: "database", Running: true}
	apps := []docker.Container{app("cache", "cache"), app("server", "infrahub-server")}
	eng := newBarrierEngine()
	o := deployment.NewOutage(eng, db, apps, time.Minute, progress.Nop).SetAside("cache")
	ctx := context.Background()

	assert.NilError(t, o.StopApps(ctx))
	assert.NilError(t, o.StopDatabase(ctx))
	release := make(chan struct{})
	_ = o.Beside(ctx, func(context.Context, docker.Container) error { <-release; return nil })
	go func() { time.Sleep(50 * time.Millisecond); close(release) }()
	assert.NilError(t, o.StartDatabase(ctx))
	o.StartApps(ctx)
	assert.Check(t, eng.index("start cache") >= 0 && eng.index("start cache") < eng.index("start db"))
	assert.Check(t, eng.index("start db") < eng.index("start server"))
}
