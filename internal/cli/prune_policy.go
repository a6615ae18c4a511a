package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// policyPrune is the result of a prune by calendar rules of a folder.
type policyPrune struct {
	*catalog.PruneResult
	Policy  string              `json:"policy"`
	Reasons map[string][]string `json:"reasons"`
}

// checkPrune validates backup --prune and its rules before anything runs.
func (o *backupOptions) checkPrune() error {
	switch {
	case o.prune && !o.retention.set():
		return usageError("--prune needs at least one rule: --keep-last, --keep-hourly, --keep-daily, --keep-weekly, --keep-monthly, --keep-yearly or --keep-within")
	case !o.prune && o.retention.set():
		return usageError("the --keep-… rules of backup apply only with --prune")
	case o.prune:
		_, err := o.retention.policy()
		return err
	}
	return nil
}

// pruneAfterBackup applies backup --prune under the run's folder lock.
func pruneAfterBackup(folder *backupset.Folder, o backupOptions, pw progress.Writer) (*policyPrune, error) {
	p, err := o.retention.policy()
	if err != nil {
		return nil, err
	}
	res, err := prunePolicyLocked(folder, p, true, pw)
	if err != nil {
		return nil, fmt.Errorf("the backup succeeded, but --prune failed: %w", err)
	}
	return res, nil
}

// runPruneFolderPolicy is `prune FOLDER --keep-daily …`.
func runPruneFolderPolicy(dockerCli command.Cli, opts pruneOptions, dir string) error {
	p, err := opts.retention.policy()
	if err != nil {
		return err
	}
	folder, pw, err := opts.output.openFolder(dockerCli, dir)
	if err != nil {
		return err
	}
	unlock, err := lockFolder(folder, "prune", pw)
	if err != nil {
		pw.Close()
		return err
	}
	res, err := prunePolicyLocked(folder, p, opts.yes && !opts.retention.dryRun, pw)
	err = unlock(err)
	pw.Close()
	if err != nil {
		return err
	}
	return printResult(dockerCli.Out(), opts.output.format, res, printPolicyPrune)
}

func prunePolicyLocked(folder *backupset.Folder, p backupset.KeepPolicy, apply bool, pw progress.Writer) (*policyPrune, error) {
	res, reasons, err := catalog.PrunePolicy(folder, p, time.Now(), apply, pw)
	if err != nil {
		return nil, err
	}
	return &policyPrune{PruneResult: res, Policy: p.String(), Reasons: reasons}, nil
}

func printPolicyPrune(out io.Writer, r *policyPrune) error {
	fmt.Fprintf(out, "Policy: %s\n", r.Policy)
	for _, id := range r.KeptRuns {
		fmt.Fprintf(out, "keep    %s  (%s)\n", id, strings.Join(r.Reasons[id], ", "))
	}
	verb := "delete  "
	if !r.Deleted {
		verb = "would delete "
	}
	for _, id := range r.DeleteRuns {
		fmt.Fprintf(out, "%s%s\n", verb, id)
	}
	switch {
	case len(r.Delete) == 0:
		fmt.Fprintln(out, "Nothing to delete.")
	case r.Deleted:
		fmt.Fprintf(out, "Deleted %d file(s), %s; the manifest was updated.\n", len(r.Delete), humanSize(r.Freed))
	default:
		fmt.Fprintf(out, "Dry run: %d file(s), %s, would be deleted; run again with --yes (and without --dry-run) to delete them.\n", len(r.Delete), humanSize(r.Freed))
	}
	return nil
}
