package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/opsmill/docker-infrahubdb/internal/agecrypt"
	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/offsite"
	"github.com/opsmill/docker-infrahubdb/internal/restore"
)

// backup s3://… streams its run into the location: the folder workflow runs
// against a staging folder that forwards every file as it arrives from the
// helper (through age when encrypting) into the location's multipart parts
// (backupset.Folder.Forward, offsite.Forwarding), so the staging folder
// holds the manifest and empty placeholders only; the run's manifest is
// written last. A differential run, --verify/--check and --transfer bind
// stage the run instead (stagedBecause) and copy it up afterwards; with
// encryption the staging folder then seals every file as it arrives, so no
// plaintext artifact touches the client's disk. restore s3://… copies the
// run down first; an encrypted run is staged as its ciphertext and read
// through a decrypting (unsealed) folder.

// directFlags are the flags backup and restore take for an s3:// location.
type directFlags struct {
	location   locationFlags
	keys       keyFlags
	encrypt    encryptFlags
	stagingDir string
}

func (o *directFlags) addFlags(fs *pflag.FlagSet, withEncrypt bool) {
	o.location.addFlags(fs)
	o.keys.addFlags(fs)
	if withEncrypt {
		o.encrypt.addFlags(fs)
	}
	fs.StringVar(&o.stagingDir, "s3-staging-dir", "", "For s3:// locations: the directory on this machine where the run is staged (default: the user cache directory's infrahubdb/)")
}

// directFlagNames are the flags that apply only to s3:// locations.
var directFlagNames = []string{"encrypt-to", "encrypt-with-passphrase", "allow-mixed-encryption", "s3-staging-dir", "full-every"}

// defaultFullEvery is --full-every: a location's chain is never aggregated
// (objects are never rewritten), so --type auto starts a new one once the
// newest holds this many runs: with nightly backups, a full one a week. A
// chain is removed only with its last run, and each differential backup
// and restore stages the whole chain: without a limit, both would grow
// for ever.
const defaultFullEvery = 7

// folderRefusesDirectFlags refuses s3:// flags given with a folder.
func folderRefusesDirectFlags(cmd *cobra.Command) error {
	if err := folderRefusesLocationFlags(cmd); err != nil {
		return err
	}
	for _, name := range directFlagNames {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			return usageError("--%s applies to s3:// locations, not to a folder", name)
		}
	}
	return nil
}

// stage makes a private staging directory under the chosen root.
func (o *directFlags) stage(prefix string) (root, dir string, err error) {
	root = o.stagingDir
	if root == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", "", withCode(ExitEnvironment, fmt.Errorf("no staging directory: %w; give --s3-staging-dir", err))
		}
		root = filepath.Join(cache, "infrahubdb")
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", "", withCode(ExitEnvironment, fmt.Errorf("staging directory %s: %w", root, err))
	}
	dir, err = os.MkdirTemp(root, prefix)
	if err != nil {
		return "", "", withCode(ExitEnvironment, fmt.Errorf("staging directory %s: %w", root, err))
	}
	return root, dir, nil
}

