package restore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/contentcheck"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/guardian/agent"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/volumearchive"
)

// SetOptions choose what a whole-deployment restore brings back.
type SetOptions struct {
	Options
	// Components to restore; empty: every component of the chosen run.
	Components []string
	// Run names the backup run to restore ("latest": the newest complete
	// one, whatever it holds); empty: the newest complete run that holds
	// every component the deployment has (chooseRun).
	Run string
	// ConfirmSet is asked once, after every check passed and before
	// anything changes; false cancels the run. nil confirms.
	ConfirmSet func(p *SetPlan) (bool, error)
}

// SetPlan is what a whole-deployment restore will do.
type SetPlan struct {
	RunID       string                `json:"run_id,omitempty"` // "" : a folder without runs (graph only)
	RunStarted  time.Time             `json:"run_started,omitzero"`
	Components  []string              `json:"components"`
	TaskManager *backupset.FileRecord `json:"task_manager,omitempty"`
	Storage     *backupset.FileRecord `json:"storage,omitempty"`
	Graph       []string              `json:"graph_files,omitempty"`
	Apps        []string              `json:"app_containers_to_stop,omitempty"`
	SafetyDir   string                `json:"safety_dir,omitempty"`
	// Unchanged are the deployment's components this restore leaves as
	// they are (the run does not hold them, or --component left them out).
	Unchanged []string `json:"unchanged,omitempty"`
	// Notes are what the operator must know or do after the restore (an
	// older Infrahub's upgrade step).
	Notes []string `json:"notes,omitempty"`
	// InfrahubVersion is the Infrahub the run was taken from ("" unknown).
	InfrahubVersion string `json:"infrahub_version,omitempty"`

	tm      *pgdump.Source
	storage *volumearchive.Storage
	apps    []docker.Container
	until   time.Time
	// target is the database the checks found: the graph restore works on
	// that one, whatever starts meanwhile.
	target helper.Target
}

// SetResult is what a whole-deployment restore did.
type SetResult struct {
	Plan          *SetPlan      `json:"plan"`
	Graph         *Result       `json:"graph,omitempty"`
	Restored      []string      `json:"restored"`
	AppsRestarted []string      `json:"app_containers_restarted,omitempty"`
	Duration      time.Duration `json:"duration_ns"`
}

// ComponentsRolledBackError: a component failed and every component
// already replaced was put back as it was (exit 6).
type ComponentsRolledBackError struct {
	Component  string
	RolledBack []string
	Err        error
}

func (e *ComponentsRolledBackError) Error() string {
	msg := fmt.Sprintf("restore of the %s failed: %v", e.Component, e.Err)
	if len(e.RolledBack) > 0 {
		msg += fmt.Sprintf("\nrolled back to their state before the restore: %s", strings.Join(e.RolledBack, ", "))
	}
	return msg + "\nevery service was started again"
}
func (e *ComponentsRolledBackError) Unwrap() error { return e.Err }

// ComponentsDegradedError: a component failed and some replaced component
// could not be put back (exit 7); NotRolledBack says which and where its
// previous content is.
type ComponentsDegradedError struct {
	Component     string
	Err           error
	RolledBack    []string
	NotRolledBack []string
}

func (e *ComponentsDegradedError) Error() string {
	msg := fmt.Sprintf("restore of the %s failed: %v\nCOULD NOT BE ROLLED BACK: %s", e.Component, e.Err, strings.Join(e.NotRolledBack, "; "))
	if len(e.RolledBack) > 0 {
		msg += fmt.Sprintf("\nrolled back: %s", strings.Join(e.RolledBack, ", "))
	}
	return msg
}
func (e *ComponentsDegradedError) Unwrap() error { return e.Err }

