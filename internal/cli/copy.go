package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/offsite"
	"github.com/opsmill/docker-infrahubdb/internal/s3location"
)

type copyOptions struct {
	output   outputOptions
	location locationFlags
	keys     keyFlags
	encrypt  encryptFlags
	runs     []string
}

func newCopyCommand(dockerCli command.Cli) *cobra.Command {
	opts := copyOptions{}
	cmd := &cobra.Command{
		Use:   "copy [OPTIONS] SRC DST",
		Short: "Copy backup runs between a folder and an S3 location",
		Long: `Copy backup runs from a backup folder to an S3 location (s3://BUCKET/PREFIX),
or one run from an S3 location back into a folder, where restore takes it.

Folder to S3: every restorable run the location does not have yet (or those of
--run), each with the files of any differential chain it continues, so every
run restores on its own. Each file is checked against the folder's manifest as
it is read; the run's manifest is written last, so an interrupted copy leaves
no run, and running the same copy again resumes it: the files the interrupted
copy uploaded are kept, after their stored bytes are read back and checked
against the folder's manifest (and, encrypted, against the record of the
plaintext and recipients they were made from), and only the others are
uploaded. An interrupted copy holding anything else (different bytes, files
encrypted to other recipients) is never reused or overwritten: the run is
copied anew and prune removes the leftovers.
--encrypt-to encrypts every file with age to the recipients of FILE.

S3 to S3 (same endpoint and credentials): every run the destination does
not have yet (or those of --run), its stored bytes as they are (encrypted
runs stay encrypted; no key needed), each checked before it is committed.

S3 to folder: the run of --run (default: the newest), decrypted with
--identity or the passphrase when encrypted. Each file is checked (stored and
plaintext SHA-256) before it gets its name in the folder.

Credentials come from the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
AWS_PROFILE and the shared files, or an instance or web-identity role), never
from a flag.`,
		Example: `  docker infrahubdb copy ./backups s3://backups/infrahub --encrypt-to ops.recipients
  docker infrahubdb copy s3://backups/infrahub ./restore-here --identity ~/.config/age/ops.key
  docker infrahubdb restore ./restore-here`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCopy(cmd.Context(), dockerCli, opts, args[0], args[1])
		},
	}
	fs := cmd.Flags()
	fs.StringArrayVar(&opts.runs, "run", nil, "Copy this run (repeatable; S3 to folder: one run, default the newest)")
	opts.location.addFlags(fs)
	opts.keys.addFlags(fs)
	opts.encrypt.addFlags(fs)
	opts.output.addFlags(fs)
	return cmd
}

func runCopy(ctx context.Context, dockerCli command.Cli, opts copyOptions, src, dst string) error {
	if err := opts.output.validate(); err != nil {
		return err
	}
	switch {
	case !s3location.IsURL(src) && s3location.IsURL(dst):
		return offsiteExit(copyUp(ctx, dockerCli, opts, src, dst))
	case s3location.IsURL(src) && !s3location.IsURL(dst):
		return offsiteExit(copyDown(ctx, dockerCli, opts, src, dst))
	case s3location.IsURL(src) && s3location.IsURL(dst):
		return offsiteExit(copyAcross(ctx, dockerCli, opts, src, dst))
	}
	return usageError("copy takes at least one s3:// location: folder to S3, S3 to folder, or S3 to S3")
}

