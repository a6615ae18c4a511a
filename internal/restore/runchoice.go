package restore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump"
	"github.com/opsmill/docker-infrahubdb/internal/volumearchive"
)

// RunLatest is --run latest: the newest complete run, whatever it holds.
const RunLatest = "latest"

// deploymentComponents lists the components the deployment has, found as
// a backup finds them: the graph always; the task manager and the storage
// when the database's Compose project has them. A restore that brings back
// fewer leaves the others as they are, which the operator must ask for.
func deploymentComponents(ctx context.Context, eng Engine, opts Options) ([]string, error) {
	have := []string{backupset.ComponentGraph}
	target, err := helper.FindTarget(ctx, eng, opts.Target)
	if err != nil {
		return have, err
	}
	if target.Container == nil || target.Container.ComposeProject == "" {
		return have, nil
	}
	dep, err := helper.FindDeployment(ctx, eng, *target.Container)
	if err != nil {
		return have, err
	}
	if _, skip, err := pgdump.Find(dep.TaskManagerDB, dep.TaskManager); err == nil && skip == "" {
		have = append(have, backupset.ComponentTaskManager)
	}
	if _, skip := volumearchive.Find(dep.Server, target.Container.Image); skip == "" {
		have = append(have, backupset.ComponentStorage)
	}
	return inRestoreOrder(have), nil
}

func inRestoreOrder(list []string) []string {
	var out []string
	for _, c := range backupset.Components {
		if slices.Contains(list, c) {
			out = append(out, c)
		}
	}
	return out
}

// unchanged lists what the deployment has and the restore does not bring
// back.
func unchanged(have, restored []string) []string {
	return slices.DeleteFunc(slices.Clone(have), func(c string) bool { return slices.Contains(restored, c) })
}

// unchangedStatement is the clear statement of what a partial restore
// leaves as it is: a graph from one day with a task manager and storage of
// another is a deployment whose parts disagree.
func unchangedStatement(left []string, what string) string {
	return fmt.Sprintf("%s: the deployment's %s stay(s) as it is now, not as it was at the backup", what, strings.Join(left, ", "))
}

// chooseRun picks the run to restore:
//   - --run ID: that run, which must be complete;
//   - --run latest: the newest complete run (before --until), whatever it
//     holds;
//   - --component: the newest complete run holding every component named;
//   - otherwise the newest complete run holding every component the
//     deployment has (have), so that a default restore leaves Infrahub
//     whole; a newer run that holds less (a `backup --component graph`) is
//     passed over, and restored only when asked for.
//
// Components of the deployment the chosen run does not restore are set in
// plan.Unchanged.
func chooseRun(m *backupset.Manifest, opts SetOptions, have []string, plan *SetPlan) error {
	required := opts.Components
	if len(required) == 0 && opts.Run == "" {
		required = have
	}
	var chosen *backupset.RunRecord
	var why []string
	var newestComplete *backupset.RunRecord
	for i := len(m.Runs) - 1; i >= 0; i-- {
		r := m.Runs[i]
		if opts.Run != "" && opts.Run != RunLatest {
			if r.ID != opts.Run {
				continue
			}
			if !r.Complete {
				return &helper.EnvironmentError{Err: fmt.Errorf("run %s is incomplete (the backup did not finish): it cannot be restored; see `docker infrahubdb list`", r.ID)}
			}
		} else {
			switch {
			case !opts.Until.IsZero() && r.Started.After(opts.Until):
				continue
			case !r.Complete:
				why = append(why, r.ID+" is incomplete")
				continue
			}
		}
		if newestComplete == nil {
			newestComplete = &r
		}
		if missing := slices.DeleteFunc(slices.Clone(required), func(c string) bool { return slices.Contains(r.Components, c) }); len(missing) > 0 {
			why = append(why, fmt.Sprintf("%s has no %s", r.ID, strings.Join(missing, ", ")))
			if opts.Run != "" && opts.Run != RunLatest {
				return &helper.EnvironmentError{Err: fmt.Errorf("run %s has no %s: drop --component or choose another run", r.ID, strings.Join(missing, ", "))}
			}
			continue
		}
		chosen = &r
		break
	}
	if chosen == nil {
		return noRunError(opts, required, have, why, newestComplete)
	}
	plan.RunID, plan.RunStarted = chosen.ID, chosen.Started
	for _, c := range backupset.Components {
		if slices.Contains(chosen.Components, c) && (len(opts.Components) == 0 || slices.Contains(opts.Components, c)) {
			plan.Components = append(plan.Components, c)
		}
	}
	plan.Unchanged = unchanged(have, plan.Components)
	for _, f := range m.RunFiles(chosen.ID) {
		switch f.Component {
		case backupset.ComponentTaskManager:
			plan.TaskManager = &f
		case backupset.ComponentStorage:
			plan.Storage = &f
		default:
			plan.Graph = append(plan.Graph, f.Name)
			if f.Time.After(plan.until) {
				plan.until = f.Time
			}
		}
	}
	if plan.has(backupset.ComponentTaskManager) && plan.TaskManager == nil || plan.has(backupset.ComponentStorage) && plan.Storage == nil {
		return &helper.EnvironmentError{Err: fmt.Errorf("the manifest's run %s lists a component without its file: run `docker infrahubdb verify`", chosen.ID)}
	}
	return nil
}

// noRunError says why no run fits, and how to choose one that does.
func noRunError(opts SetOptions, required, have []string, why []string, newestComplete *backupset.RunRecord) error {
	if opts.Run != "" && opts.Run != RunLatest {
		return &helper.EnvironmentError{Err: fmt.Errorf("the folder has no backup run %s: see `docker infrahubdb list`", opts.Run)}
	}
	msg := "no complete backup run"
	if !opts.Until.IsZero() {
		msg += " taken before " + opts.Until.UTC().Format(time.RFC3339)
	}
	if len(required) > 0 {
		msg += " with " + strings.Join(required, ", ")
	}
	if len(why) > 0 {
		msg += " (" + strings.Join(why, "; ") + ")"
	}
	if len(opts.Components) == 0 && opts.Run == "" && newestComplete != nil {
		// The deployment has more than any run holds: restoring less is
		// the operator's choice, never the default.
		left := unchanged(have, newestComplete.Components)
		msg += fmt.Sprintf(": the deployment has %s; to restore run %s anyway and leave its %s as it is, pass --run %s (or --component)",
			strings.Join(have, ", "), newestComplete.ID, strings.Join(left, ", "), newestComplete.ID)
		return &helper.EnvironmentError{Err: errors.New(msg)}
	}
	return &helper.EnvironmentError{Err: errors.New(msg + ": see `docker infrahubdb list`, and choose with --run, --until or --component")}
}

// notNewerThan refuses, before anything stops, a chain written by a newer
// Neo4j than the server (notNewer), online backups as well as dumps.
func notNewerThan(folder *backupset.Folder, dbs []DatabasePlan, server neo4j.Release) error {
	if !server.Known {
		return nil
	}
	cat, err := folder.Scan()
	if err != nil {
		return err
	}
	for _, db := range dbs {
		if err := notNewer(db, cat, server); err != nil {
			return err
		}
	}
	return nil
}
