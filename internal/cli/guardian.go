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
}

func (o *guardianOptions) addFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&o.wait, "wait", 0, "When another run holds the deployment, wait up to this long for it (0: refuse at once, exit code 4)")
	fs.BoolVar(&o.noGuardian, "no-guardian", false, "Run an outage even where no guardian can watch it (a client that dies mid-outage then leaves the deployment stopped); --yes alone does not")
}

// owned is a run's hold on its deployment.
type owned struct {
	cli       command.Cli       // the Cli the run must use: its container stops and starts are told to the guardian first
	unlock    func(error) error // releases the deployment, then what the caller's unlock released
	unguarded string            // why no guardian watches the run; "" when one does
	guard     *guardian.Run     // nil when the run holds no lock
}

// ownDeployment takes the run lock on the deployment that target finds and
// arms its guardian. When the target cannot be found here, or is no
// container (--database-url), the run goes on unguarded and the workflow
// reports what is wrong. On error, unlock has been called.
func ownDeployment(ctx context.Context, dockerCli command.Cli, cmdName string, target deployment.TargetOptions, o guardianOptions, yes bool, pw progress.Writer, unlock func(error) error) (owned, error) {
	eng := docker.New(dockerCli.Client())
	t, err := deployment.FindTarget(ctx, eng, target)
	if err != nil || t.Container == nil {
		return owned{cli: dockerCli, unlock: unlock}, nil
	}
	run, err := guardian.Begin(ctx, eng, *t.Container, guardian.Options{Command: cmdName, Wait: o.wait}, pw)
	if err != nil {
		if errors.As(err, new(*guardian.LockedError)) {
			err = withCode(ExitLocked, err)
		}
		return owned{}, unlock(err)
	}
	release := func(err error) error {
		if cerr := run.Close(ctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return unlock(err)
	}
	armed, why := run.Armed()
	if armed {
		why = ""
	} else if !o.noGuardian && yes {
		return owned{}, release(withCode(ExitEnvironment, fmt.Errorf("no guardian can watch this run (%s): if the client died during an outage, the deployment would stay stopped; nothing was changed: add --no-guardian to run without one", why)))
	}
	return owned{cli: docker.WatchCli(dockerCli, run), unlock: release, unguarded: why, guard: run}, nil
}

// warnUnguarded wraps a consent question: without a guardian, the operator
// reads so right before answering.
func warnUnguarded[P any](ask func(P) (bool, error), why string, pw progress.Writer) func(P) (bool, error) {
	if ask == nil || why == "" {
		return ask
	}
	return func(p P) (bool, error) {
		pw.Info("WARNING: no guardian watches this run (" + why + "): if this client dies during the outage, the stopped containers stay stopped until someone starts them")
		return ask(p)
	}
}
