// Package restore owns the restore workflow: check everything first, stop
// the Infrahub application containers, then per database take a safety
// backup, stop it, restore it with neo4j-admin, recreate and start it,
// replay its security metadata and prove it answers — rolling back to the
// safety backup if any step after STOP fails, and starting everything it
// stopped on every path, Ctrl-C included.
package restore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/exitcode"
	"github.com/opsmill/docker-infrahubdb/internal/guardian/agent"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Engine is what restore needs from Docker: the backup machinery plus
// stopping and starting the deployment's containers.
type Engine interface {
	helper.Engine
	StopContainer(ctx context.Context, id string, timeout time.Duration) error
	StartContainer(ctx context.Context, id string) error
}

var _ Engine = (*docker.Engine)(nil)

// Admin is the administration Cypher restore runs (internal/neo4j.Admin).
type Admin interface {
	Database(ctx context.Context, name string) (neo4j.Database, bool, error)
	Stop(ctx context.Context, name string) error
	Start(ctx context.Context, name string) error
	Create(ctx context.Context, name string) error
	WaitOnline(ctx context.Context, name string, timeout time.Duration) error
	RunScript(ctx context.Context, statements []string, params map[string]any) (int, error)
	CountNodes(ctx context.Context, db string) (int64, error)
	ResetDeploymentID(ctx context.Context, db, id, updatedAt string) (int64, error)
	Close(ctx context.Context) error
}

// Connect opens an Admin on a Bolt address with the run's credentials.
type Connect func(ctx context.Context, address string, creds neo4j.Credentials) (Admin, error)

// Options of one restore run.
// Guard is a guardian on the Docker host that puts the safety copy back
// if this run dies while it replaces data.
type Guard interface {
	Replacing(ctx context.Context, helper string, putBack []agent.Command) error
	Replaced(ctx context.Context)
	// Component tells the state of a component a whole-deployment restore
	// replaces (agent.ComponentReplacing, ComponentNew, ComponentOld) and
	// where its safety copy is; an error before a replacement stops it.
	Component(ctx context.Context, component, state, safety string) error
	// KeepCopy copies a component's safety copy into the guardian (the
	// tar stream that, extracted into the parent of mount in helper once
	// mount is emptied, puts the component back): told next that the
	// component is being replaced, the guardian puts it back itself if
	// the run is lost. An error comes before anything is replaced.
	KeepCopy(ctx context.Context, component, helper, mount string, archive *docker.Program) error
	// PutBackIn names the helper in which the guardian puts component back
	// from the copy it holds, from the component's next "replacing" state
	// on (a rollback's own helper); false when it holds no copy.
	PutBackIn(component, helper string) bool
	// Armed says whether a guardian watches the run (else it only holds
	// the run lock), and why not.
	Armed() (bool, string)
}

type Options struct {
	// Guard, when set, is told while data is replaced (internal/guardian.Run).
	Guard        Guard
	Target       deployment.TargetOptions
	HelperImage  string
	RegistryAuth func(ref string) (string, error)
	Transfer     string
	KeepHelper   bool
	Databases    []string  // empty: every database in the folder but system
	Until        time.Time // zero: newest chain
	// WholeChain: Until only chooses the chain, which is restored whole,
	// with no --restore-until (a backup run's graph files).
	WholeChain bool
	// Credentials for Bolt; nil reads the database container's NEO4J_AUTH.
	Credentials  *neo4j.Credentials
	BoltAddress  string // connect here instead of tunnelling through the helper
	SafetyBackup bool
	SafetyDir    string // "" : a safety-<time> folder inside the backup folder
	// NewDeploymentID gives the restored graph a new deployment identity
	// (the Root node's uuid), before the applications start.
	NewDeploymentID bool
	StopApps        bool
	AppServices     []string
	DryRun          bool
	// Confirm is asked once, after every check passed and before anything
	// changes; false cancels the run.
	Confirm    func(p *Plan) (bool, error)
	Tool       string
	OnlineWait time.Duration // how long to wait for "online" after START
	StartTries int           // START attempts before giving up
	RetryPause time.Duration
	// StopTimeout is how long the database container may take to shut down
	// cleanly (offline load on Community).
	StopTimeout time.Duration
	connectFunc Connect
	// handoff, set by RunSet, carries the helper of the graph's checks
	// (a DryRun) to the graph's run.
	handoff *handoff
}

// ErrNotConfirmed is returned when the operator declined the confirmation.
var ErrNotConfirmed = exitcode.New(exitcode.Declined, "restore cancelled: nothing was changed")

