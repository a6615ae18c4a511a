package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/s3location"
)

type pruneOptions struct {
	output    outputOptions
	location  locationFlags  // FOLDER may be s3://BUCKET/PREFIX (location.go)
	retention retentionFlags // --keep-daily … and --dry-run (location.go)
	keep      int
	yes       bool // -f/--force, or -y/--yes
}

func newPruneCommand(dockerCli command.Cli) *cobra.Command {
	opts := pruneOptions{}
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS] FOLDER --keep N",
		Short: "Delete old backups, keeping the newest N runs (or chains per database)",
		Long: `Keep the newest N complete chains (a full backup and its differential backups)
of each database in FOLDER and delete the older ones. As docker's prune
commands: -f/--force deletes without asking; --dry-run only prints what would
go; with neither, prune prints the plan and asks on a terminal, and without a
terminal only prints it.

Prune deletes whole chains only: never the newest chain, never a full backup
whose differential backups stay, never a file whose type the manifest does not
record (run "verify --adopt" first), and never every backup. It updates the
manifest atomically and holds the folder lock.

When the manifest records backup runs (graph, task manager and storage taken
together), N counts runs instead: prune keeps the newest N restorable runs and
deletes whole older runs only, keeping an older run when a kept differential
backup needs its full backup, or when it holds the newest backup of a
component.

Instead of --keep N, calendar rules choose the runs to keep (--keep-last,
--keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly,
--keep-within; restic's semantics, see docs/retention.md), with the same guards.

FOLDER may be an S3 location, s3://BUCKET/PREFIX: prune then applies calendar
rules (--keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly,
--keep-yearly, --keep-within; restic's semantics), never removes the newest run
or a base a kept run needs, and removes the objects of runs that never
committed; --dry-run (or no --yes) prints the plan (see docs/retention.md).`,
		Example: `  docker infrahubdb prune ./backups --keep 7 --dry-run
  docker infrahubdb prune ./backups --keep 7 --force`,
		Args: exactlyOneFolder,
		RunE: func(cmd *cobra.Command, args []string) error {
			if s3location.IsURL(args[0]) {
				if cmd.Flags().Changed("keep") {
					return usageError("--keep N is for folders; an s3:// location takes --keep-last N (and --keep-daily, --keep-weekly …)")
				}
				return runPruneLocation(cmd.Context(), dockerCli, opts.output, opts.location, opts.retention, opts.yes, args[0])
			}
			if err := folderRefusesLocationFlags(cmd); err != nil {
				return err
			}
			if opts.retention.set() {
				if cmd.Flags().Changed("keep") {
					return usageError("--keep N and the calendar rules (--keep-last, --keep-daily …) exclude each other")
				}
				return runPruneFolderPolicy(dockerCli, opts, args[0])
			}
			return runPrune(cmd.Context(), dockerCli, opts, cmd.Flags().Changed("keep"), args[0])
		},
	}
	fs := cmd.Flags()
	fs.IntVar(&opts.keep, "keep", 0, "Number of backup runs to keep (at least 1); in a folder without runs, complete chains per database")
	fs.BoolVarP(&opts.yes, "force", "f", false, "Delete without asking")
	fs.BoolVarP(&opts.yes, "yes", "y", false, "Same as --force (the flag of earlier versions)")
	opts.retention.addFlags(fs)
	opts.location.addFlags(fs)
	opts.output.addFlags(fs)
	return cmd
}

func runPrune(ctx context.Context, dockerCli command.Cli, opts pruneOptions, keepSet bool, dir string) error {
	folder, pw, err := opts.output.openFolder(dockerCli, dir, func() error { return checkKeep(opts.keep, keepSet) }, func() error {
		if opts.yes && opts.retention.dryRun {
			return usageError("--force and --dry-run: choose one")
		}
		return nil
	})
	if err != nil {
		return err
	}
	unlock, err := lockFolder(folder, "prune", pw)
	if err != nil {
		pw.Close()
		return err
	}
	interactive := dockerCli.In().IsTerminal() && dockerCli.Err().IsTerminal()
	ask := !opts.yes && !opts.retention.dryRun && interactive
	res, err := catalog.Prune(folder, opts.keep, opts.yes, pw)
	if err == nil && ask && len(res.Delete) > 0 {
		// The plan, then one question; the lock is held throughout, so
		// what is deleted is what was shown.
		var yes bool
		yes, err = pausedFor(pw, func() (bool, error) {
			if err := printPrune(dockerCli.Err(), res); err != nil {
				return false, err
			}
			return askContinue(ctx, dockerCli)
		})
		switch {
		case err != nil:
		case !yes:
			err = withCode(ExitDeclined, errors.New("prune cancelled: nothing was deleted"))
		default:
			res, err = catalog.Prune(folder, opts.keep, true, pw)
		}
	}
	err = unlock(err)
	pw.Close()
	if err != nil {
		return err
	}
	return printResult(dockerCli.Out(), opts.output.format, res, printPrune)
}

// checkKeep refuses a prune without --keep, or one that would delete every
// backup.
func checkKeep(keep int, set bool) error {
	if !set {
		return usageError("prune needs --keep N: the number of chains to keep per database")
	}
	if keep < 1 {
		return usageError("--keep %d: keep at least 1 chain per database; prune never deletes every backup", keep)
	}
	return nil
}

func printPrune(out io.Writer, res *catalog.PruneResult) error {
	if len(res.Delete) == 0 {
		if len(res.KeptRuns) > 0 {
			fmt.Fprintf(out, "Nothing to delete: %s has no run older than the newest %d restorable run(s) that could go.\n", res.Folder, res.Keep)
			return nil
		}
		fmt.Fprintf(out, "Nothing to delete: no database in %s has more than %d complete chain(s).\n", res.Folder, res.Keep)
		return nil
	}
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ACTION\tFILE\tDATABASE\tTYPE\tSIZE")
	action := "delete"
	if !res.Deleted {
		action = "would delete"
	}
	for _, f := range res.Delete {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", action, f.Name, f.Database, f.Type, humanSize(f.Size))
	}
	for _, f := range res.Kept {
		fmt.Fprintf(w, "keep\t%s\t%s\t%s\t%s\n", f.Name, f.Database, f.Type, humanSize(f.Size))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(res.DeleteRuns) > 0 {
		fmt.Fprintf(out, "\nRuns kept: %s; deleted: %s.\n", strings.Join(res.KeptRuns, ", "), strings.Join(res.DeleteRuns, ", "))
	}
	if res.Deleted {
		fmt.Fprintf(out, "\nDeleted %d file(s), %s; the manifest was updated.\n", len(res.Delete), humanSize(res.Freed))
	} else {
		fmt.Fprintf(out, "\nDry run: %d file(s), %s, would be deleted; run again with --force to delete them.\n", len(res.Delete), humanSize(res.Freed))
	}
	return nil
}