// runBackupToLocation is `backup s3://…`: the run is streamed into the
// location as it is taken (or, where stagedBecause says, taken into a
// staging folder and copied up, checked at both ends), its manifest written
// last, and the staging folder removed; --prune then applies retention to
// the location.
func runBackupToLocation(cmd *cobra.Command, dockerCli command.Cli, opts backupOptions, url string) error {
	ctx := cmd.Context()
	d := opts.direct
	encrypting := len(d.encrypt.to) > 0 || d.encrypt.usePassphrase
	switch {
	case encrypting && opts.helper.transfer == helper.TransferBind:
		return usageError("--transfer bind with encryption: bind mounts would put plaintext artifacts on this machine's disk; drop --transfer")
	case encrypting && (opts.verify || opts.check):
		return usageError("--verify and --check read the staged plaintext, which an encrypted backup s3:// never keeps on this machine: run verify s3://… --identity FILE afterwards")
	case len(d.keys.identities) > 0 && opts.backupType == neo4jbackup.TypeFull:
		return usageError("--identity decrypts (the base of a differential backup): backup --type full takes --encrypt-to only")
	case len(d.keys.identities) > 0 && !encrypting:
		return usageError("--identity decrypts the base of an encrypted differential backup: give --encrypt-to (or --encrypt-with-passphrase) too")
	case opts.backupType == neo4jbackup.TypeDiff && !wantsGraph(opts.components):
		return usageError("--type diff applies to the graph: add --component graph, or drop --type")
	case cmd.Flags().Changed("full-every") && opts.backupType != neo4jbackup.TypeAuto:
		return usageError("--full-every chooses between a full and a differential backup for --type auto: drop --type %s or --full-every", opts.backupType)
	}
	if err := opts.validate(); err != nil {
		return err
	}
	// Open (and probe) the location before anything runs: a wrong endpoint,
	// bucket or credential fails before any outage.
	loc, err := d.location.open(ctx, url, false)
	if err != nil {
		return err
	}
	listing, err := backupset.ListRuns(ctx, loc)
	if err != nil {
		return offsiteExit(withCode(ExitEnvironment, err))
	}
	var rcp agecrypt.Recipients
	if encrypting {
		if rcp, err = d.encrypt.recipients(ctx, loc, d.keys.passphraseFile); err != nil {
			return err
		}
	}
	// Plain into an encrypted location, or the reverse: exit 3.
	if err := agecrypt.CheckConsistent(listing.Runs, encrypting, d.encrypt.allowMixed); err != nil {
		return offsiteExit(err)
	}
	// A differential backup continues the newest chain of the location:
	// its base run, chosen now and seeded into the staging folder.
	var ids []age.Identity
	base := ""
	if opts.backupType != neo4jbackup.TypeFull && wantsGraph(opts.components) {
		if encrypting {
			if ids, err = d.keys.load(ctx, loc); err != nil {
				return err
			}
		}
		if base, err = chooseLocationBase(ctx, dockerCli, opts, loc, listing, encrypting, ids); err != nil {
			return err
		}
	}
	_, dir, err := d.stage("backup-")
	if err != nil {
		return err
	}
	keep := false // a run that could not be copied stays for `copy`
	defer func() {
		if !keep {
			os.RemoveAll(dir)
		}
	}()
	folder, err := backupset.Create(dir)
	if err != nil {
		return withCode(ExitEnvironment, err)
	}
	inner := opts
	inner.prune, inner.retention = false, retentionFlags{} // applied to the location below
	var seeded []string
	if base != "" {
		if encrypting {
			// The base's ciphertext is staged as stored and decrypted
			// as it is read (streamed into the helper).
			folder.Unseal(agecrypt.Unsealer(ids))
		}
		fmt.Fprintf(dockerCli.Err(), "Differential backup on run %s of %s: staging its graph chain in %s on this machine%s (removed afterwards).\n", base, loc.Describe(), dir, map[bool]string{true: " as ciphertext only", false: ""}[encrypting])
		pw, err := opts.output.progressWriter(dockerCli)
		if err != nil {
			return err
		}
		seeded, err = offsite.SeedFromLocation(ctx, loc, base, folder, ids, pw)
		pw.Close()
		if err != nil {
			return offsiteExit(err)
		}
		// Objects in a location are never rewritten: the chain grows
		// there by one run per differential backup, never aggregated.
		inner.noAggregate = true
	} else {
		inner.fullWhenAuto()
	}
	if encrypting {
		// Every file is encrypted as it arrives from the helper: the
		// staging folder holds ciphertext only. Bind mounts would have
		// neo4j-admin write the plaintext into a folder on this machine.
		folder.Seal(agecrypt.Sealer(rcp))
		inner.helper.transfer = helper.TransferStream
	}
	// The streamed path: every file goes from the helper (through age)
	// into the location's parts as it arrives, nothing staged here. A
	// differential run stages (its base's chain is seeded into the
	// folder), and so do --verify/--check (they read the run back) and
	// --transfer bind (neo4j-admin writes into the folder).
	var fw *offsite.Forwarding
	releaseLease := func() {}
	switch why := stagedBecause(opts, base); {
	case why == "":
		// The location's lease is held from the first object to the
		// manifest: a prune meanwhile would take the run's objects for
		// a dead run's leftovers.
		lease, err := loc.Lock(ctx, "backup")
		if err != nil {
			return offsiteExit(err)
		}
		var once sync.Once
		releaseLease = func() { once.Do(func() { _ = lease.Release(context.WithoutCancel(ctx)) }) }
		defer releaseLease()
		fw = offsite.Forward(ctx, folder, loc, lease, backupset.NewLocationRunID(time.Now()), rcp)
		inner.helper.transfer = helper.TransferStream
		if encrypting {
			fmt.Fprintf(dockerCli.Err(), "Streaming the run into %s as run %s, encrypted to %d recipient(s) as the files arrive (transfer stream)%s.\n", loc.Describe(), fw.RunID(), len(rcp.List), streamedNote)
		} else {
			fmt.Fprintf(dockerCli.Err(), "Streaming the run into %s as run %s as the files arrive (transfer stream)%s.\n", loc.Describe(), fw.RunID(), streamedNote)
		}
	case encrypting:
		fmt.Fprintf(dockerCli.Err(), "Encrypting to %d recipient(s) as the files arrive: the run is staged in %s on this machine as ciphertext only (%s; transfer stream: bind mounts would put plaintext on this machine's disk), then copied to %s (removed afterwards).\n", len(rcp.List), dir, why, loc.Describe())
	default:
		fmt.Fprintf(dockerCli.Err(), "Staging the run in %s on this machine (%s), then copying it to %s (removed afterwards).\n", dir, why, loc.Describe())
	}
	doc, err := takeBackup(cmd, dockerCli, inner, folder)
	if err != nil {
		if fw != nil {
			if derr := fw.Discard(context.WithoutCancel(ctx), folder); derr != nil {
				fmt.Fprintf(dockerCli.Err(), "Note: %v\n", derr)
			}
		}
		if exitCode(err) == ExitError {
			// The location failing under a streamed file (it stopped
			// answering: exit 3) is told apart from a failed backup.
			return offsiteExit(err)
		}
		return err
	}
	table := opts.output.format == "table"
	if table {
		// The backup's tables come first; a document waits for the copy.
		if err := printBackup(dockerCli, opts.output.format, doc); err != nil {
			return err
		}
	}
	pw, err := opts.output.progressWriter(dockerCli)
	if err != nil {
		return err
	}
	co := offsite.CopyOptions{Encrypt: rcp, AllowMixed: d.encrypt.allowMixed, Tool: toolName(), Progress: pw}
	var res *offsite.CopyResult
	switch {
	case fw != nil:
		res, err = fw.Commit(ctx, folder, toolName(), pw)
	case base != "":
		res, err = offsite.ToLocationOnBase(ctx, folder, loc, doc.Run.RunID, base, seeded, co)
	default:
		res, err = offsite.ToLocation(ctx, folder, loc, co)
	}
	pw.Close()
	if res != nil && table {
		_ = printCopy(url)(dockerCli.Out(), res)
	}
	if err != nil && fw != nil {
		removed := "its objects are removed"
		if derr := fw.Discard(context.WithoutCancel(ctx), folder); derr != nil {
			fmt.Fprintf(dockerCli.Err(), "Note: %v\n", derr)
			removed = "no command takes what it left for a backup; prune removes it"
		}
		return offsiteExit(fmt.Errorf("the backup went to %s but its run could not be committed (%s; run the backup again): %w", loc.Describe(), removed, err))
	}
	releaseLease() // --prune takes it again
	if err != nil && encrypting {
		// Its ciphertext is described by this process only: nothing could
		// copy it later.
		return offsiteExit(fmt.Errorf("the backup succeeded but its copy to %s failed (the staged ciphertext is removed; run the backup again): %w", loc.Describe(), err))
	}
	if err != nil && base != "" {
		// The staging folder holds the base's files beside the run: a
		// copy of it would not make a run on that base.
		return offsiteExit(fmt.Errorf("the differential backup succeeded but its copy to %s failed (the staging folder is removed; run the backup again): %w", loc.Describe(), err))
	}
	if err != nil {
		keep = true
		return offsiteExit(fmt.Errorf("the backup succeeded but its copy to %s failed; the run is kept in %s: `docker infrahubdb copy %s %s` finishes it (then remove the folder): %w", loc.Describe(), dir, dir, url, err))
	}
	doc.Location = &locationRun{Location: loc.Describe(), Encrypted: encrypting}
	for _, c := range res.Copied {
		doc.Location.RunID, doc.Location.Files, doc.Location.Bytes = c.ID, c.Files, c.Bytes
	}
	if base != "" {
		if m, err := backupset.ReadRun(ctx, loc, doc.Location.RunID); err == nil && m.Base != "" {
			doc.Location.Base = m.Base
			if table {
				fmt.Fprintf(dockerCli.Out(), "Run %s is differential: it depends on run %s of the location (restore s3:// stages both; prune keeps the base).\n", m.Run.ID, m.Base)
			}
		}
	}
	var pruneErr error
	switch {
	case !opts.prune:
	case table:
		pruneErr = runPruneLocation(ctx, dockerCli, opts.output, d.location, opts.retention, true, url)
	default:
		var pr *backupset.PruneResult
		var policy string
		pr, policy, pruneErr = pruneLocation(ctx, dockerCli, opts.output, d.location, opts.retention, true, url)
		if pr != nil {
			doc.Location.Pruned = &locationPruned{Policy: policy, Removed: pr.Removed}
			if pr.Plan != nil {
				for _, k := range pr.Plan.Keep {
					doc.Location.Pruned.Kept = append(doc.Location.Pruned.Kept, k.Run.Run.ID)
				}
			}
		}
		pruneErr = offsiteExit(pruneErr)
	}
	if !table {
		if err := printBackup(dockerCli, opts.output.format, doc); err != nil {
			return err
		}
	}
	if pruneErr != nil {
		return fmt.Errorf("the backup succeeded, but --prune failed: %w", pruneErr)
	}
	return nil
}

