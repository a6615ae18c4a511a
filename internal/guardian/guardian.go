// Package guardian owns a deployment for the length of one plugin run: the
// run lock on the Docker host (a container named after the database
// container, whose creation is atomic) and, in that same container, the
// guardian (package agent) that brings the deployment back when the client
// dies mid-outage. It also reports what earlier runs left: records of
// guardians that acted, locks and helpers of dead runs.
package guardian

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
	"github.com/opsmill/docker-infrahubdb/internal/guardian/agent"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Engine is what a run's owner needs from the Docker engine.
type Engine interface {
	Inspect(ctx context.Context, nameOrID string) (docker.Container, error)
	List(ctx context.Context, labels map[string]string, all bool) ([]docker.Container, error)
	RemoveContainer(ctx context.Context, id string) error
	CreateGuardian(ctx context.Context, spec docker.GuardianSpec) (*docker.Guardian, error)
	StartGuardian(ctx context.Context, g *docker.Guardian, spec docker.GuardianSpec) error
	DaemonPlatform(ctx context.Context) (os, arch string, rootless bool, err error)
	DaemonHost() string
	VolumesWithLabel(ctx context.Context, label, value string) ([]docker.Volume, error)
	RemoveVolume(ctx context.Context, name string) error
	CopyFileInto(ctx context.Context, id, path string, p *docker.Program) error
}

// Options of a run.
type Options struct {
	Command string        // backup, restore, verify
	Wait    time.Duration // how long to wait for another run's lock; 0 refuses at once
	Grace   time.Duration // how long the guardian waits for a lost client; 0: agent.DefaultGrace
	// ReadOnly is a run that stops nothing (verify --check, --drill): it
	// holds the lock only; its guardian, when armed, has nothing to bring
	// back and is its heartbeat.
	ReadOnly bool
	// Lazy is a run that may need no guardian (a backup of the task
	// manager and the storage alone: an exec and a helper that is only
	// created): its guardian starts at the first call that needs it (a
	// stop, a container start, Armed) or after LazyArmAfter, not beside
	// the run's first steps, where its start (a container and a 6 MiB
	// copy) would take CPU from the capture; a shorter run that needs none
	// never starts it, and holds the lock alone. Nothing changes before an
	// armed guardian knows it.
	Lazy bool
}

// heartbeat is how often the plugin tells the guardian it is alive.
const heartbeat = 2 * time.Second

// EnginePing is how often a run that holds a deployment pings the Docker
// engine (EngineSilenceLimit).
const EnginePing = heartbeat

// EngineSilenceLimit is how long a run that holds a deployment waits for a
// Docker engine that stopped answering (an ssh:// link that hangs, a frozen
// Docker host) before it gives up on it, for a guardian grace period of
// grace (0: agent.DefaultGrace): twice the grace (20 s by default), and
// at least the grace plus a heartbeat and a ping. The guardian acts once
// it heard nothing from the run for grace; the last ping the run saw
// answered came at most one heartbeat and one ping before the link hung,
// so by the time the run gives up, its guardian, which heard the link go
// silent as well, has begun to bring the deployment back: the run never
// gives up on a link the guardian still trusts.
func EngineSilenceLimit(grace time.Duration) time.Duration {
	if grace <= 0 {
		grace = agent.DefaultGrace
	}
	return grace + max(grace, heartbeat+EnginePing)
}

// binaryPath is where the guardian's binary lands in its container.
const binaryPath = "/infrahubdb-guardian"

// Run is one run's hold on a deployment.
type Run struct {
	eng   Engine
	db    docker.Container
	g     *docker.Guardian
	armed bool
	why   string // why the guardian is not armed
	from  string // where the guardian's binary came from
	// ready is closed once arm ended (nil: nothing to wait for); armErr
	// is why it failed, reported once (armTold) by the first call that
	// needed the guardian, else by Close.
	ready   chan struct{}
	armErr  error
	armTold bool
	// startArm starts arm once (Options.Lazy: at the first call that
	// needs the guardian or from lazyTimer; else in Begin); armBegun says
	// it did.
	startArm  func()
	armBegun  atomic.Bool
	lazyTimer *time.Timer // a lazy run's: starts its guardian after LazyArmAfter

	mu      sync.Mutex
	seq     int
	replies chan agent.Reply
	lost    error           // the guardian stopped answering
	told    map[string]bool // containers the guardian was told about
	down    []stopped       // those not started again since, in stop order
	// kept are the components whose safety copy is in the guardian
	// (KeepCopy): told with their next "replacing" state.
	kept   map[string]agent.Message
	stopHB chan struct{}
	hbDone chan struct{}
}

