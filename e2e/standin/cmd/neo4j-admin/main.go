// Command neo4j-admin is the stand-in's neo4j-admin: the subset of the real
// Neo4j 5.26 tool that the plugin and the e2e tests use (database backup,
// aggregate-backup, restore and check; backup aggregate and inspect;
// --version), with the real flags, defaults, file names, exit codes and
// messages shaped like the real ones. Backups are fetched from the stand-in
// server's backup port (package backupport) and written as artifacts
// (package artifact); restores write the data directory (package store).
// Anything else says clearly that the stand-in does not support it.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/opsmill/docker-infrahubdb/e2e/standin/settings"
	"github.com/opsmill/docker-infrahubdb/e2e/standin/version"
)

func main() {
	os.Exit(run(os.Args[1:], newEnv(os.Environ(), os.Stdout, os.Stderr)))
}

// env is everything a command touches outside its arguments, so tests run
// commands in-process against a temp dir.
type env struct {
	settings  settings.Settings
	community bool
	version   string // the release behaviours follow (package version)
	stdout    io.Writer
	stderr    io.Writer
	now       func() time.Time
}

func newEnv(environ []string, stdout, stderr io.Writer) *env {
	// [S8] neo4j-admin reads its configuration files, not NEO4J_* settings.
	e := &env{settings: settings.Load(environ), version: version.Current(), stdout: stdout, stderr: stderr, now: time.Now}
	for _, kv := range environ {
		if v, ok := strings.CutPrefix(kv, "NEO4J_EDITION="); ok {
			e.community = strings.EqualFold(v, "community")
		}
	}
	return e
}

func (e *env) dataDir() string { return e.settings.Get(settings.DataDirectory) }

// command is one runnable neo4j-admin command.
type command struct {
	path       string // "database backup"
	enterprise bool   // missing from the community tool
	since      string // first release with the command ("" = all)
	usage      string
	decl       []option
	run        func(e *env, o options) error
}

var commands = []command{backupCommand, aggregateCommand("database aggregate-backup", ""),
	aggregateCommand("backup aggregate", "2025.01"), restoreCommand, inspectCommand, checkCommand,
	dumpCommand, loadCommand}

// known lists the real commands the stand-in does not implement, so they
// get a clear "not supported" instead of a usage error.
var known = map[string][]string{
	"database": {"copy", "import", "info", "migrate", "upload"},
	"dbms":     {"set-default-admin", "set-initial-password", "unbind-system-db"},
	"server": {"console", "get-id", "license", "memory-recommendation", "migrate-configuration", "report",
		"restart", "start", "status", "stop", "unbind", "validate-config", "windows-service"},
	"backup": {},
}

func run(args []string, e *env) int {
	err := dispatch(args, e)
	if err == nil {
		return exitOK
	}
	var xe *exitError
	if !errors.As(err, &xe) {
		xe = &exitError{code: exitSoftware, msg: err.Error()}
	}
	if xe.msg != "" {
		fmt.Fprintln(e.stderr, xe.msg)
	}
	return xe.code
}

func dispatch(args []string, e *env) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(e.stdout, rootUsage)
		return nil
	}
	if args[0] == "--version" || args[0] == "-V" || args[0] == "version" {
		fmt.Fprintln(e.stdout, e.version)
		return nil
	}
	if _, ok := known[args[0]]; !ok || (args[0] == "backup" && e.community) {
		return unmatched(args, 0)
	}
	if len(args) == 1 || args[1] == "-h" || args[1] == "--help" {
		fmt.Fprintf(e.stdout, "Usage: neo4j-admin %s [-h] [COMMAND]\n", args[0])
		return nil
	}
	path := args[0] + " " + args[1]
	for _, c := range commands {
		if c.path != path || (c.enterprise && e.community) || (c.since != "" && !version.AtLeast(e.version, c.since)) {
			continue
		}
		var decl []option
		for _, d := range c.decl {
			if d.since == "" || version.AtLeast(e.version, d.since) {
				decl = append(decl, d)
			}
		}
		o, err := parse(args[2:], decl)
		if o.help {
			fmt.Fprint(e.stdout, c.usage)
			return nil
		}
		if err != nil {
			return &exitError{code: exitUsage, msg: err.Error() + "\n\n" + c.usage}
		}
		return c.run(e, o)
	}
	for _, name := range known[args[0]] {
		if name == args[1] {
			return failed("neo4j-admin %s is not supported by the Neo4j stand-in (e2e test image); it implements database backup, aggregate-backup, restore and check, backup aggregate and inspect, and --version.", path)
		}
	}
	return unmatched(args, 1)
}

// unmatched is picocli's answer to an unknown command, which is also what
// the community tool answers to the enterprise-only backup commands.
func unmatched(args []string, index int) error {
	rest := args[index:]
	quoted := make([]string, len(rest))
	for i, a := range rest {
		quoted[i] = "'" + a + "'"
	}
	msg := fmt.Sprintf("Unmatched argument at index %d: %s", index, quoted[0])
	if len(rest) > 1 {
		msg = fmt.Sprintf("Unmatched arguments from index %d: %s", index, strings.Join(quoted, ", "))
	}
	return usageError("%s\n\n%s", msg, rootUsage)
}

const rootUsage = `Usage: neo4j-admin [-hV] [COMMAND]
Neo4j administration tool.
  -h, --help      Show this help message and exit.
  -V, --version   Print version information and exit.
Commands:
  dbms      DBMS administration tasks
  server    Server administration tasks
  database  Database administration tasks
  backup    Backup administration tasks
  help      Display help information about the specified command.
  version   Print version information and exit.
Environment variables:
  NEO4J_CONF    Path to directory which contains neo4j.conf.
  NEO4J_DEBUG   Set to anything to enable debug output.
  NEO4J_HOME    Neo4j home directory.
  HEAP_SIZE     Set JVM maximum heap size during command execution. Takes a
                  number and a unit, for example 512m.
  JAVA_OPTS     Used to pass custom setting to Java Virtual Machine executing
                  the command. Refer to JVM documentation about the exact
                  format. This variable is incompatible with HEAP_SIZE and
                  takes precedence over HEAP_SIZE.
(Neo4j stand-in for end-to-end tests: only database backup, aggregate-backup,
restore and check, backup aggregate and inspect, and --version are implemented.)
`

// logger prints log lines shaped like the real tool's log4j console output.
type logger struct {
	e      *env
	source string
}

func (l logger) log(level, format string, a ...any) {
	ts := l.e.now().UTC().Format("2006-01-02 15:04:05.000+0000")
	fmt.Fprintf(l.e.stdout, "%s %-5s [%s] %s\n", ts, level, l.source, fmt.Sprintf(format, a...))
}

func (l logger) info(format string, a ...any)  { l.log("INFO", format, a...) }
func (l logger) warn(format string, a ...any)  { l.log("WARN", format, a...) }
func (l logger) error(format string, a ...any) { l.log("ERROR", format, a...) }