// RunSet restores a backup run: after every check (checksums, archive paths,
// containers, the graph's own preflight), it stops the applications, then
// restores the task manager, the storage and the graph, each after a safety
// copy, and starts the applications again in dependency order. A failure
// rolls back what was replaced. A folder without runs restores the graph
// alone (Run).
func RunSet(ctx context.Context, eng Engine, connect Connect, folder *backupset.Folder, opts SetOptions, pw progress.Writer) (*SetResult, error) {
	started := time.Now()
	if err := backupset.CheckComponents(opts.Components); err != nil {
		return nil, &helper.EnvironmentError{Err: err}
	}
	cat, err := folder.Scan()
	if err != nil {
		return nil, err
	}
	if cat.ManifestErr != nil {
		return nil, cat.ManifestErr
	}
	plan := &SetPlan{}
	res := &SetResult{Plan: plan}
	facts, factsErr := findDeploymentFacts(ctx, eng, opts.Options)
	have := facts.components
	if opts.Run == "" && graphOnly(cat.Manifest, opts.Components) {
		if slices.ContainsFunc(opts.Components, func(c string) bool { return c != backupset.ComponentGraph }) {
			return nil, &helper.EnvironmentError{Err: fmt.Errorf("%s holds no backup run (its backups were taken before runs existed, or by neo4j-admin): only the graph can be restored from it; drop --component or use --component graph", folder.Dir)}
		}
		plan.Components = []string{backupset.ComponentGraph}
		plan.Unchanged = unchanged(have, plan.Components)
		if len(plan.Unchanged) > 0 {
			pw.Info(unchangedStatement(plan.Unchanged, "this restore brings back the graph alone"))
		}
		g, err := runLocked(ctx, eng, connect, folder, opts.Options, pw)
		res.Graph = g
		if g != nil && g.Plan != nil {
			plan.SafetyDir = g.Plan.SafetyDir
			sealSafetyRun(plan.SafetyDir, started, facts, pw)
		}
		if err == nil && !opts.DryRun {
			res.Restored = plan.Components
		}
		return res, err
	}
	if factsErr != nil {
		return nil, factsErr
	}
	if err := chooseRun(cat.Manifest, opts, have, plan); err != nil {
		return nil, err
	}
	if len(plan.Unchanged) > 0 {
		pw.Info(unchangedStatement(plan.Unchanged, "run "+plan.RunID+" restores "+strings.Join(plan.Components, ", ")))
	}
	if run, ok := cat.Manifest.Run(plan.RunID); ok {
		if err := checkInfrahubVersion(run, facts, plan); err != nil {
			return nil, err
		}
	}
	for _, n := range plan.Notes {
		pw.Info(n)
	}
	if err := prepareSet(ctx, eng, folder, opts, plan, pw); err != nil {
		return nil, err
	}
	graphOpts := opts.Options
	// The run's chain is the one ending with its graph files, restored
	// whole: their name's second, as --restore-until, would drop what
	// was committed in that second before the backup.
	graphOpts.Until, graphOpts.WholeChain = plan.until, true
	graphOpts.Confirm = nil
	graphOpts.Target = graphOpts.Target.Pin(plan.target)
	if !opts.DryRun {
		// The graph's checks hand their helper, the chains or dumps in
		// it, to the graph's run: uploaded once, before anything stops.
		graphOpts.handoff = &handoff{}
		defer graphOpts.handoff.close(ctx)
	}
	if plan.has(backupset.ComponentGraph) {
		// The graph's own checks (helper, credentials, chains) run before
		// anything changes.
		dry := graphOpts
		dry.DryRun = true
		g, err := runLocked(ctx, eng, connect, folder, dry, pw)
		if err != nil {
			return nil, err
		}
		if opts.DryRun {
			res.Graph = g // the graph's plan is what --dry-run shows
		}
	}
	if opts.DryRun {
		return res, nil
	}
	if opts.ConfirmSet != nil {
		ok, err := opts.ConfirmSet(plan)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrNotConfirmed
		}
	}

	s := &setRunner{eng: eng, folder: folder, plan: plan, pw: pw, keep: opts.KeepHelper, guard: opts.Guard}
	defer sealSafetyRun(plan.SafetyDir, started, facts, pw)
	if plan.has(backupset.ComponentGraph) {
		// The graph's full safety backup, while the applications still
		// run: inside the outage only a differential one on top.
		if err := graphOpts.handoff.safetyBases(ctx, plan.SafetyDir); err != nil {
			return res, err
		}
	}
	outage := deployment.NewAppOutage(eng, plan.apps, pw)
	defer func() {
		outage.StartApps(ctx)
		res.AppsRestarted = outage.AppsRestarted
		res.Duration = time.Since(started)
	}()
	if err := outage.StopApps(ctx); err != nil {
		return res, s.rollback(ctx, "applications", err)
	}
	if plan.target.Container != nil {
		if err := emptyTransient(ctx, eng, plan.target.Container.Image, plan.apps, pw); err != nil {
			return res, s.rollback(ctx, "applications", err)
		}
	}
	if plan.SafetyDir != "" {
		if s.safety, err = backupset.Create(plan.SafetyDir); err != nil {
			return res, err
		}
	}
	if plan.tm != nil {
		if err := s.restoreTaskManager(ctx); err != nil {
			return res, s.rollback(ctx, backupset.ComponentTaskManager, err)
		}
		res.Restored = append(res.Restored, backupset.ComponentTaskManager)
	}
	if plan.storage != nil {
		if err := s.restoreStorage(ctx); err != nil {
			return res, s.rollback(ctx, backupset.ComponentStorage, err)
		}
		res.Restored = append(res.Restored, backupset.ComponentStorage)
	}
	if plan.has(backupset.ComponentGraph) {
		graphOpts.SafetyDir = plan.SafetyDir
		g, err := runLocked(ctx, eng, connect, folder, graphOpts, pw)
		res.Graph = g
		if err != nil {
			return res, s.rollback(ctx, backupset.ComponentGraph, err)
		}
		res.Restored = append(res.Restored, backupset.ComponentGraph)
	}
	return res, nil
}