// stopped is a container the guardian was told about: the IDs it goes by
// (the one the stop was asked with, the full one) and its name.
type stopped struct {
	ids  [2]string
	name string
}

// LockName is the name of the lock (and guardian) container of a database
// container: one per deployment, whatever the folder or the client.
func LockName(db docker.Container) string {
	id := db.ID
	if len(id) > 12 {
		id = id[:12]
	}
	return "infrahubdb-guardian-" + id
}

// Begin takes the run lock on the deployment of db and reports what
// earlier runs left; the guardian in it, where one can run, starts and
// answers while the run does its first work (arm): nothing waits for it
// but what needs it, and nothing stops before it is armed (Stopping and
// every other call to it wait for arm to end). Close releases it.
func Begin(ctx context.Context, eng Engine, db docker.Container, opts Options, pw progress.Writer) (*Run, error) {
	r := &Run{eng: eng, db: db, told: map[string]bool{}, ready: make(chan struct{})}
	spec, err := r.spec(ctx, opts)
	if err != nil {
		return nil, err
	}
	if err := r.acquire(ctx, spec, opts.Wait, pw); err != nil {
		return nil, err
	}
	reportRecords(ctx, eng, db, pw)
	if spec.Binary == nil {
		close(r.ready)
		r.announce(opts, pw)
		return r, nil
	}
	r.prepareArm(ctx, spec, opts, pw)
	return r, nil
}

// LazyArmAfter is how long a lazy run (Options.Lazy) goes without its
// guardian at most. A run that never starts it leaves, if its client
// dies, a lock without a guardian, which a run from another host cannot
// prove gone (it is refused, and told to remove the lock; one from the
// same host takes it over): a longer run starts its guardian anyway, a
// short one (the storage's capture of 256 MiB: 1 s) never needs to.
var LazyArmAfter = 3 * time.Second

// prepareArm readies arm to run once: now, beside the run's first steps,
// or (Options.Lazy) at the first call that needs the guardian or after
// LazyArmAfter, whichever comes first.
func (r *Run) prepareArm(ctx context.Context, spec docker.GuardianSpec, opts Options, pw progress.Writer) {
	r.startArm = sync.OnceFunc(func() {
		r.armBegun.Store(true)
		go r.arm(ctx, spec, opts, pw)
	})
	if opts.Lazy {
		pw.Info(fmt.Sprintf("run lock %s taken: its guardian starts if this %s stops a container or starts one, or runs for more than %s", r.g.Name, opts.Command, LazyArmAfter))
		r.lazyTimer = time.AfterFunc(LazyArmAfter, r.startArm)
		return
	}
	r.startArm()
}

// arm starts the guardian in the lock container and says hello. The lock
// is held meanwhile (the container exists: CreateGuardian); a guardian
// that does not start or answer fails the run at the first call that
// needs it, and at the latest at Close, as it failed Begin before arming
// overlapped the run's first steps (a container start and a 6 MiB copy:
// 0.3 s here, once spent before every backup's capture).
func (r *Run) arm(ctx context.Context, spec docker.GuardianSpec, opts Options, pw progress.Writer) {
	defer close(r.ready)
	err := r.eng.StartGuardian(ctx, r.g, spec)
	if err == nil {
		err = r.hello(ctx, spec, opts)
	}
	if err != nil {
		r.armErr = err
		_ = r.release(context.WithoutCancel(ctx))
		return
	}
	r.announce(opts, pw)
}

// announce says whether a guardian watches the run, and why not.
func (r *Run) announce(opts Options, pw progress.Writer) {
	switch {
	case opts.ReadOnly:
		pw.Info(fmt.Sprintf("run lock %s taken: no backup or restore changes the deployment until this %s ends", r.g.Name, opts.Command))
	case r.armed:
		pw.Info(fmt.Sprintf("guardian %s armed (%s): if this run dies during an outage, it starts the stopped containers again", r.g.Name, r.from))
	default:
		pw.Info(fmt.Sprintf("run lock %s taken; no guardian: %s", r.g.Name, r.why))
	}
}

