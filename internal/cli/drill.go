package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/cli/cli/command"
	units "github.com/docker/go-units"
	"github.com/spf13/pflag"

	"github.com/opsmill/docker-infrahubdb/internal/backupset"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/drill"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// drillOptions are verify's --drill flags.
type drillOptions struct {
	enabled bool
	run     string
	memory  string
	project string
}

func (o *drillOptions) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&o.enabled, "drill", false, "Restore the newest complete backup run (or --run) into throwaway containers beside the deployment, and check it answers with the figures the backup recorded")
	fs.StringVar(&o.run, "run", "", "With --drill: the run to drill (its ID, see list; default the newest complete run)")
	fs.StringVar(&o.memory, "drill-memory", "2g", "With --drill: memory limit of the throwaway Neo4j")
	fs.StringVar(&o.project, "project", "", "With --drill: Compose project of the Infrahub deployment whose images the drill uses")
}

func (o *drillOptions) validate(v verifyOptions) error {
	if !o.enabled {
		// --project alone is harmless (it only picks the deployment a
		// drill takes its images from) and may come from INFRAHUBDB_PROJECT,
		// which a scheduled job sets for every command.
		if o.run != "" {
			return usageError("--run goes with --drill")
		}
		return nil
	}
	if v.check || v.adopt {
		return usageError("--drill restores a run beside the deployment: run --check and --adopt on their own")
	}
	if _, err := units.RAMInBytes(o.memory); err != nil {
		return usageError("--drill-memory %q: give a size such as 2g or 512m", o.memory)
	}
	return nil
}

// runDrill is verify --drill.
func runDrill(ctx context.Context, dockerCli command.Cli, opts verifyOptions, dir string) error {
	folder, pw, err := opts.output.openFolder(dockerCli, dir, opts.helper.validate, func() error { return opts.drill.validate(opts) })
	if err != nil {
		return err
	}
	return runDrillIn(ctx, dockerCli, opts, folder, pw)
}

// runDrillFromLocation is verify --drill s3://…: the run (--run, else the
// newest) is staged on this machine as restore s3:// stages it (an
// encrypted one as ciphertext, decrypted as it is read: --identity), and
// drilled from there; the drill's report is printed (it is not written
// into the location).
func runDrillFromLocation(ctx context.Context, dockerCli command.Cli, opts verifyOptions, url string) error {
	for _, check := range []func() error{opts.output.validate, opts.helper.validate, func() error { return opts.drill.validate(opts) }} {
		if err := check(); err != nil {
			return err
		}
	}
	d := directFlags{location: opts.location, keys: opts.keys, stagingDir: opts.stagingDir}
	st, err := stageRun(ctx, dockerCli, d, opts.output, url, opts.drill.run, "", "drill", false)
	if err != nil {
		return err
	}
	defer os.RemoveAll(st.dir)
	pw, err := opts.output.progressWriter(dockerCli)
	if err != nil {
		return err
	}
	// The staging folder holds that run (and the graph of its bases).
	opts.drill.run = st.folderRun
	return runDrillIn(ctx, dockerCli, opts, st.folder, pw)
}

func runDrillIn(ctx context.Context, dockerCli command.Cli, opts verifyOptions, folder *backupset.Folder, pw progress.Writer) error {
	unlock, err := lockFolder(folder, "verify", pw)
	if err != nil {
		pw.Close()
		return err
	}
	// The drill reads the deployment (its images, its facts): it holds its
	// run lock, so that no backup or restore changes it meanwhile. Its own
	// throwaway containers go through the plain client: a guardian must
	// never start them again.
	if unlock, err = readDeployment(ctx, dockerCli, "verify --drill", opts.target(), opts.guardian.wait, pw, unlock); err != nil {
		pw.Close()
		return err
	}
	memory, _ := units.RAMInBytes(opts.drill.memory)
	connect := func(ctx context.Context, address string, creds neo4j.Credentials) (drill.Admin, error) {
		return neo4j.Connect(ctx, address, creds)
	}
	report, err := drill.Run(ctx, docker.New(dockerCli.Client()), connect, folder, drill.Options{
		Run:    opts.drill.run,
		Target: opts.target(),
		Memory: memory,
		Tool:   toolName(),
	}, pw)
	err = unlock(err)
	pw.Close()
	if report != nil {
		if perr := printResult(dockerCli.Out(), opts.output.format, report, printDrill); perr != nil && err == nil {
			err = perr
		}
	}
	if _, failed := err.(*drill.FailedError); failed {
		return withCode(ExitVerify, err)
	}
	return err
}

func printDrill(out io.Writer, r *drill.Report) error {
	fmt.Fprintf(out, "Drill of run %s: %s\n", r.RunID, strings.ToUpper(r.Verdict))
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "COMPONENT\tARTIFACT\tRESULT\tFIGURES\tTIME")
	for _, c := range r.Components {
		result := "ok"
		if !c.OK {
			result = "FAILED"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", c.Component, c.Artifact, result, figures(c.Figures, c.Expected), c.Duration.Round(100*time.Millisecond))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	for _, p := range r.Problems {
		fmt.Fprintf(out, "Problem: %s\n", p)
	}
	for _, c := range r.Components {
		for _, n := range c.NotCompared {
			fmt.Fprintf(out, "Not compared: %s: %s\n", c.Component, n)
		}
	}
	fmt.Fprintf(out, "Time to restore (RTO): %s; peak memory of the drill's Neo4j: %s (limit %s)\n",
		r.RTO.Round(100*time.Millisecond), humanSize(r.PeakMemory), humanSize(r.MemoryLimit))
	return nil
}

// figures shows restored figures, with "/expected" where one was recorded.
func figures(got, want map[string]int64) string {
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		s := fmt.Sprintf("%s=%d", k, got[k])
		if w, ok := want[k]; ok {
			s += fmt.Sprintf("/%d", w)
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}