// sealSafetyRun makes a restore's safety folder a complete run of the
// copies it holds (on every path: a failed restore's copies are as whole),
// so that verify passes it and restore --run latest or --component takes
// it back like any backup. Each copy is recorded in the folder's manifest
// once it is whole (takeSafety, neo4jbackup.Commit): the
// run holds what is recorded. It is the running deployment's: its Infrahub
// version and Compose project. A failure only warns: the copies are
// recorded, and restore --component graph or verify --adopt still reach
// them.
func sealSafetyRun(dir string, started time.Time, facts deploymentFacts, pw progress.Writer) {
	if dir == "" {
		return
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return // no copy was taken
	}
	if os.Remove(dir) == nil {
		return // only when empty: no copy was taken (as the graph's runner does)
	}
	if err := sealRun(dir, started, facts); err != nil {
		pw.Info(fmt.Sprintf("the safety folder %s could not be recorded as a backup run (%v): its copies are recorded in its manifest; restore the graph from it with --component graph", dir, err))
	}
}

func sealRun(dir string, started time.Time, facts deploymentFacts) error {
	folder, err := backupset.Open(dir)
	if err != nil {
		return err
	}
	m, err := folder.ReadManifest()
	if err != nil {
		return err
	}
	run := backupset.RunRecord{ID: backupset.NewRunID(started), Started: started.UTC(), Complete: true, InfrahubVersion: facts.infrahub, Project: facts.project}
	// A --safety-dir used again within the same second: the ID names a
	// second, the next free one is this run's.
	for at := started; ; at = at.Add(time.Second) {
		if _, taken := m.Run(backupset.NewRunID(at)); !taken {
			run.ID = backupset.NewRunID(at)
			break
		}
	}
	var comps []string
	for i := range m.Files {
		rec := &m.Files[i]
		if (rec.RunID != "" && rec.RunID != run.ID) || (!rec.Added.IsZero() && rec.Added.Before(started)) {
			continue // another restore's copy (a --safety-dir used again)
		}
		if rec.Component == "" {
			rec.Component = backupset.ComponentGraph
		}
		rec.RunID = run.ID
		if !slices.Contains(comps, rec.Component) {
			comps = append(comps, rec.Component)
		}
		if rec.Component == backupset.ComponentGraph {
			run.Neo4jVersion, run.Neo4jEdition = rec.Neo4jVersion, rec.Edition
		}
	}
	if len(comps) == 0 {
		return nil
	}
	run.Components = inRestoreOrder(comps)
	m.UpsertRun(run)
	return folder.WriteManifest(m)
}

