package guardian

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
	"github.com/opsmill/docker-infrahubdb/internal/guardian/agent"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// fakeEngine holds one lock container by name; the daemon runs Windows
// containers, so no guardian binary fits and every lock is a plain one.
type fakeEngine struct {
	mu      sync.Mutex
	holder  *docker.Container
	removed []string
	copied  []string
	copyErr error
	// start stands for StartGuardian (nil: no guardian program runs).
	start func(g *docker.Guardian) error
}

func (f *fakeEngine) Inspect(_ context.Context, name string) (docker.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.holder == nil {
		return docker.Container{}, errors.New("not found")
	}
	return *f.holder, nil
}
func (f *fakeEngine) List(context.Context, map[string]string, bool) ([]docker.Container, error) {
	return nil, nil
}
func (f *fakeEngine) RemoveContainer(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removed = append(f.removed, id)
	f.holder = nil
	return nil
}
func (f *fakeEngine) CreateGuardian(_ context.Context, spec docker.GuardianSpec) (*docker.Guardian, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.holder != nil {
		return nil, docker.ErrNameTaken
	}
	f.holder = &docker.Container{ID: "lock1", Name: spec.Name, Labels: spec.Labels}
	return &docker.Guardian{ID: "lock1", Name: spec.Name}, nil
}
func (f *fakeEngine) StartGuardian(_ context.Context, g *docker.Guardian, _ docker.GuardianSpec) error {
	if f.start == nil {
		return errors.New("no guardian program runs on the fake engine")
	}
	return f.start(g)
}
func (f *fakeEngine) DaemonPlatform(context.Context) (string, string, bool, error) {
	return "windows", "amd64", false, nil
}
func (f *fakeEngine) DaemonHost() string { return "npipe:////./pipe/docker_engine" }
func (f *fakeEngine) VolumesWithLabel(context.Context, string, string) ([]docker.Volume, error) {
	return nil, nil
}
func (f *fakeEngine) RemoveVolume(context.Context, string) error { return nil }
func (f *fakeEngine) CopyFileInto(_ context.Context, id, path string, p *docker.Program) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.copyErr != nil {
		return f.copyErr
	}
	f.copied = append(f.copied, id+":"+path)
	return nil
}

type infos struct{ lines []string }

func (i *infos) Event(progress.Event) {}
func (i *infos) Log(string, string)   {}
func (i *infos) Info(msg string)      { i.lines = append(i.lines, msg) }
func (i *infos) Close()               {}

var db = docker.Container{ID: "0123456789abcdef", Name: "database", Image: "neo4j:5"}

func TestBeginWithoutAGuardianTakesAPlainLock(t *testing.T) {
	f := &fakeEngine{}
	pw := &infos{}
	r, err := Begin(context.Background(), f, db, Options{Command: "backup"}, pw)
	assert.NilError(t, err)
	armed, why := r.Armed()
	assert.Check(t, !armed)
	assert.Check(t, is.Contains(why, "windows"))
	assert.Check(t, is.Equal(f.holder.Name, "infrahubdb-guardian-0123456789ab"))
	assert.Check(t, is.Equal(f.holder.Labels[docker.LabelCommand], "backup"))
	assert.Check(t, is.Equal(f.holder.Labels[docker.LabelOwner], docker.Owner()))
	assert.Check(t, is.Contains(strings.Join(pw.lines, "\n"), "no guardian"))
	// Not armed: stops are not told to anyone and are not refused.
	assert.NilError(t, r.Stopping(context.Background(), "app", 0))
	assert.NilError(t, r.Close(context.Background()))
	assert.Check(t, is.DeepEqual(f.removed, []string{"lock1"}))
}

func TestBeginRefusesALiveHolder(t *testing.T) {
	f := &fakeEngine{holder: &docker.Container{ID: "other", Name: "infrahubdb-guardian-0123456789ab", Running: true,
		Labels: map[string]string{docker.LabelOwner: "elsewhere:1", docker.LabelCommand: "restore"}}}
	_, err := Begin(context.Background(), f, db, Options{Command: "backup"}, &infos{})
	var locked *LockedError
	assert.Assert(t, errors.As(err, &locked), "%v", err)
	assert.Check(t, is.Contains(err.Error(), "restore (pid 1 on elsewhere"))
	assert.Check(t, is.Len(f.removed, 0))
}

