package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"filippo.io/age"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/opsmill/docker-infrahubdb/internal/agecrypt"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/offsite"
	"github.com/opsmill/docker-infrahubdb/internal/s3location"
)

// passphraseEnv names the environment variable that may hold the passphrase
// of a location key (never a flag: flags show in ps).
const passphraseEnv = "INFRAHUBDB_PASSPHRASE"

// locationFlags are the flags of commands that accept s3://BUCKET/PREFIX
// for FOLDER. Credentials are never flags: they come from the AWS chain.
type locationFlags struct {
	endpoint       string
	caBundle       string
	partSizeMiB    int
	allowOverwrite bool
}

func (o *locationFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.endpoint, "s3-endpoint", "", "S3 endpoint URL for s3:// locations (default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS)")
	fs.StringVar(&o.caBundle, "s3-ca-bundle", "", "PEM file of extra certificate authorities to trust for the S3 endpoint")
	fs.IntVar(&o.partSizeMiB, "s3-part-size", s3location.DefaultPartSize>>20, "Part size of S3 uploads in MiB (5 or more); an upload holds three parts in memory (two in flight, one filling)")
	fs.BoolVar(&o.allowOverwrite, "s3-allow-overwrite", false, "Accept an S3 server that ignores If-None-Match (create-only writes then rest on the lock alone)")
}

// open opens an s3:// location; readOnly skips the write probe.
func (o *locationFlags) open(ctx context.Context, url string, readOnly bool) (*s3location.Location, error) {
	if o.partSizeMiB < 5 {
		return nil, usageError("--s3-part-size %d: S3 parts are at least 5 MiB", o.partSizeMiB)
	}
	loc, err := s3location.Open(ctx, url, s3location.Options{
		Endpoint: o.endpoint, CABundle: o.caBundle, PartSize: int64(o.partSizeMiB) << 20,
		ReadOnly: readOnly, AllowNoCreateOnly: o.allowOverwrite,
	})
	return loc, withCode(ExitEnvironment, err)
}

// keyFlags name the secret keys that decrypt (restore, verify, copy back).
type keyFlags struct {
	identities     []string
	passphraseFile string
}

func (o *keyFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&o.identities, "identity", nil, "Age identity file (age key or unencrypted SSH private key) to decrypt encrypted backups; repeatable")
	fs.StringVar(&o.passphraseFile, "passphrase-file", "", "File holding the passphrase of the location key (else "+passphraseEnv+")")
}

// load reads the identities; with a passphrase (file or environment) it
// also unlocks the location key.
func (o *keyFlags) load(ctx context.Context, loc backupset.Location) ([]age.Identity, error) {
	var ids []age.Identity
	for _, p := range o.identities {
		got, err := agecrypt.ReadIdentitiesFile(p)
		if err != nil {
			return nil, withCode(ExitEnvironment, err)
		}
		ids = append(ids, got...)
	}
	pass, err := agecrypt.ReadPassphrase(o.passphraseFile, passphraseEnv)
	switch {
	case err != nil && o.passphraseFile != "":
		return nil, withCode(ExitEnvironment, err)
	case err != nil:
		return ids, nil // no passphrase at all
	}
	id, err := agecrypt.UnlockLocationKey(ctx, loc, pass, false)
	switch {
	case err == nil:
		ids = append(ids, id)
	case errors.Is(err, agecrypt.ErrNoLocationKey) && o.passphraseFile == "":
		// INFRAHUBDB_PASSPHRASE set for other locations: this one has no
		// location key, its runs are encrypted to recipients only.
	default:
		return nil, withCode(ExitEnvironment, err)
	}
	return ids, nil
}

// encryptFlags say whom new backups are encrypted to. The passphrase, when
// used, comes from the command's --passphrase-file (keyFlags) or
// INFRAHUBDB_PASSPHRASE.
type encryptFlags struct {
	to            []string
	usePassphrase bool
	allowMixed    bool
}

func (o *encryptFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringArrayVar(&o.to, "encrypt-to", nil, "Encrypt to the recipients in FILE (age X25519 or post-quantum keys, SSH public keys, age plugins); repeatable")
	fs.BoolVar(&o.usePassphrase, "encrypt-with-passphrase", false, "Also encrypt to the location key, unlocked (or made on first use) with the passphrase of --passphrase-file or "+passphraseEnv)
	fs.BoolVar(&o.allowMixed, "allow-mixed-encryption", false, "Store a plain backup in an encrypted location, or the reverse")
}