func (p *SetPlan) has(c string) bool { return slices.Contains(p.Components, c) }

// graphOnly reports a restore of the graph alone, which is the graph
// workflow as it is (Run): the folder has no runs, or only runs that hold
// nothing but the graph, or --component graph asks for it alone. Its chain
// choice (newest, or --until), checks and output are then those of a
// folder of Neo4j backups.
func graphOnly(m *backupset.Manifest, asked []string) bool {
	if len(asked) > 0 {
		return !slices.ContainsFunc(asked, func(c string) bool { return c != backupset.ComponentGraph })
	}
	return !m.HasComponentRuns()
}

// prepareSet checks the run's files and finds the containers, before
// anything changes.
func prepareSet(ctx context.Context, eng Engine, folder *backupset.Folder, opts SetOptions, plan *SetPlan, pw progress.Writer) error {
	target, err := deployment.FindTarget(ctx, eng, opts.Target)
	if err != nil {
		return err
	}
	plan.target = target
	if target.Container == nil || target.Container.ComposeProject == "" {
		if plan.has(backupset.ComponentTaskManager) || plan.has(backupset.ComponentStorage) {
			return &helper.EnvironmentError{Err: errors.New("the task manager and the storage are restored into the database's Compose project, and the database container is not in one: restore the graph alone with --component graph")}
		}
		return nil
	}
	dep, err := deployment.FindDeployment(ctx, eng, *target.Container)
	if err != nil {
		return err
	}
	if plan.has(backupset.ComponentTaskManager) {
		if err := checkFile(folder, *plan.TaskManager, pw); err != nil {
			return err
		}
		src, skip, err := pgdump.Find(dep.TaskManagerDB, dep.TaskManager)
		if err == nil && skip != "" {
			err = fmt.Errorf("the run has a task-manager backup but %s: leave it out with --component", skip)
		}
		if err != nil {
			return &helper.EnvironmentError{Err: err}
		}
		plan.tm = &src
	}
	if plan.has(backupset.ComponentStorage) {
		if err := checkFile(folder, *plan.Storage, pw); err != nil {
			return err
		}
		s, skip := volumearchive.Find(dep.Server, target.Container.Image)
		if skip != "" {
			return &helper.EnvironmentError{Err: fmt.Errorf("the run has a storage backup but %s: leave it out with --component", skip)}
		}
		plan.storage = &s
	}
	if opts.StopApps {
		plan.apps, err = deployment.RunningApps(ctx, eng, *target.Container, withTransient(deployment.WithTaskManager(opts.AppServices)))
		if err != nil {
			return err
		}
	}
	for _, c := range plan.apps {
		plan.Apps = append(plan.Apps, c.Name)
	}
	if opts.SafetyBackup {
		plan.SafetyDir = opts.SafetyDir
		if plan.SafetyDir == "" {
			plan.SafetyDir = folder.Path(backupset.SafetyDirName(time.Now()))
		}
	}
	return nil
}

// checkFile proves the file matches the manifest, then runs on it the
// content check verify runs (contentcheck), which fails the restore here,
// before anything stops, with verify's message.
func checkFile(folder *backupset.Folder, rec backupset.FileRecord, pw progress.Writer) error {
	f, err := folder.OpenChecked(rec)
	if err != nil {
		return &VerifyError{Problems: []string{err.Error()}}
	}
	defer f.Close()
	res, p := contentcheck.CheckOpen(f, rec.Size, rec)
	if p != nil {
		return &VerifyError{Problems: []string{p.String()}}
	}
	if res.Warning != "" {
		pw.Info(rec.Name + ": " + res.Warning)
	}
	return nil
}

