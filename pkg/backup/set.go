package backup

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/pkg/backupset"
	"github.com/opsmill/docker-infrahubdb/pkg/helper"
	"github.com/opsmill/docker-infrahubdb/pkg/pgdump"
	"github.com/opsmill/docker-infrahubdb/pkg/progress"
	"github.com/opsmill/docker-infrahubdb/pkg/volumearchive"
)

// SetOptions choose the components of a whole-deployment backup run.
type SetOptions struct {
	Options
	// Components to take (backupset.Component*); empty: every one found.
	// A component named here that the deployment lacks is an error; one
	// found missing when none are named is reported as skipped.
	Components []string
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
	Project         string                 `json:"compose_project,omitempty"`
	Folder          string                 `json:"folder"`
	Duration        time.Duration          `json:"duration_ns"`
}

// componentPlan is what RunSet found for each component.
type componentPlan struct {
	graph       bool
	taskManager *pgdump.Source
	storage     *volumearchive.Storage
	skipped     []backupset.Skipped
	dep         helper.Deployment
}

func (o SetOptions) wants(component string) bool {
	return len(o.Components) == 0 || slices.Contains(o.Components, component)
}

func (o SetOptions) named(component string) bool { return slices.Contains(o.Components, component) }

// RunSet backs up the whole deployment as one run: the graph (Run), then
// the task manager's PostgreSQL and the object storage, every file carrying
// the run's ID in the manifest. The run record is written complete only
// when every component is in the folder.
func RunSet(ctx context.Context, eng helper.Engine, folder *backupset.Folder, opts SetOptions, pw progress.Writer) (*SetResult, error) {
	started := time.Now().UTC().Truncate(time.Second)
	res := &SetResult{RunID: backupset.NewRunID(started), Folder: folder.Dir}
	if err := backupset.CheckComponents(opts.Components); err != nil {
		return nil, &helper.EnvironmentError{Err: err}
	}
	release, err := helper.LockFolder(folder, "backup", pw)
	if err != nil {
		return nil, err
	}
	defer release()
	m, err := folder.ReadManifest()
	if err != nil {
		return nil, err
	}
	if _, ok := m.Run(res.RunID); ok {
		return nil, fmt.Errorf("a backup run %s is already in %s (two runs in one second): run again", res.RunID, folder.Dir)
	}

	plan, err := planComponents(ctx, eng, opts)
	if err != nil {
		return nil, err
	}
	res.Skipped, res.Project = plan.skipped, plan.dep.Project
	if plan.dep.Server != nil {
		res.InfrahubVersion = imageTag(plan.dep.Server.Image)
	}
	for _, s := range plan.skipped {
		pw.Info(fmt.Sprintf("component %s skipped: %s", s.Component, s.Reason))
	}
	run := backupset.RunRecord{ID: res.RunID, Started: started, Skipped: plan.skipped, InfrahubVersion: res.InfrahubVersion, Project: plan.dep.Project}
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
		return folder.WriteManifest(m)
	}
	fail := func(err error) (*SetResult, error) {
		if len(recs) > 0 {
			err = errors.Join(err, record(false))
		}
		return res, err
	}

	if plan.graph {
		g, err := runLocked(ctx, eng, folder, opts.Options, pw)
		if err != nil {
			return nil, err
		}
		res.Graph = g
		res.Components = append(res.Components, backupset.ComponentGraph)
		run.Neo4jEdition, run.Neo4jVersion = g.Edition, g.Neo4jVersion
		for _, r := range g.Files {
			r.Component = backupset.ComponentGraph
			if r.Captured.IsZero() {
				r.Captured = r.Time
			}
			recs = append(recs, r)
		}
	}
	if plan.taskManager != nil {
		name, _ := backupset.ComponentFileName(backupset.ComponentTaskManager, time.Now())
		step := progress.Event{ID: "task-manager", Text: fmt.Sprintf("pg_dump %s in %s into %s", plan.taskManager.Database, plan.taskManager.Container.Name, name)}
		pw.Event(with(step, progress.Working))
		rec, err := pgdump.Take(ctx, eng, folder, *plan.taskManager, name)
		if err != nil {
			pw.Event(with(step, progress.Error))
			return fail(fmt.Errorf("task manager backup: %w", err))
		}
		pw.Event(with(step, progress.Done))
		recs = append(recs, rec)
		res.Files = append(res.Files, rec)
		res.Components = append(res.Components, backupset.ComponentTaskManager)
	}
	if plan.storage != nil {
		rec, err := takeStorage(ctx, eng, folder, *plan.storage, opts.KeepHelper, pw)
		if err != nil {
			return fail(fmt.Errorf("storage backup: %w", err))
		}
		recs = append(recs, rec)
		res.Files = append(res.Files, rec)
		res.Components = append(res.Components, backupset.ComponentStorage)
	}
	if err := record(true); err != nil {
		return res, err
	}
	res.Duration = time.Since(started)
	return res, nil
}

func takeStorage(ctx context.Context, eng helper.Engine, folder *backupset.Folder, s volumearchive.Storage, keep bool, pw progress.Writer) (backupset.FileRecord, error) {
	name, _ := backupset.ComponentFileName(backupset.ComponentStorage, time.Now())
	step := progress.Event{ID: "storage", Text: fmt.Sprintf("Archive %s of %s into %s", s.Name(), s.Server.Name, name)}
	pw.Event(with(step, progress.Working))
	h, err := eng.StartHelper(ctx, volumearchive.HelperSpec(s, "backup", false))
	if err != nil {
		pw.Event(with(step, progress.Error))
		return backupset.FileRecord{}, err
	}
	rec, err := volumearchive.Take(ctx, h, folder, s, name)
	if !keep {
		err = errors.Join(err, h.Remove(ctx))
	}
	if err != nil {
		pw.Event(with(step, progress.Error))
		return backupset.FileRecord{}, err
	}
	pw.Event(with(step, progress.Done))
	return rec, nil
}

// planComponents finds the deployment and what each component needs.
func planComponents(ctx context.Context, eng helper.Engine, opts SetOptions) (componentPlan, error) {
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
	target, err := helper.FindTarget(ctx, eng, opts.Target)
	if err != nil {
		return p, err
	}
	if target.Container == nil {
		return p, skipBoth("the database is reached by --database-url alone: there is no Compose project to find it in")
	}
	if target.Container.ComposeProject == "" {
		return p, skipBoth(fmt.Sprintf("database container %s is not part of a Compose project", target.Container.Name))
	}
	p.dep, err = helper.FindDeployment(ctx, eng, *target.Container)
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

// imageTag is the tag of an image reference ("" without one): Infrahub's
// image is tagged with its version (registry.opsmill.io/opsmill/infrahub:1.9.3).
func imageTag(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	i := strings.LastIndexByte(ref, ':')
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ""
	}
	return ref[i+1:]
}

// with returns the event in status st.
func with(e progress.Event, st progress.Status) progress.Event {
	e.Status = st
	return e
}