// Run restores the databases of folder, whose lock the caller holds, into
// the database container.
func Run(ctx context.Context, eng Engine, connect Connect, folder *backupset.Folder, opts Options, pw progress.Writer) (*Result, error) {
	return runLocked(ctx, eng, connect, folder, opts, pw)
}

// runLocked is Run with the folder lock held by the caller (RunSet).
func runLocked(ctx context.Context, eng Engine, connect Connect, folder *backupset.Folder, opts Options, pw progress.Writer) (*Result, error) {
	opts.connectFunc = connect
	fillDefaults(&opts)
	if target, err := deployment.FindTarget(ctx, eng, opts.Target); err == nil && isCommunity(target) {
		return runLoad(ctx, eng, folder, target, opts, pw)
	}
	plan, err := makePlan(ctx, eng, folder, opts, pw)
	if err != nil {
		return nil, err
	}
	r := &runner{eng: eng, folder: folder, opts: opts, pw: pw, plan: plan, res: &Result{Plan: plan, DryRun: opts.DryRun, Started: time.Now()}}
	err = deployment.Watching(ctx, eng, *plan.target.Container, r.run)
	r.res.Duration = time.Since(r.res.Started)
	return r.res, err
}

func fillDefaults(o *Options) {
	if o.OnlineWait == 0 {
		o.OnlineWait = 5 * time.Minute
	}
	if o.StartTries == 0 {
		o.StartTries = 3
	}
	if o.RetryPause == 0 {
		o.RetryPause = 2 * time.Second
	}
	if len(o.AppServices) == 0 {
		o.AppServices = deployment.DefaultAppServices
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 120 * time.Second
	}
}

// runner carries the state of one restore: what it stopped must be started.
type runner struct {
	eng     Engine
	folder  *backupset.Folder
	opts    Options
	pw      progress.Writer
	plan    *Plan
	res     *Result
	session *helper.Session
	admin   Admin
	tunnel  interface{ Close() error }
	owner   string // uid:gid of /data, for neo4j-admin restore
	safety  *backupset.Folder
	bases   map[string]*safetyCopy // database -> its full safety backup, taken before anything stopped
}

func (r *runner) run(ctx context.Context) (err error) {
	if err := r.preflight(ctx); err != nil {
		r.closeSession(ctx)
		return err
	}
	defer r.closeSession(ctx)
	if r.opts.DryRun {
		r.handOver()
		return nil // every check passed; --dry-run changes nothing
	}

	if r.opts.Confirm != nil {
		ok, err := r.opts.Confirm(r.plan)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotConfirmed
		}
	}

	if r.opts.handoff == nil {
		// A whole-deployment restore (RunSet) took them before it
		// stopped the applications: handoff.safetyBases.
		if err := r.safetyBases(ctx, nil); err != nil { // taken already, when alongside
			return err
		}
	}
	outage := deployment.NewAppOutage(r.eng, r.plan.Apps, r.pw)
	defer func() {
		outage.StartApps(ctx)
		r.res.AppsRestarted, r.res.AppsNotRestarted = outage.AppsRestarted, outage.AppsNotRestarted
	}()
	if err := outage.StopApps(ctx); err != nil {
		return err
	}
	if err := emptyTransient(ctx, r.eng, r.plan.target.Container.Image, r.plan.Apps, r.pw); err != nil {
		return err
	}
	for _, db := range r.plan.Databases {
		if err := r.restoreDatabase(ctx, db); err != nil {
			return err
		}
	}
	return nil
}

// preflight proves everything restore needs before anything is stopped:
// the helper starts, the credentials log in, and the artifacts are in place.
func (r *runner) preflight(ctx context.Context) error {
	s, err := r.openSession(ctx)
	if err != nil {
		return err
	}
	r.session = s
	r.res.Transfer = s.Mode
	server := helper.ServerRelease(ctx, r.eng, *r.plan.target.Container)
	if err := notNewerThan(r.folder, r.plan.Databases, server); err != nil {
		return err
	}
	if _, err := s.CheckHelperRelease(ctx, server); err != nil {
		return err
	}
	if r.opts.KeepHelper {
		r.res.Helper = s.Helper.Name()
	}
	if err := r.connect(ctx); err != nil {
		return err
	}
	if r.owner, err = storeOwner(ctx, s); err != nil {
		return err
	}
	bases, err := r.basesAlongside(ctx)
	if err != nil {
		return err
	}
	if err := r.putChains(ctx, server); err != nil {
		bases.stop()
		r.dropBases()
		return err
	}
	return bases.wait()
}