// setRunner is the state of one whole-deployment restore.
type setRunner struct {
	eng    Engine
	folder *backupset.Folder
	safety *backupset.Folder
	plan   *SetPlan
	pw     progress.Writer
	keep   bool
	// guard is told the state of each component (nil: no guardian).
	guard Guard
	// undo puts replaced components back, most recent first.
	undo []undoStep
	// held releases the storage's helper of a failed replacement, which
	// the guardian puts the storage back in until the rollback's helper is
	// told (guardRollback); nil when none is held.
	held func(ctx context.Context)
}

// releaseHeld releases the helper a failed storage replacement left to
// the rollback, if any.
func (s *setRunner) releaseHeld(ctx context.Context) {
	if s.held != nil {
		s.held(ctx)
		s.held = nil
	}
}

// tell tells the guardian a component's state; an error is the guardian
// gone, before a replacement.
func (s *setRunner) tell(ctx context.Context, component, state, safety string) error {
	if s.guard == nil {
		return nil
	}
	return s.guard.Component(ctx, component, state, safety)
}

type undoStep struct {
	component string
	where     string // the safety copy, for the message when undo fails
	do        func(ctx context.Context) error
}

func (s *setRunner) restoreTaskManager(ctx context.Context) error {
	src, rec := *s.plan.tm, *s.plan.TaskManager
	if s.safety != nil {
		name, _ := backupset.ComponentFileName(backupset.ComponentTaskManager, time.Now())
		if err := progress.Run(s.pw, progress.Event{ID: "tm-safety", Text: "Safety dump of the task manager into " + s.safety.Path(name)}, func() error {
			return s.takeSafety(func() (backupset.FileRecord, error) { return pgdump.Take(ctx, s.eng, s.safety, src, name) })
		}); err != nil {
			return fmt.Errorf("safety dump of the task manager failed, nothing was changed: %w", err)
		}
		safety := s.safety
		if err := s.tell(ctx, backupset.ComponentTaskManager, agent.ComponentReplacing, safety.Path(name)); err != nil {
			return err
		}
		s.undo = append(s.undo, undoStep{component: backupset.ComponentTaskManager, where: safety.Path(name), do: func(ctx context.Context) error {
			f, err := os.Open(safety.Path(name))
			if err != nil {
				return err
			}
			defer f.Close()
			return pgdump.Restore(ctx, s.eng, src, f)
		}})
	} else if err := s.tell(ctx, backupset.ComponentTaskManager, agent.ComponentReplacing, ""); err != nil {
		return err
	}
	text := fmt.Sprintf("pg_restore %s into %s", rec.Name, src.Container.Name)
	return s.told(ctx, backupset.ComponentTaskManager, progress.Run(s.pw, progress.Event{ID: "tm", Text: text}, func() error {
		f, err := s.folder.OpenChecked(rec)
		if err == nil {
			err = pgdump.Restore(ctx, s.eng, src, f)
			f.Close()
		}
		if err != nil && !s.keepUndoIfChanged(err) {
			var unfinished *pgdump.UnfinishedError
			if !errors.As(err, &unfinished) {
				err = fmt.Errorf("%w\nthe task manager is as it was: pg_restore runs in one transaction", err)
			}
		}
		return err
	}))
}

// told tells the guardian how a component's replacement ended: new when
// err is nil; old when it failed without a change (the task manager, whose
// pg_restore runs in one transaction: keepUndoIfChanged left no undo step
// for it); else nothing yet (the rollback tells, or the state stays
// "replacing": torn).
func (s *setRunner) told(ctx context.Context, component string, err error) error {
	unchanged := component == backupset.ComponentTaskManager &&
		!slices.ContainsFunc(s.undo, func(u undoStep) bool { return u.component == component })
	switch {
	case err == nil:
		_ = s.tell(ctx, component, agent.ComponentNew, "")
	case unchanged:
		_ = s.tell(ctx, component, agent.ComponentOld, "")
	}
	return err
}

