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
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/s3location"
)

type verifyOptions struct {
	output     outputOptions
	location   locationFlags // FOLDER may be s3://BUCKET/PREFIX (location.go)
	keys       keyFlags
	helper     helperFlags
	deployment deploymentFlags
	check      bool
	adopt      bool
	allowEmpty bool
	drill      drillOptions
	stagingDir string          // --drill of an s3:// location
	guardian   guardianOptions // --wait, for the run lock of --check and --drill
}

func newVerifyCommand(dockerCli command.Cli) *cobra.Command {
	opts := verifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify [OPTIONS] FOLDER",
		Short: "Prove that a folder holds backups that restore would take",
		Long: `Re-hash every file of FOLDER against the manifest, check that each
database's chains are continuous, and run the content checks the restore
preflight runs on task-manager dumps and storage archives, without Docker.
Missing, extra (any file the manifest does not record), changed and truncated
files and refused content are reported by name. A folder with no complete run
or chain fails too (--allow-empty accepts it). Any problem: exit code 5.
A malformed manifest, or one written by a newer plugin: exit code 3, as in
every command.

--check also runs "neo4j-admin database check" on the newest chain of each
database in a helper container (aggregating a copy of the chain first when it
has differential backups) and keeps Neo4j's report next to the backups when it
finds inconsistencies.

--adopt writes a manifest for a folder that has none (made by neo4j-admin or
the old tool) after "neo4j-admin backup inspect" read every file, then
verifies it.

FOLDER may be an S3 location, s3://BUCKET/PREFIX: verify then re-reads every
stored object against its run's manifest and, with --identity (or the
passphrase of the location key), decrypts encrypted files and checks their
plaintext too (see docs/offsite.md, docs/encryption.md).

--drill restores a backup run for real, beside the deployment: the newest
complete run (or --run ID) goes into throwaway containers started from the
deployment's own images (its Neo4j, its task-manager-db PostgreSQL), with no
network, random credentials and scratch volumes. Each must start and answer;
the storage's files and bytes must match its archive, and the task manager's
row counts those recorded by a consistent backup. The report (verdict, time
to restore, peak memory of the throwaway Neo4j) is printed and written into
the folder as drill-<run>.json. Every container and volume of the drill is
removed, Ctrl-C included; the deployment is never stopped. Exit code 5 when
the run does not restore, answer or match. verify --drill s3://BUCKET/PREFIX
stages the run (--run: the location's run ID) on this machine as restore
s3:// does (--s3-staging-dir; an encrypted run needs --identity, is staged as
ciphertext only and decrypted as it is read) and prints the report without
writing it anywhere.`,
		Example: `  docker infrahubdb verify ./backups
  docker infrahubdb verify ./backups --check
  docker infrahubdb verify ./old-backups --adopt --format json
  docker infrahubdb verify ./backups --drill --project infrahub`,
		Args: exactlyOneFolder,
		RunE: func(cmd *cobra.Command, args []string) error {
			if s3location.IsURL(args[0]) {
				if opts.check || opts.adopt {
					return usageError("--check and --adopt work on a folder; for s3:// locations, verify --drill restores a run for real")
				}
				if opts.drill.enabled {
					return runDrillFromLocation(cmd.Context(), dockerCli, opts, args[0])
				}
				if cmd.Flags().Changed("s3-staging-dir") {
					return usageError("--s3-staging-dir goes with --drill")
				}
				return runVerifyLocation(cmd.Context(), dockerCli, opts.output, opts.location, opts.keys, args[0], opts.allowEmpty)
			}
			if err := folderRefusesLocationFlags(cmd); err != nil {
				return err
			}
			if cmd.Flags().Changed("s3-staging-dir") {
				return usageError("--s3-staging-dir applies to s3:// locations, not to a folder")
			}
			return runVerify(cmd.Context(), dockerCli, opts, args[0])
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&opts.check, "check", false, "Also run neo4j-admin database check on the newest chain of each database")
	fs.BoolVar(&opts.adopt, "adopt", false, "Write a manifest for a folder that has none, after neo4j-admin backup inspect read its files")
	fs.BoolVar(&opts.allowEmpty, "allow-empty", false, "Accept a folder (or location) that holds no complete backup run or chain")
	opts.deployment.addFlags(fs)
	opts.drill.addFlags(fs)
	opts.guardian.addWaitFlag(fs)
	opts.helper.addFlags(fs)
	opts.location.addFlags(fs)
	opts.keys.addFlags(fs)
	fs.StringVar(&opts.stagingDir, "s3-staging-dir", "", "With --drill of an s3:// location: the directory on this machine where the run is staged (default: the user cache directory's infrahubdb/)")
	opts.output.addFlags(fs)
	return cmd
}