// putChains puts each database's chain or dump into the helper, checked.
func (r *runner) putChains(ctx context.Context, server neo4j.Release) error {
	for i := range r.plan.Databases {
		db := &r.plan.Databases[i]
		if backupset.IsDump(db.Artifact) {
			if err := r.putOnce(*db, func() error { return r.stageDump(ctx, *db, server) }); err != nil {
				return err
			}
			continue
		}
		if err := r.putOnce(*db, func() error { return r.seed(ctx, *db, db.Sub, db.Files) }); err != nil {
			return err
		}
		if db.Unverified {
			if err := r.resolveUnverified(ctx, db); err != nil {
				return err
			}
		}
	}
	return nil
}

// seed puts files of db into the helper's work dir sub; when the plan left
// their check to the upload, they are checked as they go (or here, if the
// session ended up with bind transfer after all).
func (r *runner) seed(ctx context.Context, db DatabasePlan, sub string, files []string) error {
	if !r.plan.checkOnUpload {
		return r.session.Seed(ctx, r.folder, sub, files)
	}
	m, err := r.folder.ReadManifest()
	if err != nil {
		return err
	}
	checked, err := r.session.SeedChecked(ctx, r.folder, sub, files, m)
	var pe *backupset.ProblemError
	if errors.As(err, &pe) {
		return &VerifyError{Problems: []string{pe.Problem.String()}}
	}
	if err != nil || checked {
		return err
	}
	return verifyChains(ctx, r.folder, []DatabasePlan{db}, r.pw)
}

// openSession starts the run's helper, or takes the one its checks kept
// (handoff), with the safety backups taken in it before anything stopped.
func (r *runner) openSession(ctx context.Context) (*helper.Session, error) {
	if s := r.opts.handoff.take(ctx); s != nil {
		r.bases, r.safety = r.opts.handoff.bases, r.opts.handoff.safety
		return s, nil
	}
	if len(r.plan.handedOver) > 0 {
		// The checks' helper is gone, with what they put into it: the
		// files go in again, hashed first as the plan would have.
		if err := verifyChains(ctx, r.folder, r.plan.handedOver, r.pw); err != nil {
			return nil, err
		}
	}
	return helper.OpenSession(ctx, r.eng, r.folder, r.plan.target, r.sessionOptions(), r.pw)
}

// putOnce puts db's files into the helper with put, unless the helper the
// run took from its checks holds them already, checked (handoff).
func (r *runner) putOnce(db DatabasePlan, put func() error) error {
	if r.opts.handoff.has(db.Name, db.Files) {
		return nil
	}
	if err := put(); err != nil {
		return err
	}
	r.opts.handoff.record(db.Name, db.Files)
	return nil
}

// handOver gives the helper of checks that passed to the run that follows
// them (handoff), instead of removing it, with the means to take the
// safety backups in it before the applications stop.
func (r *runner) handOver() {
	h := r.opts.handoff
	if h == nil || r.session == nil {
		return
	}
	h.keep(r.session)
	r.session = nil
	if !slices.ContainsFunc(r.plan.Databases, func(db DatabasePlan) bool { return !backupset.IsDump(db.Artifact) }) {
		return // dumps only: their safety dumps are taken offline (Community)
	}
	h.takeBases = func(ctx context.Context, safetyDir string) error {
		r.session, r.plan.SafetyDir = h.session, safetyDir
		defer func() {
			helper.CloseBolt(ctx, r.admin, r.tunnel)
			r.admin, r.tunnel, r.session = nil, nil, nil
		}()
		return deployment.Watching(ctx, r.eng, *r.plan.target.Container, func(ctx context.Context) error {
			if err := r.connect(ctx); err != nil {
				return err
			}
			err := r.safetyBases(ctx, nil)
			h.bases, h.safety = r.bases, r.safety
			return err
		})
	}
}

func (r *runner) sessionOptions() helper.SessionOptions {
	return helper.SessionOptions{
		Command: "restore", Image: r.plan.Image, Transfer: r.opts.Transfer, KeepHelper: r.opts.KeepHelper,
		MountData: true, ReadableSeeds: true,
	}
}

