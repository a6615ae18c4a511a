package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
	"github.com/opsmill/docker-infrahubdb/internal/s3location"
)

type restoreOptions struct {
	output         outputOptions
	deployment     deploymentFlags
	outage         outageFlags
	databases      []string
	until          string
	boltAddress    string
	noSafetyBackup bool
	safetyDir      string
	noStopApp      bool
	dryRun         bool
	helper         helperFlags
	components     []string
	run            string
	newDeployID    bool
	guardian       guardianOptions
	direct         directFlags  // s3:// FOLDER (s3direct.go)
	fromLocation   *locationRun // the run restore s3:// staged, for --format json
}

func newRestoreCommand(dockerCli command.Cli) *cobra.Command {
	opts := restoreOptions{}
	cmd := &cobra.Command{
		Use:   "restore [OPTIONS] FOLDER",
		Short: "Restore an Infrahub deployment from a backup folder",
		Long: `Restore what FOLDER holds into the Infrahub deployment: by default the newest
complete backup run that holds every component the deployment has (graph,
task manager, storage), so Infrahub comes back whole; a newer run that holds
less (backup --component graph) is restored only when named with --run (or
--run latest, or --component graph), and the restore then says what stays as
it is. --until and --component choose too. The order is task manager, storage, graph;
each component keeps a safety copy, and a failure in any of them rolls back
those already replaced.

Everything is checked before anything changes: the chain of each database, its
checksums, the helper image, the database container and a real login with the
credentials. A full safety backup of each database is taken while the
applications still run; then the running Infrahub application containers are
stopped, and for each database: a differential safety backup on top of it (what
they wrote meanwhile), the database is stopped, restored, recreated, started and
its security metadata replayed. If a step fails after
the stop, the safety backup is restored. The database and the application
containers are started again on every path, Ctrl-C included. The system
database is never restored.

Neo4j Community has no STOP DATABASE: the database container is stopped, the
current data dumped as the safety copy, the dump loaded with neo4j-admin
database load, and the container started again. A dump restores onto Neo4j
Enterprise too (STOP DATABASE, load, START, no container stop).

Credentials, in this order: NEO4J_AUTH=user/password in the environment,
--password-stdin, the database container's NEO4J_AUTH (or the file its
NEO4J_AUTH_FILE or NEO4J_AUTH_PATH names), then INFRAHUB_DB_USERNAME and
INFRAHUB_DB_PASSWORD of the project's infrahub-server container.

FOLDER may be an S3 location, s3://BUCKET/PREFIX (docs/offsite.md): the graph
of its newest run (or --run) is streamed from there into the helper, checked
against the run's manifest as it goes, before anything stops; its task-manager
dump and storage archive are downloaded into a private staging folder on this
machine first (--s3-staging-dir), each checked, so that the outage never waits
for the location. The safety copy goes to --safety-dir, else next to the
staging folder. An encrypted run needs --identity FILE (or the passphrase of
the location key): its files are decrypted as they stream, the staged ones
kept as ciphertext only and decrypted once while they download to check them
(a wrong key: exit 3, a damaged file: exit 5, before anything stops); its
plaintext never reaches this machine's disk. The safety copy is the
deployment's current data, not encrypted.`,
		Example: `  NEO4J_AUTH=neo4j/secret docker infrahubdb restore ./backups --yes
  docker infrahubdb restore ./backups --dry-run
  docker -c prod infrahubdb restore ./backups --database neo4j --until 2026-11-24T18:00:00Z`,
		Args: exactlyOneFolder,
		RunE: func(cmd *cobra.Command, args []string) error {
			if s3location.IsURL(args[0]) {
				return runRestoreFromLocation(cmd.Context(), dockerCli, opts, args[0])
			}
			if err := folderRefusesDirectFlags(cmd); err != nil {
				return err
			}
			return runRestore(cmd.Context(), dockerCli, opts, args[0])
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&opts.databases, "database", nil, "Database to restore (repeatable; default: every database in the folder but system)")
	fs.StringVar(&opts.until, "until", "", `Restore the newest complete backup run started at or before this time (RFC 3339 or "YYYY-MM-DD HH:MM:SS", UTC), each component whole; in a folder without runs (the graph alone), the newest chain up to it, passed to neo4j-admin --restore-until`)
	fs.StringVar(&opts.boltAddress, "bolt-address", "", "Connect to Bolt at HOST:PORT directly instead of tunnelling through the helper container")
	fs.BoolVar(&opts.noSafetyBackup, "no-safety-backup", false, "Do not back up the current databases before replacing them (no rollback possible)")
	fs.StringVar(&opts.safetyDir, "safety-dir", "", "Where the safety backup goes (default: FOLDER/safety-<time>)")
	fs.BoolVar(&opts.noStopApp, "no-stop-app", false, "Do not stop the Infrahub application containers")
	fs.BoolVar(&opts.dryRun, "dry-run", false, "Check everything and print the plan, change nothing")
	fs.StringArrayVar(&opts.components, "component", nil, componentFlagUsage+" in the chosen backup run")
	opts.deployment.addFlags(fs, withProject, withCypherPort)
	opts.outage.addFlags(fs)
	fs.StringVar(&opts.run, "run", "", `Backup run to restore: its ID (see list), or "latest" for the newest complete run whatever it holds (default: the newest complete run holding every component the deployment has)`)
	fs.BoolVar(&opts.newDeployID, "new-deployment-id", false, "Give the restored graph a new deployment identity (a new id on its Root node): for a copy of production in staging")
	opts.guardian.addFlags(fs)
	opts.direct.addFlags(fs, false)
	opts.helper.addFlags(fs)
	opts.output.addFlags(fs)
	return cmd
}

func (o *restoreOptions) validate() error {
	if err := o.output.validate(); err != nil {
		return err
	}
	if err := validComponents(o.components); err != nil {
		return err
	}
	if o.run != "" && o.run != restore.RunLatest && !strings.HasPrefix(o.run, "run-") {
		return usageError("--run %q: give a run ID as `docker infrahubdb list` shows it (run-YYYY-MM-DDTHH-MM-SS), or latest", o.run)
	}
	if o.run != "" && o.until != "" {
		return usageError("--run and --until both choose the run: give one")
	}
	if err := o.outage.validate(); err != nil {
		return err
	}
	if err := o.deployment.validate(); err != nil {
		return err
	}
	if err := o.helper.validate(); err != nil {
		return err
	}
	for _, db := range o.databases {
		if db == restore.SystemDatabase {
			return usageError("--database system: the system database is never restored (its metadata is replayed per database)")
		}
	}
	return validateDatabaseNames(o.databases)
}

func runRestore(ctx context.Context, dockerCli command.Cli, opts restoreOptions, dir string) error {
	if err := opts.validate(); err != nil {
		return err
	}
	until, err := parseUntil(opts.until)
	if err != nil {
		return err
	}
	interactive := dockerCli.In().IsTerminal() && dockerCli.Err().IsTerminal()
	if !opts.outage.yes && !opts.dryRun && !interactive {
		// The folder is checked first: a missing folder is what to fix.
		if _, err := backupset.Open(dir); err != nil {
			return withCode(ExitEnvironment, err)
		}
		return usageError("restore replaces databases and needs confirmation: add --yes to confirm when there is no terminal (or --dry-run to see the plan)")
	}
	folder, err := backupset.Open(dir)
	if err != nil {
		return withCode(ExitEnvironment, err)
	}
	return runRestoreIn(ctx, dockerCli, opts, folder, until)
}

// runRestoreIn restores from an open folder (restore s3:// passes its
// staging folder, which may decrypt what it reads).
func runRestoreIn(ctx context.Context, dockerCli command.Cli, opts restoreOptions, folder *backupset.Folder, until time.Time) error {
	creds, err := restoreCredentials(opts, dockerCli.In())
	if err != nil {
		return err
	}
	pw, err := opts.output.progressWriter(dockerCli)
	if err != nil {
		return err
	}
	unlock, err := lockFolder(folder, "restore", pw)
	if err != nil {
		pw.Close()
		return err
	}
	ropts := restore.Options{
		Target:          opts.deployment.target(),
		StopTimeout:     opts.outage.stopTimeout,
		OnlineWait:      opts.outage.onlineTimeout,
		HelperImage:     opts.helper.image,
		RegistryAuth:    registryAuth(dockerCli),
		Transfer:        opts.helper.transfer,
		KeepHelper:      opts.helper.keep,
		Databases:       opts.databases,
		Until:           until,
		Credentials:     creds,
		BoltAddress:     opts.boltAddress,
		SafetyBackup:    !opts.noSafetyBackup,
		SafetyDir:       opts.safetyDir,
		StopApps:        !opts.noStopApp,
		AppServices:     opts.outage.appServices,
		DryRun:          opts.dryRun,
		Tool:            toolName(),
		NewDeploymentID: opts.newDeployID,
	}
	if !opts.outage.yes {
		ropts.Confirm = func(p *restore.Plan) (bool, error) {
			return pausedFor(pw, func() (bool, error) { return confirm(ctx, dockerCli, p) })
		}
	}
	sopts := restore.SetOptions{Options: ropts, Components: opts.components, Run: opts.run}
	if !opts.outage.yes {
		sopts.ConfirmSet = func(p *restore.SetPlan) (bool, error) {
			return pausedFor(pw, func() (bool, error) { return confirmSet(ctx, dockerCli, p) })
		}
	}
	own, err := ownDeployment(ctx, dockerCli, "restore", ropts.Target, opts.guardian, opts.outage.yes, pw, unlock)
	if err != nil {
		pw.Close()
		return err
	}
	dockerCli, unlock = own.cli, own.unlock
	sopts.Confirm = warnUnguarded(sopts.Confirm, own.unguarded, pw)
	sopts.ConfirmSet = warnUnguarded(sopts.ConfirmSet, own.unguarded, pw)
	// A restore's consent being nil says --yes (restore.basesAlongside):
	// whether --yes is refused is settled now.
	if refusal := own.refusal(); refusal != nil {
		refuse := func() error { return refusal }
		sopts.Confirm = refuseUnguarded(sopts.Confirm, refuse)
		sopts.ConfirmSet = refuseUnguarded(sopts.ConfirmSet, refuse)
	}
	if own.guard != nil {
		sopts.Options.Guard = own.guard
	}
	set, err := restore.RunSet(ctx, engine(dockerCli), connectNeo4j, folder, sopts, pw)
	err = unlock(err)
	pw.Close()
	if set != nil && opts.output.format != "table" {
		// The graph's result stays at the top, as before runs existed; the
		// run's components are under "run".
		out := restoreOutput{set.Graph, set, opts.fromLocation}
		if perr := printFormatted(dockerCli.Out(), opts.output.format, out); perr != nil && err == nil {
			err = perr
		}
		return err
	}
	if res := graphResult(set); res != nil && (err == nil || len(res.Databases) > 0) {
		if perr := printRestore(dockerCli, opts.output.format, res); perr != nil && err == nil {
			err = perr
		}
	}
	if set != nil {
		printSet(dockerCli.Out(), set)
	}
	return err
}

func connectNeo4j(ctx context.Context, address string, creds neo4j.Credentials) (restore.Admin, error) {
	return neo4j.Connect(ctx, address, creds)
}

// restoreCredentials reads NEO4J_AUTH or --password-stdin; nil means "find
// them in the deployment" (deployment.FindCredentials).
func restoreCredentials(opts restoreOptions, stdin io.Reader) (*neo4j.Credentials, error) {
	return givenCredentials(opts.outage.passwordStdin, opts.outage.username, stdin)
}

func parseUntil(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02T15-04-05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, usageError("--until %q: use RFC 3339 (2026-11-24T18:00:00Z) or \"YYYY-MM-DD HH:MM:SS\" (UTC)", s)
}

// confirm asks once on the terminal, showing what will be replaced. Ctrl-C
// while it waits for the answer cancels ctx and ends the wait: the restore
// then cleans up and exits as interrupted, nothing changed.
func confirm(ctx context.Context, dockerCli command.Cli, p *restore.Plan) (bool, error) {
	out := dockerCli.Err()
	fmt.Fprintf(out, "\nThis will REPLACE the following databases in container %s:\n", p.DatabaseContainer)
	for _, db := range p.Databases {
		fmt.Fprintf(out, "  %s  <- %s (%s)\n", db.Name, strings.Join(db.Files, " + "), humanSize(db.Size))
	}
	if p.Method == "load" {
		fmt.Fprintf(out, "The database runs Neo4j Community: the container %s is STOPPED for an offline neo4j-admin database load.\n", p.DatabaseContainer)
	}
	if len(p.AppNames) > 0 {
		fmt.Fprintf(out, "Application containers stopped meanwhile: %s\n", strings.Join(p.AppNames, ", "))
	}
	if p.SafetyDir != "" {
		fmt.Fprintf(out, "A safety backup of the current data goes to %s.\n", p.SafetyDir)
	} else {
		fmt.Fprintln(out, "No safety backup will be taken (--no-safety-backup): a failure cannot be rolled back.")
	}
	return askContinue(ctx, dockerCli)
}

// transientWhen says when a restore empties the cache and the message
// queue (docs/restore.md).
func transientWhen(p *restore.Plan) string {
	if p.Method == "load" {
		return "stopped once the database and the task manager are, emptied side by side beside the safety dump"
	}
	return "stopped after the applications, emptied side by side before anything is restored"
}

func printRestore(dockerCli command.Cli, format string, res *restore.Result) error {
	if format != "table" {
		return printFormatted(dockerCli.Out(), format, res)
	}
	out := dockerCli.Out()
	p := res.Plan
	if res.DryRun {
		fmt.Fprintf(out, "Dry run: nothing was changed. Plan for %s -> container %s (helper image %s):\n", p.Folder, p.DatabaseContainer, p.Image)
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "DATABASE\tFILES\tSIZE\tCHECKSUMS")
		for _, db := range p.Databases {
			check := "verified"
			if db.Unverified {
				check = "unverified (no manifest)"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", db.Name, strings.Join(db.Files, " + "), humanSize(db.Size), check)
		}
		w.Flush()
		fmt.Fprintf(out, "App containers to stop: %s\n", orNone(p.AppNames))
		if names := p.Transient(); len(names) > 0 {
			fmt.Fprintf(out, "Emptied and started again before the applications: %s (%s)\n", strings.Join(names, ", "), transientWhen(p))
		}
		fmt.Fprintf(out, "Safety backup: %s\n", orNoneStr(p.SafetyDir, "none (--no-safety-backup)"))
		for _, s := range p.Skipped {
			fmt.Fprintf(out, "Skipped: %s (the system database is never restored)\n", s)
		}
		return nil
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "DATABASE\tRESTORED FROM\tNODES\tMETADATA\tDOWNTIME\tSAFETY BACKUP")
	for _, d := range res.Databases {
		from := d.Restored
		if d.RolledBack {
			from = "ROLLED BACK to safety backup"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d statements\t%s\t%s\n", d.Name, from, d.Nodes, d.Statements, d.Downtime.Round(100*time.Millisecond), orDash(d.SafetyBackup))
	}
	w.Flush()
	for _, s := range p.Skipped {
		fmt.Fprintf(out, "Skipped: %s (the system database is never restored)\n", s)
	}
	if p.Method == "load" {
		fmt.Fprintf(out, "Offline load into %s: downtime %s (from the first container stopped to the last one running again).\n", p.DatabaseContainer, res.Downtime.Round(100*time.Millisecond))
	}
	if len(res.AppsRestarted) > 0 {
		fmt.Fprintf(out, "App containers restarted: %s\n", strings.Join(res.AppsRestarted, ", "))
	}
	if len(res.AppsNotRestarted) > 0 {
		fmt.Fprintf(out, "App containers NOT restarted (start them with docker start): %s\n", strings.Join(res.AppsNotRestarted, ", "))
	}
	if res.DeploymentID != "" {
		fmt.Fprintf(out, "New deployment id (Root node): %s\n", res.DeploymentID)
	}
	if res.Helper != "" {
		fmt.Fprintf(out, "Helper container kept: %s\n", res.Helper)
	}
	return nil
}

func orNone(list []string) string { return orNoneStr(strings.Join(list, ", "), "none") }

func orNoneStr(s, none string) string {
	if s == "" {
		return none
	}
	return s
}
