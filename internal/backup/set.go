package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/volumearchive"
)

// SetOptions choose the components of a whole-deployment backup run.
type SetOptions struct {
	Options
	// Components to take (backupset.Component*); empty: every one found.
	// A component named here that the deployment lacks is an error; one
	// found missing when none are named is reported as skipped.
	Components []string
	// Consistent stops the Infrahub application containers for the
	// capture, so that every component belongs to one point in time
	// (consent: Offline.Confirm; the applications are Offline.AppServices
	// and the task manager).
	Consistent bool
}

// SetResult is what a whole-deployment backup run wrote.
type SetResult struct {
	RunID      string              `json:"run_id"`
	Components []string            `json:"components"`
	Skipped    []backupset.Skipped `json:"skipped,omitempty"`
	// Graph is the graph backup; nil when the run did not take the graph.
	Graph *Result `json:"graph,omitempty"`
	// Files are the task-manager and storage artifacts.
	Files           []backupset.FileRecord `json:"files"`
	InfrahubVersion string                 `json:"infrahub_version,omitempty"`
	// Volumes says, for each named volume of the deployment, the component
	// that captured it or why none did.
	Volumes  []backupset.VolumeRecord `json:"volumes,omitempty"`
	Project  string                   `json:"compose_project,omitempty"`
	Folder   string                   `json:"folder"`
	Duration time.Duration            `json:"duration_ns"`
	// Consistent: the applications were stopped for the capture; Downtime
	// is from the first one stopped to the last one running again.
	Consistent       bool          `json:"consistent,omitempty"`
	Downtime         time.Duration `json:"downtime_ns,omitempty"`
	AppsRestarted    []string      `json:"app_containers_restarted,omitempty"`
	AppsNotRestarted []string      `json:"app_containers_not_restarted,omitempty"`
	// Verified is what --verify (or --check) found in every file of the
	// run; nil without it.
	Verified *Verification `json:"verify,omitempty"`
}

// componentPlan is what RunSet found for each component.
type componentPlan struct {
	target      helper.Target // the database the components were found next to
	graph       bool
	taskManager *pgdump.Source
	storage     *volumearchive.Storage
	skipped     []backupset.Skipped
	dep         deployment.Deployment
}

func (o SetOptions) wants(component string) bool {
	return len(o.Components) == 0 || slices.Contains(o.Components, component)
}

func (o SetOptions) named(component string) bool { return slices.Contains(o.Components, component) }