func TestBeginRemovesTheLockOfADeadRun(t *testing.T) {
	host := strings.Split(docker.Owner(), ":")[0]
	f := &fakeEngine{holder: &docker.Container{ID: "dead", Name: "infrahubdb-guardian-0123456789ab",
		Labels: map[string]string{docker.LabelOwner: host + ":999999999", docker.LabelCommand: "backup"}}}
	pw := &infos{}
	r, err := Begin(context.Background(), f, db, Options{Command: "restore"}, pw)
	assert.NilError(t, err)
	assert.Check(t, is.DeepEqual(f.removed, []string{"dead"}))
	assert.Check(t, is.Contains(strings.Join(pw.lines, "\n"), "a previous backup run died without finishing"))
	assert.NilError(t, r.Close(context.Background()))
}

// inspectByID is fakeEngine whose Inspect finds the deployment's
// containers by ID.
type inspectByID struct {
	*fakeEngine
	containers map[string]docker.Container
}

func (f inspectByID) Inspect(_ context.Context, id string) (docker.Container, error) {
	c, ok := f.containers[id]
	if !ok {
		return docker.Container{}, errors.New("not found")
	}
	return c, nil
}

// fakeAgent answers every message on conn (armed), and hangs up (the link
// to the Docker host drops) when told to; the channel it returns is closed
// once it has hung up.
func fakeAgent(t *testing.T, conn net.Conn, out io.WriteCloser, hangUp <-chan struct{}) <-chan struct{} {
	return recordingAgent(t, conn, out, hangUp, nil)
}

// recordingAgent is fakeAgent that also keeps every message in seen.
func recordingAgent(t *testing.T, conn net.Conn, out io.WriteCloser, hangUp <-chan struct{}, seen *[]agent.Message) <-chan struct{} {
	t.Helper()
	gone := make(chan struct{})
	lines := make(chan agent.Message)
	go func() {
		defer close(lines)
		dec := json.NewDecoder(conn)
		for {
			var m agent.Message
			if dec.Decode(&m) != nil {
				return
			}
			lines <- m
		}
	}()
	go func() {
		for {
			select {
			case m, ok := <-lines:
				if !ok {
					return
				}
				if seen != nil {
					*seen = append(*seen, m)
				}
				b, _ := json.Marshal(agent.Reply{Seq: m.Seq, Armed: true})
				_, _ = out.Write(append(b, '\n'))
			case <-hangUp:
				_ = conn.Close()
				_ = out.Close()
				close(gone)
				return
			}
		}
	}()
	return gone
}

// The link to the Docker host drops during an outage (an ssh context whose
// connection is cut): the run cannot start the application again and its
// guardian does not hear "done". Close must leave the guardian in place
// (it starts the application and removes itself) and say so, not remove it
// or tell the operator to.
func TestCloseLeavesTheGuardianWhenTheLinkDropped(t *testing.T) {
	app := docker.Container{ID: "app-full-id", Name: "/infrahub-server"}
	f := inspectByID{&fakeEngine{}, map[string]docker.Container{db.ID: db, app.ID: app}}
	plugin, guardian := net.Pipe()
	stdoutR, stdoutW := io.Pipe()
	hangUp := make(chan struct{})
	gone := fakeAgent(t, guardian, stdoutW, hangUp)
	r := &Run{eng: f, db: db, told: map[string]bool{}, g: &docker.Guardian{ID: "lock1", Name: "infrahubdb-guardian-0123456789ab", Conn: plugin, Stdout: stdoutR}}
	ctx := context.Background()
	assert.NilError(t, r.hello(ctx, docker.GuardianSpec{Labels: map[string]string{}}, Options{Command: "backup"}))
	assert.Check(t, r.armed)

	assert.NilError(t, r.Stopping(ctx, app.ID, 0))
	assert.NilError(t, r.Stopping(ctx, db.ID, 0))
	r.Started(ctx, db.ID) // the database came back; the application did not
	close(hangUp)
	<-gone // else the agent may still answer "done" before it hangs up

	err := r.Close(ctx)
	var left *LeftToGuardianError
	assert.Assert(t, errors.As(err, &left), "%v", err)
	assert.Check(t, is.DeepEqual(left.Containers, []string{"infrahub-server"}))
	assert.Check(t, is.Equal(exitcode.Of(err), exitcode.Degraded))
	assert.Check(t, is.ErrorContains(err, "it starts infrahub-server again by itself"))
	assert.Check(t, is.ErrorContains(err, "do not remove it"))
	assert.Check(t, !strings.Contains(err.Error(), "docker rm"), err.Error())
	assert.Check(t, is.Len(f.removed, 0), "the guardian was removed while it brings the deployment back")
}

