package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/doctor"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
)

// backupDryRun is what backup --dry-run prints: the environment's checks
// (doctor), and, when the backup would stop containers (Neo4j Community,
// or --consistent), the plan the consent question shows.
type backupDryRun struct {
	DryRun bool             `json:"dry_run"`
	Checks *doctor.Report   `json:"checks"`
	Stops  *backup.DumpPlan `json:"stops,omitempty"`
	Online bool             `json:"online"` // nothing stops
}

// runBackupDryRun checks everything a backup needs and shows what it would
// stop and for about how long, then exits with nothing changed: the
// backup's own preflight runs up to its consent question, which is
// answered "no".
func runBackupDryRun(cmd *cobra.Command, dockerCli command.Cli, opts backupOptions, dir string) error {
	ctx := cmd.Context()
	pw, err := opts.output.progressWriter(dockerCli)
	if err != nil {
		return err
	}
	creds, err := givenCredentials(opts.outage.passwordStdin, opts.outage.username, dockerCli.In())
	if err != nil {
		pw.Close()
		return err
	}
	rep := doctor.Run(ctx, engine(dockerCli), doctor.Options{
		Target:      opts.deployment.target(),
		HelperImage: opts.helper.image,
		Credentials: creds,
		Folder:      dir,
		Context:     contextName(dockerCli),
		Connect: func(ctx context.Context, address string, c neo4j.Credentials) (doctor.Bolt, error) {
			a, err := neo4j.Connect(ctx, address, c)
			if err != nil {
				return nil, err
			}
			return a, nil
		},
	}, pw)
	pw.Close()
	res := backupDryRun{DryRun: true, Checks: rep, Online: rep.Edition != "community" && !opts.consistent}
	if rep.OK && !res.Online {
		res.Stops, err = planOutage(ctx, dockerCli, opts, dir)
	}
	if err != nil {
		return err
	}
	if perr := printResult(dockerCli.Out(), opts.output.format, &res, printBackupDryRun); perr != nil {
		return perr
	}
	if !rep.OK {
		return withCode(ExitEnvironment, errors.New("dry run: a check failed; the backup would fail: fix what its DETAIL says"))
	}
	return nil
}

// planOutage runs the backup up to its consent question and answers "no":
// every check of the backup runs, nothing stops, and the plan is what the
// question would have shown. A folder that did not exist is removed again.
func planOutage(ctx context.Context, dockerCli command.Cli, opts backupOptions, dir string) (*backup.DumpPlan, error) {
	_, statErr := os.Stat(dir)
	folder, err := backupset.Create(dir)
	if err != nil {
		return nil, withCode(ExitEnvironment, err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		defer os.Remove(dir) // only when empty
	}
	ppw, err := opts.output.progressWriter(dockerCli)
	if err != nil {
		return nil, err
	}
	defer ppw.Close()
	unlock, err := lockFolder(folder, "backup", ppw)
	if err != nil {
		return nil, err
	}
	offline, err := backupOffline(ctx, dockerCli, opts.outage, ppw)
	if err != nil {
		return nil, unlock(err)
	}
	var plan *backup.DumpPlan
	offline.Confirm = func(p *backup.DumpPlan) (bool, error) {
		plan = p
		return false, nil
	}
	_, err = backup.RunSet(ctx, engine(dockerCli), folder, backup.SetOptions{Components: opts.components, Consistent: opts.consistent, Options: backup.Options{
		Target:       opts.deployment.target(),
		Context:      contextName(dockerCli),
		Offline:      offline,
		HelperImage:  opts.helper.image,
		RegistryAuth: registryAuth(dockerCli),
		Transfer:     opts.helper.transfer,
		Databases:    opts.databases,
		Tool:         toolName(),
	}}, ppw)
	err = unlock(err)
	if plan != nil && errors.Is(err, backup.ErrNotConfirmed) {
		return plan, nil
	}
	if err == nil {
		err = errors.New("dry run: the backup did not stop at its consent question")
	}
	return nil, err
}

func printBackupDryRun(out io.Writer, res *backupDryRun) error {
	if err := printDoctor(out, res.Checks); err != nil {
		return err
	}
	fmt.Fprintln(out)
	switch {
	case res.Stops != nil && res.Stops.Consistent:
		fmt.Fprintf(out, "--consistent would stop the application containers %s during the capture; the database %s stays online.\n", orNone(res.Stops.Apps), res.Stops.DatabaseContainer)
	case res.Stops != nil:
		p := res.Stops
		fmt.Fprintf(out, "The backup is an offline dump of %s (store %s): it would stop for about %s the database container %s (clean shutdown, up to %s) and the application containers %s.\n",
			strings.Join(p.Databases, ", "), humanSize(p.StoreSize), p.Estimate.Round(time.Second), p.DatabaseContainer, p.StopTimeout, orNone(p.Apps))
	case res.Online:
		fmt.Fprintln(out, "The graph's backup is online: nothing would stop.")
	}
	fmt.Fprintln(out, "Dry run: nothing was changed.")
	return nil
}
