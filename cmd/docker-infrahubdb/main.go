// Command docker-infrahubdb is the `docker infrahubdb` CLI plugin: backups and
// restores of an Infrahub deployment (its Neo4j graph, Enterprise or
// Community, the task manager's PostgreSQL and the object storage) through
// the selected Docker context.
package main

import (
	"github.com/docker/cli/cli-plugins/plugin"

	"github.com/opsmill/docker-infrahubdb/internal/cli"
)

func main() {
	plugin.Run(cli.NewRootCommand, cli.Metadata())
}