// On the normal path the guardian hears "done" and the lock is removed,
// even with a container still stopped (the run reports it itself).
func TestCloseRemovesTheGuardianThatHeardTheEnd(t *testing.T) {
	app := docker.Container{ID: "app-full-id", Name: "/infrahub-server"}
	f := inspectByID{&fakeEngine{}, map[string]docker.Container{app.ID: app}}
	plugin, guardian := net.Pipe()
	stdoutR, stdoutW := io.Pipe()
	fakeAgent(t, guardian, stdoutW, make(chan struct{}))
	r := &Run{eng: f, db: db, told: map[string]bool{}, g: &docker.Guardian{ID: "lock1", Name: "infrahubdb-guardian-0123456789ab", Conn: plugin, Stdout: stdoutR}}
	ctx := context.Background()
	assert.NilError(t, r.hello(ctx, docker.GuardianSpec{Labels: map[string]string{}}, Options{Command: "backup"}))
	assert.NilError(t, r.Stopping(ctx, app.ID, 0))
	assert.NilError(t, r.Close(ctx))
	assert.Check(t, is.DeepEqual(f.removed, []string{"lock1"}))
}

// verify --check and --drill hold the same lock: a backup holding it makes
// them refuse naming it, or wait for it with --wait.
func TestReadOnlyRunRefusesOrWaitsForAHolder(t *testing.T) {
	holder := func() *docker.Container {
		return &docker.Container{ID: "backup", Name: "infrahubdb-guardian-0123456789ab", Running: true,
			Labels: map[string]string{docker.LabelOwner: "elsewhere:42", docker.LabelCommand: "backup", docker.LabelStarted: "2026-12-06T10:00:00Z"}}
	}
	f := &fakeEngine{holder: holder()}
	_, err := Begin(context.Background(), f, db, Options{Command: "verify", ReadOnly: true}, &infos{})
	var locked *LockedError
	assert.Assert(t, errors.As(err, &locked), "%v", err)
	assert.Check(t, is.Contains(err.Error(), "another docker infrahubdb run holds this deployment: backup (pid 42 on elsewhere, started 2026-12-06T10:00:00Z"))

	f = &fakeEngine{holder: holder()}
	go func() {
		time.Sleep(1500 * time.Millisecond) // the backup ends while verify waits
		_ = f.RemoveContainer(context.Background(), "backup")
	}()
	pw := &infos{}
	r, err := Begin(context.Background(), f, db, Options{Command: "verify", ReadOnly: true, Wait: time.Minute}, pw)
	assert.NilError(t, err)
	out := strings.Join(pw.lines, "\n")
	assert.Check(t, is.Contains(out, "waiting up to"))
	assert.Check(t, is.Contains(out, "run lock infrahubdb-guardian-0123456789ab taken: no backup or restore changes the deployment until this verify ends"))
	assert.Check(t, is.Equal(f.holder.Labels[docker.LabelCommand], "verify"))
	assert.NilError(t, r.Close(context.Background()))
}

