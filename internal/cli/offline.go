package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/pflag"

	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// outageFlags are the flags of what a run stops (docs/outage.md): one group,
// with one name and one help text per flag, for backup (a Neo4j Community
// dump, --consistent) and restore.
type outageFlags struct {
	yes           bool
	stopTimeout   time.Duration
	appServices   []string
	onlineTimeout time.Duration
	passwordStdin bool
	username      string
}

func (o *outageFlags) addFlags(fs *pflag.FlagSet) {
	fs.BoolVarP(&o.yes, "yes", "y", false, "Agree without asking to what the run stops or replaces: the database and the application containers of a Neo4j Community dump or load, the applications of --consistent and of a restore, the databases a restore replaces")
	fs.DurationVar(&o.stopTimeout, "stop-timeout", 120*time.Second, "Neo4j Community: how long the database container may take to shut down cleanly before Docker kills it")
	fs.StringSliceVar(&o.appServices, "app-services", deployment.DefaultAppServices, "Compose services of the database's project to stop while the graph is dumped, loaded or replaced, or during a --consistent capture (task-manager is stopped too, except in an online Enterprise restore of the graph alone)")
	fs.DurationVar(&o.onlineTimeout, "online-timeout", 5*time.Minute, "How long to wait for the database to be online again after it was stopped")
	fs.BoolVar(&o.passwordStdin, "password-stdin", false, "Read the Neo4j password from stdin (else NEO4J_AUTH, else the deployment's own: NEO4J_AUTH_FILE, NEO4J_AUTH of the database container, or infrahub-server's)")
	fs.StringVar(&o.username, "username", "neo4j", "Neo4j user, with --password-stdin")
}

func (o *outageFlags) validate() error {
	if o.onlineTimeout < time.Second {
		return usageError("--online-timeout %s: give at least 1s", o.onlineTimeout)
	}
	if o.stopTimeout < time.Second {
		return usageError("--stop-timeout %s: give at least 1s (Neo4j needs time to shut down cleanly; the default is 120s)", o.stopTimeout)
	}
	return nil
}

// backupOffline builds the Community options of a backup run. Its consent
// questions pause the progress display pw. (The last parameter is unused:
// the display pauses itself now instead of being reopened; it goes with
// backup.go's next edit.)
func backupOffline(ctx context.Context, dockerCli command.Cli, o outageFlags, pw progress.Writer) (backup.OfflineOptions, error) {
	creds, err := givenCredentials(o.passwordStdin, o.username, dockerCli.In())
	if err != nil {
		return backup.OfflineOptions{}, err
	}
	oo := backup.OfflineOptions{
		Connect: func(ctx context.Context, address string, c neo4j.Credentials) (backup.Bolt, error) {
			return neo4j.Connect(ctx, address, c)
		},
		Credentials: creds,
		AppServices: o.appServices,
		StopTimeout: o.stopTimeout,
		OnlineWait:  o.onlineTimeout,
	}
	interactive := dockerCli.In().IsTerminal() && dockerCli.Err().IsTerminal()
	if !o.yes {
		oo.Confirm = func(p *backup.DumpPlan) (bool, error) {
			if p.Consistent {
				if !interactive {
					return false, usageError("--consistent stops the application containers %s during the capture; nothing was changed: add --yes to agree when there is no terminal", orNone(p.Apps))
				}
				return pausedFor(pw, func() (bool, error) { return confirmConsistent(ctx, dockerCli, p) })
			}
			if !interactive {
				apps := ""
				if len(p.Apps) > 0 {
					apps = " and the application containers " + strings.Join(p.Apps, ", ")
				}
				return false, usageError("database container %s runs Neo4j Community %s, which has no online backup: the backup is an offline dump that stops it%s for about %s; nothing was changed: add --yes to agree when there is no terminal",
					p.DatabaseContainer, p.Version, apps, p.Estimate.Round(time.Second))
			}
			return pausedFor(pw, func() (bool, error) { return confirmDump(ctx, dockerCli, p) })
		}
	}
	return oo, nil
}

// confirmDump asks once on the terminal which containers stop, and for how long.
func confirmDump(ctx context.Context, dockerCli command.Cli, p *backup.DumpPlan) (bool, error) {
	out := dockerCli.Err()
	fmt.Fprintf(out, "\nThe database container %s runs Neo4j Community %s, which has no online backup.\n", p.DatabaseContainer, p.Version)
	fmt.Fprintf(out, "The backup is an offline dump of %s (store %s): it STOPS these containers for about %s:\n", strings.Join(p.Databases, ", "), humanSize(p.StoreSize), p.Estimate.Round(time.Second))
	fmt.Fprintf(out, "  database: %s (clean shutdown, up to %s)\n", p.DatabaseContainer, p.StopTimeout)
	fmt.Fprintf(out, "  applications: %s\n", orNone(p.Apps))
	fmt.Fprintln(out, "They are started again afterwards, also on errors and Ctrl-C.")
	return askContinue(ctx, dockerCli)
}

// contextName names the Docker context and its host for messages.
func contextName(dockerCli command.Cli) string {
	name := dockerCli.CurrentContext()
	host := dockerCli.DockerEndpoint().Host
	switch {
	case name == "" && host == "":
		return "the Docker host"
	case name == "":
		return host
	}
	return fmt.Sprintf("Docker context %q (%s)", name, host)
}
