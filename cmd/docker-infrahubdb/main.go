// Command docker-infrahubdb is the `docker infrahubdb` CLI plugin: backups and
// restores of an Infrahub deployment's Neo4j Enterprise database through the
// selected Docker context.
package main

import (
	"github.com/docker/cli/cli-plugins/plugin"

	"github.com/opsmill/docker-infrahubdb/pkg/cli"
)

func main() {
	plugin.Run(cli.NewRootCommand, cli.Metadata())
}