// unarmed waits for arm to end; when it failed, its error is the first
// call's that needs the guardian (the run stops there, before anything
// changes).
func (r *Run) unarmed() error {
	err := r.settle()
	if err == nil {
		return nil
	}
	r.mu.Lock()
	r.armTold = true
	r.mu.Unlock()
	return err
}

// settle waits for arm to end, starting it if it has not begun
// (Options.Lazy), and returns its error.
func (r *Run) settle() error {
	if r.startArm != nil {
		r.startArm()
	}
	if r.ready != nil {
		<-r.ready
	}
	return r.armErr
}

// Armed says whether a guardian watches the run, and why not; it waits for
// the guardian to answer.
func (r *Run) Armed() (bool, string) {
	if err := r.settle(); err != nil {
		return false, err.Error()
	}
	return r.armed, r.why
}

// spec prepares the guardian container: its binary and the daemon's socket
// when they can be had, else a plain lock and the reason.
func (r *Run) spec(ctx context.Context, opts Options) (docker.GuardianSpec, error) {
	spec := docker.GuardianSpec{
		Name:  LockName(r.db),
		Image: r.db.Image,
		Labels: map[string]string{
			docker.LabelGuardian: r.db.ID,
			docker.LabelOwner:    docker.Owner(),
			docker.LabelCommand:  opts.Command,
			docker.LabelStarted:  time.Now().UTC().Format(time.RFC3339),
		},
	}
	daemonOS, arch, rootless, err := r.eng.DaemonPlatform(ctx)
	if err != nil {
		return spec, err
	}
	bin, from, err := Binary(daemonOS, arch)
	if err != nil {
		r.why = err.Error()
		return spec, nil
	}
	spec.Binary, spec.BinaryPath, spec.Args, r.from = bin, binaryPath, []string{agent.Arg}, from
	spec.Socket, r.why = socketPath(r.eng.DaemonHost(), rootless)
	return spec, nil
}

// socketPath is where the daemon's socket is on its own host: the path of
// a unix-socket context, /var/run/docker.sock behind ssh:// or tcp://
// (the daemon's default; the guardian proves it by finding itself there).
// A rootless daemon's socket lives in its user's runtime directory, which
// the daemon may not see at the same path: it is not guessed.
func socketPath(daemonHost string, rootless bool) (path, why string) {
	if rootless {
		return "", "the Docker daemon runs rootless: its socket cannot be mounted into a container"
	}
	if p, ok := strings.CutPrefix(daemonHost, "unix://"); ok {
		return p, ""
	}
	if strings.HasPrefix(daemonHost, "npipe://") {
		return "", "the Docker daemon is reached through a Windows named pipe"
	}
	return "/var/run/docker.sock", ""
}