// takeSafety writes a safety copy with take and records it in the safety
// folder's manifest, so `verify` checks it like any backup.
func (s *setRunner) takeSafety(take func() (backupset.FileRecord, error)) error {
	rec, err := take()
	if err != nil {
		return err
	}
	m, err := s.safety.ReadManifest()
	if err == nil {
		m.Upsert(rec)
		err = s.safety.WriteManifest(m)
	}
	return err
}

// keepUndoIfChanged decides, after a failed pg_restore, whether the task
// manager needs its safety copy back. pg_restore runs in one transaction:
// when it failed, or was ended inside that transaction, nothing changed.
// One whose end is unknown (interrupted after its last statement was sent,
// or ended by itself unseen) may have committed: its safety copy is put
// back, and without one the rollback says so.
// It reports whether the task manager may have changed.
func (s *setRunner) keepUndoIfChanged(err error) (changed bool) {
	hasUndo := len(s.undo) > 0 && s.undo[len(s.undo)-1].component == backupset.ComponentTaskManager
	var unfinished *pgdump.UnfinishedError
	switch {
	case !errors.As(err, &unfinished) || unfinished.Unchanged:
		if hasUndo {
			s.undo = s.undo[:len(s.undo)-1]
		}
		return false
	case !hasUndo:
		s.undo = append(s.undo, undoStep{component: backupset.ComponentTaskManager, do: func(context.Context) error {
			return errors.New("pg_restore did not finish and may have replaced it, and there is no safety dump to put back (--no-safety-backup)")
		}})
	}
	return true
}

func (s *setRunner) restoreStorage(ctx context.Context) (err error) {
	st, rec := *s.plan.storage, *s.plan.Storage
	h, release, err := helper.Start(ctx, s.eng, volumearchive.HelperSpec(st, "restore", true), s.keep, s.pw)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil && slices.ContainsFunc(s.undo, func(u undoStep) bool { return u.component == backupset.ComponentStorage }) {
			// The rollback releases it once the guardian knows the
			// rollback's helper: until then a lost run is put back here.
			s.held = release
			return
		}
		release(ctx)
	}()
	if s.safety != nil {
		name, _ := backupset.ComponentFileName(backupset.ComponentStorage, time.Now())
		if err := progress.Run(s.pw, progress.Event{ID: "storage-safety", Text: "Safety archive of the storage into " + s.safety.Path(name)}, func() error {
			return s.takeSafety(func() (backupset.FileRecord, error) { return volumearchive.Take(ctx, h, s.safety, st, name, nil) })
		}); err != nil {
			return fmt.Errorf("safety archive of the storage failed, nothing was changed: %w", err)
		}
		safety := s.safety
		if err := s.keepStorageCopy(ctx, "storage-guardian", h.Name(), safety.Path(name)); err != nil {
			return fmt.Errorf("the storage's safety archive could not be given to the guardian, nothing was changed: %w", err)
		}
		if err := s.tell(ctx, backupset.ComponentStorage, agent.ComponentReplacing, safety.Path(name)); err != nil {
			return err
		}
		s.undo = append(s.undo, undoStep{component: backupset.ComponentStorage, where: safety.Path(name), do: func(ctx context.Context) error {
			h, release, err := helper.Start(ctx, s.eng, volumearchive.HelperSpec(st, "rollback", true), false, s.pw)
			if err != nil {
				return err
			}
			defer release(ctx)
			s.guardRollback(ctx, h.Name(), safety.Path(name))
			s.releaseHeld(ctx)
			f, err := os.Open(safety.Path(name))
			if err != nil {
				return err
			}
			defer f.Close()
			return volumearchive.Restore(ctx, h, f)
		}})
	} else if err := s.tell(ctx, backupset.ComponentStorage, agent.ComponentReplacing, ""); err != nil {
		return err
	}
	text := fmt.Sprintf("Restore %s into %s", rec.Name, st.Name())
	return s.told(ctx, backupset.ComponentStorage, progress.Run(s.pw, progress.Event{ID: "storage", Text: text}, func() error {
		f, err := s.folder.OpenChecked(rec)
		if err != nil {
			return err
		}
		defer f.Close()
		return volumearchive.Restore(ctx, h, f)
	}))
}

