package cli

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/opsmill/docker-infrahubdb/internal/doctor"
	"github.com/opsmill/docker-infrahubdb/internal/neo4j"
)

type doctorOptions struct {
	output      outputOptions
	deployment  deploymentFlags
	helperImage string
}

func newDoctorCommand(dockerCli command.Cli) *cobra.Command {
	opts := doctorOptions{}
	cmd := &cobra.Command{
		Use:   "doctor [OPTIONS] [FOLDER]",
		Short: "Check that a backup and a restore can run here, and say what to fix",
		Long: `Check the environment without changing anything: the Docker engine of the
selected context, the database container and how it was found, the Neo4j
edition and version, the Compose project and which components a backup would
take or skip, the credentials, a real login through a helper container (as a
restore makes it), the helper image, the backup port (Enterprise), and, given a
FOLDER, that it is writable and how much space is free.

Each check is ok, warning (it works, with a consequence worth knowing, such as
a Community dump's downtime), failed (with what to fix) or skipped. The
command exits 3 when a check failed.`,
		Example: `  docker infrahubdb doctor
  docker infrahubdb doctor /srv/backups/infrahub
  docker -c prod infrahubdb doctor --project infrahub --format json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := ""
			if len(args) == 1 {
				dir = args[0]
			}
			return runDoctor(cmd.Context(), dockerCli, opts, dir)
		},
	}
	fs := cmd.Flags()
	opts.deployment.addFlags(fs, withProject)
	fs.StringVar(&opts.helperImage, "helper-image", helperImageDefault(), "Neo4j image of the helper container (default: as backup and restore choose it)")
	opts.output.addFlags(fs)
	return cmd
}

func runDoctor(ctx context.Context, dockerCli command.Cli, opts doctorOptions, dir string) error {
	if err := opts.output.validate(); err != nil {
		return err
	}
	creds, err := givenCredentials(false, "neo4j", dockerCli.In())
	if err != nil {
		return err
	}
	pw, err := opts.output.progressWriter(dockerCli)
	if err != nil {
		return err
	}
	rep := doctor.Run(ctx, engine(dockerCli), doctor.Options{
		Target:      opts.deployment.target(),
		HelperImage: opts.helperImage,
		Credentials: creds,
		Folder:      dir,
		Context:     contextName(dockerCli),
		Connect: func(ctx context.Context, address string, c neo4j.Credentials) (doctor.Bolt, error) {
			a, err := neo4j.Connect(ctx, address, c)
			if err != nil {
				return nil, err
			}
			return a, nil
		},
	}, pw)
	pw.Close()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := printResult(dockerCli.Out(), opts.output.format, rep, printDoctor); err != nil {
		return err
	}
	if !rep.OK {
		failed := 0
		for _, c := range rep.Checks {
			if c.Status == doctor.Failed {
				failed++
			}
		}
		return withCode(ExitEnvironment, fmt.Errorf("%d check(s) failed: fix what their DETAIL says, then run 'docker infrahubdb doctor' again", failed))
	}
	return nil
}

func printDoctor(out io.Writer, rep *doctor.Report) error {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "CHECK\tSTATUS\tDETAIL")
	for _, c := range rep.Checks {
		fmt.Fprintf(w, "%s\t%s\t%s\n", c.Name, c.Status, c.Detail)
	}
	return w.Flush()
}