func runVerify(ctx context.Context, dockerCli command.Cli, opts verifyOptions, dir string) error {
	if opts.drill.enabled {
		return runDrill(ctx, dockerCli, opts, dir)
	}
	if err := opts.drill.validate(opts); err != nil {
		return err
	}
	folder, pw, err := opts.output.openFolder(dockerCli, dir, opts.helper.validate)
	if err != nil {
		return err
	}
	// Verify reads a consistent folder (no backup or prune half done) and
	// --adopt writes the manifest: both need the lock.
	unlock, err := lockFolder(folder, "verify", pw)
	if err != nil {
		pw.Close()
		return err
	}
	if opts.check {
		// The check runs beside the deployment, from its image: it holds
		// the deployment's run lock, as backup and restore do.
		if unlock, err = readDeployment(ctx, dockerCli, "verify", opts.target(), opts.guardian.wait, pw, unlock); err != nil {
			pw.Close()
			return err
		}
	}
	var eng helper.Engine
	if opts.check || opts.adopt {
		eng = engine(dockerCli)
	}
	res, err := catalog.Verify(ctx, eng, folder, catalog.VerifyOptions{
		Check: opts.check, Adopt: opts.adopt, Tool: toolName(), Helper: opts.helper.options(dockerCli, opts.deployment.databaseContainer), AllowEmpty: opts.allowEmpty,
	}, pw)
	err = unlock(err)
	pw.Close()
	if err != nil {
		return err
	}
	if err := printResult(dockerCli.Out(), opts.output.format, res, printVerify); err != nil {
		return err
	}
	if !res.OK {
		// The problems are on stdout; stderr gets the verdict.
		return withCode(ExitVerify, fmt.Errorf("%s failed verification: %d problem(s)", res.Folder, len(res.Problems)))
	}
	return nil
}

// target is the deployment verify --check and --drill run beside.
func (o verifyOptions) target() deployment.TargetOptions {
	return deployment.TargetOptions{DatabaseContainer: o.deployment.databaseContainer, Project: o.drill.project}
}

func printVerify(out io.Writer, res *catalog.VerifyResult) error {
	if len(res.Adopted) > 0 {
		fmt.Fprintf(out, "Adopted %d file(s): wrote %s.\n", len(res.Adopted), backupset.ManifestName)
	}
	if len(res.Problems) > 0 {
		w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(w, "PROBLEM\tFILE\tDETAIL")
		for _, p := range res.Problems {
			fmt.Fprintf(w, "%s\t%s\t%s\n", p.Kind, p.File, p.Detail)
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "%d file(s) match their checksums in %s.\n", len(res.Checked), res.Folder)
	for _, c := range res.Contents {
		fmt.Fprintf(out, "%s: %s.\n", c.File, c.Summary())
	}
	printChecks(out, res.Checks)
	for _, w := range res.Warnings {
		fmt.Fprintf(out, "Warning: %s\n", w)
	}
	if res.OK {
		fmt.Fprintln(out, "OK: the folder passed verification.")
	}
	return nil
}

func printChecks(out io.Writer, checks []neo4jbackup.CheckResult) {
	for _, c := range checks {
		what := strings.Join(c.Files, " + ")
		if c.Aggregated {
			what += " (aggregated on a copy)"
		}
		switch {
		case c.Consistent:
			fmt.Fprintf(out, "neo4j-admin database check %s: consistent: %s\n", c.Database, what)
		case len(c.Files) == 0:
			fmt.Fprintf(out, "neo4j-admin database check %s: %s\n", c.Database, c.Detail)
		default:
			fmt.Fprintf(out, "neo4j-admin database check %s: INCONSISTENT: %s: %s\n", c.Database, what, c.Detail)
			if c.Report != "" {
				fmt.Fprintf(out, "  Neo4j's report: %s\n", c.Report)
			}
		}
	}
}