func (o *encryptFlags) recipients(ctx context.Context, loc backupset.Location, passphraseFile string) (agecrypt.Recipients, error) {
	var all []agecrypt.Recipients
	for _, p := range o.to {
		r, err := agecrypt.ReadRecipientsFile(p)
		if err != nil {
			return agecrypt.Recipients{}, withCode(ExitEnvironment, err)
		}
		all = append(all, r)
	}
	if o.usePassphrase {
		pass, err := agecrypt.ReadPassphrase(passphraseFile, passphraseEnv)
		if err != nil {
			return agecrypt.Recipients{}, withCode(ExitEnvironment, err)
		}
		id, err := agecrypt.UnlockLocationKey(ctx, loc, pass, true)
		if err != nil {
			return agecrypt.Recipients{}, withCode(ExitEnvironment, err)
		}
		all = append(all, agecrypt.Recipients{List: []age.Recipient{id.Recipient()}, Strings: []string{id.Recipient().String()}})
	}
	return agecrypt.Join(all...), nil
}

// folderRefusesLocationFlags is the usage error of an s3:// flag given with
// a folder, where it would be silently ignored.
func folderRefusesLocationFlags(cmd *cobra.Command) error {
	for _, name := range []string{"s3-endpoint", "s3-ca-bundle", "s3-part-size", "s3-allow-overwrite", "identity", "passphrase-file"} {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			return usageError("--%s applies to s3:// locations, not to a folder", name)
		}
	}
	return nil
}

// offsiteExit gives the errors of the off-site packages their exit codes.
func offsiteExit(err error) error {
	var (
		ve *offsite.VerifyError
		ce *codedError
	)
	switch {
	case err == nil, errors.As(err, &ce):
		return err
	case errors.As(err, &ve), errors.Is(err, agecrypt.ErrChecksum):
		return withCode(ExitVerify, err)
	case errors.Is(err, agecrypt.ErrNoIdentity), errors.Is(err, agecrypt.ErrMixed), errors.Is(err, backupset.ErrUnreachable):
		return withCode(ExitEnvironment, err)
	case errors.Is(err, backupset.ErrLeaseLost):
		return withCode(ExitLocked, err)
	}
	return err
}

// runListLocation is `list s3://…`: the committed runs, read without a key.
func runListLocation(ctx context.Context, dockerCli command.Cli, out outputOptions, lf locationFlags, url string) error {
	if err := out.validate(); err != nil {
		return err
	}
	loc, err := lf.open(ctx, url, true)
	if err != nil {
		return err
	}
	listing, err := backupset.ListRuns(ctx, loc)
	if err != nil {
		return offsiteExit(err)
	}
	leftovers, err := loc.Leftovers(ctx)
	if err != nil {
		// A read-only credential may lack s3:ListBucketMultipartUploads:
		// the runs are still worth showing.
		fmt.Fprintf(dockerCli.Err(), "Note: interrupted uploads not listed: %v\n", err)
	}
	res := locationListing{Location: loc.Describe(), Runs: listing.Runs, Orphans: listing.Orphans, Leftovers: leftovers}
	for id, e := range listing.Unreadable {
		res.Unreadable = append(res.Unreadable, id+": "+e.Error())
	}
	return printResult(dockerCli.Out(), out.format, res, printLocationListing)
}

type locationListing struct {
	Location   string                   `json:"location"`
	Runs       []*backupset.RunManifest `json:"runs"`
	Orphans    []backupset.ObjectInfo   `json:"orphans,omitempty"`
	Leftovers  []backupset.Leftover     `json:"leftovers,omitempty"`
	Unreadable []string                 `json:"unreadable,omitempty"`
}

