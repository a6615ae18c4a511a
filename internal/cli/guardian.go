package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/pflag"

	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/guardian"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// guardianOptions are the flags of the run lock and the guardian.
type guardianOptions struct {
	wait       time.Duration
	noGuardian bool
	// lazy is not a flag: the command sets it for a run that may stop
	// nothing and start no container (guardian.Options.Lazy).
	lazy bool
}

func (o *guardianOptions) addFlags(fs *pflag.FlagSet) {
	o.addWaitFlag(fs)
	fs.BoolVar(&o.noGuardian, "no-guardian", false, "Run an outage even where no guardian can watch it (a client that dies mid-outage then leaves the deployment stopped); --yes alone does not")
}

// addWaitFlag registers --wait alone, for commands that read the
// deployment without stopping anything (verify --check, verify --drill).
func (o *guardianOptions) addWaitFlag(fs *pflag.FlagSet) {
	fs.DurationVar(&o.wait, "wait", 0, "When another run holds the deployment, wait up to this long for it (0: refuse at once, exit code 4)")
}

// owned is a run's hold on its deployment.
type owned struct {
	cli    command.Cli       // the Cli the run must use: its container stops and starts are told to the guardian first
	unlock func(error) error // releases the deployment, then what the caller's unlock released
	guard  *guardian.Run     // nil when the run holds no lock
	// unguarded says why no guardian watches the run ("" when one does).
	// It waits for the guardian to answer: ask it where it matters (the
	// consent question), not before the run's first steps.
	unguarded func() string
	// refusal is the error of a run with --yes and neither a guardian nor
	// --no-guardian, for the moment it would stop something: a run that
	// stops nothing (an Enterprise online backup) needs no guardian. It
	// waits for the guardian only when --yes alone would cover the outage.
	refusal func() error
}

// ownDeployment takes the run lock on the deployment that target finds and
// arms its guardian (which answers while the run goes on: see owned).
// When the target cannot be found here, or is no container
// (--database-url), the run goes on unguarded and the workflow reports
// what is wrong. On error, unlock has been called. Without a guardian,
// --yes alone does not cover an outage: owned.refusal is the error to
// give before anything stops.
func ownDeployment(ctx context.Context, dockerCli command.Cli, cmdName string, target deployment.TargetOptions, o guardianOptions, yes bool, pw progress.Writer, unlock func(error) error) (owned, error) {
	none := func() string { return "" }
	noRefusal := func() error { return nil }
	run, unwatch, err := lockDeployment(ctx, dockerCli, target, guardian.Options{Command: cmdName, Wait: o.wait, Lazy: o.lazy}, pw)
	if err != nil {
		return owned{}, unlock(err)
	}
	if run == nil {
		return owned{cli: dockerCli, unlock: unlock, unguarded: none, refusal: noRefusal}, nil
	}
	own := owned{cli: docker.WatchCli(dockerCli, run), unlock: releaser(ctx, run, unwatch, unlock), guard: run, refusal: noRefusal}
	own.unguarded = func() string {
		if armed, why := run.Armed(); !armed {
			return why
		}
		return ""
	}
	if yes && !o.noGuardian {
		own.refusal = func() error {
			why := own.unguarded()
			if why == "" {
				return nil
			}
			return withCode(ExitEnvironment, fmt.Errorf("no guardian can watch this run (%s): if the client died during an outage, the deployment would stay stopped; nothing was changed: add --no-guardian to run without one", why))
		}
	}
	return own, nil
}

// lockDeployment takes the run lock on the deployment that target finds,
// for cmdName, waiting up to wait for another run's. It returns nil when
// there is no container to own (none found here, or --database-url): the
// workflow then reports what is wrong. A held lock is exit code 4. While
// the run holds the deployment, the engine is watched (watchEngine) until
// unwatch is called, after the run's end.
func lockDeployment(ctx context.Context, dockerCli command.Cli, target deployment.TargetOptions, opts guardian.Options, pw progress.Writer) (run *guardian.Run, unwatch func(), err error) {
	eng := docker.New(dockerCli.Client())
	var db docker.Container
	t, err := deployment.FindTarget(ctx, eng, target)
	switch {
	case err == nil && t.Container != nil:
		db = *t.Container
	case target.DatabaseURL != "":
		return nil, nil, nil // no container to own
	default:
		// Not running, perhaps stopped by the run that holds the
		// deployment: this run must meet its lock.
		c, ok := deployment.DiscoverForLock(ctx, eng, target.DatabaseContainer, target.Project)
		if !ok {
			return nil, nil, nil
		}
		db = c
	}
	unwatch = watchEngine(dockerCli)
	run, err = guardian.Begin(ctx, eng, db, opts, pw)
	if err != nil {
		unwatch()
		if errors.As(err, new(*guardian.LockedError)) {
			err = withCode(ExitLocked, err)
		}
		return nil, nil, err
	}
	return run, unwatch, nil
}

// releaser releases run, then ends the engine's watch, then calls unlock
// (the folder's).
func releaser(ctx context.Context, run *guardian.Run, unwatch func(), unlock func(error) error) func(error) error {
	return func(err error) error {
		if run != nil {
			if cerr := run.Close(ctx); cerr != nil {
				err = errors.Join(err, cerr)
			}
		}
		if unwatch != nil {
			unwatch()
		}
		return unlock(err)
	}
}

// readDeployment is the run lock of a command that reads the deployment
// without stopping anything (verify --check, verify --drill): held from
// its first check to its end, like backup's and restore's, so that no
// backup or restore changes the deployment under it. The returned unlock
// releases it, then calls unlock.
func readDeployment(ctx context.Context, dockerCli command.Cli, cmdName string, target deployment.TargetOptions, wait time.Duration, pw progress.Writer, unlock func(error) error) (func(error) error, error) {
	run, unwatch, err := lockDeployment(ctx, dockerCli, target, guardian.Options{Command: cmdName, Wait: wait, ReadOnly: true}, pw)
	if err != nil {
		return nil, unlock(err)
	}
	return releaser(ctx, run, unwatch, unlock), nil
}

// warnUnguarded wraps a consent question: without a guardian, the operator
// reads so right before answering.
func warnUnguarded[P any](ask func(P) (bool, error), unguarded func() string, pw progress.Writer) func(P) (bool, error) {
	if ask == nil {
		return ask
	}
	return func(p P) (bool, error) {
		if why := unguarded(); why != "" {
			pw.Info("WARNING: no guardian watches this run (" + why + "): if this client dies during the outage, the stopped containers stay stopped until someone starts them")
		}
		return ask(p)
	}
}

// refuseUnguarded stands for the consent question that --yes skipped
// (ask is nil): when refusal gives an error (no guardian, no
// --no-guardian), the run is refused at the point where it would stop
// something, before anything stops. A run that never reaches that point
// (it stops nothing) goes on, and never waits for its guardian's answer.
func refuseUnguarded[P any](ask func(P) (bool, error), refusal func() error) func(P) (bool, error) {
	if ask != nil {
		return ask
	}
	return func(P) (bool, error) {
		if err := refusal(); err != nil {
			return false, err
		}
		return true, nil
	}
}