// RunSet backs up the whole deployment as one run: the graph (Run), then
// the task manager's PostgreSQL and the object storage, every file carrying
// the run's ID in the manifest. The run record is written complete only
// when every component is in the folder.
//
// On Neo4j Community the graph is an offline dump, for which the
// applications stop anyway: the task manager and the storage are captured
// inside that outage, alongside the dump, so a Community run always belongs
// to one point in time (issue 13 item 5) and costs no downtime beyond the
// dump's. With opts.Consistent on Neo4j Enterprise the applications are
// stopped around the three captures (the database stays online). They start
// again on every path.
func RunSet(ctx context.Context, eng Engine, folder *backupset.Folder, opts SetOptions, pw progress.Writer) (*SetResult, error) {
	if err := backupset.CheckComponents(opts.Components); err != nil {
		return nil, &helper.EnvironmentError{Err: err}
	}
	m, err := folder.ReadManifest()
	if err != nil {
		return nil, err
	}
	started, err := newRunTime(ctx, m)
	if err != nil {
		return nil, err
	}
	res := &SetResult{RunID: backupset.NewRunID(started), Folder: folder.Dir}

	plan, err := planComponents(ctx, eng, opts)
	if err != nil {
		return nil, err
	}
	res.Skipped, res.Project = plan.skipped, plan.dep.Project
	if plan.dep.Server != nil {
		res.InfrahubVersion = helper.InfrahubVersion(*plan.dep.Server)
	}
	for _, s := range plan.skipped {
		pw.Info(fmt.Sprintf("component %s skipped: %s", s.Component, s.Reason))
	}
	if res.Volumes, err = accountVolumes(ctx, eng, plan); err != nil {
		return nil, err
	}
	for _, v := range res.Volumes {
		if v.Skipped != "" {
			pw.Info(fmt.Sprintf("volume %s not in this run: %s", v.Name, v.Skipped))
		}
	}
	run := backupset.RunRecord{ID: res.RunID, Started: started, Skipped: plan.skipped, InfrahubVersion: res.InfrahubVersion, Project: plan.dep.Project, Volumes: res.Volumes}
	// The run's record is written open before anything stops or is taken,
	// and names the step under way: a run that dies (kill -9, a machine
	// that stops) stays listed as interrupted. Every end closes it: the
	// final record, or its removal when nothing was written.
	ended := false
	mark := func(step string) error {
		m, err := folder.ReadManifest()
		if err != nil {
			return err
		}
		open, err := folder.Opened(run)
		if err != nil {
			return err
		}
		open.Step, open.Components = step, res.Components
		m.UpsertRun(open)
		return folder.WriteManifest(m)
	}
	_, statErr := os.Lstat(folder.Path(backupset.ManifestName))
	hadManifest := statErr == nil
	found, err := folder.ReadManifest() // to put back as it was
	if err != nil {
		return nil, err
	}
	if err := mark(""); err != nil {
		return nil, err
	}
	defer func() {
		if ended {
			return
		}
		if m, err := folder.ReadManifest(); err == nil {
			m.RemoveRun(res.RunID)
			switch {
			case !hadManifest && len(m.Files) == 0 && len(m.Runs) == 0:
				// The run changed nothing: no manifest is left where
				// there was none.
				err = os.Remove(folder.Path(backupset.ManifestName))
			case hadManifest:
				// Nor a manifest changed where it wrote nothing.
				var same bool
				if same, err = folder.PutBackManifest(found, m); err == nil && !same {
					err = folder.WriteManifest(m)
				}
			default:
				err = folder.WriteManifest(m)
			}
			if err != nil {
				pw.Info(fmt.Sprintf("the open record of run %s could not be removed (%v): list shows it as interrupted", res.RunID, err))
			}
		}
	}()
	var outage *deployment.Outage // --consistent on Enterprise
	// What is captured while the applications are stopped is staged on
	// this machine even when the folder forwards to a location (backup
	// s3://): an outage never waits for the location.
	unstage := func() {}
	startApps := func() {
		unstage()
		if outage != nil {
			outage.StartApps(ctx)
			res.Downtime, res.AppsRestarted, res.AppsNotRestarted = outage.Downtime(), outage.AppsRestarted, outage.AppsNotRestarted
			outage = nil
		}
	}
	defer startApps()
	// The Community dump's outage holds the applications.
	community := plan.graph && opts.DatabaseURL() == "" && isCommunity(plan.target)
	if opts.Consistent {
		target, err := consistentTarget(ctx, eng, opts)
		if err != nil {
			return nil, err
		}
		community = plan.graph && isCommunity(target)
		if !community {
			unstage = folder.StageLocally()
			if outage, err = stopForCapture(ctx, eng, target, plan.graph, opts.Options, pw); err != nil {
				return nil, err
			}
		}
		res.Consistent, run.Consistent = true, true
	}
	if community && (plan.taskManager != nil || plan.storage != nil) {
		res.Consistent, run.Consistent = true, true
	}
	var recs []backupset.FileRecord
	// record stamps what was written so far into the manifest; a failed run
	// stays incomplete there, its files still verifiable.
	record := func(complete bool) error {
		m, err := folder.ReadManifest()
		if err != nil {
			return err
		}
		for _, r := range recs {
			r.RunID = res.RunID
			m.Upsert(r)
		}
		run.Complete = complete
		run.Components = res.Components
		m.UpsertRun(run)
		if err := folder.WriteManifest(m); err != nil {
			return err
		}
		ended = true
		return nil
	}
	fail := func(err error) (*SetResult, error) {
		if len(recs) > 0 {
			err = errors.Join(err, record(false))
		}
		return res, err
	}

	// markOthers is off when the others are captured inside the graph's
	// outage, alongside the dump: the step stays "graph" until it ends.
	markOthers := true
	others := func(ctx context.Context) error {
		if plan.taskManager != nil && markOthers {
			if err := mark(backupset.ComponentTaskManager); err != nil {
				return err
			}
		}
		if err := takeTaskManager(ctx, eng, folder, plan, pw, res, &recs); err != nil {
			return err
		}
		if plan.storage != nil && markOthers {
			if err := mark(backupset.ComponentStorage); err != nil {
				return err
			}
		}
		return takeStorageComponent(ctx, eng, folder, plan, opts.KeepHelper, pw, res, &recs)
	}
	if plan.graph {
		if err := mark(backupset.ComponentGraph); err != nil {
			return fail(err)
		}
		gopts := opts.Options
		// The graph is taken from the container the components were found
		// next to, whatever starts meanwhile.
		gopts.Target = gopts.Target.Pin(plan.target)
		// The applications are stopped for an Enterprise --consistent
		// capture: nothing of Infrahub writes while the graph is counted.
		gopts.Quiesced = outage != nil
		if community {
			// The dump's outage holds the applications: capture the others
			// while it lasts.
			whileStopped := others
			gopts.Offline.WhileStopped = func(ctx context.Context) error {
				defer folder.StageLocally()()
				return whileStopped(ctx)
			}
			others, markOthers = nil, false
		}
		g, err := runLocked(ctx, eng, folder, gopts, pw)
		if err != nil {
			return fail(err)
		}
		if community {
			res.Downtime, res.AppsRestarted, res.AppsNotRestarted = g.Downtime, g.AppsRestarted, g.AppsNotRestarted
		}
		res.Graph = g
		// Listed first, as it is taken first (on Community the others
		// finish inside its step).
		res.Components = append([]string{backupset.ComponentGraph}, res.Components...)
		run.Neo4jEdition, run.Neo4jVersion = g.Edition, g.Neo4jVersion
		for _, r := range g.Files {
			r.Component = backupset.ComponentGraph
			if r.Captured.IsZero() {
				r.Captured = r.Time
			}
			recs = append(recs, r)
		}
	}
	if others != nil {
		if err := others(ctx); err != nil {
			return fail(err)
		}
	}
	startApps()
	if opts.Verify || opts.Check {
		// The files are recorded first (the run still incomplete), then
		// verified as verify FOLDER would; a run that fails its
		// verification stays incomplete: restore does not take it.
		if err := record(false); err != nil {
			return res, err
		}
		var gc *graphCheck
		if res.Graph != nil {
			gc = res.Graph.check
		}
		v, err := verifyWritten(ctx, folder, recs, gc, pw)
		if err != nil {
			return res, err
		}
		res.Verified = v
		if res.Graph != nil {
			res.Graph.Verified = v
		}
		if !v.OK {
			return res, errors.Join(&backupset.VerifyError{Problems: v.Problems}, deployment.NotRestartedError(res.AppsNotRestarted))
		}
	}
	if err := record(true); err != nil {
		return res, err
	}
	res.Duration = time.Since(started)
	return res, deployment.NotRestartedError(res.AppsNotRestarted)
}