// acquire creates the lock container, waiting for a live holder up to
// wait, removing the lock of a run that is provably gone.
func (r *Run) acquire(ctx context.Context, spec docker.GuardianSpec, wait time.Duration, pw progress.Writer) error {
	deadline := time.Now().Add(wait)
	told := false
	for {
		g, err := r.eng.CreateGuardian(ctx, spec)
		if err == nil {
			r.g = g
			return nil
		}
		if !errors.Is(err, docker.ErrNameTaken) {
			if spec.Socket != "" && strings.Contains(err.Error(), spec.Socket) {
				// The socket is not at that path on the daemon's host.
				r.why = fmt.Sprintf("the daemon's socket is not at %s on its host: %v", spec.Socket, err)
				spec.Socket = ""
				continue
			}
			return err
		}
		c, err := r.eng.Inspect(ctx, spec.Name)
		if docker.IsNotFound(err) {
			continue // released meanwhile
		}
		if err != nil {
			return err
		}
		h := holderOf(c)
		switch judge(c, docker.OwnerGone) {
		case stale:
			if err := r.eng.RemoveContainer(ctx, c.ID); err != nil {
				return fmt.Errorf("remove the lock %s of a dead run: %w", c.Name, err)
			}
			pw.Info(fmt.Sprintf("a previous %s run died without finishing (%s); its lock %s was removed: check that the deployment runs", h.Command, h.describe(), c.Name))
			continue
		case finishing:
			if !told {
				pw.Info(fmt.Sprintf("the previous %s run died (%s); its guardian %s is bringing the deployment back: waiting for it", h.Command, h.describe(), c.Name))
				told = true
			}
		case live:
			if !time.Now().Before(deadline) {
				return &LockedError{Holder: h}
			}
			if !told {
				pw.Info(fmt.Sprintf("waiting up to %s for the %s run %s to finish", time.Until(deadline).Round(time.Second), h.Command, h.describe()))
				told = true
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// hello tells the guardian who the run is and waits for it to say
// whether it is armed.
func (r *Run) hello(ctx context.Context, spec docker.GuardianSpec, opts Options) error {
	r.replies = make(chan agent.Reply, 1)
	go func() {
		dec := json.NewDecoder(r.g.Stdout)
		for {
			var rep agent.Reply
			if err := dec.Decode(&rep); err != nil {
				close(r.replies)
				return
			}
			r.replies <- rep
		}
	}()
	rep, err := r.send(ctx, agent.Message{
		Op: agent.OpHello, Target: r.db.ID, Owner: spec.Labels[docker.LabelOwner], Command: opts.Command,
		Started: time.Now().UTC(), Grace: opts.Grace, Socket: spec.Socket,
	})
	if err != nil {
		return fmt.Errorf("the guardian %s did not answer: %w", r.g.Name, err)
	}
	r.armed = rep.Armed
	if !rep.Armed && r.why == "" {
		r.why = rep.Error
	}
	r.stopHB, r.hbDone = make(chan struct{}), make(chan struct{})
	go r.heartbeats()
	return nil
}

func (r *Run) heartbeats() {
	defer close(r.hbDone)
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		select {
		case <-r.stopHB:
			return
		case <-t.C:
			_, _ = r.send(context.Background(), agent.Message{Op: agent.OpHeartbeat})
		}
	}
}

// send writes one message and waits for its reply.
func (r *Run) send(ctx context.Context, m agent.Message) (agent.Reply, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lost != nil {
		return agent.Reply{}, r.lost
	}
	r.seq++
	m.Seq = r.seq
	b, _ := json.Marshal(m)
	_ = r.g.Conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	if _, err := r.g.Conn.Write(append(b, '\n')); err != nil {
		r.lost = err
		return agent.Reply{}, err
	}
	timer := time.NewTimer(30 * time.Second)
	defer timer.Stop()
	for {
		select {
		case rep, ok := <-r.replies:
			if !ok {
				r.lost = io.ErrUnexpectedEOF
				return agent.Reply{}, r.lost
			}
			if rep.Seq == m.Seq {
				return rep, nil
			}
		case <-timer.C:
			r.lost = errors.New("no answer within 30s")
			return agent.Reply{}, r.lost
		case <-ctx.Done():
			return agent.Reply{}, ctx.Err()
		}
	}
}

// Stopping tells the guardian, before a container of the deployment stops,
// that it must start it again if the run dies; helper containers are the
// run's own and not told. A guardian that no longer answers stops the
// outage before it begins.
func (r *Run) Stopping(ctx context.Context, id string, timeout time.Duration) error {
	if err := r.unarmed(); err != nil {
		return fmt.Errorf("%w: %s is not stopped", err, id)
	}
	if !r.armed {
		return nil
	}
	c, err := r.eng.Inspect(ctx, id)
	if err != nil {
		return err
	}
	if _, isHelper := c.Labels[docker.LabelHelper]; isHelper {
		return nil
	}
	role := agent.RoleApp
	if c.ID == r.db.ID {
		role = agent.RoleDatabase
	}
	if timeout < 0 {
		timeout = 10 * time.Second
	}
	if _, err := r.send(context.WithoutCancel(ctx), agent.Message{Op: agent.OpStopping, ID: c.ID, Name: c.Name, Role: role, StopTimeout: timeout}); err != nil {
		return fmt.Errorf("the guardian %s is gone (%v): %s is not stopped", r.g.Name, err, c.Name)
	}
	r.mu.Lock()
	r.told[id], r.told[c.ID] = true, true
	r.down = append(r.down, stopped{ids: [2]string{id, c.ID}, name: strings.TrimPrefix(c.Name, "/")})
	r.mu.Unlock()
	return nil
}

// Starting is told of a container start before it is asked for: in a
// lazy run (Options.Lazy) the guardian is armed first, so that a helper
// that runs never outlives a lost client unwatched; a guardian that does
// not start fails the start. Other runs armed theirs from the start.
func (r *Run) Starting(ctx context.Context, id string) error {
	if r.lazyTimer == nil {
		return nil
	}
	if err := r.unarmed(); err != nil {
		return fmt.Errorf("%w: %s is not started", err, id)
	}
	return nil
}

// Started tells the guardian a container it was told about runs again.
func (r *Run) Started(ctx context.Context, id string) {
	r.mu.Lock()
	told := r.told[id]
	r.down = slices.DeleteFunc(r.down, func(s stopped) bool { return s.ids[0] == id || s.ids[1] == id })
	r.mu.Unlock()
	if told {
		_, _ = r.send(context.WithoutCancel(ctx), agent.Message{Op: agent.OpStarted, ID: id})
	}
}

// Close ends the run: the guardian is told it is done (it then exits
// without acting) and the lock container is removed.
func (r *Run) Close(ctx context.Context) error {
	if r == nil || r.g == nil {
		return nil
	}
	if r.lazyTimer != nil && r.lazyTimer.Stop() && !r.armBegun.Load() {
		// A lazy run that never needed its guardian: the lock alone.
		return r.releaseLock(context.WithoutCancel(ctx))
	}
	if err := r.settle(); err != nil {
		// arm removed the lock container already.
		r.mu.Lock()
		told := r.armTold
		r.mu.Unlock()
		if told {
			return nil
		}
		return err
	}
	ctx = context.WithoutCancel(ctx)
	if r.stopHB != nil {
		close(r.stopHB)
		<-r.hbDone
		if _, err := r.send(ctx, agent.Message{Op: agent.OpDone}); err != nil {
			if cut := docker.EngineLink().Err(); cut != nil {
				// The run gave up on the engine: that is why.
				err = cut
			}
			if down := r.stillDown(); len(down) > 0 {
				// The guardian never heard the end (the link to the Docker
				// host dropped): it starts what is still stopped and removes
				// itself; removing it now would stop it doing so.
				r.g.Detach()
				return &LeftToGuardianError{Guardian: r.g.Name, Containers: down, Err: err}
			}
			if docker.EngineLink().Err() != nil {
				// Nothing to bring back, and no call reaches the engine
				// any more: the guardian, which hears nothing more from
				// the run, exits and removes itself, and the lock with it.
				r.g.Detach()
				return fmt.Errorf("the guardian %s on the Docker host did not hear this run end (%v): nothing of the deployment is left stopped; it removes itself, and the run lock with it, once it has heard nothing from this run for its grace period", r.g.Name, err)
			}
		}
	}
	return r.releaseLock(ctx)
}

// releaseLock removes the lock container at the run's end.
func (r *Run) releaseLock(ctx context.Context) error {
	if err := r.release(ctx); err != nil {
		return fmt.Errorf("remove the run lock %s: %w; remove it with 'docker rm -f %s'", r.g.Name, err, r.g.Name)
	}
	return nil
}

// stillDown names the containers the guardian was told were stopping and
// that the run did not start again.
func (r *Run) stillDown() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var names []string
	for _, s := range r.down {
		if !slices.Contains(names, s.name) {
			names = append(names, s.name)
		}
	}
	return names
}

// LeftToGuardianError says that a run ended with containers stopped that
// it could not start again, and that its guardian did not hear the run
// end: the guardian starts them (the client lost the Docker host, as when
// an ssh link drops). The lock is the guardian: it is left in place.
type LeftToGuardianError struct {
	Guardian   string
	Containers []string
	Err        error // why the guardian was not told
}

func (e *LeftToGuardianError) Error() string {
	return fmt.Sprintf("the guardian %s on the Docker host did not hear this run end (%v): it starts %s again by itself, then removes itself; do not remove it. "+
		"Once the Docker host answers, 'docker ps' shows them running and the next backup or restore reports what the guardian did "+
		"(if the guardian is gone and they are still stopped: 'docker start %s')",
		e.Guardian, e.Err, strings.Join(e.Containers, ", "), strings.Join(e.Containers, " "))
}
func (e *LeftToGuardianError) Unwrap() error { return e.Err }

// ExitCode: the deployment is not running yet.
func (e *LeftToGuardianError) ExitCode() int { return exitcode.Degraded }

// release ends the attach and removes the lock container.
func (r *Run) release(ctx context.Context) error {
	r.g.Detach()
	return r.eng.RemoveContainer(ctx, r.g.ID)
}

// Replacing tells the guardian that a restore is about to replace data
// with helper's help: if the run dies before Replaced, the guardian lets
// what runs in helper end, then runs putBack there (loads of the safety
// copy; none without one) before it starts anything.
func (r *Run) Replacing(ctx context.Context, helper string, putBack []agent.Command) error {
	if err := r.unarmed(); err != nil {
		return fmt.Errorf("%w: nothing was replaced", err)
	}
	if !r.armed {
		return nil
	}
	if _, err := r.send(context.WithoutCancel(ctx), agent.Message{Op: agent.OpReplacing, Helper: helper, PutBack: putBack}); err != nil {
		return fmt.Errorf("the guardian %s is gone (%v): nothing was replaced", r.g.Name, err)
	}
	return nil
}

// Component tells the guardian the state of a component a whole-deployment
// restore replaces (agent.ComponentReplacing, ComponentNew, ComponentOld)
// and where its safety copy is: if the run dies, the record says which
// data each component holds. Told that a replacement begins, a guardian
// that does not answer fails the run before anything is replaced.
func (r *Run) Component(ctx context.Context, component, state, safety string) error {
	if err := r.unarmed(); err != nil {
		return fmt.Errorf("%w: the %s was not replaced", err, component)
	}
	if !r.armed {
		return nil
	}
	m := agent.Message{Op: agent.OpComponent, Component: component, State: state, Safety: safety}
	r.mu.Lock()
	if k, ok := r.kept[component]; ok {
		if state == agent.ComponentReplacing {
			m.PutBackArchive, m.Helper, m.MountPoint = k.PutBackArchive, k.Helper, k.MountPoint
		} else {
			delete(r.kept, component) // the guardian drops its copy
		}
	}
	r.mu.Unlock()
	if _, err := r.send(context.WithoutCancel(ctx), m); err != nil {
		return fmt.Errorf("the guardian %s is gone (%v): the %s was not replaced", r.g.Name, err, component)
	}
	return nil
}

// SafetyDir is where a guardian keeps the safety copies KeepCopy gives
// it, in its own container.
const SafetyDir = "/infrahubdb-safety"

// KeepCopy copies a component's safety copy into the guardian's container
// (SafetyDir/<component>.tar), as the tar stream that, extracted into the
// parent of mount in helper once mount is emptied, puts the component
// back. Told next that the component is being replaced (Component), the
// guardian puts it back itself if the run is lost before its next state.
// The copy goes with the guardian's container. Without an armed guardian
// nothing is copied. A failure (the Docker host's disk full) comes before
// anything is replaced.
func (r *Run) KeepCopy(ctx context.Context, component, helper, mount string, archive *docker.Program) error {
	if err := r.unarmed(); err != nil {
		return fmt.Errorf("%w: nothing was replaced", err)
	}
	if !r.armed {
		return nil
	}
	path := SafetyDir + "/" + component + ".tar"
	if err := r.eng.CopyFileInto(ctx, r.g.ID, path, archive); err != nil {
		return fmt.Errorf("copy into the guardian %s, which needs free space on the Docker host for one more copy of the %s (free some, or restore with --no-safety-backup, without safety copies): %w", r.g.Name, component, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kept == nil {
		r.kept = map[string]agent.Message{}
	}
	r.kept[component] = agent.Message{PutBackArchive: path, Helper: helper, MountPoint: mount}
	return nil
}

// PutBackIn names helper as the container in which the guardian puts
// component back from the copy it holds (KeepCopy), from the component's
// next "replacing" state on (Component): a restore's own rollback, which
// extracts the safety copy in a helper of its own, tells it before it
// touches the component, so that a run lost mid-rollback is put back there
// and not in the restore's helper, removed by then. It reports whether the
// guardian holds a copy of component: false when none was given, or the
// guardian dropped it when told the component's next state (KeepCopy
// gives it again).
func (r *Run) PutBackIn(component, helper string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	k, ok := r.kept[component]
	if ok {
		k.Helper = helper
		r.kept[component] = k
	}
	return ok
}

// Replaced tells the guardian the replacement ended: new data, or the old
// put back by the run itself.
func (r *Run) Replaced(ctx context.Context) {
	if r.settle() == nil && r.armed {
		_, _ = r.send(context.WithoutCancel(ctx), agent.Message{Op: agent.OpReplaced})
	}
}
