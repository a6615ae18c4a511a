package cli

import (
	"github.com/docker/cli/cli/command"
	"github.com/spf13/pflag"

	"github.com/opsmill/docker-infrahubdb/internal/catalog"
	"github.com/opsmill/docker-infrahubdb/internal/helper"
)

// helperFlags choose the helper container: one group, with one help text
// per flag, for every command that starts one (backup, restore, list
// --inspect, verify --check/--adopt).
type helperFlags struct {
	image    string
	transfer string
	keep     bool
}

func (o *helperFlags) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.image, "helper-image", helperImageDefault(), "Neo4j image of the helper container, never older than the database (default: $NEO4J_BACKUP_DOCKER_IMAGE, else the database container's own image when it is Enterprise or the database runs Community, else the pinned enterprise image 'version' names)")
	fs.StringVar(&o.transfer, "transfer", helper.TransferAuto, `How files move: "auto", "bind" (the daemon sees FOLDER) or "stream" (through the Docker API)`)
	fs.BoolVar(&o.keep, "keep-helper-container", false, "Do not remove the helper container at the end")
}

func (o *helperFlags) validate() error {
	return validTransfer(o.transfer)
}

// options are the catalog's helper options; databaseContainer (deployment
// flags) gives the helper image.
func (o *helperFlags) options(dockerCli command.Cli, databaseContainer string) catalog.HelperOptions {
	return catalog.HelperOptions{Image: o.image, DatabaseContainer: databaseContainer, RegistryAuth: registryAuth(dockerCli), Transfer: o.transfer, KeepHelper: o.keep}
}