// takeTaskManager dumps the task manager's database when the plan has it.
func takeTaskManager(ctx context.Context, eng Engine, folder *backupset.Folder, plan componentPlan, pw progress.Writer, res *SetResult, recs *[]backupset.FileRecord) error {
	if plan.taskManager == nil {
		return nil
	}
	name, _ := backupset.ComponentFileName(backupset.ComponentTaskManager, time.Now())
	var rec backupset.FileRecord
	if err := progress.Run(pw, progress.Event{ID: "task-manager", Text: fmt.Sprintf("pg_dump %s in %s into %s", plan.taskManager.Database, plan.taskManager.Container.Name, name)}, func() (err error) {
		rec, err = pgdump.Take(ctx, eng, folder, *plan.taskManager, name)
		return err
	}); err != nil {
		return fmt.Errorf("task manager backup: %w", err)
	}
	if res.Consistent {
		// Nothing writes while the applications are stopped: the row
		// counts are those of the dump, for a drill to check against.
		if figures, err := pgdump.CountRows(ctx, eng, *plan.taskManager); err == nil {
			rec.Figures = figures
		} else {
			pw.Info("the task manager's row counts could not be recorded (a drill will not compare them): " + err.Error())
		}
	}
	*recs = append(*recs, rec)
	res.Files = append(res.Files, rec)
	res.Components = append(res.Components, backupset.ComponentTaskManager)
	return nil
}

