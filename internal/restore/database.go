package restore

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/guardian/agent"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// Result is what a restore did.
type Result struct {
	Plan             *Plan            `json:"plan"`
	DryRun           bool             `json:"dry_run,omitempty"`
	Transfer         string           `json:"transfer,omitempty"`
	Helper           string           `json:"helper_container,omitempty"` // set when kept
	Databases        []DatabaseResult `json:"results,omitempty"`
	AppsRestarted    []string         `json:"app_containers_restarted,omitempty"`
	AppsNotRestarted []string         `json:"app_containers_not_restarted,omitempty"`
	Downtime         time.Duration    `json:"downtime_ns,omitempty"` // offline load: first stop to last start
	Started          time.Time        `json:"started"`
	Duration         time.Duration    `json:"duration_ns"`
	// DeploymentID is the graph's new deployment id (--new-deployment-id).
	DeploymentID string `json:"new_deployment_id,omitempty"`
}

// DatabaseResult is the outcome for one database.
type DatabaseResult struct {
	Name         string        `json:"name"`
	Restored     string        `json:"restored_from,omitempty"`
	Nodes        int64         `json:"nodes"`
	Statements   int           `json:"metadata_statements"`
	SafetyBackup string        `json:"safety_backup,omitempty"`
	RolledBack   bool          `json:"rolled_back,omitempty"`
	Downtime     time.Duration `json:"downtime_ns"`
}

// RolledBackError: the restore of a database failed after it was stopped,
// and the safety backup was restored in its place.
type RolledBackError struct {
	Database string
	Safety   string // path of the safety backup
	Err      error
}

func (e *RolledBackError) Error() string {
	safety := "safety backup " + e.Safety
	if e.Safety == "" {
		// Restored from the helper's copy, whose download failed (the
		// cause says why).
		safety = "its safety backup could not be saved in the folder"
	}
	return fmt.Sprintf("restore of database %s failed: %v\nthe database was rolled back to its state before the restore (%s) and is online", e.Database, e.Err, safety)
}
func (e *RolledBackError) Unwrap() error { return e.Err }

// DegradedError: the restore failed and the database could not be brought
// back to its previous state. The message says what state it is in.
type DegradedError struct {
	Database string
	Safety   string
	Err      error
	State    string
}

func (e *DegradedError) Error() string {
	msg := fmt.Sprintf("restore of database %s failed and it could not be rolled back: %v\ndatabase state: %s", e.Database, e.Err, e.State)
	if e.Safety != "" {
		msg += fmt.Sprintf("\nits previous data is in the safety backup %s: restore it with 'docker infrahubdb restore %s --database %s'", e.Safety, path.Dir(e.Safety), e.Database)
	}
	return msg
}
func (e *DegradedError) Unwrap() error { return e.Err }

const safetySub = "safety"

// restoreDatabase replaces one database. Every STOP is followed by a START
// (of the restored data, or of the safety backup when anything failed).
func (r *runner) restoreDatabase(ctx context.Context, db DatabasePlan) error {
	res := DatabaseResult{Name: db.Name}
	defer func() { r.res.Databases = append(r.res.Databases, res) }()

	current, exists, err := r.admin.Database(ctx, db.Name)
	if err != nil {
		return err
	}
	var sc *safetyCopy
	if exists && r.plan.SafetyDir != "" && current.CurrentStatus == "online" {
		// On top of the full safety backup taken before the applications
		// stopped (safetyBases), a differential one: what they wrote
		// until they stopped. Without one, a full backup now.
		if sc, err = r.safetyBackup(ctx, db.Name, r.bases[db.Name], nil); err != nil {
			return fmt.Errorf("safety backup of database %s failed, nothing was changed: %w", db.Name, err)
		}
		defer sc.abort()
		// The safety backup is in the folder, checked, before STOP in
		// every transfer mode: the rollback and the guardian restore the
		// helper's copy, but a helper removed from outside must not take
		// the only copy with it. A download beside neo4j-admin restore
		// (tried, stream mode) competed with it for the disk and the CPU
		// and made the downtime longer (2-3 s per GiB, docs/performance.md).
		if err := r.saveSafety(ctx, sc, &res); err != nil {
			return fmt.Errorf("safety backup of database %s failed, nothing was changed: %w", db.Name, err)
		}
	}
	safety := sc.inHelper() // path under the helper's work dir, "" for none

	stoppedAt := time.Now()
	if exists && r.opts.Guard != nil {
		// Until the database runs again, a guardian puts the safety backup
		// back and starts it if this run dies. The run's own recovery
		// covers every other path.
		if err := r.opts.Guard.Replacing(ctx, r.session.Helper.Name(), r.putBackOnline(db.Name, safety)); err != nil {
			return err
		}
		defer r.opts.Guard.Replaced(ctx)
	}
	if exists {
		if err := progress.Run(r.pw, progress.Event{ID: "stop " + db.Name, Text: "STOP DATABASE " + db.Name}, func() error { return r.admin.Stop(ctx, db.Name) }); err != nil {
			return r.recover(ctx, db.Name, sc, err, &res)
		}
	}
	res.Restored = db.Artifact
	if backupset.IsDump(db.Artifact) {
		err = r.loadDump(ctx, db, &res)
	} else {
		err = r.replace(ctx, db, db.FromPath(), r.restoreUntil(), &res)
	}
	res.Downtime = time.Since(stoppedAt)
	if err != nil {
		return r.recover(ctx, db.Name, sc, err, &res)
	}
	return nil
}

