package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/s3location"
)

type listOptions struct {
	output     outputOptions
	location   locationFlags // FOLDER may be s3://BUCKET/PREFIX (location.go)
	helper     helperFlags
	deployment deploymentFlags
	inspect    bool
}

func newListCommand(dockerCli command.Cli) *cobra.Command {
	opts := listOptions{}
	cmd := &cobra.Command{
		Use:     "list [OPTIONS] FOLDER",
		Aliases: []string{"ls"},
		Short:   "Show the backups in a folder: runs and their components, chains per database",
		Long: `Show what FOLDER holds: per database, its chains (a full backup and the
differential backups after it) with time, type, size and whether each file
matches the manifest; files that belong to no backup, *.partial leftovers of
interrupted runs, and backups without a manifest ("unverified": made by
neo4j-admin or the old tool, still usable).

It needs no Docker: it reads file names, sizes and the manifest (verify
re-hashes the files). --inspect also runs "neo4j-admin backup inspect" in a
helper container and adds Neo4j's own view and transaction ranges.

FOLDER may be an S3 location, s3://BUCKET/PREFIX: list then shows its
committed runs, whether they are encrypted, and leftovers of interrupted runs
(no key needed; see docs/offsite.md).`,
		Example: `  docker infrahubdb list ./backups
  docker infrahubdb list -q ./backups
  docker infrahubdb list ./backups --format json
  docker infrahubdb list ./backups --inspect`,
		Args: exactlyOneFolder,
		RunE: func(cmd *cobra.Command, args []string) error {
			if s3location.IsURL(args[0]) {
				return runListLocation(cmd.Context(), dockerCli, opts.output, opts.location, args[0])
			}
			if err := folderRefusesLocationFlags(cmd); err != nil {
				return err
			}
			return runList(cmd.Context(), dockerCli, opts, args[0])
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&opts.inspect, "inspect", false, "Also run neo4j-admin backup inspect in a helper container")
	opts.deployment.addFlags(fs)
	opts.helper.addFlags(fs)
	opts.location.addFlags(fs)
	opts.output.addFlags(fs)
	// As docker's ls commands: -q prints IDs only (and no progress).
	fs.Lookup("quiet").Usage = "Only print the IDs of the backup runs, newest first (no progress)"
	return cmd
}

func runList(ctx context.Context, dockerCli command.Cli, opts listOptions, dir string) error {
	folder, pw, err := opts.output.openFolder(dockerCli, dir, opts.helper.validate)
	if err != nil {
		return err
	}
	var eng helper.Engine
	if opts.inspect { // only --inspect talks to Docker
		eng = engine(dockerCli)
	}
	l, err := catalog.List(ctx, eng, folder, catalog.ListOptions{Inspect: opts.inspect, Helper: opts.helper.options(dockerCli, opts.deployment.databaseContainer)}, pw)
	pw.Close()
	if err != nil {
		return err
	}
	if opts.output.quiet {
		if err := printRunIDs(dockerCli.Out(), l); err != nil {
			return err
		}
		return l.ManifestErr
	}
	if err := printResult(dockerCli.Out(), opts.output.format, l, printListing); err != nil {
		return err
	}
	// The listing shows what it can; the exit code of a malformed or newer
	// manifest is that of every command.
	return l.ManifestErr
}

// printRunIDs is list -q: one run ID a line, newest first, for scripts
// (restore --until takes a run's start time).
func printRunIDs(out io.Writer, l *catalog.Listing) error {
	for i := len(l.Runs) - 1; i >= 0; i-- {
		if _, err := fmt.Fprintln(out, l.Runs[i].ID); err != nil {
			return err
		}
	}
	return nil
}

func printListing(out io.Writer, l *catalog.Listing) error {
	fmt.Fprintf(out, "Folder %s (manifest: %s", l.Folder, l.Manifest)
	if l.ManifestError != "" {
		fmt.Fprintf(out, ": %s", l.ManifestError)
	}
	if l.Locked {
		fmt.Fprintf(out, ", locked by a run: see %s", backupset.LockName)
	}
	fmt.Fprintln(out, ")")
	if len(l.Databases) == 0 {
		fmt.Fprintln(out, "No backups.")
	} else {
		fmt.Fprintln(out)
		if err := printChains(out, l); err != nil {
			return err
		}
	}
	printRuns(out, l)
	var notes []string
	for _, db := range l.Databases {
		for i, c := range db.Chains {
			if !c.Complete {
				notes = append(notes, fmt.Sprintf("%s chain %d cannot be restored: %s", db.Name, i+1, c.Problem))
			}
		}
	}
	if l.InspectError != "" {
		notes = append(notes, "neo4j-admin backup inspect failed (run verify --check): "+firstLine(l.InspectError))
	}
	if names := unverified(l); l.Manifest == "none" && len(names) > 0 {
		notes = append(notes, fmt.Sprintf("No manifest: the %d file(s) are unverified (Neo4j backups made by neo4j-admin or the old tool are still usable; restore takes task-manager and storage files only from a manifest's runs); 'docker infrahubdb verify --adopt' writes one", len(names)))
	} else {
		notes = appendList(notes, "Unverified files (not in the manifest)", names)
	}
	notes = appendList(notes, "Partial files of interrupted runs (delete them when no run is active)", l.Partials)
	notes = appendList(notes, "Not part of any backup", l.Unexpected)
	notes = appendList(notes, "Consistency reports of verify --check", l.Reports)
	notes = appendList(notes, "Safety backups of restore", l.SafetyDirs)
	if len(notes) > 0 {
		fmt.Fprintln(out)
		for _, n := range notes {
			fmt.Fprintln(out, n)
		}
	}
	return nil
}

func printChains(out io.Writer, l *catalog.Listing) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	header := "DATABASE\tCHAIN\tFILE\tTYPE\tTIME (UTC)\tSIZE\tMANIFEST\tTX"
	if l.Inspected {
		header += "\tNEO4J"
	}
	fmt.Fprintln(w, header)
	for _, db := range l.Databases {
		for i, c := range db.Chains {
			label := fmt.Sprint(i + 1)
			switch {
			case !c.Complete:
				label += " incomplete"
			case c.Newest:
				label += " newest"
			}
			for _, f := range c.Files {
				row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s", db.Name, label, f.Name, f.Type,
					f.Time.UTC().Format("2006-01-02 15:04:05"), humanSize(f.Size), f.Manifest, txRange(f))
				if l.Inspected {
					row += "\t" + neo4jView(f.Neo4j)
				}
				fmt.Fprintln(w, row)
			}
		}
	}
	return w.Flush()
}

// txRange is a file's transactions: "empty" for an empty differential
// backup, "-" when not known (inspect did not print them, a dump).
func txRange(f catalog.FileListing) string {
	switch {
	case f.Empty:
		return "empty"
	case f.FromTx == 0 && f.ToTx == 0:
		return "-"
	}
	return fmt.Sprintf("%d-%d", f.FromTx, f.ToTx)
}

func neo4jView(i *neo4jbackup.Info) string {
	if i == nil {
		return "not listed"
	}
	return orDash(i.Type())
}

func unverified(l *catalog.Listing) []string {
	var names []string
	for _, f := range l.Components {
		if f.Manifest == catalog.StateUnverified {
			names = append(names, f.Name)
		}
	}
	for _, db := range l.Databases {
		for _, c := range db.Chains {
			for _, f := range c.Files {
				if f.Manifest == catalog.StateUnverified {
					names = append(names, f.Name)
				}
			}
		}
	}
	return names
}

func appendList(notes []string, title string, names []string) []string {
	if len(names) == 0 {
		return notes
	}
	return append(notes, title+": "+strings.Join(names, ", "))
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