// The storage's safety copy is copied into the guardian, and the guardian
// hears where it is with the storage's "replacing" only: once replaced,
// it drops it. A failed copy (the Docker host's disk full) is an error
// that says what it needs.
func TestKeepCopyTellsTheGuardianWithTheReplacement(t *testing.T) {
	f := &fakeEngine{}
	plugin, guardian := net.Pipe()
	stdoutR, stdoutW := io.Pipe()
	var seen []agent.Message
	recordingAgent(t, guardian, stdoutW, make(chan struct{}), &seen)
	r := &Run{eng: f, db: db, told: map[string]bool{}, g: &docker.Guardian{ID: "lock1", Name: "infrahubdb-guardian-0123456789ab", Conn: plugin, Stdout: stdoutR}}
	ctx := context.Background()
	assert.NilError(t, r.hello(ctx, docker.GuardianSpec{Labels: map[string]string{}}, Options{Command: "restore"}))
	archive := &docker.Program{Size: 3, Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("tar")), nil }}
	assert.NilError(t, r.KeepCopy(ctx, "storage", "helper-1", "/storage", archive))
	assert.Check(t, is.DeepEqual(f.copied, []string{"lock1:/infrahubdb-safety/storage.tar"}))
	assert.NilError(t, r.Component(ctx, "storage", agent.ComponentReplacing, "/b/safety/storage.tar"))
	assert.NilError(t, r.Component(ctx, "storage", agent.ComponentNew, ""))
	assert.NilError(t, r.Close(ctx))
	var comps []agent.Message
	for _, m := range seen {
		if m.Op == agent.OpComponent {
			comps = append(comps, m)
		}
	}
	assert.Assert(t, is.Len(comps, 2))
	assert.Check(t, is.Equal(comps[0].PutBackArchive, "/infrahubdb-safety/storage.tar"))
	assert.Check(t, is.Equal(comps[0].Helper, "helper-1"))
	assert.Check(t, is.Equal(comps[0].MountPoint, "/storage"))
	assert.Check(t, is.Equal(comps[1].PutBackArchive, ""))

	f.copyErr = errors.New("no space left on device")
	r.armed = true
	err := r.KeepCopy(ctx, "storage", "helper-1", "/storage", archive)
	assert.Check(t, is.ErrorContains(err, "free space on the Docker host for one more copy of the storage"))
	assert.Check(t, is.ErrorContains(err, "no space left on device"))
}

// Without an armed guardian nothing is copied.
func TestKeepCopyWithoutAGuardianCopiesNothing(t *testing.T) {
	f := &fakeEngine{}
	r, err := Begin(context.Background(), f, db, Options{Command: "restore"}, &infos{})
	assert.NilError(t, err)
	defer r.Close(context.Background())
	assert.NilError(t, r.KeepCopy(context.Background(), "storage", "h", "/storage", &docker.Program{}))
	assert.Check(t, is.Len(f.copied, 0))
}