// restoreUntil is the point in time neo4j-admin restore stops at: --until,
// unless it only chose the chain (Options.WholeChain).
func (r *runner) restoreUntil() *time.Time {
	if r.opts.WholeChain {
		return nil
	}
	return r.plan.Until
}

// replace restores artifact into db up to until (nil: all of it), starts it
// and proves it works.
func (r *runner) replace(ctx context.Context, db DatabasePlan, artifact string, until *time.Time, res *DatabaseResult) error {
	// A cancelled exec leaves neo4j-admin running in the helper, where it
	// would race the rollback's own restore: let it finish, then stop.
	// The commands are neo4jbackup's, the drill's too.
	err := neo4jbackup.Restore(context.WithoutCancel(ctx), r.session, neo4jbackup.RestoreSpec{Database: db.Name, FromPath: artifact, Until: until, Owner: r.owner}, r.pw)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := r.startDatabase(ctx, db.Name); err != nil {
		return err
	}
	n, err := r.replayMetadata(ctx, db.Name)
	if err != nil {
		return err
	}
	res.Statements = n
	return r.countNodes(ctx, db.Name, res)
}

// countNodes proves the database answers, and records its node count; then
// it gives the graph a new deployment id when asked.
func (r *runner) countNodes(ctx context.Context, db string, res *DatabaseResult) error {
	err := progress.Run(r.pw, progress.Event{ID: "count " + db, Text: "Check database " + db + " answers"}, func() error {
		count, err := r.admin.CountNodes(ctx, db)
		res.Nodes = count
		return err
	})
	if err != nil {
		return err
	}
	return r.resetDeploymentID(ctx, db)
}

// startDatabase creates the database if the restore made a new one, starts
// it (retrying: a START can fail transiently) and waits until it is online:
// neo4jbackup.StartDatabase, which verify --drill runs too.
func (r *runner) startDatabase(ctx context.Context, db string) error {
	return neo4jbackup.StartDatabase(ctx, r.admin, db, neo4jbackup.StartOptions{Tries: r.opts.StartTries, RetryPause: r.opts.RetryPause, OnlineWait: r.opts.OnlineWait}, r.pw)
}

// replayMetadata runs the restore_metadata.cypher that neo4j-admin wrote
// for db against the system database, with $database set.
func (r *runner) replayMetadata(ctx context.Context, db string) (int, error) {
	return neo4jbackup.ReplayMetadata(ctx, r.session.Helper, r.admin, db, r.pw)
}

// safetyCopy is the safety backup of one database: in the helper (what
// the rollback and the guardian restore) and on its way into the safety
// folder (what the run reports, and what a new helper is given when the
// run's is lost). It is a full backup, or a chain: the full one taken
// before the applications stopped and a differential one on top.
type safetyCopy struct {
	name    string   // the chain's end (never an empty backup), under the helper's work dir
	files   []string // the chain's files, in safetySub/<database>
	pending *neo4jbackup.Pending
	done    bool
	err     error // of bringing it into the folder, once done
	folder  string
}

