package backup

import (
	"context"
	"errors"

	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// consistentTarget finds the database container of a --consistent run: the
// applications to stop are the services of its Compose project.
func consistentTarget(ctx context.Context, eng Engine, opts SetOptions) (helper.Target, error) {
	target, err := deployment.FindTarget(ctx, eng, opts.Target)
	if err != nil {
		return helper.Target{}, err
	}
	if target.Container == nil || target.Container.ComposeProject == "" {
		return helper.Target{}, &helper.EnvironmentError{Err: errors.New("--consistent stops the Infrahub application containers of the database's Compose project: it needs a database container of a Compose project, not --database-url or a container outside Compose; nothing was changed")}
	}
	return target, nil
}

// stopForCapture stops the running application containers of the project of
// db (Neo4j Enterprise) so that graph, task manager and storage are captured
// at one point in time (or, without the graph, task manager and storage on
// any edition). Consent is asked first, as for a Community dump
// (OfflineOptions.Confirm with a plan marked Consistent); nothing stops
// without it. The caller starts the applications again with StartApps on
// every path; a failed stop already did.
func stopForCapture(ctx context.Context, eng Engine, target helper.Target, graph bool, opts Options, pw progress.Writer) (*deployment.Outage, error) {
	db, oo := *target.Container, opts.Offline
	// Find a database that cannot serve the backup, and pull the helper
	// image, before anything stops.
	if graph {
		if err := CheckBackupSource(db); err != nil {
			return nil, err
		}
		if err := helper.EnsureImage(ctx, eng, helper.ChooseImage(opts.HelperImage, target), opts.RegistryAuth, pw); err != nil {
			return nil, err
		}
	}
	apps, err := deployment.RunningApps(ctx, eng, db, deployment.WithTaskManager(oo.AppServices))
	if err != nil {
		return nil, err
	}
	plan := &DumpPlan{DatabaseContainer: db.Name, Found: target.Rule, Edition: helper.Edition(db), Consistent: true}
	for _, a := range apps {
		plan.Apps = append(plan.Apps, a.Name)
	}
	if err := askConsent(oo.Confirm, plan); err != nil {
		return nil, err
	}
	outage := deployment.NewAppOutage(eng, apps, pw)
	if err := outage.StopApps(ctx); err != nil {
		outage.StartApps(ctx)
		return nil, withCancel(ctx, errors.Join(err, deployment.NotRestartedError(outage.AppsNotRestarted)))
	}
	return outage, nil
}

// askConsent asks the run's confirmation, when there is one, before
// anything is stopped; a "no" is ErrNotConfirmed.
func askConsent(confirm func(*DumpPlan) (bool, error), plan *DumpPlan) error {
	if confirm == nil {
		return nil
	}
	ok, err := confirm(plan)
	if err == nil && !ok {
		err = ErrNotConfirmed
	}
	return err
}
