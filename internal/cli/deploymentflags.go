package cli

import (
	"github.com/spf13/pflag"

	"github.com/opsmill/docker-infrahubdb/internal/deployment"
)

// deploymentFlags pick the Infrahub deployment a command works on: one
// group, with one name and one help text per flag, whichever command
// registers them. --database-container is always there; the others only in
// the commands that have them (deploymentFlag).
type deploymentFlags struct {
	databaseContainer string
	project           string
	databaseURL       string
	backupPort        int
	cypherPort        int
	hostNetwork       bool

	registered map[deploymentFlag]bool
}

// deploymentFlag names an optional flag of the group.
type deploymentFlag int

const (
	withProject     deploymentFlag = iota // --project
	withDatabaseURL                       // --database-url
	withBackupPort                        // --database-backup-port
	withCypherPort                        // --database-cypher-port
	withHostNetwork                       // --host-network
)

func (o *deploymentFlags) addFlags(fs *pflag.FlagSet, with ...deploymentFlag) {
	fs.StringVar(&o.databaseContainer, "database-container", "", "Name or ID of the database container, when none is found or several are (label infrahub_role=database, or the database service of an Infrahub Compose project)")
	o.registered = map[deploymentFlag]bool{}
	for _, f := range with {
		o.registered[f] = true
		switch f {
		case withProject:
			fs.StringVar(&o.project, "project", "", "Compose project of the Infrahub deployment (when several run on the Docker host)")
		case withDatabaseURL:
			fs.StringVar(&o.databaseURL, "database-url", "", "Reach the database's backup port at HOST[:PORT] from a helper on the database's networks, instead of sharing the database container's network namespace (the old tool's flag; Neo4j Enterprise only)")
		case withBackupPort:
			fs.IntVar(&o.backupPort, "database-backup-port", 6362, "Backup port of the database")
		case withCypherPort:
			fs.IntVar(&o.cypherPort, "database-cypher-port", 7687, "Bolt port of the database")
		case withHostNetwork:
			fs.BoolVar(&o.hostNetwork, "host-network", false, "Run the helper container on the host network")
		}
	}
}

// validate checks the flags a command registered (the others are zero).
func (o *deploymentFlags) validate() error {
	if o.registered[withBackupPort] && (o.backupPort < 1 || o.backupPort > 65535) {
		return usageError("--database-backup-port %d is not a port number", o.backupPort)
	}
	if o.registered[withCypherPort] && (o.cypherPort < 1 || o.cypherPort > 65535) {
		return usageError("--database-cypher-port %d is not a port number", o.cypherPort)
	}
	if err := deployment.CheckDatabaseURL(o.databaseURL); err != nil {
		return withCode(ExitUsage, err)
	}
	return nil
}

// target is what the deployment package finds the database with.
func (o *deploymentFlags) target() deployment.TargetOptions {
	return deployment.TargetOptions{
		DatabaseContainer: o.databaseContainer,
		DatabaseURL:       o.databaseURL,
		BackupPort:        o.backupPort,
		BoltPort:          o.cypherPort,
		HostNetwork:       o.hostNetwork,
		Project:           o.project,
	}
}