// streamedNote ends the message of a streamed backup s3://.
const streamedNote = ": nothing of it is staged on this machine, but what is captured while applications are stopped (staged here, as ciphertext when encrypting, and uploaded once they run again: an outage never waits for the location)"

// stagedBecause says why backup s3://… stages its run on this machine
// rather than streaming it into the location ("": it streams).
func stagedBecause(opts backupOptions, base string) string {
	switch {
	case base != "":
		return "a differential run: its base's chain is staged for neo4j-admin"
	case opts.verify || opts.check:
		return "--verify and --check read the run back"
	case opts.helper.transfer == helper.TransferBind:
		return "--transfer bind: neo4j-admin writes into the folder"
	}
	return ""
}

// wantsGraph says whether a backup of components takes the graph.
func wantsGraph(components []string) bool {
	return len(components) == 0 || slices.Contains(components, backupset.ComponentGraph)
}

// chooseLocationBase picks the run a differential backup s3:// continues
// (offsite.ChooseBase): "" for a full backup. --type auto takes a full
// backup when no run fits (said on stderr); --type diff is refused then.
func chooseLocationBase(ctx context.Context, dockerCli command.Cli, opts backupOptions, loc backupset.Location, listing *backupset.RunListing, encrypting bool, ids []age.Identity) (string, error) {
	diff := opts.backupType == neo4jbackup.TypeDiff
	full := func(why string) (string, error) {
		if diff {
			return "", withCode(ExitEnvironment, fmt.Errorf("--type diff: %s has no run to continue: %s; take a full backup first (--type full, or --type auto)", loc.Describe(), why))
		}
		fmt.Fprintf(dockerCli.Err(), "A full backup: %s.\n", why)
		return "", nil
	}
	// The server's Neo4j version: a chain continues on the same one.
	var sameVersion func(string) bool
	if t, err := deployment.FindTarget(ctx, engine(dockerCli), opts.deployment.target()); err == nil && t.Container != nil {
		if server := helper.ServerRelease(ctx, engine(dockerCli), *t.Container); server.Known {
			sameVersion = func(v string) bool {
				r := neo4j.ParseRelease(v)
				return r.Known && r.String() == server.String()
			}
		}
	}
	if sameVersion == nil && !diff {
		return full("the server's Neo4j version could not be told, so no chain of the location is continued")
	}
	rules := offsite.BaseRules{Databases: opts.databases, SameVersion: sameVersion}
	if !diff {
		rules.MaxRuns = opts.fullEvery // --type diff continues whatever the length
	}
	base, why := offsite.ChooseBase(ctx, loc, listing, rules)
	if base == "" {
		return full(why)
	}
	if encrypting && len(ids) == 0 {
		if m, err := backupset.ReadRun(ctx, loc, base); err == nil && encrypted(m) {
			if diff {
				return "", usageError("--type diff into an encrypted location reads its base run: give --identity FILE (or the passphrase of the location key)")
			}
			return full("the location is encrypted and no --identity was given to read the base of a differential backup")
		}
	}
	return base, nil
}