// replaceLostHelper starts a new helper when the run's helper container was
// removed or stopped from outside: recovering the database needs one, to run
// neo4j-admin and to carry Bolt. The safety backup (nil for none) is put
// into it again from the safety folder.
func (r *runner) replaceLostHelper(ctx context.Context, sc *safetyCopy) error {
	if r.session == nil {
		return nil
	}
	running, err := r.session.Helper.Running(ctx)
	if err != nil {
		// The engine does not answer: the helper may still run there, and
		// no new one could be started.
		return fmt.Errorf("the Docker engine does not answer (check the link to the Docker host: docker context ls, DOCKER_HOST; once it answers, check the database and restore again): %w", err)
	}
	if running {
		return nil
	}
	r.pw.Info(fmt.Sprintf("the helper container %s is gone (removed or stopped from outside): starting a new one to bring the database back", r.session.Helper.Name()))
	lost := r.session.Helper.ID()
	r.closeSession(ctx)
	r.admin, r.tunnel, r.session = nil, nil, nil
	// What is left of it (stopped, or its removal from outside still under
	// way) belongs to this run, which is alive: the new session would take
	// it for another run's helper. It goes first.
	if err := helper.RemoveLost(ctx, r.eng, lost); err != nil {
		return err
	}
	s, err := helper.OpenSession(ctx, r.eng, r.folder, r.plan.target, r.sessionOptions(), r.pw)
	if err != nil {
		return err
	}
	r.session = s
	if err := r.connect(ctx); err != nil {
		return err
	}
	if sc == nil {
		return nil
	}
	// Its download (stream transfer) may have been under way when the
	// helper went: only a copy that reached the folder can be put back.
	var res DatabaseResult
	if err := r.saveSafety(ctx, sc, &res); err != nil {
		return &safetyLostError{Err: err}
	}
	return s.Seed(ctx, r.safety, path.Dir(sc.name), sc.files)
}

// connect logs in to Neo4j through a tunnel in the helper (or directly with
// --bolt-address): a wrong password is found here, before any change.
func (r *runner) connect(ctx context.Context) error {
	step := progress.Event{ID: "login", Text: "Log in to Neo4j as " + r.plan.credentials.User}
	if r.plan.credentials.None {
		step.Text = "Connect to Neo4j (no authentication)"
	}
	return progress.RunStep(r.pw, step, func(s *progress.Step) error {
		addr := r.opts.BoltAddress
		if addr == "" {
			// The tunnel must outlive a Ctrl-C: the rollback and the START
			// that follow it go through it. closeSession closes it.
			t, err := r.session.Helper.Tunnel(context.WithoutCancel(ctx), r.plan.target.BoltAddress)
			if err != nil {
				return err
			}
			r.tunnel, addr = t, t.Addr()
		}
		admin, err := r.opts.connectFunc(ctx, addr, r.plan.credentials)
		if err != nil && r.tunnel != nil {
			err = nameTunnelledAddress(err, r.plan.target.BoltAddress)
		}
		if err != nil {
			return err
		}
		r.admin = admin
		s.End(progress.Done, r.plan.target.BoltAddress)
		return nil
	})
}

func (r *runner) closeSession(ctx context.Context) {
	helper.CloseBolt(ctx, r.admin, r.tunnel)
	if r.session != nil {
		r.session.Close(ctx)
	}
	if r.safety != nil {
		_ = os.Remove(r.safety.Dir) // only when empty: no safety backup was taken
	}
}

// storeOwner is the user neo4j-admin restore runs as, so the server can
// read what it writes: the owner of the database store. The entrypoint of
// the neo4j image chowns /data only when it is not writable [S13b], so a
// root-owned /data may hold a store owned by neo4j (7474): the owner of
// /data/databases is asked first, then of /data, and root is never chosen
// while a store exists (the image's neo4j user then).
func storeOwner(ctx context.Context, s *helper.Session) (string, error) {
	var found bool
	for _, dir := range []string{"/data/databases", "/data"} {
		var out strings.Builder
		code, err := s.Helper.Exec(ctx, docker.ExecSpec{Cmd: []string{"stat", "-c", "%u:%g", dir}, Stdout: &out})
		if err != nil {
			return "", err
		}
		if code != 0 {
			continue
		}
		found = true
		if owner := strings.TrimSpace(out.String()); owner != "0:0" {
			return owner, nil
		}
	}
	if !found {
		return "", &helper.EnvironmentError{Err: errors.New("the helper cannot see the database's /data: does the database container keep /data in a volume or bind mount?")}
	}
	return neo4jUser, nil
}

// neo4jUser is the uid:gid of the neo4j user of the official images [S13a].
const neo4jUser = "7474:7474"

func contains(list []string, s string) bool { return slices.Contains(list, s) }

// nameTunnelledAddress makes connection errors name the database's Bolt
// address rather than the local end of the tunnel.
func nameTunnelledAddress(err error, bolt string) error {
	var auth *neo4j.AuthError
	var unreachable *neo4j.UnreachableError
	switch {
	case errors.As(err, &auth):
		auth.Address = bolt + " (through the helper container)"
	case errors.As(err, &unreachable):
		unreachable.Address = bolt + " (through the helper container)"
	}
	return err
}
