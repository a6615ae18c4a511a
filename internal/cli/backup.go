package cli

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/opsmill/docker-infrahubdb/internal/backup"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/s3location"
)

type backupOptions struct {
	output          outputOptions
	deployment      deploymentFlags
	noAggregate     bool
	databases       []string
	backupType      string
	includeMetadata string
	helper          helperFlags
	verify          bool
	check           bool
	outage          outageFlags
	components      []string
	consistent      bool
	dryRun          bool
	prune           bool           // --prune: apply retention after a successful run (prune_policy.go)
	retention       retentionFlags // its rules
	guardian        guardianOptions
	direct          directFlags // s3:// FOLDER (s3direct.go)
	fullEvery       int         // --full-every: the longest chain --type auto continues in a location
}

func newBackupCommand(dockerCli command.Cli) *cobra.Command {
	opts := backupOptions{}
	cmd := &cobra.Command{
		Use:   "backup [OPTIONS] FOLDER",
		Short: "Back up an Infrahub deployment (graph, task manager, storage) into a folder",
		Long: `Back up the Infrahub deployment into FOLDER, as one run with a checksummed
manifest: the graph (Neo4j), the task manager's PostgreSQL (task-manager-db,
pg_dump) and the object storage (infrahub-server's storage volume). A component
that is not there is skipped with its reason; --component chooses.

The database container is --database-container, else the container labelled
infrahub_role=database, else the "database" service of the Compose project that
also runs "infrahub-server" (--project picks one of several).

Neo4j Enterprise: an online backup. A helper container sharing the database's
network namespace runs neo4j-admin database backup; the artifacts land in FOLDER
as <database>-<time>.backup files with a checksummed manifest. Reusing a folder
takes differential backups.

Neo4j Community (Infrahub's default): an offline dump. The application containers
and the database container are stopped (consent: a prompt, or --yes), a helper
from the database's own image dumps neo4j and system as <database>-<time>.dump,
and everything is started again, also on errors and Ctrl-C; the task manager
and the storage are captured in the same outage.

FOLDER may be an S3 location, s3://BUCKET/PREFIX (docs/offsite.md): every file
streams from the helper through this machine (and age, with --encrypt-to) into
the location as it is taken; what is captured while applications are stopped is
staged in a private folder on this machine (--s3-staging-dir; ciphertext only
when encrypting) and uploaded once everything runs again. The run's manifest is
written last: only then does the run exist. --prune then applies the --keep-…
rules to the location. --type diff (and auto, when the location's newest chain
continues on this server's Neo4j version and holds fewer than --full-every
runs) seeds the staging folder with that chain and uploads only the new files,
as a run that depends on its base (never aggregated); an encrypted location
needs --identity to read the base.`,
		Example: `  docker infrahubdb backup ./backups
  docker infrahubdb backup ./backups --yes --component graph --component storage
  docker -c prod infrahubdb backup ./backups --database neo4j --format json
  docker infrahubdb backup ./backups --database-url 10.0.0.5:6362`,
		Args: exactlyOneFolder,
		RunE: func(cmd *cobra.Command, args []string) error {
			if s3location.IsURL(args[0]) {
				return runBackupToLocation(cmd, dockerCli, opts, args[0])
			}
			if err := folderRefusesDirectFlags(cmd); err != nil {
				return err
			}
			return runBackup(cmd, dockerCli, opts, args[0])
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&opts.noAggregate, "no-aggregate", false, "Keep the full+differential chain instead of aggregating it into one file per database")
	fs.StringArrayVar(&opts.databases, "database", nil, "Database to back up (repeatable; default: all)")
	fs.StringVar(&opts.backupType, "type", neo4jbackup.TypeAuto, `Backup type: "auto" (differential when the folder has a chain), "full" or "diff"`)
	fs.StringVar(&opts.includeMetadata, "include-metadata", "all", `Security metadata to include: "all", "users", "roles" or "none"`)
	fs.BoolVar(&opts.verify, "verify", false, "Verify every file the run just wrote before reporting success: checksums, chains, and the content checks of verify (task-manager dump, storage archive)")
	fs.BoolVar(&opts.check, "check", false, "Also run neo4j-admin database check on the graph just written, an online chain or a Community dump (implies --verify)")
	fs.StringArrayVar(&opts.components, "component", nil, componentFlagUsage)
	fs.BoolVar(&opts.consistent, "consistent", false, "Stop the Infrahub application containers during the capture so that graph, task manager and storage belong to one point in time (downtime; consent: a prompt, or --yes)")
	fs.BoolVar(&opts.dryRun, "dry-run", false, "Check everything and show which components would be taken and which containers would stop, for about how long; change nothing")
	opts.deployment.addFlags(fs, withProject, withDatabaseURL, withBackupPort, withHostNetwork)
	opts.outage.addFlags(fs)
	fs.BoolVar(&opts.prune, "prune", false, "After a successful run, delete the runs the --keep-… rules do not keep (as prune --yes)")
	opts.retention.addKeepFlags(fs)
	opts.guardian.addFlags(fs)
	opts.direct.addFlags(fs, true)
	fs.IntVar(&opts.fullEvery, "full-every", defaultFullEvery, "For s3:// locations with --type auto: take a full backup once the location's newest chain holds this many runs (a full one and its differentials; 0: no limit), so that retention can remove older chains")
	opts.helper.addFlags(fs)
	opts.output.addFlags(fs)
	return cmd
}

func (o *backupOptions) validate() error {
	if err := o.output.validate(); err != nil {
		return err
	}
	if err := o.outage.validate(); err != nil {
		return err
	}
	if err := o.deployment.validate(); err != nil {
		return err
	}
	if err := validComponents(o.components); err != nil {
		return err
	}
	if err := oneOf("--type", o.backupType, neo4jbackup.TypeAuto, neo4jbackup.TypeFull, neo4jbackup.TypeDiff); err != nil {
		return err
	}
	if o.fullEvery < 0 {
		return usageError("--full-every must be 0 (no limit) or more")
	}
	if err := oneOf("--include-metadata", o.includeMetadata, "all", "users", "roles", "none"); err != nil {
		return err
	}
	if err := o.helper.validate(); err != nil {
		return err
	}
	if err := o.checkPrune(); err != nil {
		return err
	}
	return validateDatabaseNames(o.databases)
}

func runBackup(cmd *cobra.Command, dockerCli command.Cli, opts backupOptions, dir string) error {
	if err := opts.validate(); err != nil {
		return err
	}
	if opts.dryRun {
		return runBackupDryRun(cmd, dockerCli, opts, dir)
	}
	folder, err := backupset.Create(dir)
	if err != nil {
		return withCode(ExitEnvironment, err)
	}
	return runBackupIn(cmd, dockerCli, opts, folder)
}

// runBackupIn backs up into an opened folder and prints the result.
func runBackupIn(cmd *cobra.Command, dockerCli command.Cli, opts backupOptions, folder *backupset.Folder) error {
	doc, err := takeBackup(cmd, dockerCli, opts, folder)
	if err != nil {
		return err
	}
	return printBackup(dockerCli, opts.output.format, doc)
}

// takeBackup backs up into an opened (and, for backup s3://, perhaps
// sealed) folder and returns the result, printed by printBackup.
func takeBackup(cmd *cobra.Command, dockerCli command.Cli, opts backupOptions, folder *backupset.Folder) (*backupOutput, error) {
	pw, err := opts.output.progressWriter(dockerCli)
	if err != nil {
		return nil, err
	}
	unlock, err := lockFolder(folder, "backup", pw)
	if err != nil {
		pw.Close()
		return nil, err
	}
	offline, err := backupOffline(cmd.Context(), dockerCli, opts.outage, pw)
	if err != nil {
		pw.Close()
		return nil, unlock(err)
	}
	target := opts.deployment.target()
	// The run lock and the guardian: from here on every container stop and
	// start goes through own.cli, so the guardian is told first. A backup
	// of the task manager and the storage alone stops nothing and starts
	// no container: its guardian starts only if that changes.
	opts.guardian.lazy = !opts.consistent && len(opts.components) > 0 && !slices.Contains(opts.components, backupset.ComponentGraph)
	own, err := ownDeployment(cmd.Context(), dockerCli, "backup", target, opts.guardian, opts.outage.yes, pw, unlock)
	if err != nil {
		pw.Close()
		return nil, err
	}
	dockerCli, unlock = own.cli, own.unlock
	offline.Confirm = warnUnguarded(offline.Confirm, own.unguarded, pw)
	// --yes without a guardian: refused when the run would stop something
	// (a Community dump, --consistent); an Enterprise online backup goes on.
	offline.Confirm = refuseUnguarded(offline.Confirm, own.refusal)
	set, err := backup.RunSet(cmd.Context(), engine(dockerCli), folder, backup.SetOptions{Components: opts.components, Consistent: opts.consistent, Options: backup.Options{
		Target:          target,
		Context:         contextName(dockerCli),
		Offline:         offline,
		HelperImage:     opts.helper.image,
		RegistryAuth:    registryAuth(dockerCli),
		Transfer:        opts.helper.transfer,
		KeepHelper:      opts.helper.keep,
		Databases:       opts.databases,
		Type:            opts.backupType,
		IncludeMetadata: opts.includeMetadata,
		Aggregate:       !opts.noAggregate,
		Tool:            toolName(),
		Verify:          opts.verify,
		Check:           opts.check,
	}}, pw)
	var pruned *policyPrune
	if err == nil && opts.prune { // still under the run's lock
		pruned, err = pruneAfterBackup(folder, opts, pw)
	}
	err = unlock(err)
	pw.Close()
	if err != nil {
		return nil, err
	}
	return &backupOutput{set.Graph, set, pruned, nil}, nil
}

// printBackup prints backup's result: the document with --format json (or
// a template), else the tables.
func printBackup(dockerCli command.Cli, format string, doc *backupOutput) error {
	res, set, pruned := doc.Result, doc.Run, doc.Pruned
	if format != "table" {
		return printFormatted(dockerCli.Out(), format, doc)
	}
	if res != nil {
		if err := printBackupTable(dockerCli, res); err != nil {
			return err
		}
	}
	printRun(dockerCli.Out(), set)
	if v := set.Verified; v != nil {
		printVerification(dockerCli.Out(), v)
	}
	if pruned != nil {
		return printPolicyPrune(dockerCli.Out(), pruned)
	}
	return nil
}

func printBackupTable(dockerCli command.Cli, res *backup.Result) error {
	w := tabwriter.NewWriter(dockerCli.Out(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "FILE\tDATABASE\tTYPE\tSIZE\tSHA-256")
	var total int64
	for _, f := range res.Files {
		total += f.Size
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", f.Name, f.Database, orDash(f.Type), humanSize(f.Size), f.SHA256[:12])
	}
	if err := w.Flush(); err != nil {
		return err
	}
	out := dockerCli.Out()
	fmt.Fprintf(out, "\nBacked up %s into %s: %d file(s), %s, in %s (%s transfer).\n",
		strings.Join(res.Databases, ", "), res.Folder, len(res.Files), humanSize(total), res.Duration.Round(100*time.Millisecond), res.Transfer)
	fmt.Fprintf(out, "Database container %s on %s: Neo4j %s %s, %s backup.\n", res.Database, orDash(res.Context), orDash(res.Edition), orDash(res.Neo4jVersion), res.Method)
	if res.Method == "dump" {
		fmt.Fprintf(out, "Downtime: %s (from the first container stopped to the last one running again).\n", res.Downtime.Round(100*time.Millisecond))
		if len(res.AppsRestarted) > 0 {
			fmt.Fprintf(out, "App containers restarted: %s\n", strings.Join(res.AppsRestarted, ", "))
		}
	}
	if len(res.Removed) > 0 {
		fmt.Fprintf(out, "Aggregation replaced: %s\n", strings.Join(res.Removed, ", "))
	}
	if res.Helper != "" {
		fmt.Fprintf(out, "Helper container kept: %s\n", res.Helper)
	}
	return nil
}

func oneOf(flag, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return usageError("%s %q: use one of %s", flag, v, strings.Join(allowed, ", "))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// printVerification prints what backup --verify (or --check) found in the
// run's files.
func printVerification(out io.Writer, v *backup.Verification) {
	fmt.Fprintf(out, "Verified: %d file(s) match their checksums: %s.\n", len(v.Checked), strings.Join(v.Checked, ", "))
	for _, c := range v.Content {
		state := "ok"
		if !c.OK {
			state = "REFUSED"
		}
		fmt.Fprintf(out, "Content of %s (%s): %s: %s.\n", c.File, c.Component, c.Check, state)
	}
	printChecks(out, v.Checks)
}