// A restore's own rollback extracts the safety copy in a helper of its
// own: told it before it touches the storage, the guardian hears the
// storage is being replaced again, in that helper, with the copy it holds
// (a run lost mid-rollback is put back there, not in the restore's helper,
// removed by then). Once the guardian dropped its copy, PutBackIn says so.
func TestPutBackInNamesTheRollbacksHelper(t *testing.T) {
	f := &fakeEngine{}
	plugin, guardian := net.Pipe()
	stdoutR, stdoutW := io.Pipe()
	var seen []agent.Message
	recordingAgent(t, guardian, stdoutW, make(chan struct{}), &seen)
	r := &Run{eng: f, db: db, told: map[string]bool{}, g: &docker.Guardian{ID: "lock1", Name: "infrahubdb-guardian-0123456789ab", Conn: plugin, Stdout: stdoutR}}
	ctx := context.Background()
	assert.NilError(t, r.hello(ctx, docker.GuardianSpec{Labels: map[string]string{}}, Options{Command: "restore"}))
	assert.Check(t, !r.PutBackIn("storage", "rollback-1"), "no copy given yet")
	archive := &docker.Program{Size: 3, Open: func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader("tar")), nil }}
	assert.NilError(t, r.KeepCopy(ctx, "storage", "restore-1", "/storage", archive))
	assert.NilError(t, r.Component(ctx, "storage", agent.ComponentReplacing, "/b/safety/storage.tar"))
	assert.Check(t, r.PutBackIn("storage", "rollback-1"))
	assert.NilError(t, r.Component(ctx, "storage", agent.ComponentReplacing, "/b/safety/storage.tar"))
	assert.NilError(t, r.Component(ctx, "storage", agent.ComponentOld, ""))
	assert.Check(t, !r.PutBackIn("storage", "rollback-2"), "the guardian dropped its copy once told the storage's next state")
	assert.NilError(t, r.Close(ctx))
	var comps []agent.Message
	for _, m := range seen {
		if m.Op == agent.OpComponent {
			comps = append(comps, m)
		}
	}
	assert.Assert(t, is.Len(comps, 3))
	assert.Check(t, is.Equal(comps[0].Helper, "restore-1"))
	assert.Check(t, is.Equal(comps[1].State, agent.ComponentReplacing))
	assert.Check(t, is.Equal(comps[1].Helper, "rollback-1"), "the rollback's helper")
	assert.Check(t, is.Equal(comps[1].PutBackArchive, "/infrahubdb-safety/storage.tar"), "the same copy")
	assert.Check(t, is.Equal(comps[1].MountPoint, "/storage"))
	assert.Check(t, is.Equal(comps[2].PutBackArchive, ""))
}

// The run gives up on the engine before the guardian would act on the
// silence: never. The last ping answered came at most a heartbeat and a
// ping before the link hung, and the guardian acts one grace period after
// the last message it heard.
func TestEngineSilenceLimitOutlastsTheGuardiansGrace(t *testing.T) {
	assert.Check(t, is.Equal(EngineSilenceLimit(0), 2*agent.DefaultGrace), "the documented default")
	for _, grace := range []time.Duration{0, time.Second, 3 * time.Second, agent.DefaultGrace, time.Minute} {
		g := grace
		if g == 0 {
			g = agent.DefaultGrace
		}
		assert.Check(t, EngineSilenceLimit(grace) >= g+heartbeat+EnginePing, "grace %s: limit %s", grace, EngineSilenceLimit(grace))
	}
}

// cutEngineLink makes the process's engine link one the run gave up on.
func cutEngineLink(t *testing.T) error {
	t.Helper()
	l := docker.NewLink(func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no dial in this test")
	}, "ssh://admin@docker-host")
	cause := &docker.EngineSilentError{Host: "ssh://admin@docker-host", Silence: EngineSilenceLimit(0)}
	l.Cut(cause)
	docker.SetEngineLink(l)
	t.Cleanup(func() { docker.SetEngineLink(nil) })
	return cause
}

// The run gave up on an engine that stopped answering (the link hangs)
// with a container still stopped: the guardian is left to bring it back,
// and the error says the engine stopped answering.
func TestCloseAfterTheRunGaveUpOnTheEngine(t *testing.T) {
	app := docker.Container{ID: "app-full-id", Name: "/infrahub-server"}
	f := inspectByID{&fakeEngine{}, map[string]docker.Container{db.ID: db, app.ID: app}}
	plugin, guardian := net.Pipe()
	stdoutR, stdoutW := io.Pipe()
	hangUp := make(chan struct{})
	gone := fakeAgent(t, guardian, stdoutW, hangUp)
	r := &Run{eng: f, db: db, told: map[string]bool{}, g: &docker.Guardian{ID: "lock1", Name: "infrahubdb-guardian-0123456789ab", Conn: plugin, Stdout: stdoutR}}
	ctx := context.Background()
	assert.NilError(t, r.hello(ctx, docker.GuardianSpec{Labels: map[string]string{}}, Options{Command: "backup"}))
	assert.NilError(t, r.Stopping(ctx, app.ID, 0))
	cause := cutEngineLink(t)
	close(hangUp) // the cut closed the attach
	<-gone

	err := r.Close(ctx)
	var left *LeftToGuardianError
	assert.Assert(t, errors.As(err, &left), "%v", err)
	assert.Check(t, is.Equal(left.Err, cause))
	assert.Check(t, is.Equal(exitcode.Of(err), exitcode.Degraded))
	assert.Check(t, is.ErrorContains(err, "did not hear this run end (the Docker engine at ssh://admin@docker-host stopped answering"))
	assert.Check(t, is.ErrorContains(err, "it starts infrahub-server again by itself"))
	assert.Check(t, is.Len(f.removed, 0))
}

