// Package cli holds the cobra commands of docker-infrahubdb: flags, output
// and the mapping of errors to exit codes. Commands turn options into calls
// on the workflows (internal/backup, internal/restore, internal/catalog) and never talk to
// the Docker engine or Neo4j themselves.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	dockercli "github.com/docker/cli/cli"
	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/opsmill/docker-infrahubdb/internal/progress"
	"github.com/opsmill/docker-infrahubdb/internal/version"
)

// Metadata is what `docker` learns about the plugin from
// `docker-infrahubdb docker-cli-plugin-metadata`.
func Metadata() metadata.Metadata {
	return metadata.Metadata{
		SchemaVersion:    "0.1.0", // the only value older Docker CLIs accept
		Vendor:           "OpsMill",
		Version:          version.Version,
		ShortDescription: "Back up and restore an Infrahub deployment: its Neo4j graph, task manager and storage",
		URL:              "https://github.com/opsmill/docker-infrahubdb",
	}
}

// NewRootCommand builds the `infrahubdb` command tree.
func NewRootCommand(dockerCli command.Cli) *cobra.Command {
	var showVersion bool
	cmd := &cobra.Command{
		Use:   "infrahubdb [OPTIONS] COMMAND",
		Short: "Back up and restore an Infrahub deployment: its Neo4j graph, task manager and storage",
		Long: `Back up and restore an Infrahub deployment through the selected Docker
context (local engine, DOCKER_HOST, tcp or ssh contexts): its Neo4j graph
(online backups on Neo4j Enterprise, offline dumps on Neo4j Community), the
task manager's PostgreSQL and the object storage, as one run. A stock
deployment needs no configuration.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			// plugin.PersistentPreRunE is set by plugin.Run; unit tests
			// drive the command without it.
			if plugin.PersistentPreRunE != nil {
				if err := plugin.PersistentPreRunE(cmd, args); err != nil {
					return err
				}
				installEngineLink(dockerCli)
			}
			cancelOnSignals(cmd)
			return finalError(cmd, applyEnv(cmd))
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if showVersion {
				return runVersion(dockerCli, versionOptions{format: "table"})
			}
			return cmd.Help()
		},
	}
	cmd.Flags().BoolVarP(&showVersion, "version", "v", false, "Print version information and quit")
	cmd.AddCommand(
		newVersionCommand(dockerCli),
		newBackupCommand(dockerCli),
		newRestoreCommand(dockerCli),
		newListCommand(dockerCli),
		newVerifyCommand(dockerCli),
		newPruneCommand(dockerCli),
		newDoctorCommand(dockerCli),
		newCopyCommand(dockerCli),
	)
	addCompletions(cmd, dockerCli)
	groupFlags(cmd)
	wrapErrors(cmd)
	return cmd
}

// cancelOnSignals makes the command context cancel on SIGINT, SIGTERM
// (systemd's stop, timeout(1), kill) and SIGHUP (the terminal or the ssh
// session went away: left to its default, it would kill the plugin in the
// middle of an outage) so workflows can stop, start the database again and
// remove their helper containers. One Ctrl-C in a terminal may reach the plugin twice (from the
// terminal's process group and forwarded by the docker CLI), so a second
// signal must not kill it halfway through a rollback; a third forces the
// exit, as the docker CLI itself does ("got 3 SIGTERM/SIGINTs, forcefully
// exiting"), for an operator who insists.
var terminationSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

func cancelOnSignals(cmd *cobra.Command) {
	ctx, cancel := context.WithCancel(cmd.Context())
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, terminationSignals...)
	go func() {
		<-sigs
		cancel()
		for n := 2; ; n++ {
			<-sigs
			if n >= 3 {
				fmt.Fprintln(os.Stderr, "got 3 interrupts: exiting now, without cleaning up")
				os.Exit(ExitInterrupted)
			}
		}
	}()
	cmd.SetContext(ctx)
}

// wrapErrors gives every command's error its documented exit code: what
// RunE returns, and the errors of its arguments and flags.
func wrapErrors(root *cobra.Command) {
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		if run := c.RunE; run != nil {
			c.RunE = func(cmd *cobra.Command, args []string) error {
				return finalError(cmd, run(cmd, args))
			}
		}
		if check := c.Args; check != nil {
			c.Args = func(cmd *cobra.Command, args []string) error {
				return finalError(cmd, check(cmd, args))
			}
		}
		c.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
			// Parsing stopped at the bad flag: a --progress json after it
			// was not read, and the error's shape must not depend on the
			// order of the flags.
			progressFromArgs(cmd, os.Args[1:])
			return finalError(cmd, usageError("%v\nSee '%s --help'.", err, c.CommandPath()))
		})
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(root)
}

// finalError is the error a command ends with: a StatusError with the
// documented exit code, which plugin.Run prints on stderr and exits with.
// Under --progress json, where the progress lines on stderr are JSON
// objects, it is one too (progress.ErrorLine: the message and the exit
// code) instead of the "Error: ..." text, as docker compose does in its
// json mode: a script can parse every line of stderr, and the exit code
// stays the process's.
func finalError(cmd *cobra.Command, err error) error {
	if err == nil {
		return nil
	}
	var se dockercli.StatusError
	if !errors.As(err, &se) {
		se = toStatusError(err).(dockercli.StatusError)
	}
	se.Status = withoutForeignHints(cmd, se.Status)
	if msg, ok := strings.CutPrefix(se.Status, "Error: "); ok && jsonProgress(cmd) {
		se.Status = progress.ErrorLine(msg, se.StatusCode)
	}
	return se
}

// jsonProgress reports whether cmd runs with --progress json (and not
// --quiet, which wins).
func jsonProgress(cmd *cobra.Command) bool {
	flag := func(name string) string {
		if f := cmd.Flags().Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	return flag("progress") == progress.ModeJSON && flag("quiet") != "true"
}

// progressFromArgs sets --progress and --quiet from INFRAHUBDB_PROGRESS and
// the raw command line args, for an error met before the flag parser
// reached them (and before the INFRAHUBDB_* variables are applied).
func progressFromArgs(cmd *cobra.Command, args []string) {
	fs := cmd.Flags()
	if fs.Lookup("progress") == nil {
		return
	}
	if v := os.Getenv(EnvName("progress")); v != "" && !fs.Changed("progress") {
		_ = fs.Set("progress", v)
	}
	for i, a := range args {
		switch {
		case a == "--":
			return
		case a == "--progress" && i+1 < len(args):
			_ = fs.Set("progress", args[i+1])
		case strings.HasPrefix(a, "--progress="):
			_ = fs.Set("progress", strings.TrimPrefix(a, "--progress="))
		case a == "-q", a == "--quiet", a == "--quiet=true":
			if fs.Lookup("quiet") != nil {
				_ = fs.Set("quiet", "true")
			}
		}
	}
}

// noArgs rejects unknown subcommands with a message and the usage exit code.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return toStatusError(usageError("%q is not a docker infrahubdb command.\nSee 'docker infrahubdb --help'.", args[0]))
}

// exactlyOneFolder is the Args check of the commands that take a backup folder.
func exactlyOneFolder(cmd *cobra.Command, args []string) error {
	if len(args) == 1 {
		return nil
	}
	return toStatusError(usageError("%q requires exactly 1 argument: the backup folder.\nSee '%s --help'.\n\nUsage:  %s", cmd.CommandPath(), cmd.CommandPath(), cmd.UseLine()))
}