func (sc *safetyCopy) inHelper() string {
	if sc == nil {
		return ""
	}
	return sc.name
}

// abort stops a download still under way and removes what it left; it
// does nothing once the copy is saved.
func (sc *safetyCopy) abort() {
	if sc != nil {
		sc.pending.Abort()
	}
}

// safetyBases takes, before anything stops, a full safety backup of each
// database the run replaces, into the safety folder and the helper: what
// the applications write until they stop goes into a small differential
// backup on top of it (restoreDatabase), so the applications are not down
// for a whole backup and its transfer. A database that is not online, or
// a restore without safety backups, takes none.
//
// started, when set, is called once neo4j-admin runs, or when there is
// nothing to take (see basesAlongside).
func (r *runner) safetyBases(ctx context.Context, started func()) error {
	if started == nil {
		started = func() {}
	}
	defer started()
	if r.plan.SafetyDir == "" {
		return nil
	}
	for _, db := range r.plan.Databases {
		if backupset.IsDump(db.Artifact) || r.bases[db.Name] != nil {
			continue
		}
		current, exists, err := r.admin.Database(ctx, db.Name)
		if err != nil {
			return err
		}
		if !exists || current.CurrentStatus != "online" {
			continue
		}
		sc, err := r.safetyBackup(ctx, db.Name, nil, started)
		if err == nil {
			err = r.saveSafety(ctx, sc, &DatabaseResult{})
			sc.abort()
		}
		if err != nil {
			return fmt.Errorf("safety backup of database %s failed, nothing was changed: %w", db.Name, err)
		}
		if r.bases == nil {
			r.bases = map[string]*safetyCopy{}
		}
		r.bases[db.Name] = sc
	}
	return nil
}

// safetyBackup takes an online backup of db in the helper, kept there for
// a fast rollback, and starts nothing else: saveSafety brings it into the
// safety folder. Without base it is a full backup; with base (a full one
// of db in the helper and the folder) it is neo4j-admin's differential
// backup on top of it, or a full one when neo4j-admin cannot take a
// differential one ([S1]: --type=AUTO).
func (r *runner) safetyBackup(ctx context.Context, db string, base *safetyCopy, started func()) (*safetyCopy, error) {
	if r.safety == nil {
		f, err := backupset.Create(r.plan.SafetyDir)
		if err != nil {
			return nil, err
		}
		r.safety = f
	}
	sub := path.Join(safetySub, db)
	spec := neo4jbackup.Spec{Sub: sub, Databases: []string{db}, Type: neo4jbackup.TypeFull, IncludeMetadata: "all", KeepInHelper: true, Started: started}
	if base != nil {
		spec.Type, spec.InHelper = neo4jbackup.TypeAuto, base.files
	}
	p, err := neo4jbackup.Start(ctx, r.session, r.safety, spec)
	if err != nil {
		return nil, err
	}
	sc := &safetyCopy{pending: p}
	if base != nil {
		sc.name, sc.files, sc.folder = base.name, slices.Clone(base.files), base.folder
	}
	// neo4j-admin writes one artifact per database and run: the new one
	// ends the chain, unless it is empty (nothing was written since the
	// base), which restore is never given (research NEO4J.md H2).
	for _, name := range p.Names() {
		if !slices.Contains(sc.files, name) {
			sc.files = append(sc.files, name)
		}
		if !p.Empty(name) {
			sc.name, sc.folder = path.Join(sub, name), path.Join(r.plan.SafetyDir, name)
		}
	}
	if sc.name == "" {
		p.Abort()
		return nil, fmt.Errorf("neo4j-admin wrote no safety backup of database %s", db)
	}
	return sc, nil
}