// With nothing left stopped, a run that gave up on the engine does not
// try to remove its lock, nor tells the operator to: the guardian removes
// itself once it hears nothing more.
func TestCloseAfterTheRunGaveUpOnTheEngineWithNothingStopped(t *testing.T) {
	f := inspectByID{&fakeEngine{}, map[string]docker.Container{db.ID: db}}
	plugin, guardian := net.Pipe()
	stdoutR, stdoutW := io.Pipe()
	hangUp := make(chan struct{})
	gone := fakeAgent(t, guardian, stdoutW, hangUp)
	r := &Run{eng: f, db: db, told: map[string]bool{}, g: &docker.Guardian{ID: "lock1", Name: "infrahubdb-guardian-0123456789ab", Conn: plugin, Stdout: stdoutR}}
	ctx := context.Background()
	assert.NilError(t, r.hello(ctx, docker.GuardianSpec{Labels: map[string]string{}}, Options{Command: "backup"}))
	cutEngineLink(t)
	close(hangUp)
	<-gone

	err := r.Close(ctx)
	assert.Check(t, is.ErrorContains(err, "stopped answering"))
	assert.Check(t, is.ErrorContains(err, "it removes itself, and the run lock with it"))
	assert.Check(t, !strings.Contains(err.Error(), "docker rm"), err.Error())
	assert.Check(t, is.Len(f.removed, 0), "the run removed its lock through an engine it gave up on")
}

// The guardian starts and answers while the run takes its first steps
// (Begin does not wait for it): a stop waits for it and is told to it,
// never let through unguarded while it is still starting.
func TestStoppingWaitsForTheGuardianToArm(t *testing.T) {
	app := docker.Container{ID: "app-full-id", Name: "/infrahub-server"}
	plugin, guardian := net.Pipe()
	stdoutR, stdoutW := io.Pipe()
	var seen []agent.Message
	recordingAgent(t, guardian, stdoutW, make(chan struct{}), &seen)
	starting := make(chan struct{})
	fe := &fakeEngine{start: func(g *docker.Guardian) error {
		<-starting
		g.Conn, g.Stdout = plugin, stdoutR
		return nil
	}}
	f := inspectByID{fe, map[string]docker.Container{db.ID: db, app.ID: app}}
	r := &Run{eng: f, db: db, told: map[string]bool{}, ready: make(chan struct{}), g: &docker.Guardian{ID: "lock1", Name: "infrahubdb-guardian-0123456789ab"}}
	ctx := context.Background()
	var pw infos
	go r.arm(ctx, docker.GuardianSpec{Labels: map[string]string{}}, Options{Command: "backup"}, &pw)

	stopped := make(chan error, 1)
	go func() { stopped <- r.Stopping(ctx, app.ID, 0) }()
	close(starting)
	assert.NilError(t, <-stopped)
	var ops []string
	for _, m := range seen {
		ops = append(ops, m.Op)
	}
	assert.Check(t, is.DeepEqual(ops, []string{agent.OpHello, agent.OpStopping}))
	assert.Check(t, is.Len(pw.lines, 1))
	assert.Check(t, is.Contains(strings.Join(pw.lines, "\n"), "guardian infrahubdb-guardian-0123456789ab armed"))
	assert.NilError(t, r.Close(ctx))
	assert.Check(t, is.DeepEqual(fe.removed, []string{"lock1"}))
}

