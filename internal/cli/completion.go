package cli

import (
	"slices"
	"strings"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/command/completion"
	"github.com/spf13/cobra"

	"github.com/opsmill/docker-infrahubdb/internal/deployment"
	"github.com/opsmill/docker-infrahubdb/internal/docker"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
	"github.com/opsmill/docker-infrahubdb/internal/neo4jbackup"
	"github.com/opsmill/docker-infrahubdb/internal/progress"
)

// flagValues are the fixed values a flag takes, offered by shell completion
// wherever the flag is declared: one table, so a command that gains the flag
// completes it too.
var flagValues = map[string][]string{
	"format":           {"table", "json"},
	"progress":         {"auto", "tty", "plain", progress.ModeJSON, "quiet"},
	"component":        {"graph", "task-manager", "storage"},
	"type":             {neo4jbackup.TypeAuto, neo4jbackup.TypeFull, neo4jbackup.TypeDiff},
	"transfer":         {helper.TransferAuto, helper.TransferBind, helper.TransferStream},
	"include-metadata": {"all", "users", "roles", "none"},
}

// addCompletions gives every command of the tree its shell completion
// (docker completion forwards `docker infrahubdb <TAB>` to the plugin): a
// FOLDER argument completes directories, the flags above their values, and
// --database-container and --project what runs on the engine of the
// selected context, as `docker stop <TAB>` does.
func addCompletions(root *cobra.Command, dockerCli command.Cli) {
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		if folderArgument(c) {
			c.ValidArgsFunction = directories
		}
		fs := c.Flags()
		for name, values := range flagValues {
			if fs.Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, completion.FromList(values...))
			}
		}
		if fs.Lookup("database-container") != nil {
			_ = c.RegisterFlagCompletionFunc("database-container", completion.ContainerNames(dockerCli, false))
		}
		if fs.Lookup("project") != nil {
			_ = c.RegisterFlagCompletionFunc("project", infrahubProjects(dockerCli))
		}
		if fs.Lookup("safety-dir") != nil {
			_ = c.RegisterFlagCompletionFunc("safety-dir", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
				return nil, cobra.ShellCompDirectiveFilterDirs
			})
		}
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(root)
}

// folderArgument reports whether c takes the backup FOLDER as its argument.
func folderArgument(c *cobra.Command) bool {
	fields := strings.Fields(c.Use)
	return slices.Contains(fields, "FOLDER") || slices.Contains(fields, "[FOLDER]")
}

// directories completes the one FOLDER argument with directories.
func directories(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// infrahubProjects completes --project with the Compose projects that run an
// infrahub-server service, the ones --project chooses between.
func infrahubProjects(dockerCli command.Cli) cobra.CompletionFunc {
	return func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		list, err := docker.New(dockerCli.Client()).List(cmd.Context(), map[string]string{docker.ComposeServiceLabel: deployment.ServerService}, false)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var names []string
		for _, c := range list {
			if c.ComposeProject != "" && !slices.Contains(names, c.ComposeProject) {
				names = append(names, c.ComposeProject)
			}
		}
		slices.Sort(names)
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}