// keepStorageCopy copies the storage's safety archive into the guardian,
// which then puts it back by itself, in helperName, if the run is lost
// while the storage is replaced (its folder is on the client's disk).
func (s *setRunner) keepStorageCopy(ctx context.Context, id, helperName, file string) error {
	if s.guard == nil {
		return nil
	}
	if armed, _ := s.guard.Armed(); !armed {
		return nil
	}
	return progress.Run(s.pw, progress.Event{ID: id, Text: "Copy of the storage's safety archive into the guardian"}, func() error {
		archive, err := volumearchive.PutBackCopy(file)
		if err == nil {
			err = s.guard.KeepCopy(ctx, backupset.ComponentStorage, helperName, volumearchive.MountPoint, archive)
		}
		return err
	})
}

// guardRollback tells the guardian, before the rollback touches the
// storage, that the storage is being replaced again, in helperName (the
// rollback's own helper): if the run is lost mid-rollback, the guardian
// puts its copy back there. The copy it holds since the replacement began
// is named to that helper; one it dropped, told the storage was replaced
// (the rollback of a later component), is given to it again. The rollback
// goes on whatever the guardian answers: the guardian's record then says
// the storage may be partial, and where its safety copy is.
func (s *setRunner) guardRollback(ctx context.Context, helperName, file string) {
	if s.guard == nil {
		return
	}
	if !s.guard.PutBackIn(backupset.ComponentStorage, helperName) {
		if err := s.keepStorageCopy(ctx, "storage-guardian-rollback", helperName, file); err != nil {
			s.pw.Info(fmt.Sprintf("the storage's safety archive could not be given to the guardian again (%v): the rollback goes on; should this run be lost before it ends, restore the storage from %s", err, file))
		}
	}
	if err := s.tell(ctx, backupset.ComponentStorage, agent.ComponentReplacing, file); err != nil {
		s.pw.Info(fmt.Sprintf("the guardian did not hear the storage's rollback (%v): the rollback goes on; should this run be lost before it ends, restore the storage from %s", err, file))
	}
}

// rollback puts back the components already replaced, most recent first,
// on a fresh context (Ctrl-C too), and returns the error to report.
func (s *setRunner) rollback(ctx context.Context, component string, cause error) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Minute)
	defer cancel()
	var done, failed []string
	for _, u := range slices.Backward(s.undo) {
		id, text := "rollback "+u.component, "Roll back the "+u.component
		if u.where != "" {
			text += " from " + u.where
		}
		if err := progress.Run(s.pw, progress.Event{ID: id, Text: text}, func() error { return u.do(ctx) }); err != nil {
			if u.where == "" {
				failed = append(failed, fmt.Sprintf("the %s (%v)", u.component, err))
			} else {
				failed = append(failed, fmt.Sprintf("the %s (its previous content is in %s: %v)", u.component, u.where, err))
			}
			continue
		}
		done = append(done, u.component)
		_ = s.tell(ctx, u.component, agent.ComponentOld, "")
	}
	s.undo = nil
	s.releaseHeld(ctx)
	var degraded *DegradedError
	if len(failed) > 0 || errors.As(cause, &degraded) {
		return &ComponentsDegradedError{Component: component, Err: cause, RolledBack: done, NotRolledBack: failed}
	}
	return &ComponentsRolledBackError{Component: component, RolledBack: done, Err: cause}
}