// A guardian that does not start fails the run at the first call that
// needs it, before anything stops (as it failed Begin before the guardian
// answered in the background), and the lock container goes; a run that
// never needed it hears it at its end.
func TestAGuardianThatDoesNotStartFailsTheRunBeforeAnythingStops(t *testing.T) {
	ctx := context.Background()
	arm := func() (*Run, *fakeEngine) {
		fe := &fakeEngine{
			holder: &docker.Container{ID: "lock1", Name: "infrahubdb-guardian-0123456789ab"},
			start: func(*docker.Guardian) error {
				return errors.New("copy the guardian into infrahubdb-guardian-0123456789ab: no space left on device")
			},
		}
		r := &Run{eng: fe, db: db, told: map[string]bool{}, ready: make(chan struct{}), g: &docker.Guardian{ID: "lock1", Name: "infrahubdb-guardian-0123456789ab"}}
		go r.arm(ctx, docker.GuardianSpec{Labels: map[string]string{}}, Options{Command: "restore"}, &infos{})
		return r, fe
	}

	r, fe := arm()
	err := r.Stopping(ctx, "app-full-id", 0)
	assert.Check(t, is.ErrorContains(err, "no space left on device"))
	assert.Check(t, is.ErrorContains(err, "app-full-id is not stopped"))
	assert.Check(t, is.ErrorContains(r.Replacing(ctx, "helper", nil), "nothing was replaced"))
	armed, why := r.Armed()
	assert.Check(t, !armed)
	assert.Check(t, is.Contains(why, "no space left on device"))
	assert.Check(t, is.DeepEqual(fe.removed, []string{"lock1"}), "the lock container of a guardian that did not start is left")
	assert.NilError(t, r.Close(ctx), "the run already failed on it")
	assert.Check(t, is.Len(fe.removed, 1))

	r, _ = arm()
	assert.Check(t, is.ErrorContains(r.Close(ctx), "no space left on device"), "a run that needed no guardian still hears it lost its lock")
}

// A lazy run (a backup of the task manager and the storage alone) that
// stops nothing and starts nothing never starts its guardian: Close
// removes the lock alone.
func TestLazyRunThatNeedsNoGuardianNeverStartsIt(t *testing.T) {
	started := 0
	fe := &fakeEngine{start: func(*docker.Guardian) error { started++; return nil }}
	r := &Run{eng: fe, db: db, told: map[string]bool{}, ready: make(chan struct{}), g: &docker.Guardian{ID: "lock1", Name: "infrahubdb-guardian-0123456789ab"}}
	var pw infos
	ctx := context.Background()
	r.prepareArm(ctx, docker.GuardianSpec{Labels: map[string]string{}}, Options{Command: "backup", Lazy: true}, &pw)
	r.Started(ctx, "some-container") // a start it was never told of a stop for
	assert.NilError(t, r.Close(ctx))
	assert.Check(t, is.Equal(started, 0))
	assert.Check(t, is.DeepEqual(fe.removed, []string{"lock1"}))
	assert.Check(t, is.DeepEqual(pw.lines, []string{"run lock infrahubdb-guardian-0123456789ab taken: its guardian starts if this backup stops a container or starts one, or runs for more than 3s"}))
}

// A lazy run that goes on for longer than LazyArmAfter starts its guardian
// anyway: a lock without one, left by a client that died, is one that a
// run from another host cannot prove gone.
func TestLazyRunArmsAfterAWhile(t *testing.T) {
	defer func(d time.Duration) { LazyArmAfter = d }(LazyArmAfter)
	LazyArmAfter = 20 * time.Millisecond
	plugin, guardian := net.Pipe()
	stdoutR, stdoutW := io.Pipe()
	var seen []agent.Message
	recordingAgent(t, guardian, stdoutW, make(chan struct{}), &seen)
	fe := &fakeEngine{start: func(g *docker.Guardian) error {
		g.Conn, g.Stdout = plugin, stdoutR
		return nil
	}}
	r := &Run{eng: fe, db: db, told: map[string]bool{}, ready: make(chan struct{}), g: &docker.Guardian{ID: "lock1", Name: "infrahubdb-guardian-0123456789ab"}}
	pw := &infos{}
	r.prepareArm(context.Background(), docker.GuardianSpec{Labels: map[string]string{}}, Options{Command: "backup", Lazy: true}, pw)
	select {
	case <-r.ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the guardian never started")
	}
	assert.Check(t, r.armed)
	assert.NilError(t, r.Close(context.Background()))
	assert.Check(t, len(seen) > 0 && seen[0].Op == agent.OpHello, "%v", seen)
	assert.Check(t, is.Contains(strings.Join(pw.lines, "\n"), "guardian infrahubdb-guardian-0123456789ab armed"))
}

