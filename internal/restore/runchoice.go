package restore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/pgdump"
	"github.com/opsmill/docker-infrahubdb/internal/volumearchive"
)

// RunLatest is --run latest: the newest complete run, whatever it holds.
const RunLatest = "latest"

// deploymentFacts is what a restore must know of the running deployment
// to choose and check a run.
type deploymentFacts struct {
	// components the deployment has, found as a backup finds them: the
	// graph always; the task manager and the storage when the database's
	// Compose project has them. A restore that brings back fewer leaves
	// the others as they are, which the operator must ask for.
	components []string
	// infrahub is the version infrahub-server runs ("" unknown), server
	// its container's name.
	infrahub, server string
	// project is the database's Compose project ("" none).
	project string
}

func findDeploymentFacts(ctx context.Context, eng Engine, opts Options) (deploymentFacts, error) {
	f := deploymentFacts{components: []string{backupset.ComponentGraph}}
	target, err := deployment.FindTarget(ctx, eng, opts.Target)
	if err != nil {
		return f, err
	}
	if target.Container == nil || target.Container.ComposeProject == "" {
		return f, nil
	}
	f.project = target.Container.ComposeProject
	dep, err := deployment.FindDeployment(ctx, eng, *target.Container)
	if err != nil {
		return f, err
	}
	if _, skip, err := pgdump.Find(dep.TaskManagerDB, dep.TaskManager); err == nil && skip == "" {
		f.components = append(f.components, backupset.ComponentTaskManager)
	}
	if _, skip := volumearchive.Find(dep.Server, target.Container.Image); skip == "" {
		f.components = append(f.components, backupset.ComponentStorage)
	}
	f.components = inRestoreOrder(f.components)
	if dep.Server != nil {
		f.infrahub, f.server = helper.InfrahubVersion(*dep.Server), dep.Server.Name
	}
	return f, nil
}

// upgradeStep is Infrahub's own step after its data changed version
// (docs.infrahub.app, deploy-manage/maintain-upgrade/upgrade, 1.2 and
// later).
const upgradeStep = "docker compose run infrahub-server infrahub upgrade"

// checkInfrahubVersion refuses, before anything stops, a run taken from a
// newer Infrahub than the server runs: its graph and task manager hold
// schema and migrations the older code does not know, and Infrahub has no
// downgrade. A run from an older Infrahub is restored, with a note that
// Infrahub's upgrade step must run on it.
func checkInfrahubVersion(run backupset.RunRecord, f deploymentFacts, plan *SetPlan) error {
	plan.InfrahubVersion = run.InfrahubVersion
	if run.InfrahubVersion == "" || f.server == "" {
		return nil
	}
	cmp, ok := helper.CompareInfrahubVersions(run.InfrahubVersion, f.infrahub)
	switch {
	case !ok:
		plan.Notes = append(plan.Notes, fmt.Sprintf("run %s was taken from Infrahub %s; the version %s runs could not be told: if it is newer, run Infrahub's upgrade step after the restore (%s)", run.ID, run.InfrahubVersion, f.server, upgradeStep))
	case cmp > 0:
		return &helper.EnvironmentError{Err: fmt.Errorf("run %s was taken from Infrahub %s, newer than the Infrahub %s that %s runs: Infrahub cannot go back to an older version; upgrade the deployment to %s or later first, or restore an older run; nothing was changed", run.ID, run.InfrahubVersion, f.infrahub, f.server, run.InfrahubVersion)}
	case cmp < 0:
		plan.Notes = append(plan.Notes, fmt.Sprintf("run %s was taken from Infrahub %s and %s runs %s: run Infrahub's upgrade step on the restored data before using it (%s)", run.ID, run.InfrahubVersion, f.server, f.infrahub, upgradeStep))
	}
	return nil
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
	if len(left) == 1 {
		return fmt.Sprintf("%s: the deployment's %s stays as it is now, not as it was at the backup", what, left[0])
	}
	return fmt.Sprintf("%s: the deployment's %s and %s stay as they are now, not as they were at the backup", what, strings.Join(left[:len(left)-1], ", "), left[len(left)-1])
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