func copyUp(ctx context.Context, dockerCli command.Cli, opts copyOptions, dir, url string) error {
	folder, err := backupset.Open(dir)
	if err != nil {
		return withCode(ExitEnvironment, err)
	}
	loc, err := opts.location.open(ctx, url, false)
	if err != nil {
		return err
	}
	rcp, err := opts.encrypt.recipients(ctx, loc, opts.keys.passphraseFile)
	if err != nil {
		return err
	}
	pw, err := opts.output.progressWriter(dockerCli)
	if err != nil {
		return err
	}
	res, err := offsite.ToLocation(ctx, folder, loc, offsite.CopyOptions{
		Runs: opts.runs, Encrypt: rcp, AllowMixed: opts.encrypt.allowMixed, Tool: toolName(), Progress: pw,
	})
	pw.Close()
	if res != nil {
		if perr := printResult(dockerCli.Out(), opts.output.format, res, printCopy(url)); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

func printCopy(url string) func(io.Writer, *offsite.CopyResult) error {
	return func(w io.Writer, r *offsite.CopyResult) error {
		for _, c := range r.Copied {
			resumed := ""
			if len(c.Resumed) > 0 {
				resumed = fmt.Sprintf("; resumed: %d file(s), %s already there, checked", len(c.Resumed), humanSize(c.ResumedBytes))
			}
			fmt.Fprintf(w, "copied %s → %s runs/%s (%d file(s), %s%s)\n", c.Source, url, c.ID, c.Files, humanSize(c.Bytes), resumed)
			for _, n := range c.NotResumed {
				fmt.Fprintf(w, "  not resumed: interrupted copy runs/%s: %s\n", n.ID, n.Reason)
			}
		}
		for _, id := range r.Present {
			fmt.Fprintf(w, "already there: %s\n", id)
		}
		if len(r.Copied)+len(r.Present) == 0 {
			fmt.Fprintln(w, "no restorable run to copy")
		}
		return nil
	}
}

// copyAcross copies runs between two locations of one endpoint, as stored.
func copyAcross(ctx context.Context, dockerCli command.Cli, opts copyOptions, from, to string) error {
	if len(opts.encrypt.to) > 0 || opts.encrypt.usePassphrase || len(opts.keys.identities) > 0 {
		return usageError("copy between two s3:// locations moves the stored bytes as they are: it takes no key (runs stay encrypted to their recipients)")
	}
	src, err := opts.location.open(ctx, from, true)
	if err != nil {
		return err
	}
	dst, err := opts.location.open(ctx, to, false)
	if err != nil {
		return err
	}
	pw, err := opts.output.progressWriter(dockerCli)
	if err != nil {
		return err
	}
	res, err := offsite.BetweenLocations(ctx, src, dst, opts.runs, opts.encrypt.allowMixed, pw)
	pw.Close()
	if res != nil {
		if perr := printResult(dockerCli.Out(), opts.output.format, res, printCopy(to)); perr != nil && err == nil {
			err = perr
		}
	}
	return err
}

func copyDown(ctx context.Context, dockerCli command.Cli, opts copyOptions, url, dir string) error {
	if len(opts.runs) > 1 {
		return usageError("copy from S3 takes one --run")
	}
	loc, err := opts.location.open(ctx, url, true)
	if err != nil {
		return err
	}
	runID := ""
	if len(opts.runs) == 1 {
		runID = opts.runs[0]
	} else {
		listing, err := backupset.ListRuns(ctx, loc)
		if err != nil {
			return err
		}
		if len(listing.Runs) == 0 {
			return withCode(ExitEnvironment, fmt.Errorf("%s holds no committed run", loc.Describe()))
		}
		runID = listing.Runs[len(listing.Runs)-1].Run.ID
	}
	ids, err := opts.keys.load(ctx, loc)
	if err != nil {
		return err
	}
	folder, err := backupset.Create(dir)
	if err != nil {
		return withCode(ExitEnvironment, err)
	}
	pw, err := opts.output.progressWriter(dockerCli)
	if err != nil {
		return err
	}
	// A differential run comes with the graph chain of its bases, so
	// that the folder restores it.
	m, _, err := offsite.ChainToFolder(ctx, loc, runID, folder, ids, pw)
	pw.Close()
	if err != nil {
		return err
	}
	return printResult(dockerCli.Out(), opts.output.format, m, func(w io.Writer, m *backupset.RunManifest) error {
		_, err := fmt.Fprintf(w, "copied run %s (%d file(s)) into %s; restore it with: docker infrahubdb restore %s\n", m.Run.ID, len(m.Files), folder.Dir, folder.Dir)
		return err
	})
}