// A lazy run arms its guardian before the first container it starts (a
// helper that runs) and before the first it stops, and waits for it; a
// guardian that does not start fails that start, and nothing starts.
func TestLazyRunArmsBeforeItsFirstStartOrStop(t *testing.T) {
	app := docker.Container{ID: "app-full-id", Name: "/infrahub-server"}
	ctx := context.Background()
	lazyRun := func(start func(g *docker.Guardian) error) (*Run, *fakeEngine, *infos) {
		fe := &fakeEngine{holder: &docker.Container{ID: "lock1", Name: "infrahubdb-guardian-0123456789ab"}, start: start}
		f := inspectByID{fe, map[string]docker.Container{db.ID: db, app.ID: app}}
		r := &Run{eng: f, db: db, told: map[string]bool{}, ready: make(chan struct{}), g: &docker.Guardian{ID: "lock1", Name: "infrahubdb-guardian-0123456789ab"}}
		pw := &infos{}
		r.prepareArm(ctx, docker.GuardianSpec{Labels: map[string]string{}}, Options{Command: "backup", Lazy: true}, pw)
		return r, fe, pw
	}
	for _, first := range []string{"start", "stop"} {
		t.Run(first, func(t *testing.T) {
			plugin, guardian := net.Pipe()
			stdoutR, stdoutW := io.Pipe()
			var seen []agent.Message
			recordingAgent(t, guardian, stdoutW, make(chan struct{}), &seen)
			r, fe, pw := lazyRun(func(g *docker.Guardian) error {
				g.Conn, g.Stdout = plugin, stdoutR
				return nil
			})
			if first == "start" {
				assert.NilError(t, r.Starting(ctx, "helper-id"))
			} else {
				assert.NilError(t, r.Stopping(ctx, app.ID, 0))
			}
			armed, _ := r.Armed()
			assert.Check(t, armed, "armed before the %s went ahead", first)
			assert.Check(t, is.Contains(strings.Join(pw.lines, "\n"), "guardian infrahubdb-guardian-0123456789ab armed"))
			if first == "stop" {
				r.Started(ctx, app.ID)
			}
			assert.NilError(t, r.Close(ctx))
			assert.Check(t, is.DeepEqual(fe.removed, []string{"lock1"}))
			assert.Check(t, len(seen) > 0 && seen[0].Op == agent.OpHello, "%v", seen)
		})
	}
	t.Run("guardian does not start", func(t *testing.T) {
		r, fe, _ := lazyRun(func(*docker.Guardian) error { return errors.New("no space left on device") })
		err := r.Starting(ctx, "helper-id")
		assert.Check(t, is.ErrorContains(err, "no space left on device"))
		assert.Check(t, is.ErrorContains(err, "helper-id is not started"))
		assert.NilError(t, r.Close(ctx), "the run already failed on it")
		assert.Check(t, is.DeepEqual(fe.removed, []string{"lock1"}))
	})
}

// An eager run's starts never wait for its guardian (it was armed from
// Begin, beside the run's first steps).
func TestEagerRunsStartsDoNotWaitForTheGuardian(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	fe := &fakeEngine{start: func(*docker.Guardian) error { <-block; return errors.New("never") }}
	r := &Run{eng: fe, db: db, told: map[string]bool{}, ready: make(chan struct{}), g: &docker.Guardian{ID: "lock1", Name: "infrahubdb-guardian-0123456789ab"}}
	r.prepareArm(context.Background(), docker.GuardianSpec{Labels: map[string]string{}}, Options{Command: "backup"}, &infos{})
	assert.NilError(t, r.Starting(context.Background(), "helper-id"))
}
