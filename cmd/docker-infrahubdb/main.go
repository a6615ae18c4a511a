// Command docker-infrahubdb is the `docker infrahubdb` CLI plugin: backups and
// restores of an Infrahub deployment (its Neo4j graph, Enterprise or
// Community, the task manager's PostgreSQL and the object storage) through
// the selected Docker context.
package main

import (
	"os"

	"github.com/docker/cli/cli-plugins/plugin"

	"github.com/opsmill/docker-infrahubdb/internal/cli"
	"github.com/opsmill/docker-infrahubdb/internal/guardian/agent"
)

func main() {
	// In a guardian container, the plugin's own binary is the guardian
	// (internal/guardian.Binary).
	if len(os.Args) > 1 && os.Args[1] == agent.Arg {
		os.Exit(agent.Main())
	}
	stop := startProfile()
	plugin.Run(cli.NewRootCommand, cli.Metadata())
	stop()
}