// fullWhenAuto: a staging folder is empty, so auto means full.
func (o *backupOptions) fullWhenAuto() {
	if o.backupType == neo4jbackup.TypeAuto {
		o.backupType = neo4jbackup.TypeFull
	}
}

// runRestoreFromLocation is `restore s3://…`: the newest run (or --run) is
// staged (its graph read from the location as it goes into the helper, its
// other files copied into a staging folder, each checked against the run's
// manifest), then restored from there with every check of a folder restore
// before anything stops (stageRun says how an encrypted run is staged).
func runRestoreFromLocation(ctx context.Context, dockerCli command.Cli, opts restoreOptions, url string) error {
	if err := opts.validate(); err != nil {
		return err
	}
	if opts.until != "" {
		return usageError("--until: restore s3:// chooses its run with --run (list s3://… shows them)")
	}
	if !opts.outage.yes && !opts.dryRun && !(dockerCli.In().IsTerminal() && dockerCli.Err().IsTerminal()) {
		return usageError("restore replaces databases and needs confirmation: add --yes to confirm when there is no terminal (or --dry-run to see the plan)")
	}
	runID := opts.run
	if runID == restore.RunLatest {
		runID = ""
	}
	// The graph streams from the location into the helper, unless
	// --transfer bind asks for it on this machine's disk (staged then).
	streamGraph := opts.helper.transfer != helper.TransferBind
	st, err := stageRun(ctx, dockerCli, opts.direct, opts.output, url, runID, opts.helper.transfer, "restore", streamGraph)
	if err != nil {
		return err
	}
	defer os.RemoveAll(st.dir)
	if st.encrypted || streamGraph {
		opts.helper.transfer = helper.TransferStream
	}
	opts.fromLocation = &locationRun{Location: st.location, RunID: st.runID, Encrypted: st.encrypted}
	if !opts.noSafetyBackup && opts.safetyDir == "" {
		// The staging folder goes away: the safety copy must not.
		opts.safetyDir = filepath.Join(st.root, backupset.SafetyDirName(time.Now()))
	}
	// The staging folder holds this run (and the graph of its bases):
	// restore it whatever it holds (the run was chosen above).
	opts.run = st.folderRun
	err = runRestoreIn(ctx, dockerCli, opts, st.folder, time.Time{})
	if !opts.noSafetyBackup && !opts.dryRun {
		if fi, serr := os.Stat(opts.safetyDir); serr == nil && fi.IsDir() {
			fmt.Fprintf(dockerCli.Err(), "The safety copy of the replaced data is in %s (the deployment's data as it was, not encrypted).\n", opts.safetyDir)
		}
	}
	return err
}