// saveSafety waits until the safety backup is in the folder, checked
// (hashed as it was written, and fsynced) and recorded in its manifest;
// the result then names it. It returns the first outcome again when called
// twice.
func (r *runner) saveSafety(ctx context.Context, sc *safetyCopy, res *DatabaseResult) error {
	if !sc.done {
		fetched, err := sc.pending.Wait(ctx)
		if err == nil {
			err = neo4jbackup.Commit(r.safety, fetched, r.opts.Tool)
		}
		sc.done, sc.err = true, err
	}
	if sc.err == nil {
		res.SafetyBackup = sc.folder
	}
	return sc.err
}

// putBackOnline is what a guardian runs in the helper if this run dies
// after STOP DATABASE db: restore the safety backup (kept in the helper)
// when there is one, then START DATABASE with cypher-shell, whose password
// reaches it through its environment only.
func (r *runner) putBackOnline(db, safety string) []agent.Command {
	var cmds []agent.Command
	if safety != "" {
		// As neo4jbackup.Restore does: neo4j-admin needs a temp dir it owns.
		dir := path.Join(helper.WorkDir, safety)
		tmp := path.Join(helper.WorkDir, ".guardian-restore-tmp-"+db)
		for _, c := range neo4jbackup.PrepareCommands(dir, tmp, r.owner) {
			cmds = append(cmds, agent.Command{User: "0:0", Cmd: c})
		}
		cmds = append(cmds, agent.Command{User: r.owner, Cmd: append([]string{"neo4j-admin"}, neo4jbackup.RestoreArgs(dir, db, tmp, nil)...)})
	}
	c := r.plan.credentials
	start := agent.Command{Cmd: []string{"cypher-shell", "-a", "bolt://" + r.plan.target.BoltAddress, "-d", "system", "START DATABASE " + neo4j.Quote(db) + " WAIT"}}
	if !c.None {
		start.Cmd = append(start.Cmd[:3], append([]string{"-u", c.User}, start.Cmd[3:]...)...)
		start.Env = []string{"NEO4J_PASSWORD=" + c.Password}
	}
	return append(cmds, start)
}

// recover runs after a failure once db may have been stopped: roll back to
// the safety backup when there is one, else at least start the database.
// It runs with a fresh context, so Ctrl-C does not leave the database down.
// The rollback restores the helper's copy of the safety backup, while its
// download into the folder may still go on: the errors name it in the
// folder only once it is saved there.
func (r *runner) recover(ctx context.Context, db string, sc *safetyCopy, cause error, res *DatabaseResult) error {
	cctx, cancel := context.WithTimeout(deployment.Detach(ctx), r.opts.OnlineWait+5*time.Minute)
	defer cancel()
	safety := sc.inHelper()
	saved := func() string {
		if sc == nil {
			return ""
		}
		if err := r.saveSafety(cctx, sc, res); err != nil {
			if !errors.Is(cause, err) {
				cause = errors.Join(cause, fmt.Errorf("the safety backup could not be saved in %s: %w", r.plan.SafetyDir, err))
			}
			return ""
		}
		return sc.folder
	}
	if err := r.replaceLostHelper(cctx, sc); err != nil {
		var lost *safetyLostError
		if !errors.As(err, &lost) {
			cause = errors.Join(cause, fmt.Errorf("start a new helper container: %w", err))
			safetyPath := saved() // before cause is read: it may add to it
			return &DegradedError{Database: db, Safety: safetyPath, Err: cause, State: "unknown (no helper container to reach it through)"}
		}
		// The only copy went with the helper: the database can only be
		// started with what is in its store, which cannot be told.
		cause = errors.Join(cause, err)
		if err := r.startDatabase(cctx, db); err != nil {
			cause = errors.Join(cause, fmt.Errorf("start again: %w", err))
		}
		return &DegradedError{Database: db, Err: cause, State: r.describeState(cctx, db)}
	}
	if safety != "" {
		r.pw.Info(fmt.Sprintf("restore of %s failed (%v): rolling back to the safety backup %s", db, firstLine(cause.Error()), sc.folder))
		err := r.rollback(cctx, db, safety, res)
		if err == nil {
			res.RolledBack = true
			safetyPath := saved()
			return withCancel(ctx, &RolledBackError{Database: db, Safety: safetyPath, Err: cause})
		}
		cause = errors.Join(cause, fmt.Errorf("rollback: %w", err))
		// Whatever is in the store now, a stopped database helps no one.
		if err := r.startDatabase(cctx, db); err != nil {
			cause = errors.Join(cause, fmt.Errorf("start again: %w", err))
		}
	} else {
		if err := r.startDatabase(cctx, db); err == nil {
			return withCancel(ctx, fmt.Errorf("restore of database %s failed: %w\nthe database was started again; without a safety backup its content may be partly restored", db, cause))
		} else {
			cause = errors.Join(cause, fmt.Errorf("start again: %w", err))
		}
	}
	safetyPath := saved()
	return &DegradedError{Database: db, Safety: safetyPath, Err: cause, State: r.describeState(cctx, db)}
}

