package main

import (
	"os"
	"path/filepath"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/settings"
)

// setInitialPasswordCommand sets the neo4j user's password before the first
// start, the way to give it a password that NEO4J_AUTH cannot carry (the
// entrypoint's pattern refuses a '/' in it [S13b]). The manual: "intended
// to be used only once, before the first startup of the database" [S24];
// what it does afterwards is not documented, and here it keeps the stored
// password (a later NEO4J_AUTH does not change it either [S24]).
var setInitialPasswordCommand = command{
	path: "dbms set-initial-password",
	usage: `Usage: neo4j-admin dbms set-initial-password [-h] [--expand-commands] [--require-password-change
                                                [=true|false]] [--verbose] [--additional-config=<file>]
                                                <password>
Sets the initial password of the initial admin user ('neo4j').
`,
	decl: []option{{name: "--require-password-change", isBool: true, def: "false"}, {name: "--verbose", isBool: true},
		{name: "--additional-config"}, {name: "--expand-commands", isBool: true}},
	run: runSetInitialPassword,
}

func runSetInitialPassword(e *env, o options) error {
	if len(o.args) != 1 {
		return &exitError{code: exitUsage, msg: "Missing required parameter: '<password>'"}
	}
	if _, err := settings.InitAuth(e.dataDir(), settings.Auth{User: "neo4j", Password: o.args[0]}); err != nil {
		return err
	}
	// The server runs as neo4j: the file must stay readable by it.
	_ = os.Chown(filepath.Join(e.dataDir(), "dbms"), 7474, 7474)
	_ = filepath.Walk(filepath.Join(e.dataDir(), "dbms"), func(p string, _ os.FileInfo, _ error) error {
		return os.Chown(p, 7474, 7474)
	})
	return nil
}