// staged is a location's run staged in a folder on this machine.
type staged struct {
	root, dir string // the staging root, and the run's folder in it (the caller removes it)
	folder    *backupset.Folder
	encrypted bool
	location  string // described
	runID     string // the location's ID of the run
	// folderRun is the run's ID in the staging folder, which also holds
	// the graph of the runs a differential run depends on.
	folderRun string
}

// stageRun copies run runID of the location (the newest when "") into a
// private staging folder, every file checked against the run's manifest.
// An encrypted run is staged as its ciphertext, as stored: the keys are
// tried on every file's header first (no key or a wrong one: exit 3,
// before anything is downloaded), each file is decrypted once while it
// downloads, for the checks (stored and plaintext SHA-256: a damaged byte
// exits 5), and the staging folder decrypts it again whenever it is read
// (backupset.Folder.Unseal): its plaintext is never on this machine's disk,
// and its files go to a helper as a stream only (transfer, when bind, is
// refused). what names the command, for the messages.
//
// With streamGraph (restore), the run's graph files are not downloaded:
// the staging folder reads them from the location as they are sent into
// the helper, checked as they go, before anything stops
// (backupset.Folder.Fetch); only the task manager's dump and the storage
// archive, restored while the applications are stopped, are staged, so
// that the location adds no time to the outage.
func stageRun(ctx context.Context, dockerCli command.Cli, d directFlags, out outputOptions, url, runID, transfer, what string, streamGraph bool) (*staged, error) {
	loc, err := d.location.open(ctx, url, true)
	if err != nil {
		return nil, err
	}
	if runID == "" {
		listing, err := backupset.ListRuns(ctx, loc)
		if err != nil {
			return nil, offsiteExit(withCode(ExitEnvironment, err))
		}
		if len(listing.Runs) == 0 {
			return nil, withCode(ExitEnvironment, fmt.Errorf("%s holds no committed run", loc.Describe()))
		}
		runID = listing.Runs[len(listing.Runs)-1].Run.ID
	}
	m, err := backupset.ReadRun(ctx, loc, runID)
	if err != nil {
		return nil, offsiteExit(withCode(ExitEnvironment, err))
	}
	var ids []age.Identity
	if encrypted(m) {
		if transfer == helper.TransferBind {
			return nil, usageError("--transfer bind with an encrypted run: bind mounts would put its plaintext on this machine's disk; drop --transfer")
		}
		if ids, err = d.keys.load(ctx, loc); err != nil {
			return nil, err
		}
		for _, f := range m.Files {
			if f.Encryption == nil {
				continue
			}
			rc, err := agecrypt.Open(ctx, loc, runID, f, ids) // reads the age header only
			if err != nil {
				return nil, offsiteExit(err)
			}
			rc.Close()
		}
	} else if len(d.keys.identities) > 0 || d.keys.passphraseFile != "" {
		fmt.Fprintf(dockerCli.Err(), "Note: run %s is not encrypted; the keys given are not used.\n", runID)
	}
	root, dir, err := d.stage(what + "-")
	if err != nil {
		return nil, err
	}
	st := &staged{root: root, dir: dir, encrypted: ids != nil, location: loc.Describe(), runID: runID}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(dir)
		}
	}()
	if st.folder, err = backupset.Create(dir); err != nil {
		return nil, withCode(ExitEnvironment, err)
	}
	if st.encrypted {
		// The folder keeps the ciphertext and decrypts what is read;
		// bind mounts would have neo4j-admin read the plaintext from
		// this machine's disk.
		st.folder.Unseal(agecrypt.Unsealer(ids))
	}
	if streamGraph {
		st.folder.Fetch(offsite.Fetcher(ctx, loc))
	}
	switch {
	case streamGraph && st.encrypted:
		fmt.Fprintf(dockerCli.Err(), "Restoring encrypted run %s of %s: its graph is streamed from there into the helper, decrypted and checked as it goes, before anything stops; its other files are staged in %s on this machine as ciphertext only, each decrypted and checked while it downloads (removed afterwards; transfer stream: bind mounts would put plaintext on this machine's disk).\n", runID, loc.Describe(), dir)
	case streamGraph:
		fmt.Fprintf(dockerCli.Err(), "Restoring run %s of %s: its graph is streamed from there into the helper, checked as it goes, before anything stops; its other files are staged in %s on this machine, each checked while it downloads (removed afterwards).\n", runID, loc.Describe(), dir)
	case st.encrypted:
		fmt.Fprintf(dockerCli.Err(), "Staging encrypted run %s of %s in %s on this machine as ciphertext only (removed afterwards): every file is decrypted and checked while it downloads, and decrypted again as the %s reads it, as a stream into the helper (transfer stream: bind mounts would put plaintext on this machine's disk).\n", runID, loc.Describe(), dir, what)
	default:
		fmt.Fprintf(dockerCli.Err(), "Staging run %s of %s in %s on this machine (removed afterwards).\n", runID, loc.Describe(), dir)
	}
	pw, err := out.progressWriter(dockerCli)
	if err != nil {
		return nil, err
	}
	// A differential run restores with the graph chain of its bases.
	staged, _, err := offsite.ChainToFolder(ctx, loc, runID, st.folder, ids, pw)
	pw.Close()
	if err != nil {
		return nil, offsiteExit(err)
	}
	st.folderRun = staged.Run.ID
	if staged.CopiedFrom != "" {
		st.folderRun = staged.CopiedFrom // the files' RunID (ToFolder)
	}
	ok = true
	return st, nil
}

// encrypted says whether any file of the run is encrypted.
func encrypted(m *backupset.RunManifest) bool {
	for _, f := range m.Files {
		if f.Encryption != nil {
			return true
		}
	}
	return false
}