// takeStorageComponent archives the storage when the plan has it.
func takeStorageComponent(ctx context.Context, eng Engine, folder *backupset.Folder, plan componentPlan, keep bool, pw progress.Writer, res *SetResult, recs *[]backupset.FileRecord) error {
	if plan.storage == nil {
		return nil
	}
	rec, err := takeStorage(ctx, eng, folder, *plan.storage, keep, pw)
	if err != nil {
		return fmt.Errorf("storage backup: %w", err)
	}
	*recs = append(*recs, rec)
	res.Files = append(res.Files, rec)
	res.Components = append(res.Components, backupset.ComponentStorage)
	return nil
}

func takeStorage(ctx context.Context, eng Engine, folder *backupset.Folder, s volumearchive.Storage, keep bool, pw progress.Writer) (backupset.FileRecord, error) {
	name, _ := backupset.ComponentFileName(backupset.ComponentStorage, time.Now())
	var rec backupset.FileRecord
	err := progress.Run(pw, progress.Event{ID: "storage", Text: fmt.Sprintf("Archive %s of %s into %s", s.Name(), s.Server.Name, name)}, func() error {
		h, release, err := helper.Start(ctx, eng, volumearchive.HelperSpec(s, "backup", false), keep, pw)
		if err != nil {
			return err
		}
		// Removed as soon as the archive was read, while the file is
		// synced: the step does not wait for the two in turn.
		removeHelper, removed := helper.InBackground(ctx, release)
		defer removed()
		rec, err = volumearchive.Take(ctx, h, folder, s, name, removeHelper)
		return err
	})
	return rec, err
}

// newRunTime is the start of a new run: now, in whole seconds as run IDs
// and file names have them. A run of the same second already in the folder
// (two backups in a row, with the folder lock held by the caller) is given
// way to by waiting for the next second.
func newRunTime(ctx context.Context, m *backupset.Manifest) (time.Time, error) {
	for {
		started := time.Now().UTC().Truncate(time.Second)
		if _, taken := m.Run(backupset.NewRunID(started)); !taken {
			return started, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(time.Until(started.Add(time.Second))):
		}
	}
}

// planComponents finds the deployment and what each component needs.
func planComponents(ctx context.Context, eng Engine, opts SetOptions) (componentPlan, error) {
	p := componentPlan{graph: opts.wants(backupset.ComponentGraph)}
	others := opts.wants(backupset.ComponentTaskManager) || opts.wants(backupset.ComponentStorage)
	if !others {
		return p, nil
	}
	skip := func(component, why string) error {
		if opts.named(component) {
			return &helper.EnvironmentError{Err: fmt.Errorf("component %s was asked for with --component but %s", component, why)}
		}
		p.skipped = append(p.skipped, backupset.Skipped{Component: component, Reason: why})
		return nil
	}
	skipBoth := func(why string) error {
		for _, c := range []string{backupset.ComponentTaskManager, backupset.ComponentStorage} {
			if opts.wants(c) {
				if err := skip(c, why); err != nil {
					return err
				}
			}
		}
		return nil
	}
	target, err := deployment.FindTarget(ctx, eng, opts.Target)
	if err != nil {
		return p, err
	}
	if target.Container == nil {
		return p, skipBoth("the database is reached by --database-url alone: there is no Compose project to find it in")
	}
	p.target = target
	if target.Container.ComposeProject == "" {
		return p, skipBoth(fmt.Sprintf("database container %s is not part of a Compose project", target.Container.Name))
	}
	p.dep, err = deployment.FindDeployment(ctx, eng, *target.Container)
	if err != nil {
		return p, err
	}
	if opts.wants(backupset.ComponentTaskManager) {
		src, why, err := pgdump.Find(p.dep.TaskManagerDB, p.dep.TaskManager)
		if err != nil {
			return p, &helper.EnvironmentError{Err: err}
		}
		if why != "" {
			if err := skip(backupset.ComponentTaskManager, why); err != nil {
				return p, err
			}
		} else {
			p.taskManager = &src
		}
	}
	if opts.wants(backupset.ComponentStorage) {
		s, why := volumearchive.Find(p.dep.Server, target.Container.Image)
		if why != "" {
			if err := skip(backupset.ComponentStorage, why); err != nil {
				return p, err
			}
		} else {
			p.storage = &s
		}
	}
	return p, nil
}

// isCommunity reports a database container running Neo4j Community, whose
// backup is an offline dump.
func isCommunity(t helper.Target) bool {
	return t.Container != nil && helper.Edition(*t.Container) == "community"
}
