package cli

import (
	"os"
	"strings"

	"github.com/spf13/cobra"
)

// EnvFlags are the flags a scheduled job sets once for every run, read from
// INFRAHUBDB_<FLAG> as docker compose reads COMPOSE_*: a flag on the command
// line wins, then the variable, then the flag's default. Documented in
// docs/environment.md; add a flag here and there together.
var EnvFlags = []string{
	"project",
	"database-container",
	"helper-image",
	"transfer",
	"progress",
	"stop-timeout",
	"online-timeout",
	"app-services",
}

// EnvName is the environment variable of a flag: INFRAHUBDB_DATABASE_CONTAINER
// for --database-container.
func EnvName(flag string) string {
	return "INFRAHUBDB_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// applyEnv sets the flags of EnvFlags that cmd has and the command line did
// not give from their INFRAHUBDB_* variable. It runs when the command runs,
// not when it is built, so help and the generated reference show the real
// defaults.
func applyEnv(cmd *cobra.Command) error {
	fs := cmd.Flags()
	for _, name := range EnvFlags {
		f := fs.Lookup(name)
		if f == nil || f.Changed {
			continue
		}
		v, ok := os.LookupEnv(EnvName(name))
		if !ok || v == "" {
			continue
		}
		if err := fs.Set(name, v); err != nil {
			return usageError("%s=%q: %v", EnvName(name), v, err)
		}
	}
	return nil
}