// safetyLostError: the run's helper was lost before the safety backup it
// kept had reached the folder.
type safetyLostError struct{ Err error }

func (e *safetyLostError) Error() string {
	return fmt.Sprintf("the safety backup was lost with the helper container before it reached the safety folder: %v", e.Err)
}
func (e *safetyLostError) Unwrap() error { return e.Err }

// rollback restores the safety backup into db. A START that was
// interrupted may still complete on the server after the rollback's STOP,
// and neo4j-admin restore then finds the database in use: it is stopped
// again and the restore retried.
func (r *runner) rollback(ctx context.Context, db, safety string, res *DatabaseResult) error {
	var err error
	for try := 1; try <= r.opts.StartTries; try++ {
		if err = r.stopForRollback(ctx, db); err != nil {
			return err
		}
		// The safety backup is restored whole: --until chose what to
		// restore, and the safety backup was taken after it.
		err = r.replace(ctx, DatabasePlan{Name: db, Artifact: path.Base(safety)}, path.Join(helper.WorkDir, safety), nil, res)
		// What neo4j-admin restore prints for a database in use is not
		// documented (research NEO4J.md §7): the server's own state says
		// whether the database came back behind the STOP.
		var ae *helper.AdminError
		if !errors.As(err, &ae) || ctx.Err() != nil || !r.cameBack(ctx, db) {
			return err
		}
		r.pw.Info(fmt.Sprintf("database %s was started again behind the rollback's STOP (attempt %d of %d): stopping it again", db, try, r.opts.StartTries))
		time.Sleep(r.opts.RetryPause)
	}
	return err
}

// cameBack reports whether SHOW DATABASES says db is anything but
// offline (or gone): a START finished behind the rollback's STOP.
func (r *runner) cameBack(ctx context.Context, db string) bool {
	d, exists, err := r.admin.Database(ctx, db)
	return err == nil && exists && d.CurrentStatus != "offline"
}

// stopForRollback stops db before the safety backup is restored into it,
// and makes sure it stays offline: after an interrupted START DATABASE the
// server may still be starting it, and a STOP sent meanwhile can be
// followed by the end of that start. neo4j-admin restore refuses a
// database in use, so the state is checked and the STOP repeated.
func (r *runner) stopForRollback(ctx context.Context, db string) error {
	var last string
	for try := 1; try <= r.opts.StartTries+2; try++ {
		stopErr := r.admin.Stop(ctx, db) // it may be stopped already, or failed to start
		d, exists, err := r.admin.Database(ctx, db)
		switch {
		case err != nil:
			last = err.Error()
		case !exists || d.CurrentStatus == "offline":
			return nil
		default:
			last = d.CurrentStatus
			if stopErr != nil {
				last += " (" + firstLine(stopErr.Error()) + ")"
			}
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(r.opts.RetryPause)
	}
	return fmt.Errorf("database %s could not be stopped for the rollback: it is %s", db, last)
}

// withCancel keeps the interruption visible to the exit code mapping.
func withCancel(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return errors.Join(ctx.Err(), err)
	}
	return err
}

func (r *runner) describeState(ctx context.Context, db string) string {
	d, ok, err := r.admin.Database(ctx, db)
	switch {
	case err != nil:
		return "unknown (" + err.Error() + ")"
	case !ok:
		return "does not exist"
	}
	s := d.CurrentStatus + " (requested " + d.RequestedStatus + ")"
	if d.StatusMessage != "" {
		s += ": " + d.StatusMessage
	}
	return s
}

func firstLine(s string) string {
	for i := range s {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