func printLocationListing(out io.Writer, l locationListing) error {
	fmt.Fprintf(out, "Location %s\n\n", l.Location)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTARTED\tCOMPONENTS\tFILES\tSIZE\tENCRYPTED")
	for _, m := range l.Runs {
		var size int64
		enc := "no"
		for _, f := range m.Files {
			size += f.Size
			if f.Encryption != nil {
				enc = "age"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", m.Run.ID, m.Run.Started.UTC().Format(time.RFC3339),
			strings.Join(m.Run.Components, ","), len(m.Files), humanSize(size), enc)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(l.Runs) == 0 {
		fmt.Fprintln(out, "(no run)")
	}
	for _, m := range l.Runs {
		if m.Base != "" {
			fmt.Fprintf(out, "run %s is differential: it depends on run %s (restored with it; prune keeps it)\n", m.Run.ID, m.Base)
		}
	}
	if n := len(l.Orphans); n > 0 {
		fmt.Fprintf(out, "\n%d object(s) of runs that never committed (interrupted runs): prune removes them\n", n)
	}
	if n := len(l.Leftovers); n > 0 {
		fmt.Fprintf(out, "%d interrupted upload(s): prune removes them\n", n)
	}
	for _, u := range l.Unreadable {
		fmt.Fprintf(out, "unreadable run manifest: %s\n", u)
	}
	return nil
}

// runVerifyLocation is `verify s3://…`.
// A location that holds no run fails as a folder with no complete run does
// (a mistyped prefix in cron must not pass), unless allowEmpty.
func runVerifyLocation(ctx context.Context, dockerCli command.Cli, out outputOptions, lf locationFlags, kf keyFlags, url string, allowEmpty bool) error {
	if err := out.validate(); err != nil {
		return err
	}
	loc, err := lf.open(ctx, url, true)
	if err != nil {
		return err
	}
	ids, err := kf.load(ctx, loc)
	if err != nil {
		return err
	}
	pw, err := out.progressWriter(dockerCli)
	if err != nil {
		return err
	}
	res, verr := offsite.Verify(ctx, loc, nil, ids, pw)
	pw.Close()
	if res != nil {
		if err := printResult(dockerCli.Out(), out.format, res, printLocationVerify); err != nil {
			return err
		}
	}
	if verr == nil && res != nil && len(res.Runs) == 0 && !allowEmpty {
		return withCode(ExitVerify, fmt.Errorf("%s holds no run: nothing there would restore; check the location (bucket and prefix), or give --allow-empty for a location that is empty on purpose", loc.Describe()))
	}
	return offsiteExit(verr)
}

func printLocationVerify(out io.Writer, r *offsite.VerifyResult) error {
	what := "stored bytes"
	if r.Decrypted {
		what = "stored bytes and decrypted plaintext"
	}
	fmt.Fprintf(out, "Location %s: %d run(s), %s checked\n", r.Location, len(r.Runs), what)
	for _, v := range r.Runs {
		state := "ok"
		if !v.OK {
			state = "FAILED"
		}
		enc := ""
		if v.Encrypted && !r.Decrypted {
			enc = " (encrypted: plaintext not checked; give --identity)"
		}
		fmt.Fprintf(out, "  %s  %d file(s), %s  %s%s\n", v.ID, v.Files, humanSize(v.Bytes), state, enc)
	}
	if len(r.Orphans)+len(r.Leftovers) > 0 {
		fmt.Fprintf(out, "%d object(s) of uncommitted runs, %d interrupted upload(s): prune removes them\n", len(r.Orphans), len(r.Leftovers))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(out, "note: %s\n", n)
	}
	for _, p := range r.Problems {
		fmt.Fprintf(out, "problem: %s\n", p)
	}
	return nil
}

// retentionFlags are prune's calendar rules (restic's semantics).
type retentionFlags struct {
	last, hourly, daily, weekly, monthly, yearly int
	within                                       string
	dryRun                                       bool
}

func (o *retentionFlags) addFlags(fs *pflag.FlagSet) {
	o.addKeepFlags(fs)
	fs.BoolVar(&o.dryRun, "dry-run", false, "Print what would be deleted; delete nothing")
}

// addKeepFlags adds the rules without --dry-run (backup --prune).
func (o *retentionFlags) addKeepFlags(fs *pflag.FlagSet) {
	fs.IntVar(&o.last, "keep-last", 0, "Keep the newest N runs")
	fs.IntVar(&o.hourly, "keep-hourly", 0, "Keep the newest run of each of the last N hours that have one")
	fs.IntVar(&o.daily, "keep-daily", 0, "Keep the newest run of each of the last N days that have one")
	fs.IntVar(&o.weekly, "keep-weekly", 0, "Keep the newest run of each of the last N weeks (Monday to Sunday) that have one")
	fs.IntVar(&o.monthly, "keep-monthly", 0, "Keep the newest run of each of the last N months that have one")
	fs.IntVar(&o.yearly, "keep-yearly", 0, "Keep the newest run of each of the last N years that have one")
	fs.StringVar(&o.within, "keep-within", "", `Keep every run younger than DURATION before the newest run ("36h", "7d", "2w", "6m", "1y")`)
}

func (o *retentionFlags) set() bool {
	return o.last != 0 || o.hourly != 0 || o.daily != 0 || o.weekly != 0 || o.monthly != 0 || o.yearly != 0 || o.within != ""
}

func (o *retentionFlags) policy() (backupset.KeepPolicy, error) {
	p := backupset.KeepPolicy{Last: o.last, Hourly: o.hourly, Daily: o.daily, Weekly: o.weekly, Monthly: o.monthly, Yearly: o.yearly, Zone: time.Local}
	if o.within != "" {
		d, err := backupset.ParseKeepWithin(o.within)
		if err != nil {
			return p, usageError("--keep-within: %v", err)
		}
		p.Within = d
	}
	if err := p.Check(); err != nil {
		return p, withCode(ExitUsage, err)
	}
	return p, nil
}

// runPruneLocation is `prune s3://… --keep-…`: without --yes (or with
// --dry-run) it only prints the plan.
func runPruneLocation(ctx context.Context, dockerCli command.Cli, out outputOptions, lf locationFlags, rf retentionFlags, yes bool, url string) error {
	if err := out.validate(); err != nil {
		return err
	}
	p, err := rf.policy()
	if err != nil {
		return err
	}
	res, _, err := pruneLocation(ctx, dockerCli, out, lf, rf, yes, url)
	if res != nil {
		if perr := printResult(dockerCli.Out(), out.format, res, func(w io.Writer, r *backupset.PruneResult) error {
			return printLocationPrune(w, r, p, rf.dryRun || !yes)
		}); perr != nil && err == nil {
			err = perr
		}
	}
	return offsiteExit(err)
}

// pruneLocation applies the retention flags to the location and returns
// what it did, and the policy as text; nothing is printed on stdout.
func pruneLocation(ctx context.Context, dockerCli command.Cli, out outputOptions, lf locationFlags, rf retentionFlags, yes bool, url string) (*backupset.PruneResult, string, error) {
	p, err := rf.policy()
	if err != nil {
		return nil, "", err
	}
	loc, err := lf.open(ctx, url, false)
	if err != nil {
		return nil, "", err
	}
	res, err := backupset.PruneLocation(ctx, loc, p, time.Now(), rf.dryRun || !yes)
	if loc.Capabilities().Versioned && out.format == "table" {
		fmt.Fprintln(dockerCli.Err(), "Note: the bucket keeps object versions: a deletion only adds a delete marker; space is freed when your lifecycle rule expires noncurrent versions.")
	}
	return res, p.String(), err
}

func printLocationPrune(out io.Writer, r *backupset.PruneResult, p backupset.KeepPolicy, dry bool) error {
	fmt.Fprintf(out, "Policy: %s\n", p)
	for _, k := range r.Plan.Keep {
		fmt.Fprintf(out, "keep    %s  (%s)\n", k.Run.Run.ID, strings.Join(k.Reasons, ", "))
	}
	verb := "delete  "
	if dry {
		verb = "would delete "
	}
	for _, m := range r.Plan.Remove {
		fmt.Fprintf(out, "%s%s\n", verb, m.Run.ID)
	}
	if n := len(r.Plan.Orphans); n > 0 {
		fmt.Fprintf(out, "%s%d object(s) of runs that never committed\n", verb, n)
	}
	if dry {
		fmt.Fprintln(out, "Nothing deleted: run again with --yes (and without --dry-run) to delete.")
	} else if n := len(r.Leftovers); n > 0 {
		fmt.Fprintf(out, "removed %d interrupted upload(s)\n", n)
	}
	return nil
}
